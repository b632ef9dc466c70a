"""The hottest call — an agent reading its own effective config — answered straight from the
caches, without the framework's routing and dependency machinery.

Only a request that is certainly a plain, authorised, cached read is answered here: a GET of
`/api/v1/config/me` (or `/effective`) without a query string, with a team bearer token whose
lookup is cached and unexpired and holds `config:read`, and whose effective config is cached.
Everything else — any doubt at all — goes through the normal route, which answers the same
request identically (same body, headers and statuses; tests compare both paths).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as ASGIScope

from config_service.auth import policy
from config_service.auth.dependencies import cached_principal
from config_service.auth.principal import Scope
from config_service.context import AppContext
from config_service.errors import AppError
from config_service.http import API_PREFIX
from config_service.live.render import render_effective

_ME = API_PREFIX + "/config/me"
FAST_PATHS = {_ME: _ME, _ME + "/effective": _ME + "/effective"}  # request path → its route template


class CachedReadFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in FAST_PATHS:
            if not scope["query_string"] and await self._try(scope, send):
                return
        await self.app(scope, receive, send)

    async def _try(self, scope: ASGIScope, send: Send) -> bool:
        app = scope.get("app")
        ctx: AppContext | None = getattr(getattr(app, "state", None), "ctx", None)
        if ctx is None:
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
        if principal is None:
            return False
        try:  # the route's `TeamReader` decision; a refusal is answered by the route
            caller = policy.team_caller(principal, Scope.CONFIG_READ)
        except AppError:
            return False
        reveal = policy.may_reveal(principal)
        view = ctx.live.cache.get(caller.org_id, caller.node_id, reveal, count_miss=False)
        if view is None:
            return False
        ctx.last_used.touch(principal)
        scope["fast_route"] = FAST_PATHS[scope["path"]]
        rendered = render_effective(
            view.etag, view.body, reveal=reveal, if_none_match=inm.decode("latin-1") if inm is not None else None
        )
        if rendered.carries_plaintext:
            await ctx.live.note_plaintext_read(principal, view)
        await send({"type": "http.response.start", "status": rendered.status, "headers": rendered.headers})
        await send({"type": "http.response.body", "body": rendered.body})
        return True
