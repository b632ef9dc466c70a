"""Routing lookup and token exchange (internal token, global admin; org admins for lookups in their org)."""

from __future__ import annotations

from fastapi import APIRouter

from config_service.auth import policy
from config_service.auth.dependencies import Context, Exchanger, RoutingCaller
from config_service.routing import exchange as exchanges
from config_service.routing import service
from config_service.routing.schemas import (
    MAX_EXCHANGE_TTL,
    ExchangeRequest,
    ExchangeResult,
    LookupRequest,
    LookupResult,
)

router = APIRouter(prefix="/internal", tags=["routing"])


@router.post("/routing/lookup", response_model=LookupResult, operation_id="routing_lookup")
async def lookup(ctx: Context, principal: RoutingCaller, body: LookupRequest) -> LookupResult:
    """Find the team that owns a Slack channel, service, repo, … (first identifier in precedence
    order that matches decides). An org admin's lookup is always scoped to its own org."""
    org_id = policy.lookup_org(principal, body.org_id, issue_token=body.issue_token)
    async with ctx.db.transaction() as session:
        result = await service.lookup(session, body.identifiers, org_id)
        if body.issue_token and result.found and result.org_id is not None and result.team_node_id is not None:
            issued = await exchanges.exchange(
                session, ctx.peppers, principal, result.org_id, result.team_node_id, MAX_EXCHANGE_TTL, None,
                via="routing.lookup",
            )
            result.team_token = issued.token
            result.team_token_expires_at = issued.expires_at.isoformat() if issued.expires_at else None
    return result


@router.post("/tokens/exchange", status_code=201, response_model=ExchangeResult, operation_id="token_exchange")
async def exchange(ctx: Context, principal: Exchanger, body: ExchangeRequest) -> ExchangeResult:
    """A team token valid for at most 15 minutes (default scopes `config:read secrets:read runs:write`)."""
    async with ctx.db.transaction() as session:
        return await exchanges.exchange(
            session, ctx.peppers, principal, body.org_id, body.team_node_id, body.ttl_seconds, body.scopes,
            via="exchange",
        )
