"""Pure ASGI middleware: request id, access log, metrics by route template, body-size limit and
body-read timeout (`BODY_TIMEOUT_SECONDS`: a body that stops coming is answered 408)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config_service.db import statements
from config_service.errors import AppError, PayloadTooLarge, RequestTimeout
from config_service.ops import metrics
from config_service.ops.logging import access_log, request_id

log = logging.getLogger("config_service.access")

# nginx's code for a client that closed the connection before the answer: logged and counted
# as a client abort, never as a server error.
CLIENT_CLOSED_REQUEST = 499


def _problem(error: AppError) -> bytes:
    return orjson.dumps(error.body())


def route_template(scope: Scope) -> str:
    """The matched route as a template with its full path, e.g. `/api/v1/admin/orgs/{org_id}/nodes`.

    FastAPI puts the route of the included router in the scope, whose `path` lacks the prefix
    given to `include_router` (`/api/v1`). Path parameters never span a `/`, so the template's
    segments line up with the request path's last segments: what comes before is the prefix,
    which is static in this app.
    """
    fast = scope.get("fast_route")
    if fast is not None:
        return fast
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        return "unmatched"
    request_path = scope.get("path", "")
    tail_segments = path.count("/")
    parts = request_path.split("/")
    if tail_segments >= len(parts):
        return path
    prefix = "/".join(parts[: len(parts) - tail_segments])
    return prefix + path


@dataclass(frozen=True)
class BodyLimit:
    """A route whose request bodies have a limit of their own instead of `MAX_BODY_BYTES` (the
    import of a whole org, DESIGN §12.4). `path` is its template with the full path, e.g.
    `/api/v1/admin/orgs/{org_id}/import`: the limit applies before any routing, so it is matched here."""

    method: str
    path: str
    max_bytes: int
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"(\{[^}/]+\})", self.path)
        regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
        object.__setattr__(self, "_pattern", re.compile(f"^{regex}/?$"))

    def applies(self, method: str, path: str) -> bool:
        return method == self.method and self._pattern.match(path) is not None


class RequestMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_limits: Sequence[BodyLimit] = (),
        body_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = tuple(body_limits)
        self.body_timeout = body_timeout  # longest wait for the next part of an unfinished body
        self._children: dict[tuple[str, str, int], tuple] = {}

    def body_limit(self, scope: Scope) -> int:
        """The most bytes a request body may have (counted while it streams in, never after)."""
        method, path = scope.get("method", ""), scope.get("path", "")
        for special in self.body_limits:
            if special.applies(method, path):
                return special.max_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        if not rid or len(rid) > 100 or not rid.isprintable():
            rid = os.urandom(16).hex()
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        limit = self.body_limit(scope)

        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            error = PayloadTooLarge(f"the request body exceeds {limit} bytes")
            body = _problem(error)
            await send({
                "type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"), (b"x-request-id", rid.encode()),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
            })
            await send({"type": "http.response.body", "body": body})
            self._finish(scope, 413, started)
            request_id.reset(token)
            return

        received = 0
        body_done = self.body_timeout is None
        timed_out = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), self.body_timeout)
                except TimeoutError:
                    await body_timed_out()
                    raise RequestTimeout(f"the request body stalled for {self.body_timeout:g} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = body_done or not message.get("more_body", False)
                if received > limit:
                    raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
            else:
                body_done = True
            return message

        status_sent = False

        async def body_timed_out() -> None:
            """Answer 408 and close, whatever the route does with the error raised next (a route
            whose body the framework parses would turn it into a 400): what it sends is dropped."""
            nonlocal status, status_sent, timed_out
            timed_out = True
            metrics.CONNECTIONS_CLOSED.labels("body_timeout").inc()
            if status_sent:
                return
            status, status_sent = 408, True
            body = _problem(RequestTimeout(f"the request body stalled for {self.body_timeout:g} s"))
            await send({
                "type": "http.response.start", "status": 408,
                "headers": [(b"content-type", b"application/problem+json"), (b"x-request-id", rid.encode()),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
            })
            await send({"type": "http.response.body", "body": body})

        async def tracking_send(message: Message) -> None:
            nonlocal status, status_sent
            if timed_out:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                status_sent = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        counting = statements.start()
        try:
            await self.app(scope, limited_receive, tracking_send)
        except ClientDisconnect:
            if not status_sent:
                status = CLIENT_CLOSED_REQUEST
        except Exception as exc:  # noqa: BLE001 - the last line of defence: answer, log once, keep the connection
            if timed_out:
                return  # answered 408 already; `finally` still counts and logs it
            if status_sent:
                raise
            log.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__))
            body = orjson.dumps(AppError("an internal error occurred; it has been logged").body())
            await tracking_send({
                "type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())],
            })
            await send({"type": "http.response.body", "body": body})
        finally:
            self._finish(scope, status, started, statements.stop(counting))
            request_id.reset(token)

    def _finish(self, scope: Scope, status: int, started: float, sql_statements: int = 0) -> None:
        elapsed = time.perf_counter() - started
        template = route_template(scope)
        method = scope.get("method", "")
        key = (method, template, status)
        children = self._children.get(key)
        if children is None:  # label lookups take a lock each: keep the children per route
            children = (
                metrics.REQUESTS.labels(method, template, str(status)),
                metrics.LATENCY.labels(method, template),
                metrics.DB_STATEMENTS.labels(method, template),
            )
            if len(self._children) < 10_000:
                self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)
        children[2].observe(sql_statements)
        if access_log.enabled():
            access_log.emit(
                {"method": method, "route": template, "path": scope.get("path"), "status": status,
                 "duration_ms": round(elapsed * 1000, 2)}
            )
