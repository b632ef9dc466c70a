"""Server-Sent Events: `config` on connect and after every change; `revoked` / `gone` close."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request
from sse_starlette.sse import EventSourceResponse

from config_service.auth import policy
from config_service.auth.dependencies import Context, OrgAdmin, TeamReader
from config_service.auth.principal import Principal
from config_service.context import AppContext
from config_service.errors import NotFound
from config_service.http import ClientInputRoute

router = APIRouter(tags=["live config"], route_class=ClientInputRoute)

KEEPALIVE_SECONDS = 15
MAX_LIFETIME_SECONDS = 15 * 60
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]


def bare_tag(last_event_id: str | None) -> str | None:
    """`Last-Event-ID` as a bare tag: the SSE `id` is the bare etag, but a client may echo the
    `ETag` header's form (`"<etag>"`, or weak `W/"<etag>"`): both name the same tag."""
    if last_event_id is None:
        return None
    tag = last_event_id.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    if len(tag) >= 2 and tag[0] == tag[-1] == '"':
        tag = tag[1:-1]
    return tag


def _lifetime() -> float:
    """At most 15 minutes, jittered so that reconnects of many clients spread out."""
    return MAX_LIFETIME_SECONDS * random.uniform(0.85, 1.0)


async def watch_stream(
    ctx: AppContext, org_id: str, node_id: str, *, reveal: bool, principal: Principal, last_event_id: str | None
) -> EventSourceResponse:
    live = ctx.live
    view = await live.effective(org_id, node_id, reveal=reveal)  # 404 before the stream starts
    watcher = live.hub.register(org_id, node_id, view.hierarchy, principal)  # 429 / 503 over the caps
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _lifetime()

    async def events() -> AsyncIterator[dict[str, str] | bytes]:
        sent = bare_tag(last_event_id)
        try:
            while True:
                if watcher.closed is not None:
                    yield {"event": watcher.closed, "data": orjson.dumps({"reason": watcher.closed}).decode()}
                    return
                expires = principal.expires_at
                if expires is not None and expires <= datetime.now(UTC):
                    yield {"event": "revoked", "data": orjson.dumps({"reason": "expired"}).decode()}
                    return
                try:
                    current = await live.effective(org_id, node_id, reveal=reveal)
                except NotFound:
                    yield {"event": "gone", "data": orjson.dumps({"reason": "gone"}).decode()}
                    return
                if current.etag != sent:
                    if reveal:
                        await live.note_plaintext_read(principal, current)
                    yield current.event  # framed once per view, not once per watcher
                    sent = current.etag
                timeout = deadline - loop.time()
                if expires is not None:
                    timeout = min(timeout, (expires - datetime.now(UTC)).total_seconds() + 0.01)
                if timeout <= 0:
                    if loop.time() >= deadline:
                        return
                    continue
                try:
                    await asyncio.wait_for(watcher.changed.wait(), timeout)
                except TimeoutError:
                    if loop.time() >= deadline:
                        return
                    continue
                watcher.changed.clear()
        finally:
            live.hub.unregister(watcher)

    headers = {"Cache-Control": "no-store" if reveal else "no-cache", "X-Accel-Buffering": "no"}
    return EventSourceResponse(events(), ping=KEEPALIVE_SECONDS, headers=headers, sep="\r\n")


@router.get("/config/me/watch", operation_id="config_me_watch")
async def watch_me(
    ctx: Context,
    request: Request,
    caller: TeamReader,
    last_event_id: LastEventId = None,
    secrets: Annotated[
        Literal["masked"] | None, Query(description="`masked`: mask secrets even with `secrets:read`")
    ] = None,
) -> EventSourceResponse:
    """SSE: an event `config` (id = etag, data `{etag, version, effective_config}`) on connect and
    after every change; `Last-Event-ID` = the current etag (bare, as the event ids, or quoted, as
    the `ETag` header) sends nothing until the next change;
    keep-alive comments every 15 s; the stream ends after at most 15 minutes (resume with
    `Last-Event-ID`); `revoked` / `gone` close it when the token is revoked or expires or the node
    is deleted or moved. `secrets=masked` masks secrets even for a token with `secrets:read`."""
    return await watch_stream(
        ctx, caller.org_id, caller.node_id, reveal=policy.may_reveal(caller.principal, secrets),
        principal=caller.principal, last_event_id=last_event_id,
    )


@router.get("/admin/orgs/{org_id}/nodes/{node_id}/watch", operation_id="node_watch")
async def watch_node(
    ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, last_event_id: LastEventId = None
) -> EventSourceResponse:
    """The same stream for any node of the org (secrets masked)."""
    return await watch_stream(ctx, org_id, node_id, reveal=False, principal=principal, last_event_id=last_event_id)
