"""Explain routes, for the team's own node and for admins (DESIGN §7)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from config_service.auth.dependencies import Context, OrgAdmin, TeamReader
from config_service.http import ClientInputRoute, json_response
from config_service.insight import service
from config_service.insight.schemas import ExplainView

team_router = APIRouter(prefix="/config/me", tags=["config (team)"], route_class=ClientInputRoute)
admin_router = APIRouter(
    prefix="/admin/orgs/{org_id}/nodes/{node_id}", tags=["config (admin)"], route_class=ClientInputRoute
)


@team_router.get("/explain", response_model=ExplainView, operation_id="config_me_explain")
async def explain_me(ctx: Context, caller: TeamReader) -> Response:
    """Where each effective value comes from: source node and version, locks, tombstones,
    overridden ancestor values (nearest first). Secrets are masked, with a fingerprint."""
    async with ctx.db.transaction() as session:
        view = await service.explain(session, ctx.keys, caller.org_id, caller.node_id)
    return json_response(view)


@admin_router.get("/explain", response_model=ExplainView, operation_id="node_explain")
async def explain_node(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str) -> Response:
    async with ctx.db.transaction() as session:
        view = await service.explain(session, ctx.keys, org_id, node_id)
    return json_response(view)
