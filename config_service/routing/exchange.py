"""Short-lived team tokens for callers that resolved a team (DESIGN §9)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.auth import policy
from config_service.auth.principal import Principal
from config_service.errors import InvalidRequest
from config_service.orgs import service as orgs
from config_service.routing.schemas import MAX_EXCHANGE_TTL
from config_service.tokens import service as tokens
from config_service.tokens.schemas import TokenCreate, TokenIssued


async def exchange(
    session: AsyncSession,
    peppers: tokens.Peppers,
    principal: Principal,
    org_id: str,
    node_id: str,
    ttl_seconds: int,
    scopes: list[str] | None,
    *,
    via: str,
) -> TokenIssued:
    """A short-lived team token (≤ 15 minutes), audited as `token.issued`, for a principal the
    route let exchange (`policy.require_exchanger`, or a lookup's `policy.lookup_org`); its scopes
    are `policy.exchange_scopes` (never `config:write`)."""
    granted = policy.exchange_scopes(scopes)
    if ttl_seconds < 1 or ttl_seconds > MAX_EXCHANGE_TTL:
        raise InvalidRequest(f"ttl_seconds must be between 1 and {MAX_EXCHANGE_TTL}", path="/ttl_seconds")
    node = await orgs.hold_node(session, org_id, node_id)
    body = TokenCreate(description=f"short-lived ({via})", scopes=granted)
    return await tokens.issue_team_token(
        session, peppers, principal, node, body, ttl=timedelta(seconds=ttl_seconds),
        audit_details={"via": via, "ttl_seconds": ttl_seconds},
    )


async def impersonate(
    session: AsyncSession, peppers: tokens.Peppers, principal: Principal, org_id: str, node_id: str
) -> TokenIssued:
    """A short-lived team token (15 minutes, the default scopes) that an admin of the org asks
    for to act as one of its teams — what it could also mint with `…/tokens`, but expiring;
    audited as `token.issued` with `via: impersonation`. The route checked the admin (`OrgAdmin`)."""
    return await exchange(session, peppers, principal, org_id, node_id, MAX_EXCHANGE_TTL, None, via="impersonation")
