"""Routing keys follow every config write, and one-query lookups (DESIGN §9)."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.auth.principal import Kind, Principal
from config_service.errors import Forbidden, InvalidConfig, InvalidRequest, RoutingConflict
from config_service.kit.jsondoc import canonical
from config_service.routing import repository
from config_service.routing.keys import (
    ROUTING_LISTS,
    WORKSPACE_LIST,
    RoutingError,
    claims,
    lookup_candidates,
)
from config_service.routing.schemas import ClaimInfo, ClaimList, LookupResult


def planned_claims(own_config: dict[str, Any], *, is_root: bool):
    """The claims of a would-be own config, validated (422 on malformed routing lists)."""
    try:
        wanted = claims(own_config)
    except RoutingError as exc:
        raise InvalidConfig(str(exc), path=exc.path) from None
    if not is_root and any(c.key_type == WORKSPACE_LIST for c in wanted):
        raise InvalidConfig("routing.slack_workspace_ids can only be set on an org root", path=f"/routing/{WORKSPACE_LIST}")
    return wanted


async def sync_claims(
    session: AsyncSession,
    principal: Principal,
    org_id: str,
    node_id: str,
    new_own: dict[str, Any],
    *,
    is_root: bool,
    old_own: dict[str, Any] | None = None,
) -> None:
    """Make routing_keys hold exactly what the node's new own config claims, in the write's transaction.

    409 `routing_conflict` (naming the holder) when another node of the org — or, for Slack
    workspaces, another org — holds an identifier; the caller's transaction then rolls back.
    """
    if old_own is not None and canonical(old_own.get("routing")) == canonical(new_own.get("routing")):
        return  # claims only ever come from the own config's `routing`: unchanged, so are they
    wanted = planned_claims(new_own, is_root=is_root)
    held = await repository.claims_of(session, org_id, node_id)
    workspaces_before = {c for c in held if c.key_type == WORKSPACE_LIST}
    workspaces_after = {c for c in wanted if c.key_type == WORKSPACE_LIST}
    if workspaces_before != workspaces_after and principal.kind is not Kind.GLOBAL_ADMIN:
        raise Forbidden("only the global admin binds Slack workspaces to an org (routing.slack_workspace_ids)")
    await repository.release(session, org_id, node_id, held - wanted)
    taken = await repository.claim(session, org_id, node_id, wanted - held)
    if taken:
        workspace = {p for p in taken if p[0] == WORKSPACE_LIST}
        rows = await repository.holders(session, taken, None if workspace else org_id)
        holder = next((r for r in rows if not (r.org_id == org_id and r.node_id == node_id)), None)
        if holder is None:
            raise RoutingConflict("a routing identifier is already claimed", holder=None)
        if holder.key_type == WORKSPACE_LIST and holder.org_id != org_id:
            raise RoutingConflict(
                f"Slack workspace '{holder.key_value}' is bound to another org",
                holder={"org_id": holder.org_id, "node_id": None, "key_type": holder.key_type, "key_value": holder.key_value},
            )
        raise RoutingConflict(
            f"routing.{holder.key_type} '{holder.key_value}' is already claimed by node '{holder.node_id}'",
            holder={"org_id": holder.org_id, "node_id": holder.node_id, "key_type": holder.key_type, "key_value": holder.key_value},
        )


async def lookup(
    session: AsyncSession, identifiers: dict[str, Any], org_id: str | None
) -> LookupResult:
    """Resolve identifiers to the team that owns them, in one indexed query."""
    candidates = lookup_candidates(identifiers)
    workspace = identifiers.get("slack_workspace_id")
    pairs = [(plural, norm) for _, plural, norm in candidates]
    use_workspace = org_id is None and isinstance(workspace, str) and bool(workspace)
    if use_workspace:
        pairs.append((WORKSPACE_LIST, workspace))
    rows = await repository.lookup(session, pairs, org_id)
    if use_workspace:
        bound = next((r.org_id for r in rows if r.key_type == WORKSPACE_LIST), None)
        if bound is not None:
            org_id = bound
            rows = [r for r in rows if r.org_id == bound]
    by_pair: dict[tuple[str, str], list] = {}
    for row in rows:
        if row.key_type != WORKSPACE_LIST:
            by_pair.setdefault((row.key_type, row.key_norm), []).append(row)
    tried: list[str] = []
    for singular, plural, norm in candidates:
        tried.append(singular)
        matches = by_pair.get((plural, norm), [])
        if not matches:
            continue
        orgs_matched = sorted({m.org_id for m in matches})
        if len(orgs_matched) > 1:
            return LookupResult(found=False, org_id=None, team_node_id=None, matched_by=singular,
                                matched_value=identifiers[singular], tried=tried, ambiguous=orgs_matched, team_token=None)
        match = matches[0]
        return LookupResult(found=True, org_id=match.org_id, team_node_id=match.node_id, matched_by=singular,
                            matched_value=identifiers[singular], tried=tried, ambiguous=None, team_token=None)
    return LookupResult(found=False, org_id=org_id, team_node_id=None, matched_by=None, matched_value=None,
                        tried=tried, ambiguous=None, team_token=None)


CLAIM_KINDS = (*ROUTING_LISTS, WORKSPACE_LIST)


async def list_claims(
    session: AsyncSession, org_id: str, *, node_id: str | None, kind: str | None, limit: int, cursor: str | None
) -> ClaimList:
    """Every routing claim of an org (optionally of one node or one kind), in (kind, value) order."""
    if kind is not None and kind not in CLAIM_KINDS:
        raise InvalidRequest(f"kind must be one of: {', '.join(CLAIM_KINDS)}", path="kind")
    after = _claim_after(cursor) if cursor else None
    rows = await repository.list_claims(session, org_id, node_id=node_id, key_type=kind, limit=limit + 1, after=after)
    more = len(rows) > limit
    rows = rows[:limit]
    return ClaimList(
        items=[ClaimInfo(kind=r.key_type, value=r.key_value, node_id=r.node_id) for r in rows],
        next_cursor=_claim_cursor(rows[-1].key_type, rows[-1].key_norm) if more else None,
    )


def _claim_cursor(key_type: str, key_norm: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([key_type, key_norm])).decode().rstrip("=")


def _claim_after(cursor: str) -> tuple[str, str]:
    try:
        key_type, key_norm = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(key_type, str) and isinstance(key_norm, str):
            return key_type, key_norm
    except (ValueError, TypeError):
        pass
    raise InvalidRequest("cursor is not one this service issued", path="cursor")
