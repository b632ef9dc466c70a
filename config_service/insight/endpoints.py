"""Explain (team and admin) and preview (admin) routes (DESIGN §7)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from config_service.auth import policy
from config_service.auth.dependencies import Context, OrgAdmin, Team
from config_service.auth.principal import Scope
from config_service.configs.changes import Change, Rollback
from config_service.configs.requests import MERGE_TYPES, parse_patch
from config_service.errors import InvalidRequest
from config_service.http import ClientInputRoute, json_body, json_response, media_type
from config_service.insight import service
from config_service.insight.schemas import (
    PREVIEW_BODY_DOC,
    ExplainView,
    PreviewRollback,
    PreviewView,
)

team_router = APIRouter(prefix="/config/me", tags=["config (team)"], route_class=ClientInputRoute)
admin_router = APIRouter(
    prefix="/admin/orgs/{org_id}/nodes/{node_id}", tags=["config (admin)"], route_class=ClientInputRoute
)


@team_router.get("/explain", response_model=ExplainView, operation_id="config_me_explain")
async def explain_me(ctx: Context, principal: Team) -> Response:
    """Where each effective value comes from: source node and version, locks, tombstones,
    overridden ancestor values (nearest first). Secrets are masked, with a fingerprint."""
    policy.require_scope(principal, Scope.CONFIG_READ)
    async with ctx.db.transaction() as session:
        view = await service.explain(session, ctx.keys, principal.org_id, principal.node_id)
    return json_response(view)


@admin_router.get("/explain", response_model=ExplainView, operation_id="node_explain")
async def explain_node(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str) -> Response:
    async with ctx.db.transaction() as session:
        view = await service.explain(session, ctx.keys, org_id, node_id)
    return json_response(view)


async def preview_change(request: Request) -> Change:
    """A PATCH body (merge patch or RFC 6902, by media type) or `{"rollback_to": N}`."""
    if media_type(request) in MERGE_TYPES:
        body = await json_body(request)
        if isinstance(body, dict) and "rollback_to" in body:
            if "config" in body:
                raise InvalidRequest("give either 'config' or 'rollback_to', not both", path="")
            parsed = PreviewRollback.model_validate(body)
            return Rollback(parsed.rollback_to, parsed.restore_secrets)
    return (await parse_patch(request)).change


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
        view = await service.preview(session, ctx.keys, principal, org_id, node_id, change)
    return json_response(view)
