"""The effective read over HTTP (`GET /config/me`, `…/nodes/{node}/effective`, the legacy alias):
from the live cache, long-polled on request, answered by the one renderer (`live.render`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import Request, Response

from config_service.auth.dependencies import UNAUTHENTICATED
from config_service.auth.principal import Principal
from config_service.configs import service as configs
from config_service.configs.preconditions import none_match
from config_service.context import AppContext
from config_service.errors import NotFound, Unauthenticated
from config_service.live.cache import CachedView
from config_service.live.render import render_effective


async def effective_response(
    ctx: AppContext,
    request: Request,
    org_id: str,
    node_id: str,
    *,
    reveal: bool,
    wait: float | None = None,
    principal: Principal | None = None,
) -> Response:
    """The effective view, from the live cache. With `wait` and an `If-None-Match` naming the
    current etag, hold the request (long poll) until the config changes or the wait ends (304)."""
    live = ctx.live
    inm = request.headers.get("if-none-match")
    try:
        view = await live.effective(org_id, node_id, reveal=reveal)
    except NotFound:
        async with ctx.db.transaction() as session:  # only to word the 404: the org, or the node?
            raise await configs.missing(session, org_id, node_id) from None
    if wait and none_match(inm, view.etag):
        view = await _long_poll(ctx, org_id, node_id, view, inm, wait, reveal=reveal, principal=principal)
    rendered = render_effective(view.etag, view.body, reveal=reveal, if_none_match=inm)
    if rendered.carries_plaintext and principal is not None:
        await live.note_plaintext_read(principal, view)
    response = Response(content=rendered.body, status_code=rendered.status)
    response.raw_headers = rendered.headers
    return response


async def _long_poll(
    ctx: AppContext, org_id: str, node_id: str, view: CachedView, inm: str | None, wait: float, *, reveal: bool,
    principal: Principal | None,
) -> CachedView:
    live = ctx.live
    # a long poll is a watcher: it counts towards its holder's, its org's and the instance's caps
    watcher = live.hub.register(org_id, node_id, view.hierarchy, principal)  # 429 / 503 over the caps
    expires = principal.expires_at if principal is not None else None
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        if expires is not None:  # a token that expires while waiting is answered then, as a revoked one is
            deadline = min(deadline, loop.time() + (expires - datetime.now(UTC)).total_seconds() + 0.01)
        # re-read after registering, so a change between the first read and now is not missed
        view = await live.effective(org_id, node_id, reveal=reveal)
        while none_match(inm, view.etag) and watcher.closed is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(watcher.changed.wait(), remaining)
            except TimeoutError:
                break
            watcher.changed.clear()
            if watcher.closed is None:
                view = await live.effective(org_id, node_id, reveal=reveal)
    finally:
        live.hub.unregister(watcher)
    if watcher.closed == "gone":
        raise NotFound(f"node '{node_id}' was deleted or moved while waiting")
    if watcher.closed == "revoked" or (expires is not None and expires <= datetime.now(UTC)):
        # the answer a new request with this token gets (the poll's token is no longer valid)
        raise Unauthenticated(UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
    return view
