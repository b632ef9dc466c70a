"""Routing keys follow every config write, and one-query lookups (DESIGN §9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.auth import policy
from config_service.auth.principal import Principal
from config_service.errors import AppError, Forbidden, InvalidConfig, InvalidRequest, RoutingConflict
from config_service.kit import paging
from config_service.kit.jsondoc import canonical
from config_service.models import RoutingKey
from config_service.routing import repository
from config_service.routing.keys import (
    ROUTING_LISTS,
    WORKSPACE_IDENTIFIER,
    WORKSPACE_LIST,
    Claim,
    RoutingError,
    claims,
    lookup_candidates,
)
from config_service.routing.schemas import ClaimInfo, ClaimList, LookupResult


@dataclass(frozen=True)
class ClaimPlan:
    """The claims of a node's would-be own config, against those it holds now."""

    wanted: set[Claim]
    held: set[Claim]

    @property
    def new(self) -> set[Claim]:
        return self.wanted - self.held

    @property
    def gone(self) -> set[Claim]:
        return self.held - self.wanted


async def plan_claims(
    session: AsyncSession, principal: Principal, org_id: str, node_id: str, new_own: dict[str, Any], *, is_root: bool,
    after: ClaimsAfter | None = None,
) -> tuple[ClaimPlan | None, list[AppError]]:
    """What the new own config claims, and what a write refuses before touching routing_keys:
    a malformed routing list (422; then there is no plan), a change to the org's Slack
    workspaces by anyone but the global admin (403). `after` holds the claims held now."""
    try:
        wanted = claims(new_own)
    except RoutingError as exc:
        return None, [InvalidConfig(str(exc), path=exc.path)]
    if not is_root and any(c.key_type == WORKSPACE_LIST for c in wanted):
        message = "routing.slack_workspace_ids can only be set on an org root"
        return None, [InvalidConfig(message, path=f"/routing/{WORKSPACE_LIST}")]
    held = after.held_now.get(node_id, set()) if after is not None else await repository.claims_of(
        session, org_id, node_id)
    plan = ClaimPlan(wanted, held)
    problems: list[AppError] = []
    workspaces_before = {c for c in plan.held if c.key_type == WORKSPACE_LIST}
    workspaces_after = {c for c in wanted if c.key_type == WORKSPACE_LIST}
    if workspaces_before != workspaces_after and not policy.may_bind_workspaces(principal):
        problems.append(Forbidden(
            "only the global admin binds Slack workspaces to an org (routing.slack_workspace_ids)",
            path=f"/routing/{WORKSPACE_LIST}",
        ))
    return plan, problems


@dataclass(frozen=True)
class ClaimsAfter:
    """An org's routing claims before and after a planned set of changes (an import's final
    tree): what each node holds now (read once for the whole plan), and who holds each
    identifier after — (key_type, key_norm) → [(node_id, key_value)], nodes in id order."""

    org_id: str
    held_now: dict[str, set[Claim]]
    holders: dict[tuple[str, str], list[tuple[str, str]]]


async def claims_after(session: AsyncSession, org_id: str, own_configs: dict[str, dict[str, Any]]) -> ClaimsAfter:
    """The claims of an org now, and once its nodes have these own configs (node id → own config,
    every node the changes leave). A malformed routing claims nothing here: the write rules refuse
    it at its own node."""
    holders: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for node_id in sorted(own_configs):
        try:
            found = claims(own_configs[node_id])
        except RoutingError:
            continue
        for claim in sorted(found):
            holders.setdefault((claim.key_type, claim.key_norm), []).append((node_id, claim.key_value))
    return ClaimsAfter(org_id, await repository.claims_of_org(session, org_id), holders)


def _conflict(row: RoutingKey, org_id: str) -> AppError:
    """409 naming who holds an identifier: a node of the org, or (a Slack workspace) another org."""
    return _conflict_of(row.org_id, row.node_id, row.key_type, row.key_value, org_id)


