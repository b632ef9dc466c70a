"""The request-building layer shared by `Client` and `AsyncClient`.

An operation is a pure function from its arguments to a `Call`: the method, path, query, body
and headers of one API request, how to read its answer, and whether a retry is safe. The two
clients only send calls (one blocking, one async), so every operation is written once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

T = TypeVar("T")

NO_BODY: Any = object()
MERGE_PATCH = "application/json"
JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str  # below /api/v1
    parse: Callable[[Any], T]  # from the decoded JSON (text with `text=True`, bytes with `raw=True`; None for 204)
    params: Mapping[str, Any] = field(default_factory=dict)
    body: Any = NO_BODY  # JSON-encoded, except `bytes`: sent as they are (a YAML document)
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    # Safe to send twice: reads, dry runs, writes conditioned by If-Match, keyed run creations.
    # Anything else is sent once (a connection that never opened is the one exception).
    retry_safe: bool = False
    # The caller's own effective config (unmasked): feeds the last-known-good file and falls back to it.
    own_effective: bool = False
    text: bool = False
    raw: bool = False  # the answer's bytes as sent (an export: what is written to a file must be the server's)

    def query(self) -> dict[str, str]:
        return {k: _param(v) for k, v in self.params.items() if v is not None}


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def path(*segments: Any) -> str:
    """`/a/b/c`, each segment percent-encoded (ids are restricted; a typo must still not change the route)."""
    return "".join("/" + quote(str(s), safe="") for s in segments)


def model(cls: Any) -> Callable[[Any], Any]:
    parse: Callable[[Any], Any] = cls.from_api
    return parse


def nothing(_: Any) -> None:
    return None


def as_text(body: Any) -> str:
    return str(body)


def get(p: str, parse: Callable[[Any], T], **params: Any) -> Call[T]:
    return Call("GET", p, parse, params=params, retry_safe=True)


def write_headers(if_match: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    headers = dict(extra or {})
    if if_match is not None:
        headers["If-Match"] = quote_etag(if_match)
    return headers


def reason_header(reason: str) -> str:
    """A reason sent as `X-Change-Reason`: a header carries printable ASCII only (anything else
    would arrive garbled, or not be sent at all), so other text is refused before sending."""
    if not (reason.isascii() and reason.isprintable()):
        raise ValueError("a reason sent in the X-Change-Reason header must be printable ASCII")
    return reason


def quote_etag(tag: str) -> str:
    """The ETag header form: bare tags (as in bodies, events and `config_version`) get their quotes."""
    tag = tag.strip()
    if tag == "*" or tag.startswith('"') or tag.startswith("W/"):
        return tag
    return f'"{tag}"'


def change_call(
    method: str,
    p: str,
    parse: Callable[[Any], T],
    changes: Mapping[str, Any] | list[Any],
    *,
    if_match: str | None,
    reason: str | None,
    retry_safe: bool | None = None,
) -> Call[T]:
    """A merge patch (a mapping: `{"config": …}`) or an RFC 6902 JSON Patch (a list; reason in a header,
    so printable ASCII only: `ValueError` before anything is sent)."""
    safe = if_match is not None if retry_safe is None else retry_safe
    if isinstance(changes, list):
        extra = {"X-Change-Reason": reason_header(reason)} if reason else {}
        return Call(method, p, parse, body=changes, content_type=JSON_PATCH, headers=write_headers(if_match, extra),
                    retry_safe=safe)
    body: dict[str, Any] = {"config": dict(changes)}
    if reason is not None:
        body["reason"] = reason
    return Call(method, p, parse, body=body, content_type=MERGE_PATCH, headers=write_headers(if_match), retry_safe=safe)


def preview_call(
    p: str,
    parse: Callable[[Any], T],
    changes: Mapping[str, Any] | list[Any] | None,
    rollback_to: int | None,
    restore_secrets: bool,
) -> Call[T]:
    if (changes is None) == (rollback_to is None):
        raise ValueError("preview takes either changes (a merge patch or a JSON Patch) or rollback_to")
    if rollback_to is not None:
        body = {"rollback_to": rollback_to, "restore_secrets": restore_secrets}
        return Call("POST", p, parse, body=body, retry_safe=True)
    assert changes is not None
    return change_call("POST", p, parse, changes, if_match=None, reason=None, retry_safe=True)


def rollback_call(
    p: str, parse: Callable[[Any], T], version: int, *, restore_secrets: bool, if_match: str | None, reason: str | None
) -> Call[T]:
    body: dict[str, Any] = {"version": version, "restore_secrets": restore_secrets}
    if reason is not None:
        body["reason"] = reason
    return Call("POST", p, parse, body=body, headers=write_headers(if_match), retry_safe=if_match is not None)


def compact(**fields: Any) -> dict[str, Any]:
    """A request body without the fields left at None (the server applies its defaults)."""
    return {k: v for k, v in fields.items() if v is not None}


def method_signature(build: Callable[..., Any]) -> inspect.Signature:
    """`build`'s signature as a method's: `self` first, returning what the call returns (for help())."""
    signature = inspect.signature(build)
    returns = signature.return_annotation
    if isinstance(returns, str) and returns.startswith("Call[") and returns.endswith("]"):
        returns = returns[5:-1]
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    return signature.replace(parameters=[self_param, *signature.parameters.values()], return_annotation=returns)
