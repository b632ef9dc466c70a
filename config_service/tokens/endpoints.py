"""Token routes: team tokens (org admin) and org-admin tokens (issued by the global admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from config_service.auth.dependencies import Context, GlobalAdmin, OrgAdmin
from config_service.errors import InvalidRequest
from config_service.http import ClientInputRoute
from config_service.kit.ids import is_valid_id
from config_service.kit.paging import DEFAULT_LIMIT, MAX_LIMIT
from config_service.orgs import service as orgs
from config_service.tokens import service
from config_service.tokens.schemas import AdminTokenCreate, TokenCreate, TokenIssued, TokenList

router = APIRouter(prefix="/admin/orgs/{org_id}", tags=["tokens"], route_class=ClientInputRoute)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post("/teams/{node_id}/tokens", status_code=201, response_model=TokenIssued, operation_id="team_token_issue")
async def issue_team_token(
    ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, body: Annotated[TokenCreate | None, Body()] = None
) -> TokenIssued:
    """Issue a team token. The token is in this response only. Default scopes:
    `config:read secrets:read runs:write`; `config:write` only when asked for. The body may be omitted.
    429 `rate_limited` past the org's budget of issued tokens (`TOKEN_ISSUE_PER_MINUTE`)."""
    ctx.issuing.take(org_id, short_lived=False)
    async with ctx.db.transaction() as session:
        node = await orgs.hold_node(session, org_id, node_id)
        return await service.issue_team_token(session, ctx.peppers, principal, node, body or TokenCreate())


@router.get("/teams/{node_id}/tokens", response_model=TokenList, operation_id="team_token_list")
async def list_team_tokens(
    ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None
) -> TokenList:
    """The node's tokens, newest first, revoked ones included (not those of a deleted node that
    had the same id). Never the token itself."""
    async with ctx.db.transaction() as session:
        node = orgs.incarnation(await orgs.get_node_or_404(session, org_id, node_id))
        return await service.list_node_tokens(session, org_id, node_id, node, limit=limit, cursor=cursor)


@router.get("/tokens", response_model=TokenList, operation_id="org_token_list")
async def list_org_tokens(
    ctx: Context,
    principal: OrgAdmin,
    org_id: str,
    team_node_id: Annotated[str | None, Query(description="Only this node's tokens")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> TokenList:
    """Every team token of the org (or of one node id with `team_node_id`), newest first, revoked
    ones included (its deleted nodes' too; never a former org's of the same id). Never the token
    itself."""
    if team_node_id is not None and not is_valid_id(team_node_id):
        raise InvalidRequest("'team_node_id' is not a valid identifier", path="team_node_id")
    async with ctx.db.transaction() as session:
        org = orgs.incarnation(await orgs.get_org_or_404(session, org_id))
        return await service.list_org_tokens(session, org_id, org, team_node_id, limit=limit, cursor=cursor)


@router.post("/teams/{node_id}/tokens/{token_id}/revoke", status_code=204, operation_id="team_token_revoke")
async def revoke_team_token(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str,
    token_id: uuid.UUID) -> Response:
    async with ctx.db.transaction() as session:
        node = orgs.incarnation(await orgs.get_node_or_404(session, org_id, node_id))
        await service.revoke_team_token(session, principal, org_id, node_id, node, token_id)
    return Response(status_code=204)


@router.post("/admin-tokens", status_code=201, response_model=TokenIssued, operation_id="admin_token_issue")
async def issue_admin_token(
    ctx: Context, principal: GlobalAdmin, org_id: str, body: Annotated[AdminTokenCreate | None, Body()] = None
) -> TokenIssued:
    """Issue an org-admin token (global admin only). The body may be omitted. Counts towards the
    org's budget of issued tokens, as team tokens do."""
    ctx.issuing.take(org_id, short_lived=False)
    async with ctx.db.transaction() as session:
        org = await orgs.hold_node(session, org_id, org_id)
        return await service.issue_admin_token(session, ctx.peppers, principal, org, body or AdminTokenCreate())


@router.get("/admin-tokens", response_model=TokenList, operation_id="admin_token_list")
async def list_admin_tokens(
    ctx: Context, principal: OrgAdmin, org_id: str, limit: Limit = DEFAULT_LIMIT, cursor: str | None = None
) -> TokenList:
    async with ctx.db.transaction() as session:
        org = orgs.incarnation(await orgs.get_org_or_404(session, org_id))
        return await service.list_admin_tokens(session, org_id, org, limit=limit, cursor=cursor)


@router.post("/admin-tokens/{token_id}/revoke", status_code=204, operation_id="admin_token_revoke")
async def revoke_admin_token(ctx: Context, principal: OrgAdmin, org_id: str, token_id: uuid.UUID) -> Response:
    async with ctx.db.transaction() as session:
        org = orgs.incarnation(await orgs.get_org_or_404(session, org_id))
        await service.revoke_admin_token(session, principal, org_id, org, token_id)
    return Response(status_code=204)