def _conflict_of(holder_org: str, holder_node: str, key_type: str, key_value: str, org_id: str) -> AppError:
    holder: dict[str, str | None] = {
        "org_id": holder_org, "node_id": holder_node, "key_type": key_type, "key_value": key_value,
    }
    if key_type == WORKSPACE_LIST and holder_org != org_id:
        holder["node_id"] = None
        detail = f"Slack workspace '{key_value}' is bound to another org"
    else:
        detail = f"routing.{key_type} '{key_value}' is already claimed by node '{holder_node}'"
    return RoutingConflict(detail, path=f"/routing/{key_type}", holder=holder)


async def _conflicts(session: AsyncSession, org_id: str, node_id: str, pairs: set[tuple[str, str]]) -> list[AppError]:
    """Who else holds any of these (key_type, key_norm): in the org, or anywhere for workspaces."""
    in_org = {p for p in pairs if p[0] != WORKSPACE_LIST}
    anywhere = pairs - in_org
    rows: list[RoutingKey] = []
    if in_org:
        rows += await repository.holders(session, in_org, org_id)
    if anywhere:
        rows += await repository.holders(session, anywhere, None)
    return [
        _conflict(row, org_id)
        for row in sorted(rows, key=lambda r: (r.key_type, r.key_norm))
        if not (row.org_id == org_id and row.node_id == node_id)
    ]


async def _conflicts_after(
    session: AsyncSession, after: ClaimsAfter, node_id: str, pairs: set[tuple[str, str]]
) -> list[AppError]:
    """Who else holds any of these (key_type, key_norm) once the planned changes are made: in the
    org, by the planned tree; Slack workspaces also by the other orgs, as they are now."""
    org_id = after.org_id
    found: list[tuple[tuple[str, str], AppError]] = []
    for pair in pairs:
        for holder, value in after.holders.get(pair, ()):
            if holder != node_id:
                found.append((pair, _conflict_of(org_id, holder, pair[0], value, org_id)))
    workspaces = {p for p in pairs if p[0] == WORKSPACE_LIST}
    if workspaces:
        found += [((row.key_type, row.key_norm), _conflict(row, org_id))
                  for row in await repository.holders(session, workspaces, None) if row.org_id != org_id]
    return [problem for _, problem in sorted(found, key=lambda item: item[0])]


async def claim_problems(
    session: AsyncSession,
    principal: Principal,
    org_id: str,
    node_id: str,
    new_own: dict[str, Any],
    *,
    is_root: bool,
    old_own: dict[str, Any] | None = None,
    dry_run: bool,
    after: ClaimsAfter | None = None,
) -> list[AppError]:
    """What making routing_keys hold exactly the new own config's claims would refuse.

    `dry_run` (a preview) claims nothing and returns every problem, each conflict naming its
    holder — the holders as they are now, or, given `after`, as a planned set of changes (an
    import) leaves them. Otherwise the claims are made in the caller's transaction and the first
    problem is returned: the caller raises it, and its transaction (claims included) rolls back.
    """
    if old_own is not None and canonical(old_own.get("routing")) == canonical(new_own.get("routing")):
        return []  # claims only ever come from the own config's `routing`: unchanged, so are they
    plan, problems = await plan_claims(session, principal, org_id, node_id, new_own, is_root=is_root,
                                       after=after if dry_run else None)
    if plan is None:
        return problems
    if dry_run:
        pairs = {(c.key_type, c.key_norm) for c in plan.new}
        if after is not None:
            return problems + await _conflicts_after(session, after, node_id, pairs)
        return problems + await _conflicts(session, org_id, node_id, pairs)
    if problems:
        return problems[:1]
    await repository.release(session, org_id, node_id, plan.gone)
    taken = await repository.claim(session, org_id, node_id, plan.new)
    if not taken:
        return []
    conflicts = await _conflicts(session, org_id, node_id, taken)
    return conflicts[:1] or [RoutingConflict("a routing identifier is already claimed", holder=None)]


