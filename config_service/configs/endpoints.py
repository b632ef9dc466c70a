"""Config routes: the team's own node (`/config/me…`) and any node for admins."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from config_service.auth import policy
from config_service.auth.dependencies import Context, OrgAdmin, Team
from config_service.auth.principal import Principal, Scope
from config_service.compat.legacy import DEPRECATION_HEADERS
from config_service.configs import locks, service
from config_service.configs.changes import Rollback
from config_service.configs.requests import WriteRequest, parse_patch, parse_put
from config_service.configs.schemas import (
    PATCH_BODY_DOC,
    PUT_BODY_DOC,
    ROLLBACK_BODY_DOC,
    EffectiveView,
    HistoryPage,
    LocksView,
    LocksWrite,
    OwnView,
    RawView,
    RollbackRequest,
    WriteResult,
)
from config_service.configs.validators import Precondition, none_match, parse_tags
from config_service.context import AppContext
from config_service.errors import InvalidRequest, NotFound
from config_service.http import ClientInputRoute, json_body, json_response, quoted

team_router = APIRouter(prefix="/config/me", tags=["config (team)"], route_class=ClientInputRoute)
admin_router = APIRouter(
    prefix="/admin/orgs/{org_id}/nodes/{node_id}", tags=["config (admin)"], route_class=ClientInputRoute
)

Limit = Annotated[int, Query(ge=1, le=500)]
Wait = Annotated[float | None, Query(ge=0, le=60, description="Long poll: seconds to wait for a change (≤ 60)")]
MAX_VERSION = 2**31 - 1  # versions are INT columns
BeforeVersion = Annotated[int | None, Query(ge=1, le=MAX_VERSION)]
_CURSOR = re.compile(r"[0-9]{1,10}")


# ---- shared handlers -------------------------------------------------------------------


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
    view = await live.effective(org_id, node_id, reveal=reveal)
    if wait and none_match(inm, view.etag):
        view = await _long_poll(ctx, org_id, node_id, view, inm, wait, reveal=reveal)
    headers = {"ETag": quoted(view.etag)}
    if reveal:
        headers["Cache-Control"] = "no-store"
    if none_match(inm, view.etag):
        return Response(status_code=304, headers=headers)
    if reveal and principal is not None:
        await live.note_plaintext_read(principal, view)
    return Response(content=view.body, media_type="application/json", headers=headers)


async def _long_poll(ctx: AppContext, org_id: str, node_id: str, view, inm: str | None, wait: float, *, reveal: bool):
    live = ctx.live
    watcher = live.hub.register(org_id, node_id, view.hierarchy, None)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
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
    return view


async def write_response(
    ctx: AppContext,
    request: Request,
    principal: Principal,
    org_id: str,
    node_id: str,
    parsed: WriteRequest,
    *,
    own_resource: bool,
) -> Response:
    # A present If-Match always conditions the write: an empty or weak-only header matches
    # nothing (412) rather than silently making the write unconditional.
    tags = parse_tags(request.headers.get("if-match"), weak=False)
    precondition = Precondition(tags, own_resource=own_resource) if tags is not None else None
    async with ctx.db.transaction() as session:
        result = await service.write(
            session, ctx.keys, principal, org_id, node_id, parsed.change,
            reason=parsed.reason, precondition=precondition,
        )
    headers = {"ETag": quoted(str(result.version) if own_resource else result.etag)}
    if parsed.legacy:
        headers.update(DEPRECATION_HEADERS)
    return json_response(result, headers=headers)


async def rollback_body(request: Request) -> WriteRequest:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object {\"version\": N}", path="")
    parsed = RollbackRequest.model_validate(body)
    return WriteRequest(Rollback(parsed.version, parsed.restore_secrets), parsed.reason)


async def history_page(
    ctx: AppContext, org_id: str, node_id: str, limit: int, before_version: int | None, cursor: str | None,
    include_full: bool,
) -> HistoryPage:
    if cursor is not None:
        # ASCII digits only: str.isdigit() accepts '²', which int() then refuses
        if _CURSOR.fullmatch(cursor) is None or int(cursor) > MAX_VERSION:
            raise InvalidRequest("cursor is not one this service issued", path="cursor")
        before_version = int(cursor)
    async with ctx.db.transaction() as session:
        return await service.history(
            session, org_id, node_id, limit=limit, before_version=before_version, include_full=include_full
        )


# ---- team ---------------------------------------------------------------------------------


@team_router.get("", response_model=EffectiveView, operation_id="config_me_get")
@team_router.get("/effective", response_model=EffectiveView, operation_id="config_me_effective")
async def get_me(ctx: Context, request: Request, principal: Team, wait: Wait = None) -> Response:
    """The team's effective config. Plaintext secrets only with `secrets:read` (then `no-store`).
    `If-None-Match` → 304; with `wait=<s ≤ 60>` as well, a long poll that answers 200 as soon as
    the effective config changes, or 304 when the wait ends."""
    policy.require_scope(principal, Scope.CONFIG_READ)
    reveal = Scope.SECRETS_READ in principal.scopes
    return await effective_response(
        ctx, request, principal.org_id, principal.node_id, reveal=reveal, wait=wait, principal=principal
    )


@team_router.get("/raw", response_model=RawView, operation_id="config_me_raw")
async def get_me_raw(ctx: Context, principal: Team) -> RawView:
    policy.require_scope(principal, Scope.CONFIG_READ)
    async with ctx.db.transaction() as session:
        return await service.read_raw(session, principal.org_id, principal.node_id)


@team_router.patch("", response_model=WriteResult, operation_id="config_me_patch", openapi_extra=PATCH_BODY_DOC)
async def patch_me(ctx: Context, request: Request, principal: Team) -> Response:
    """Merge patch (`application/json`, `application/merge-patch+json`: `{"config": …}`) or
    RFC 6902 (`application/json-patch+json`). `If-Match`: the effective etag or `"v<version>"`."""
    policy.require_scope(principal, Scope.CONFIG_WRITE)
    parsed = await parse_patch(request)
    return await write_response(ctx, request, principal, principal.org_id, principal.node_id, parsed, own_resource=False)


@team_router.put("", response_model=WriteResult, operation_id="config_me_put", openapi_extra=PUT_BODY_DOC)
async def put_me(ctx: Context, request: Request, principal: Team) -> Response:
    """Replace the own config (`null` values are tombstones). Legacy `{"patch": …}` = PATCH."""
    policy.require_scope(principal, Scope.CONFIG_WRITE)
    parsed = await parse_put(request)
    return await write_response(ctx, request, principal, principal.org_id, principal.node_id, parsed, own_resource=False)


@team_router.get("/history", response_model=HistoryPage, operation_id="config_me_history")
async def get_me_history(
    ctx: Context,
    principal: Team,
    limit: Limit = 50,
    before_version: BeforeVersion = None,
    cursor: str | None = None,
    include_full: bool = False,
) -> HistoryPage:
    policy.require_scope(principal, Scope.CONFIG_READ)
    return await history_page(ctx, principal.org_id, principal.node_id, limit, before_version, cursor, include_full)


@team_router.post(
    "/rollback", response_model=WriteResult, operation_id="config_me_rollback", openapi_extra=ROLLBACK_BODY_DOC
)
async def rollback_me(ctx: Context, request: Request, principal: Team) -> Response:
    policy.require_scope(principal, Scope.CONFIG_WRITE)
    parsed = await rollback_body(request)
    return await write_response(ctx, request, principal, principal.org_id, principal.node_id, parsed, own_resource=False)


# ---- admin --------------------------------------------------------------------------------


@admin_router.get("/config", response_model=OwnView, operation_id="node_config_get")
async def get_node_config(ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str) -> Response:
    """The node's own config (secrets masked). `ETag: "<version>"`."""
    async with ctx.db.transaction() as session:
        view = await service.read_own(session, org_id, node_id)
    headers = {"ETag": quoted(str(view.version))}
    if none_match(request.headers.get("if-none-match"), str(view.version)):
        return Response(status_code=304, headers=headers)
    return json_response(view, headers=headers)


