"""Config as code on the database (DESIGN §12.4): export an org, plan an import, apply it.

The pure core decides (`document`, `codec`, `export`, `plan`); this module loads the org's state
in one query, adds to a plan every problem the write rules (`configs.checks`, through
`configs.service.planned_problems`) find against the tree the import leaves, and applies a plan
through the domains' own services — every node change a normal versioned, audited write — in the
caller's one transaction, under the org lock held exclusive. Services flush, never commit.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.auth.principal import Principal
from config_service.configs import locks as node_locks
from config_service.configs import service as configs
from config_service.configs.changes import Replace
from config_service.configs.merge import Descendant, Layer, MergeState
from config_service.db import locks as org_locks
from config_service.errors import AppError, ImportRefused, NotFound, PreconditionFailed
from config_service.keys import ConfigKeys
from config_service.kit import secret_leaves
from config_service.kit.jsondoc import canonical
from config_service.orgs import service as orgs
from config_service.orgs.schemas import NodeCreate, NodeUpdate
from config_service.routing import service as routing
from config_service.transfer import repository
from config_service.transfer.document import Document
from config_service.transfer.export import export_document
from config_service.transfer.plan import NodeChange, Plan, PlanError, Step, plan_import
from config_service.transfer.state import CurrentNode, tree_state_hash
from config_service.transfer.tree import FinalTree

DEFAULT_REASON = "import"
_SECRET_MEMBER = orjson.dumps(secret_leaves.SECRET_KEY) + b":"


@dataclass(frozen=True)
class OrgState:
    """An org as stored: its name (the root's) and every node."""

    name: str
    nodes: list[CurrentNode]

    @property
    def based_on(self) -> str:
        return tree_state_hash(self.nodes)


async def _state(session: AsyncSession, org_id: str) -> OrgState:
    rows = await repository.org_state(session, org_id)
    root = next((r for r in rows if r.parent_node_id is None), None)
    if root is None:
        raise NotFound(f"org '{org_id}' does not exist")
    nodes = [
        CurrentNode(r.node_id, r.parent_node_id, r.name, r.version, r.config_json, tuple(r.locked_paths),
                    str(r.node_uid))
        for r in rows
    ]
    return OrgState(root.name, nodes)


# ---- export -----------------------------------------------------------------------------------


async def export(session: AsyncSession, org_id: str) -> Document:
    """The org's document: every node, its own config (secrets masked) and locks, in one snapshot."""
    await repository.read_only_snapshot(session)
    state = await _state(session, org_id)
    return export_document(state.name, state.nodes)


# ---- plan -------------------------------------------------------------------------------------


async def plan(
    session: AsyncSession, keys: ConfigKeys, principal: Principal, org_id: str, document: Document, *, prune: bool
) -> Plan:
    """What importing `document` into the org would change, and every problem it would meet.
    One read-only snapshot: a plan never writes."""
    await repository.read_only_snapshot(session)
    state = await _state(session, org_id)
    return await _checked_plan(session, keys, principal, org_id, state, document, prune=prune)


async def _checked_plan(
    session: AsyncSession, keys: ConfigKeys, principal: Principal, org_id: str, state: OrgState,
    document: Document, *, prune: bool,
) -> Plan:
    """The pure plan, plus what the write rules find at every node whose own config it changes,
    judged on the tree the import leaves (its lineages, subtrees and routing claims)."""
    # pure work on up to 10,000 nodes: off the event loop, so other requests are not held up
    planned = await asyncio.to_thread(plan_import, state.nodes, document, prune=prune)
    before = {node.node_id: node for node in state.nodes}
    final = _FinalTree(planned.tree)
    after = await routing.claims_after(session, org_id, {n: final.config(n) for n in planned.tree.nodes})
    problems: list[PlanError] = []
    for change in planned.changes:
        if change.config is None or not change.config_changed:
            continue  # the rules judge writes; a node only moved, renamed or re-locked is not written
        current = change.current
        found = await configs.planned_problems(
            session, keys, principal, org_id,
            node_id=change.node_id,
            parent_node_id=change.parent_node_id,
            node_uid=uuid.UUID(current.node_uid) if current is not None and current.node_uid else None,
            version=current.version if current is not None else 1,
            old_own=current.own_config if current is not None else {},
            new_own=change.config,
            has_children=bool(planned.tree.children.get(change.node_id)),
            lineage=_PlannedLineage(final, change.node_id, _binding_locks(planned.tree, before, change.node_id)),
            claims_after=after,
        )
        problems += [PlanError(change.node_id, e.code, e.detail, e.path, e.holder) for e in found]
    return _with_problems(planned, problems)


def _with_problems(planned: Plan, problems: list[PlanError]) -> Plan:
    """The plan's own errors and the rules' problems, node by node in the plan's order. A problem
    both find (a broken lock, an own config too large) is listed once."""
    order = {change.node_id: index for index, change in enumerate(planned.changes)}
    for index, node_id in enumerate(planned.kept):
        order.setdefault(node_id, len(planned.changes) + index)
    seen: set[tuple[str, str, str, str | None]] = set()
    errors = []
    for error in sorted([*planned.errors, *problems], key=lambda e: order.get(e.node_id, len(order))):
        key = (error.node_id, error.code, error.detail, error.path)
        if key not in seen:
            seen.add(key)
            errors.append(error)
    return replace(planned, errors=tuple(errors))


def _binding_locks(tree: FinalTree, before: dict[str, CurrentNode], node_id: str) -> list[tuple[str, str]]:
    """(path, node) of every lock that binds the node's write as the apply makes it: held by one of
    its ancestors in the tree the import leaves both before and after the import (the apply removes
    locks before the writes and adds them after: DESIGN §12.4's lock rule)."""
    found = []
    for ancestor in tree.lineage(node_id)[:-1]:
        now = before.get(ancestor.node_id)
        if now is not None:
            kept = set(now.locked_paths) & set(ancestor.locked_paths)
            found += [(path, ancestor.node_id) for path in sorted(kept)]
    return found


def _as_sealed(node_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """`config` with each `{"$secret": …}` request as a placeholder envelope: by the time a node
    below is written, the apply has sealed its ancestors' secrets."""
    if _SECRET_MEMBER not in orjson.dumps(config):
        return config  # no request anywhere (a quick look: most configs hold none)
    try:
        requests = secret_leaves.secret_requests(config)
    except secret_leaves.SecretWriteError:
        return config  # refused by the rules at its own node
    placeholders = [(tokens, f"{secret_leaves.ENVELOPE_PREFIX}v1:planned:{node_id}:{index}")
                    for index, (tokens, _) in enumerate(requests)]
    return secret_leaves.with_leaves(config, placeholders)


class _FinalTree:
    """The tree an import leaves, as merge layers, each level merged once for every rule that asks."""

    def __init__(self, tree: FinalTree) -> None:
        self.tree = tree
        self._configs: dict[str, dict[str, Any]] = {}
        self._states: dict[str, MergeState] = {}

    def config(self, node_id: str) -> dict[str, Any]:
        found = self._configs.get(node_id)
        if found is None:
            found = self._configs[node_id] = _as_sealed(node_id, self.tree.nodes[node_id].config)
        return found

    def layer(self, node_id: str) -> Layer:
        return Layer(node_id, self.config(node_id), self.tree.nodes[node_id].locked_paths)

    def layers(self, node_id: str) -> list[Layer]:
        return [self.layer(node.node_id) for node in self.tree.lineage(node_id)]

    def state(self, node_id: str) -> MergeState:
        """The node's merged state (sealed: envelopes and placeholders are leaves)."""
        found = self._states.get(node_id)
        if found is not None:
            return found
        chain = self.tree.lineage(node_id)
        start = len(chain)
        while start > 0 and chain[start - 1].node_id not in self._states:
            start -= 1
        state = self._states[chain[start - 1].node_id] if start > 0 else MergeState()
        for node in chain[start:]:
            state = self._states[node.node_id] = state.push(self.layer(node.node_id))
        return state

    def parent_state(self, node_id: str) -> MergeState:
        parent = self.tree.nodes[node_id].parent_node_id
        return MergeState() if parent is None else self.state(parent)

    def descendants(self, node_id: str) -> list[Descendant]:
        below = []
        for child_id in self.tree.subtree(node_id)[1:]:
            parent = self.tree.nodes[child_id].parent_node_id
            assert parent is not None  # below the subtree's root
            below.append(Descendant(parent, self.layer(child_id)))
        return below


class _PlannedLineage:
    """`configs.checks.DraftLineage` of one node of the tree an import leaves."""

    def __init__(self, final: _FinalTree, node_id: str, locks: list[tuple[str, str]]) -> None:
        self.final, self.node_id, self.locks = final, node_id, locks

    def ancestor_locks(self) -> list[tuple[str, str]]:
        return self.locks

    async def layers(self) -> list[Layer]:
        return self.final.layers(self.node_id)

    async def node_state(self, own: dict[str, Any]) -> MergeState:
        node = self.final.tree.nodes[self.node_id]
        return self.final.parent_state(self.node_id).push(Layer(self.node_id, own, node.locked_paths))

    async def descendants(self) -> list[Descendant]:
        return self.final.descendants(self.node_id)


# ---- apply ------------------------------------------------------------------------------------


async def apply(
    session: AsyncSession,
    keys: ConfigKeys,
    principal: Principal,
    org_id: str,
    document: Document,
    *,
    prune: bool,
    if_match: list[str],
    reason: str | None,
) -> tuple[Plan, str]:
    """Import `document`: under the org lock (exclusive), plan it again; 412 unless `if_match`
    names the org's `based_on` (or is `*`); 422 `import_refused` if the plan has any error; else
    run its steps through the normal writes. Returns the plan applied and the new `based_on`.
    The caller's one transaction makes it all or nothing."""
    await org_locks.lock_org(session, org_id, shared=False)  # first: no write or tree change meanwhile
    state = await _state(session, org_id)
    based_on = state.based_on
    if "*" not in if_match and based_on not in if_match:
        raise PreconditionFailed(
            "the org changed since the plan: If-Match does not name its current based_on; plan again",
            headers={"ETag": f'"{based_on}"'}, current=based_on,
        )
    planned = await _checked_plan(session, keys, principal, org_id, state, document, prune=prune)
    if planned.errors:
        count = len(planned.errors)
        raise ImportRefused(
            f"the import has {count} error{'s' if count != 1 else ''} (in `errors`); nothing was written",
            based_on=based_on, errors=[error.view() for error in planned.errors],
        )
    await _run(session, keys, principal, org_id, planned, reason or DEFAULT_REASON)
    return planned, (await _state(session, org_id)).based_on


async def _run(
    session: AsyncSession, keys: ConfigKeys, principal: Principal, org_id: str, planned: Plan, reason: str
) -> None:
    # identifiers given up are freed before any write claims: one may move between two nodes
    for change in planned.changes:
        if change.config_changed and change.current is not None and change.config is not None and (
            canonical(change.current.own_config.get("routing")) != canonical(change.config.get("routing"))
        ):
            await routing.release_unwanted(session, org_id, change.node_id, change.config)
    for step in planned.steps:
        try:
            await _step(session, keys, principal, org_id, step, reason)
        except AppError as exc:  # unexpected after a clean plan: say where; the transaction rolls back
            exc.extra.setdefault("node_id", step.node_id)
            raise


async def _step(
    session: AsyncSession, keys: ConfigKeys, principal: Principal, org_id: str, step: Step, reason: str
) -> None:
    change: NodeChange = step.change
    node_id = change.node_id
    if step.kind == "create":
        body = NodeCreate(node_id=node_id, parent_node_id=change.parent_node_id, name=change.name, reason=reason)
        await orgs.create_node(session, principal, org_id, body)
    elif step.kind == "move":
        assert change.parent_node_id is not None  # the root never moves
        # the plan judged the depth of the tree the import leaves; moves may pass a deeper shape
        await orgs.move_node(session, principal, org_id, node_id, change.parent_node_id, reason=reason,
                             check_depth=False)
    elif step.kind == "rename":
        await orgs.update_node(session, principal, org_id, node_id, NodeUpdate(name=change.name, reason=reason))
    elif step.kind == "delete":
        await orgs.delete_node(session, principal, org_id, node_id, cascade=False, reason=reason)
    elif step.kind in ("unlock", "lock"):
        await node_locks.set_locks(session, principal, org_id, node_id, list(step.locked_paths), reason)
    elif step.kind == "write":
        assert change.config is not None
        await configs.write(session, keys, principal, org_id, node_id, Replace(change.config), reason=reason)
    else:  # pragma: no cover - StepKind is closed
        raise ValueError(f"unknown step {step.kind}")
