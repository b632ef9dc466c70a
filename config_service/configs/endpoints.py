"""Config routes: the team's own node (`/config/me…`) and any node for admins."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from config_service.auth import policy
from config_service.auth.dependencies import Context, OrgAdmin, TeamReader, TeamWriter
from config_service.auth.principal import Principal
from config_service.configs import locks, service
from config_service.configs.changes import Change, Rollback
from config_service.configs.preconditions import Precondition, none_match, parse_tags
from config_service.configs.requests import CONFIG_KEYS, MERGE_TYPES, WriteRequest, parse_patch, parse_put
from config_service.configs.schemas import (
    PATCH_BODY_DOC,
    PREVIEW_BODY_DOC,
    PUT_BODY_DOC,
    ROLLBACK_BODY_DOC,
    TEAM_PATCH_BODY_DOC,
    EffectiveView,
    HistoryItem,
    HistoryPage,
    LocksView,
    LocksWrite,
    OwnView,
    PreviewRollback,
    PreviewView,
    RawView,
    RollbackRequest,
    VersionDiff,
    WriteResult,
)
from config_service.context import AppContext
from config_service.errors import InvalidRequest
from config_service.http import (
    DEPRECATION_HEADERS,
    ClientInputRoute,
    json_body,
    json_response,
    media_type,
    quoted,
)
from config_service.kit import paging
from config_service.live.reads import effective_response

team_router = APIRouter(prefix="/config/me", tags=["config (team)"], route_class=ClientInputRoute)
admin_router = APIRouter(
    prefix="/admin/orgs/{org_id}/nodes/{node_id}", tags=["config (admin)"], route_class=ClientInputRoute
)

Limit = Annotated[int, Query(ge=1, le=500)]
Wait = Annotated[float | None, Query(ge=0, le=60, description="Long poll: seconds to wait for a change (≤ 60)")]
BeforeVersion = Annotated[int | None, Query(ge=1, le=paging.MAX_VERSION)]
VersionPath = Annotated[int, Path(ge=1, le=paging.MAX_VERSION, description="An own-config version")]
FromVersion = Annotated[int, Query(alias="from", ge=1, le=paging.MAX_VERSION, description="The version to diff from")]
ToVersion = Annotated[
    int | None,
    Query(alias="to", ge=1, le=paging.MAX_VERSION, description="The version to diff to (default: the current one)"),
]
Secrets = Annotated[
    Literal["masked"] | None,
    Query(description="`masked`: mask secrets even for a token with `secrets:read` (no `secrets.read` audit)"),
]


# ---- shared handlers -------------------------------------------------------------------


async def write_response(
    ctx: AppContext,
    request: Request,
    principal: Principal,
    org_id: str,
    node_id: str,
    parsed: WriteRequest,
    *,
    own_resource: bool,
    lenient_integrations: bool = False,
) -> Response:
    async with ctx.db.transaction() as session:
        result = await service.write(
            session, ctx.keys, principal, org_id, node_id, parsed.change,
            reason=parsed.reason, precondition=if_match(request, own_resource=own_resource),
            lenient_integrations=lenient_integrations,
        )
    headers = {"ETag": quoted(str(result.version) if own_resource else result.etag)}
    if parsed.legacy:
        headers.update(DEPRECATION_HEADERS)
    return json_response(result, headers=headers)


def if_match(request: Request, *, own_resource: bool) -> Precondition:
    """The request's `If-Match`. A present one always conditions the write: an empty or
    weak-only header matches nothing (412) rather than silently making it unconditional."""
    return Precondition(parse_tags(request.headers.get("if-match"), weak=False), own_resource=own_resource)


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
        before_version = paging.decode_version_cursor(cursor)
    async with ctx.db.transaction() as session:
        return await service.history(
            session, org_id, node_id, limit=limit, before_version=before_version, include_full=include_full
        )


# ---- team ---------------------------------------------------------------------------------


@team_router.get("", response_model=EffectiveView, operation_id="config_me_get")
@team_router.get("/effective", response_model=EffectiveView, operation_id="config_me_effective")
async def get_me(
    ctx: Context, request: Request, caller: TeamReader, wait: Wait = None, secrets: Secrets = None
) -> Response:
    """The team's effective config. Plaintext secrets only with `secrets:read` (then `no-store`),
    unless `secrets=masked`. `If-None-Match` → 304; with `wait=<s ≤ 60>` as well, a long poll that
    answers 200 as soon as the effective config changes, or 304 when the wait ends (401 when the
    token is revoked or expires meanwhile)."""
    return await effective_response(
        ctx, request, caller.org_id, caller.node_id, reveal=policy.may_reveal(caller.principal, secrets), wait=wait,
        principal=caller.principal,
    )


@team_router.get("/raw", response_model=RawView, operation_id="config_me_raw")
async def get_me_raw(ctx: Context, caller: TeamReader) -> RawView:
    async with ctx.db.transaction() as session:
        return await service.read_raw(session, caller.org_id, caller.node_id)


@team_router.patch("", response_model=WriteResult, operation_id="config_me_patch", openapi_extra=TEAM_PATCH_BODY_DOC)
async def patch_me(ctx: Context, request: Request, caller: TeamWriter) -> Response:
    """Merge patch (`application/json`, `application/merge-patch+json`: `{"config": …, "reason"?}`,
    also the peer agent's `"merge": true`) or RFC 6902 (`application/json-patch+json`). `If-Match`:
    the effective etag or `"v<version>"`."""
    parsed = await parse_patch(request, legacy_merge_flag=True)
    return await write_response(
        ctx, request, caller.principal, caller.org_id, caller.node_id, parsed, own_resource=False
    )


@team_router.put("", response_model=WriteResult, operation_id="config_me_put", openapi_extra=PUT_BODY_DOC)
async def put_me(ctx: Context, request: Request, caller: TeamWriter) -> Response:
    """Replace the own config (`null` values are tombstones). Legacy `{"patch": …}` = PATCH."""
    parsed = await parse_put(request)
    return await write_response(
        ctx, request, caller.principal, caller.org_id, caller.node_id, parsed, own_resource=False
    )


@team_router.get("/history", response_model=HistoryPage, operation_id="config_me_history")
async def get_me_history(
    ctx: Context,
    caller: TeamReader,
    limit: Limit = 50,
    before_version: BeforeVersion = None,
    cursor: str | None = None,
    include_full: bool = False,
) -> HistoryPage:
    return await history_page(ctx, caller.org_id, caller.node_id, limit, before_version, cursor, include_full)


@team_router.get("/history/{version}", response_model=HistoryItem, operation_id="config_me_version")
async def get_me_version(ctx: Context, caller: TeamReader, version: VersionPath) -> HistoryItem:
    """One version of the own config, with its full content (secrets masked)."""
    async with ctx.db.transaction() as session:
        return await service.version_item(session, caller.org_id, caller.node_id, version)


@team_router.get("/diff", response_model=VersionDiff, operation_id="config_me_diff")
async def get_me_diff(
    ctx: Context, caller: TeamReader, from_version: FromVersion, to_version: ToVersion = None
) -> VersionDiff:
    """The RFC 6902 diff between two versions of the own config (`to` defaults to the current
    version; `from` > `to` gives the reverse diff). Secrets masked."""
    async with ctx.db.transaction() as session:
        return await service.version_diff(session, caller.org_id, caller.node_id, from_version, to_version)


@team_router.post(
    "/rollback", response_model=WriteResult, operation_id="config_me_rollback", openapi_extra=ROLLBACK_BODY_DOC
)
async def rollback_me(ctx: Context, request: Request, caller: TeamWriter) -> Response:
    parsed = await rollback_body(request)
    return await write_response(
        ctx, request, caller.principal, caller.org_id, caller.node_id, parsed, own_resource=False
    )


# ---- admin --------------------------------------------------------------------------------


@admin_router.get("/config", response_model=OwnView, operation_id="node_config_get")
async def get_node_config(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str
) -> Response:
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
async def patch_node_config(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str
) -> Response:
    """Merge patch (`{"config": …, "reason"?}`) or RFC 6902 by media type. `If-Match`: the bare
    own version (this route's `ETag`), `"v<version>"` or the effective etag; a 412 names the
    current version in `ETag` and `current`."""
    parsed = await parse_patch(request)
    return await write_response(ctx, request, principal, org_id, node_id, parsed, own_resource=True)


@admin_router.put("/config", response_model=WriteResult, operation_id="node_config_put", openapi_extra=PUT_BODY_DOC)
async def put_node_config(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str
) -> Response:
    """Replace the own config (`{"config": …, "reason"?}`; legacy `{"patch": …}` = PATCH).
    `If-Match` as on PATCH."""
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


async def preview_change(request: Request) -> Change:
    """A PATCH body (merge patch or RFC 6902, by media type) or `{"rollback_to": N}`."""
    if media_type(request) in MERGE_TYPES:
        body = await json_body(request, configs=CONFIG_KEYS)
        if isinstance(body, dict) and "rollback_to" in body:
            if "config" in body:
                raise InvalidRequest("give either 'config' or 'rollback_to', not both", path="")
            parsed = PreviewRollback.model_validate(body)
            return Rollback(parsed.rollback_to, parsed.restore_secrets)
    return (await parse_patch(request)).change


@team_router.post(
    "/preview", response_model=PreviewView, operation_id="config_me_preview", openapi_extra=PREVIEW_BODY_DOC
)
async def preview_me(ctx: Context, request: Request, caller: TeamWriter) -> Response:
    """Dry run of a write to the team's own config (needs `config:write`): the node and
    descendants whose effective config would change, and every problem the write would meet."""
    change = await preview_change(request)
    async with ctx.db.transaction() as session:
        view = await service.preview(session, ctx.keys, caller.principal, caller.org_id, caller.node_id, change,
                                     if_match(request, own_resource=False))
    return json_response(view)


@admin_router.post(
    "/config/preview", response_model=PreviewView, operation_id="node_config_preview", openapi_extra=PREVIEW_BODY_DOC
)
async def preview_node_config(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str
) -> Response:
    """Dry run of a PATCH or rollback: the node and descendants whose effective config would
    change (each with a masked RFC 6902 diff), and every lock, validation or routing problem
    the write would meet (in `errors`, still 200). Writes nothing."""
    change = await preview_change(request)
    async with ctx.db.transaction() as session:
        view = await service.preview(session, ctx.keys, principal, org_id, node_id, change,
                                     if_match(request, own_resource=True))
    return json_response(view)


@admin_router.get("/effective", response_model=EffectiveView, operation_id="node_effective")
async def get_node_effective(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str, wait: Wait = None
) -> Response:
    """The node's effective config (secrets masked); `wait` long-polls as on `/config/me`."""
    return await effective_response(ctx, request, org_id, node_id, reveal=False, wait=wait, principal=principal)


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


@admin_router.get("/history/{version}", response_model=HistoryItem, operation_id="node_version")
async def get_node_version(
    ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, version: VersionPath
) -> HistoryItem:
    """One version of the node's own config, with its full content (secrets masked)."""
    async with ctx.db.transaction() as session:
        return await service.version_item(session, org_id, node_id, version)


@admin_router.get("/diff", response_model=VersionDiff, operation_id="node_diff")
async def get_node_diff(
    ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, from_version: FromVersion,
    to_version: ToVersion = None,
) -> VersionDiff:
    """The RFC 6902 diff between two versions of the node's own config (secrets masked)."""
    async with ctx.db.transaction() as session:
        return await service.version_diff(session, org_id, node_id, from_version, to_version)


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
