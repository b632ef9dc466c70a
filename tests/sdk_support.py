"""Real local HTTP servers on threads for SDK tests: a scripted one (503 then 200, …) and a proxy
to the real service that refuses SSE. Real sockets, real HTTP; nothing mocked."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None  # written chunk by chunk, then the connection closes


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class LocalServer:
    """Answers each request with `respond(seen) -> Reply`; records what it saw."""

    def __init__(self, respond: Callable[[Seen], Reply]) -> None:
        self.respond = respond
        self.seen: list[Seen] = []
        self.replies: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length) if length else b"")
                owner.seen.append(seen)
                reply = owner.respond(seen)
                owner.replies.append(reply.status)
                payload = b"" if reply.body is None else (
                    reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode())
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if reply.stream is not None:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    try:
                        for chunk in reply.stream:
                            self.wfile.write(chunk)
                            self.wfile.flush()
                    except OSError:
                        pass
                    return
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def proxy(upstream: str, refuse_sse: int | None = None, buffer_sse: bool = False) -> LocalServer:
    """Forwards every request to `upstream` and records the answers' statuses; with `refuse_sse`,
    SSE watches get that status instead (as a proxy or an old server that cannot stream would);
    with `buffer_sse`, they get a stream that never sends a byte (a proxy that buffers it)."""
    client = httpx.Client(timeout=90)

    def respond(seen: Seen) -> Reply:
        watch = seen.path.split("?")[0].endswith("/watch")
        if refuse_sse is not None and watch:
            return Reply(refuse_sse, {"title": "no streams here", "status": refuse_sse})
        headers = {k: v for k, v in seen.headers.items() if k not in ("host", "content-length", "connection")}
        if watch and buffer_sse:
            return Reply(200, headers={"Content-Type": "text/event-stream"}, stream=_silence())
        if watch:
            return _streamed(client, upstream + seen.path, headers)
        answer = client.request(seen.method, upstream + seen.path, headers=headers, content=seen.body or None)
        passed = {k: v for k, v in answer.headers.items() if k.lower() in ("etag", "content-type", "retry-after")}
        return Reply(answer.status_code, answer.content, passed)

    return LocalServer(respond)


def _streamed(client: httpx.Client, url: str, headers: dict[str, str]) -> Reply:
    request = client.build_request("GET", url, headers=headers)
    answer = client.send(request, stream=True)

    def chunks() -> Iterator[bytes]:
        try:
            yield from answer.iter_raw()
        except httpx.HTTPError:
            return
        finally:
            answer.close()

    return Reply(answer.status_code, headers={"Content-Type": answer.headers.get("content-type", "")},
                 stream=chunks())


def _silence() -> Iterator[bytes]:
    time.sleep(10)  # what a buffering proxy passes on: nothing, until its buffer fills
    yield b""
