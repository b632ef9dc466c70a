"""The peer service's read aliases, answered with a `Deprecation` header (DESIGN §6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from config_service.auth import policy
from config_service.auth.dependencies import Context, NodeReader
from config_service.configs import service as configs
from config_service.configs.endpoints import BeforeVersion, history_page
from config_service.http import DEPRECATION_HEADERS, ClientInputRoute, json_response
from config_service.live.reads import effective_response

router = APIRouter(
    prefix="/config/orgs/{org_id}/nodes/{node_id}", tags=["compatibility"], deprecated=True,
    route_class=ClientInputRoute,
)


@router.get("/effective", operation_id="legacy_effective")
async def legacy_effective(
    ctx: Context, request: Request, principal: NodeReader, org_id: str, node_id: str
) -> Response:
    """= `GET /admin/orgs/{org}/nodes/{node}/effective` (or the team's `/config/me`)."""
    response = await effective_response(
        ctx, request, org_id, node_id, reveal=policy.may_reveal(principal), principal=principal
    )
    response.headers.update(DEPRECATION_HEADERS)
    return response


@router.get("/raw", operation_id="legacy_raw")
async def legacy_raw(ctx: Context, principal: NodeReader, org_id: str, node_id: str) -> Response:
    async with ctx.db.transaction() as session:
        view = await configs.read_raw(session, org_id, node_id)
    return json_response(view, headers=DEPRECATION_HEADERS)


@router.get("/audit", operation_id="legacy_history")
async def legacy_history(
    ctx: Context,
    principal: NodeReader,
    org_id: str,
    node_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_version: BeforeVersion = None,
    cursor: str | None = None,
    include_full: bool = False,
) -> Response:
    """= history of the node's own config."""
    page = await history_page(ctx, org_id, node_id, limit, before_version, cursor, include_full)
    return json_response(page, headers=DEPRECATION_HEADERS)