@admin_router.patch(
    "/config", response_model=WriteResult, operation_id="node_config_patch", openapi_extra=PATCH_BODY_DOC
)
async def patch_node_config(ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str) -> Response:
    parsed = await parse_patch(request)
    return await write_response(ctx, request, principal, org_id, node_id, parsed, own_resource=True)


@admin_router.put("/config", response_model=WriteResult, operation_id="node_config_put", openapi_extra=PUT_BODY_DOC)
async def put_node_config(ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str) -> Response:
    parsed = await parse_put(request)
    return await write_response(ctx, request, principal, org_id, node_id, parsed, own_resource=True)


@admin_router.post(
    "/config/rollback", response_model=WriteResult, operation_id="node_config_rollback",
    openapi_extra=ROLLBACK_BODY_DOC,
)
async def rollback_node_config(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str
) -> Response:
    parsed = await rollback_body(request)
    return await write_response(ctx, request, principal, org_id, node_id, parsed, own_resource=True)


@admin_router.get("/effective", response_model=EffectiveView, operation_id="node_effective")
async def get_node_effective(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str, wait: Wait = None
) -> Response:
    """The node's effective config (secrets masked); `wait` long-polls as on `/config/me`."""
    return await effective_response(ctx, request, org_id, node_id, reveal=False, wait=wait)


@admin_router.get("/raw", response_model=RawView, operation_id="node_raw")
async def get_node_raw(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str) -> RawView:
    async with ctx.db.transaction() as session:
        return await service.read_raw(session, org_id, node_id)


@admin_router.get("/history", response_model=HistoryPage, operation_id="node_history")
async def get_node_history(
    ctx: Context,
    principal: OrgAdmin,
    org_id: str,
    node_id: str,
    limit: Limit = 50,
    before_version: BeforeVersion = None,
    cursor: str | None = None,
    include_full: bool = False,
) -> HistoryPage:
    return await history_page(ctx, org_id, node_id, limit, before_version, cursor, include_full)


@admin_router.get("/locks", response_model=LocksView, operation_id="node_locks_get")
async def get_locks(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str) -> LocksView:
    async with ctx.db.transaction() as session:
        return await locks.read_locks(session, org_id, node_id)


_LOCKS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": LocksWrite.model_json_schema()}},
    }
}


@admin_router.put("/locks", response_model=LocksView, operation_id="node_locks_put", openapi_extra=_LOCKS_BODY)
async def put_locks(ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str) -> LocksView:
    """Lock JSON Pointers at this node: nodes below cannot change them (403 `locked_path`).

    The body goes through the same depth-limited parser as config writes, so no input (however
    deeply nested) gets past a 400/422."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object {\"locked_paths\": [...]}", path="")
    parsed = LocksWrite.model_validate(body)
    async with ctx.db.transaction() as session:
        return await locks.set_locks(session, principal, org_id, node_id, parsed.locked_paths, parsed.reason)
