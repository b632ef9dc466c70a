"""PURE: the HTTP answer to an effective read, for the route (`live.reads`) and the cached-read
fast path (`live.fastpath`) alike, so the two cannot drift: `ETag`, `Cache-Control: no-store`
on a revealed view, 304 when `If-None-Match` names the etag, else the serialised view."""

from __future__ import annotations

from dataclasses import dataclass

from config_service.configs.preconditions import none_match

JSON = b"application/json"


@dataclass(frozen=True)
class Rendered:
    status: int
    headers: list[tuple[bytes, bytes]]  # ASGI form: lower-case names, latin-1 values
    body: bytes
    carries_plaintext: bool  # a revealed view's body is sent: its reader is audited (`secrets.read`)


def render_effective(etag: str, body: bytes, *, reveal: bool, if_none_match: str | None) -> Rendered:
    headers = [(b"etag", f'"{etag}"'.encode("latin-1"))]
    if reveal:
        headers.append((b"cache-control", b"no-store"))
    if none_match(if_none_match, etag):
        return Rendered(304, headers, b"", carries_plaintext=False)
    headers += [(b"content-type", JSON), (b"content-length", str(len(body)).encode())]
    return Rendered(200, headers, body, carries_plaintext=reveal)
