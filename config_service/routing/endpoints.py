"""Routing lookup and token exchange (internal token, global admin; org admins for lookups in their org)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from config_service.auth import policy
from config_service.auth.dependencies import Context, Exchanger, OrgAdmin, RoutingCaller
from config_service.errors import InvalidRequest
from config_service.http import ClientInputRoute
from config_service.kit.ids import is_valid_id
from config_service.kit.paging import DEFAULT_LIMIT, MAX_LIMIT
from config_service.orgs import service as orgs
from config_service.routing import exchange as exchanges
from config_service.routing import service
from config_service.routing.keys import identifier_problem
from config_service.routing.schemas import (
    MAX_EXCHANGE_TTL,
    ClaimList,
    ExchangeRequest,
    ExchangeResult,
    LookupRequest,
    LookupResult,
)

router = APIRouter(prefix="/internal", tags=["routing"], route_class=ClientInputRoute)
admin_router = APIRouter(prefix="/admin/orgs/{org_id}", tags=["routing"], route_class=ClientInputRoute)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post("/routing/lookup", response_model=LookupResult, operation_id="routing_lookup")
async def lookup(ctx: Context, principal: RoutingCaller, body: LookupRequest) -> LookupResult:
    """Find the team that owns a Slack channel, service, repo, … (first identifier in precedence
    order that matches decides). An org admin's lookup is always scoped to its own org. An
    unknown identifier kind, or a value that is not a string, is 422 naming it."""
    org_id = policy.lookup_org(principal, body.org_id, issue_token=body.issue_token)
    problem = identifier_problem(body.identifiers)
    if problem is not None:
        raise InvalidRequest(problem[1], path=problem[0])
    async with ctx.db.transaction() as session:
        result = await service.lookup(session, body.identifiers, org_id)
        if body.issue_token and result.found and result.org_id is not None and result.team_node_id is not None:
            ctx.issuing.take(result.org_id, short_lived=True)  # 429 past the org's short-lived budget
            issued = await exchanges.exchange(
                session, ctx.peppers, principal, result.org_id, result.team_node_id, MAX_EXCHANGE_TTL, None,
                via="routing.lookup",
            )
            result.team_token = issued.token
            result.team_token_expires_at = issued.expires_at.isoformat() if issued.expires_at else None
    return result


@router.post("/tokens/exchange", status_code=201, response_model=ExchangeResult, operation_id="token_exchange")
async def exchange(ctx: Context, principal: Exchanger, body: ExchangeRequest) -> ExchangeResult:
    """A team token valid for at most 15 minutes (default scopes `config:read secrets:read runs:write`).
    It never has `config:write`: asking for it is 422 naming the scope. 429 `rate_limited` past the org's
    budget of short-lived tokens (`SHORT_LIVED_TOKEN_ISSUE_PER_MINUTE`)."""
    # `Exchanger` decided first: a caller that may not exchange spends no org's budget
    ctx.issuing.take(body.org_id, short_lived=True)
    async with ctx.db.transaction() as session:
        return await exchanges.exchange(
            session, ctx.peppers, principal, body.org_id, body.team_node_id, body.ttl_seconds, body.scopes,
            via="exchange",
        )


@admin_router.post("/teams/{node_id}/impersonation-token", status_code=201, response_model=ExchangeResult,
                   operation_id="impersonation_token_issue")
async def impersonation_token(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, node_id: str
) -> ExchangeResult:
    """A team token of this node valid for 15 minutes (scopes `config:read secrets:read runs:write`),
    for an admin of the org to act as the team; audited. No body."""
    if (await request.body()).strip():
        raise InvalidRequest("this call takes no body", path="")
    ctx.issuing.take(org_id, short_lived=True)  # 429 past the org's short-lived budget
    async with ctx.db.transaction() as session:
        return await exchanges.impersonate(session, ctx.peppers, principal, org_id, node_id)


@admin_router.get("/routing", response_model=ClaimList, operation_id="routing_claims_list")
async def list_claims(
    ctx: Context,
    principal: OrgAdmin,
    org_id: str,
    node_id: Annotated[str | None, Query(description="Only this node's claims")] = None,
    kind: Annotated[str | None, Query(description="Only this list, e.g. `slack_channel_ids`")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ClaimList:
    """Every routing claim of the org: the list that claims it (`kind`), the identifier as written
    (`value`) and the node holding it, ordered by kind then identifier."""
    if node_id is not None and not is_valid_id(node_id):
        raise InvalidRequest("'node_id' is not a valid identifier", path="node_id")
    async with ctx.db.transaction() as session:
        await orgs.get_org_or_404(session, org_id)
        return await service.list_claims(session, org_id, node_id=node_id, kind=kind, limit=limit, cursor=cursor)
