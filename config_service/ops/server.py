"""`serve`: uvicorn with guards against slow and greedy clients (issue 10, finding 8).

uvicorn has no timeout for reading a request head: a client that drips its headers a byte at a
time, or connects and sends nothing, holds a connection for ever, and a thousand such clients hold
a thousand; nor does its httptools protocol bound a head's size. The httptools protocol class
uvicorn runs is given a guard that

- closes a connection whose request head is not complete within `HEADER_TIMEOUT_SECONDS` of the
  connection opening or of the head's first byte (with a 408 when part of a head arrived);
- refuses a request head larger than `MAX_HEAD_BYTES` (431);
- caps the connections one client address holds (`MAX_CONNECTIONS_PER_CLIENT`): a connection
  beyond it gets a 429 and is closed at once.

The address is the raw TCP peer: behind a reverse proxy every connection is the proxy's, so there
the proxy enforces the per-client cap (docs/SECURITY.md lists its settings). A stalled request
body is cut off in the ASGI receive path (ops/middleware.py, `BODY_TIMEOUT_SECONDS`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import orjson

from config_service.errors import AppError, RateLimited, RequestHeaderTooLarge, RequestTimeout
from config_service.ops import metrics

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024  # request line and headers; nginx's default buffers hold 32 KiB


class ConnectionGuard:
    """What every connection of one server shares: the limits, and the connections per address."""

    def __init__(self, *, header_timeout: float, max_per_client: int) -> None:
        self.header_timeout = header_timeout
        self.max_per_client = max_per_client
        self.per_client: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        if self.per_client[address] >= self.max_per_client:
            return False
        self.per_client[address] += 1
        return True

    def release(self, address: str) -> None:
        left = self.per_client[address] - 1
        if left > 0:
            self.per_client[address] = left
        else:
            del self.per_client[address]


def _problem_response(error: AppError) -> bytes:
    """A whole HTTP/1.1 problem response that closes the connection, for answers given before (or
    instead of) the application."""
    body = orjson.dumps(error.body())
    phrase = {408: "Request Timeout", 429: "Too Many Requests", 431: "Request Header Fields Too Large"}
    head = [
        f"HTTP/1.1 {error.status} {phrase.get(error.status, error.title)}",
        "content-type: application/problem+json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name.lower()}: {value}" for name, value in error.headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _HeadTooLargeSignal(Exception):
    """Raised from a parser callback: httptools stops parsing and reports a parser error."""


class GuardedConnection:
    """Mixed in before uvicorn's httptools protocol class, whose parser callbacks tell where a
    request head begins (`on_message_begin`) and ends (`on_headers_complete`)."""

    guard: ConnectionGuard  # set on the class made by `protocol_class`
    transport: asyncio.Transport
    client: tuple[str, int] | None
    cycle: Any
    loop: asyncio.AbstractEventLoop

    _address: str | None = None
    _head_timer: asyncio.TimerHandle | None = None
    _in_head = False  # between the first byte of a request head and its end
    _head_size = 0
    _head_refused = False

    # -- the connection

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        address = self.client[0] if self.client else None
        if address is not None and not self.guard.admit(address):
            metrics.CONNECTIONS_CLOSED.labels("per_client").inc()
            error = RateLimited(
                f"at most {self.guard.max_per_client} connections per client address",
                headers={"Retry-After": "1"},
            )
            transport.write(_problem_response(error))
            transport.close()
            return
        self._address = address
        self._arm()  # the first request head is due within the timeout of the connection opening

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self.cycle is not None and self.cycle.response_complete:
            # After a response, what comes is the next request head, or the rest of a body the
            # route did not read; either must be done with within the timeout.
            self._arm()
        super().data_received(data)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address is not None:
            self.guard.release(self._address)
            self._address = None
        super().connection_lost(exc)  # type: ignore[misc]

    # -- parser callbacks

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_size = 0
        if self._head_timer is None:
            self._arm()
        super().on_message_begin()  # type: ignore[misc]

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)  # type: ignore[misc]

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)  # type: ignore[misc]

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        if self._head_refused:  # the parser stopped because the head was too large
            self._refuse("head_too_large", RequestHeaderTooLarge(f"the request head exceeds {MAX_HEAD_BYTES} bytes"))
            return
        super().send_400_response(msg)  # type: ignore[misc]

    # -- the guards

    def _count(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD_BYTES:
            self._head_refused = True
            raise _HeadTooLargeSignal

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.guard.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head:
            error = RequestTimeout(f"the request head was not complete within {self.guard.header_timeout:g} s")
            self._refuse("header_timeout", error)
        else:
            self._refuse("idle", None)  # nothing was asked (or only a body nobody reads): no answer

    def _refuse(self, reason: str, error: AppError | None) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        metrics.CONNECTIONS_CLOSED.labels(reason).inc()
        log.info("connection closed", extra={"reason": reason})
        answering = self.cycle is not None and not self.cycle.response_complete
        if error is not None and not answering:  # never into the middle of another response
            self.transport.write(_problem_response(error))
        self.transport.close()


def protocol_class(base: type[asyncio.Protocol], guard: ConnectionGuard) -> type[asyncio.Protocol]:
    return type(f"Guarded{base.__name__}", (GuardedConnection, base), {"guard": guard})


def run(app: Any, settings: Any, *, host: str, port: int) -> None:
    """Serve `app` until a signal stops it (what `uvicorn.run` does, with the guards)."""
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    guard = ConnectionGuard(
        header_timeout=settings.header_timeout_seconds, max_per_client=settings.max_connections_per_client
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=protocol_class(HttpToolsProtocol, guard),  # httptools is a pinned dependency
        # the client address is the TCP peer; X-Forwarded-For counts only from TRUSTED_PROXIES and
        # only for throttling (auth/throttle.py), never as the address uvicorn puts in the scope
        proxy_headers=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
