"""Token routes: team tokens (org admin) and org-admin tokens (issued by the global admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from config_service.auth import policy
from config_service.auth.dependencies import Context, OrgAdmin
from config_service.orgs import service as orgs
from config_service.tokens import service
from config_service.tokens.schemas import AdminTokenCreate, TokenCreate, TokenIssued, TokenList

router = APIRouter(prefix="/admin/orgs/{org_id}", tags=["tokens"])


@router.post("/teams/{node_id}/tokens", status_code=201, response_model=TokenIssued, operation_id="team_token_issue")
async def issue_team_token(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, body: TokenCreate) -> TokenIssued:
    """Issue a team token. The token is in this response only. Default scopes:
    `config:read secrets:read runs:write`; `config:write` only when asked for."""
    async with ctx.db.transaction() as session:
        await orgs.get_node_or_404(session, org_id, node_id)
        return await service.issue_team_token(session, ctx.peppers, principal, org_id, node_id, body)


@router.get("/teams/{node_id}/tokens", response_model=TokenList, operation_id="team_token_list")
async def list_team_tokens(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str) -> TokenList:
    async with ctx.db.transaction() as session:
        await orgs.get_node_or_404(session, org_id, node_id)
        return TokenList(items=await service.list_team_tokens(session, org_id, node_id))


@router.post("/teams/{node_id}/tokens/{token_id}/revoke", status_code=204, operation_id="team_token_revoke")
async def revoke_team_token(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, token_id: uuid.UUID) -> Response:
    async with ctx.db.transaction() as session:
        await service.revoke_team_token(session, principal, org_id, node_id, token_id)
    return Response(status_code=204)


@router.post("/admin-tokens", status_code=201, response_model=TokenIssued, operation_id="admin_token_issue")
async def issue_admin_token(ctx: Context, principal: OrgAdmin, org_id: str, body: AdminTokenCreate) -> TokenIssued:
    """Issue an org-admin token (global admin only)."""
    policy.require_global_admin(principal)
    async with ctx.db.transaction() as session:
        await orgs.get_node_or_404(session, org_id, org_id)
        return await service.issue_admin_token(session, ctx.peppers, principal, org_id, body)


@router.get("/admin-tokens", response_model=TokenList, operation_id="admin_token_list")
async def list_admin_tokens(ctx: Context, principal: OrgAdmin, org_id: str) -> TokenList:
    async with ctx.db.transaction() as session:
        await orgs.get_node_or_404(session, org_id, org_id)
        return TokenList(items=await service.list_admin_tokens(session, org_id))


@router.post("/admin-tokens/{token_id}/revoke", status_code=204, operation_id="admin_token_revoke")
async def revoke_admin_token(ctx: Context, principal: OrgAdmin, org_id: str, token_id: uuid.UUID) -> Response:
    async with ctx.db.transaction() as session:
        await service.revoke_admin_token(session, principal, org_id, token_id)
    return Response(status_code=204)