async def release_unwanted(session: AsyncSession, org_id: str, node_id: str, new_own: dict[str, Any]) -> None:
    """Free the identifiers a node holds that its coming own config no longer claims. An import
    does this for every node before any of its writes claims, so that one import can move an
    identifier from one node to another whichever is written first."""
    try:
        wanted = claims(new_own)
    except RoutingError:
        return  # the write refuses it
    held = await repository.claims_of(session, org_id, node_id)
    await repository.release(session, org_id, node_id, held - wanted)


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
    """Make routing_keys hold exactly what the node's new own config claims, in the write's
    transaction; raises what `claim_problems` finds (409 `routing_conflict` names the holder)."""
    problems = await claim_problems(
        session, principal, org_id, node_id, new_own, is_root=is_root, old_own=old_own, dry_run=False
    )
    if problems:
        raise problems[0]


async def lookup(
    session: AsyncSession, identifiers: dict[str, Any], org_id: str | None
) -> LookupResult:
    """Resolve identifiers to the team that owns them, in one indexed query."""
    candidates = lookup_candidates(identifiers)
    workspace = identifiers.get(WORKSPACE_IDENTIFIER)
    pairs = [(plural, norm) for _, plural, norm in candidates]
    use_workspace = org_id is None and isinstance(workspace, str) and bool(workspace)
    if use_workspace and isinstance(workspace, str):
        pairs.append((WORKSPACE_LIST, workspace))
    rows = await repository.lookup(session, pairs, org_id)
    if use_workspace:
        bound = next((r.org_id for r in rows if r.key_type == WORKSPACE_LIST), None)
        if bound is not None:
            org_id = bound
            rows = [r for r in rows if r.org_id == bound]
    by_pair: dict[tuple[str, str], list[RoutingKey]] = {}
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
                                matched_value=identifiers[singular], tried=tried, ambiguous=orgs_matched,
                                team_token=None)
        match = matches[0]
        return LookupResult(found=True, org_id=match.org_id, team_node_id=match.node_id, matched_by=singular,
                            matched_value=identifiers[singular], tried=tried, ambiguous=None, team_token=None)
    return LookupResult(found=False, org_id=org_id, team_node_id=None, matched_by=None, matched_value=None,
                        tried=tried, ambiguous=None, team_token=None)


DEFAULT_TEAM = "default"  # the team an IncidentFox workspace's unrouted channels belong to


async def workspace_default(
    session: AsyncSession, identifiers: dict[str, Any], org_id: str | None, result: LookupResult
) -> LookupResult:
    """The peer system's routing fallback, for the compat mount only (docs/DECISIONS.md): when
    nothing matched and `slack_workspace_id` is bound to an org (the one asked for, if any) that
    has a team `default`, that team answers, `matched_by: slack_workspace_id`."""
    workspace = identifiers.get("slack_workspace_id")
    if result.found or result.ambiguous or not isinstance(workspace, str) or not workspace:
        return result
    tried = [*result.tried, "slack_workspace_id"]
    bound = await repository.holders(session, {(WORKSPACE_LIST, workspace)}, org_id)
    target = bound[0].org_id if bound else None
    if target is None or not await repository.node_exists(session, target, DEFAULT_TEAM):
        return result.model_copy(update={"tried": tried})
    return LookupResult(found=True, org_id=target, team_node_id=DEFAULT_TEAM, matched_by="slack_workspace_id",
                        matched_value=workspace, tried=tried, ambiguous=None, team_token=None)


CLAIM_KINDS = (*ROUTING_LISTS, WORKSPACE_LIST)


async def list_claims(
    session: AsyncSession, org_id: str, *, node_id: str | None, kind: str | None, limit: int, cursor: str | None
) -> ClaimList:
    """Every routing claim of an org (optionally of one node or one kind), in (kind, value) order."""
    if kind is not None and kind not in CLAIM_KINDS:
        raise InvalidRequest(f"kind must be one of: {', '.join(CLAIM_KINDS)}", path="kind")
    after = paging.decode_pair_cursor(cursor) if cursor else None
    rows, more = paging.page(
        await repository.list_claims(session, org_id, node_id=node_id, key_type=kind, limit=limit + 1, after=after),
        limit,
    )
    return ClaimList(
        items=[ClaimInfo(kind=r.key_type, value=r.key_value, node_id=r.node_id) for r in rows],
        next_cursor=paging.pair_cursor(rows[-1].key_type, rows[-1].key_norm) if more else None,
    )
