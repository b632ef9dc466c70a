"""Routing lookup and token exchange (internal token, global admin; org admins for lookups in their org)."""

from __future__ import annotations

from fastapi import APIRouter

from config_service.auth import policy
from config_service.auth.dependencies import AnyPrincipal, Context
from config_service.auth.principal import Kind
from config_service.errors import Forbidden
from config_service.http import ClientInputRoute
from config_service.routing import exchange as exchanges
from config_service.routing import service
from config_service.routing.schemas import (
    MAX_EXCHANGE_TTL,
    ExchangeRequest,
    ExchangeResult,
    LookupRequest,
    LookupResult,
)

router = APIRouter(prefix="/internal", tags=["routing"], route_class=ClientInputRoute)


@router.post("/routing/lookup", response_model=LookupResult, operation_id="routing_lookup")
async def lookup(ctx: Context, principal: AnyPrincipal, body: LookupRequest) -> LookupResult:
    """Find the team that owns a Slack channel, service, repo, … (first identifier in precedence
    order that matches decides). An org admin's lookup is always scoped to its own org."""
    org_id = body.org_id
    if principal.kind is Kind.ORG_ADMIN:
        org_id = org_id or principal.org_id
        policy.require_org_admin(principal, org_id)
        if body.issue_token:
            raise Forbidden("issue_token needs the internal service token or the global admin")
    elif principal.kind not in (Kind.INTERNAL, Kind.GLOBAL_ADMIN):
        raise Forbidden("routing lookups need the internal service token or an admin token")
    async with ctx.db.transaction() as session:
        result = await service.lookup(session, body.identifiers, org_id)
        if body.issue_token and result.found:
            issued = await exchanges.exchange(
                session, ctx.peppers, principal, result.org_id, result.team_node_id, MAX_EXCHANGE_TTL, None,
                via="routing.lookup",
            )
            result.team_token = issued.token
            result.team_token_expires_at = issued.expires_at.isoformat() if issued.expires_at else None
    return result


@router.post("/tokens/exchange", status_code=201, response_model=ExchangeResult, operation_id="token_exchange")
async def exchange(ctx: Context, principal: AnyPrincipal, body: ExchangeRequest) -> ExchangeResult:
    """A team token valid for at most 15 minutes (default scopes `config:read secrets:read runs:write`)."""
    async with ctx.db.transaction() as session:
        return await exchanges.exchange(
            session, ctx.peppers, principal, body.org_id, body.team_node_id, body.ttl_seconds, body.scopes,
            via="exchange",
        )
