"""Pure ASGI middleware: request id, access log, metrics by route template, body-size limit."""

from __future__ import annotations

import logging
import time
import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config_service.errors import PayloadTooLarge
from config_service.ops import metrics
from config_service.ops.logging import request_id

log = logging.getLogger("config_service.access")


def _problem(error: PayloadTooLarge) -> bytes:
    return orjson.dumps(error.body())


class RequestMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        if not rid or len(rid) > 100 or not rid.isprintable():
            rid = uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        limit = self.max_body_bytes

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

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        finally:
            self._finish(scope, status, started)
            request_id.reset(token)

    def _finish(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        metrics.REQUESTS.labels(method, template, str(status)).inc()
        metrics.LATENCY.labels(method, template).observe(elapsed)
        log.info(
            "request",
            extra={"method": method, "route": template, "path": scope.get("path"), "status": status,
                   "duration_ms": round(elapsed * 1000, 2)},
        )
