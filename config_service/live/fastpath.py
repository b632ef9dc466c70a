"""The hottest call — an agent reading its own effective config — answered straight from the
caches, without the framework's routing and dependency machinery.

Only a request that is certainly a plain, authorised, cached read is answered here: a GET of
`/api/v1/config/me` (or `/effective`) without a query string, with a team bearer token whose
lookup is cached and unexpired and holds `config:read`, and whose effective config is cached.
Everything else — any doubt at all — goes through the normal route, which answers the same
request identically (same body, headers and statuses; tests compare both paths).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from config_service.auth.dependencies import cached_principal
from config_service.auth.principal import Kind
from config_service.auth.principal import Scope as TokenScope
from config_service.configs.validators import none_match

FAST_PATHS = {"/api/v1/config/me": "/api/v1/config/me", "/api/v1/config/me/effective": "/api/v1/config/me/effective"}


class CachedReadFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in FAST_PATHS and not scope["query_string"]:
            if await self._try(scope, send):
                return
        await self.app(scope, receive, send)

    async def _try(self, scope: Scope, send: Send) -> bool:
        app = scope.get("app")
        ctx = getattr(getattr(app, "state", None), "ctx", None)
        if ctx is None or ctx.live is None:
            return False
        authorization = inm = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value
            elif key == b"if-none-match":
                inm = value
            elif key == b"x-internal-service":
                return False
        if authorization is None or not authorization[:7].lower() == b"bearer ":
            return False
        token = authorization[7:].strip().decode("latin-1")
        if token.count(".") != 2 or len(token) > 512:
            return False
        principal = cached_principal(ctx, token)
        if principal is None or principal.kind is not Kind.TEAM or TokenScope.CONFIG_READ not in principal.scopes:
            return False
        reveal = TokenScope.SECRETS_READ in principal.scopes
        view = ctx.live.cache.get(principal.org_id, principal.node_id, reveal)
        if view is None:
            return False
        ctx.last_used.touch(principal)
        scope["fast_route"] = FAST_PATHS[scope["path"]]
        headers = [(b"etag", f'"{view.etag}"'.encode())]
        if reveal:
            headers.append((b"cache-control", b"no-store"))
        if inm is not None and none_match(inm.decode("latin-1"), view.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return True
        if reveal:
            await ctx.live.note_plaintext_read(principal, view)
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(view.body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": view.body})
        return True
