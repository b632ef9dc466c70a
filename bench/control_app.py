"""The control of the benchmark: a bare ASGI app (no framework) answering every request with
fixed bytes — a captured `GET /api/v1/config/me` response — under the same server software and
settings as `config-service serve` (uvicorn, one worker, loop and HTTP implementation `auto`).

    python -m bench.control_app --port 8099 --body-file body.json [--etag TAG]

Keep the `uvicorn.run` arguments in step with `config_service/cli/main.py:serve`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def make_app(body: bytes, etag: str | None = None):
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if etag:
        headers.append((b"etag", f'"{etag}"'.encode()))
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    payload = {"type": "http.response.body", "body": body}

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await send(start)
        await send(payload)

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--etag")
    args = parser.parse_args()
    app = make_app(args.body_file.read_bytes(), args.etag)
    # the same arguments as `config-service serve` passes (one process, default loop/http)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
