"""PURE: the import plan (DESIGN §12.4) — what importing a document into an org would change.

The document's root maps to the org's root (promotion: a staging export imports into
production); the root keeps its id, its name (the org's) and its Slack workspace bindings.
Every document node is `create`d, `move`d (with its diff when also edited), `update`d (config,
locks or name) or `unchanged`; nodes the document lacks are kept — not listed, named in
`Plan.kept` — unless `prune`, then `delete`d, children first. Masks keep the target's secrets or
are listed in `needs_secret` (`masks`).

A plan reports, never raises, what the import would break: depth after it (with the nodes it
keeps), own-config size, a document node that would take the root's id, a kept Slack binding
the document's root cannot hold, and the import's lock rule: a config may not change under a
lock that one of its ancestors after the import holds both before and after it. A lock the
document adds or removes does not bind (the import reproduces the exported state, values below
a later lock included); a standing lock of the target binds as it binds every write. The write
rules that need the database or the catalog (routing claims, integrations, sealing, effective
sizes) come from the service through `checks`.

For the apply the plan carries each node's new own config in stored form (kept envelopes,
`{"$secret": …}` requests still to be sealed) and `steps`: creates, moves and renames parents
first (a node only ever moves below a node already in its final place, so never below itself);
deletes children first (routing claims are freed before any write takes them); lock removals;
config writes parents first; lock additions. In that order the write path's own lock check,
run at each write, is exactly the import's rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import jsonpatch

from config_service.configs.merge import lock_violation
from config_service.errors import AppError
from config_service.kit.jsondoc import MAX_OWN_CONFIG_BYTES, canonical, encoded_size, escape_token
from config_service.kit.limits import MAX_TREE_DEPTH
from config_service.kit.pointer import ABSENT
from config_service.kit.secret_leaves import mask, mask_patch
from config_service.routing.keys import WORKSPACE_LIST
from config_service.transfer.document import Document
from config_service.transfer.masks import resolve_masks
from config_service.transfer.state import CurrentNode, index_nodes, tree_state_hash
from config_service.transfer.tree import FinalNode, FinalTree, children_by_parent, depths, preorder

Action = Literal["create", "update", "move", "delete", "unchanged"]
StepKind = Literal["create", "move", "rename", "delete", "unlock", "write", "lock"]


@dataclass(frozen=True)
class LockDiff:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeChange:
    """One node's change. `config` is the new own config in stored form (None for a delete);
    `parent_node_id`, `name` and `locked_paths` are where the node ends up (a delete: as now)."""

    node_id: str
    action: Action
    diff: list[dict[str, Any]]  # RFC 6902 from the current own config to the new one, masked
    locks: LockDiff
    parent_node_id: str | None
    name: str
    config: dict[str, Any] | None
    locked_paths: tuple[str, ...]
    current: CurrentNode | None = field(default=None, repr=False)  # None for a create
    moved: bool = False
    renamed: bool = False
    config_changed: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "action": self.action,
            "diff": self.diff,
            "locks": {"added": list(self.locks.added), "removed": list(self.locks.removed)},
        }


@dataclass(frozen=True)
class SecretNeeded:
    node_id: str
    path: str

    def view(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "path": self.path}


@dataclass(frozen=True)
class PlanError:
    """A preview error (`configs.schemas.PreviewError`) plus the node it is about."""

    node_id: str
    code: str
    detail: str
    path: str | None = None
    holder: dict[str, Any] | None = None

    @classmethod
    def of(cls, node_id: str, error: AppError) -> PlanError:
        return cls(node_id, error.code, error.detail, error.extra.get("path"), error.extra.get("holder"))

    def view(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "code": self.code, "detail": self.detail, "path": self.path,
                "holder": self.holder}


@dataclass(frozen=True)
class Step:
    """One operation of the apply. `locked_paths` is what `unlock` / `lock` set the node's
    locks to (for `unlock`: the current ones the document keeps)."""

    kind: StepKind
    change: NodeChange
    locked_paths: tuple[str, ...] = ()

    @property
    def node_id(self) -> str:
        return self.change.node_id


@dataclass(frozen=True)
class Plan:
    based_on: str
    changes: tuple[NodeChange, ...]
    needs_secret: tuple[SecretNeeded, ...]
    errors: tuple[PlanError, ...]
    kept: tuple[str, ...]
    steps: tuple[Step, ...]
    tree: FinalTree = field(repr=False, compare=False)

    def with_errors(self, errors: Iterable[PlanError]) -> Plan:
        return replace(self, errors=(*self.errors, *errors))

    def view(self) -> dict[str, Any]:
        """The plan as the API shows it (DESIGN §12.4)."""
        return {
            "based_on": self.based_on,
            "changes": [change.view() for change in self.changes],
            "needs_secret": [item.view() for item in self.needs_secret],
            "errors": [error.view() for error in self.errors],
        }


# the service's per-node write rules: called for every create, move and update; may also raise
NodeCheck = Callable[[NodeChange, FinalTree], Iterable[PlanError]]


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """RFC 6902 from `old` to `new` as the write's history records it (`jsonpatch`), masked."""
    if not old:  # a new node: one `add` per member, what make_patch says, without its search
        return [{"op": "add", "path": "/" + escape_token(key), "value": mask(value)} for key, value in new.items()]
    return mask_patch(jsonpatch.make_patch(old, new).patch)


def keep_workspaces(config: dict[str, Any], current_root: dict[str, Any]) -> dict[str, Any] | None:
    """The root's new config with its current Slack workspace bindings carried over (the
    document never holds them); None when the document's `routing` cannot hold them."""
    routing_now = current_root.get("routing")
    if not isinstance(routing_now, dict) or WORKSPACE_LIST not in routing_now:
        return config
    bindings = routing_now[WORKSPACE_LIST]
    routing = config.get("routing", ABSENT)
    if routing is ABSENT:
        return {**config, "routing": {WORKSPACE_LIST: bindings}}
    if isinstance(routing, dict):
        return {**config, "routing": {**routing, WORKSPACE_LIST: bindings}}
    return None


def _lock_errors(change: NodeChange, now: dict[str, CurrentNode], after: FinalTree) -> list[PlanError]:
    """The import's lock rule for a node whose config changes: every lock an ancestor (in the
    tree after the import) holds both before and after the import binds it, as the write's."""
    assert change.config is not None
    old = change.current.own_config if change.current is not None else {}
    errors = []
    for ancestor in reversed(after.lineage(change.node_id)[:-1]):
        before = now.get(ancestor.node_id)
        if before is None:
            continue
        for path in sorted(set(before.locked_paths) & set(ancestor.locked_paths)):
            if lock_violation(old, change.config, [(path, ancestor.node_id)]) is not None:
                errors.append(PlanError(change.node_id, "locked_path", f"'{path}' is locked at '{ancestor.node_id}'",
                                        path))
    return errors


def _change(
    node_id: str, parent: str | None, name: str, config: dict[str, Any], locks: tuple[str, ...],
    current: CurrentNode | None, is_root: bool,
) -> NodeChange:
    if current is None:
        return NodeChange(node_id, "create", _diff({}, config), LockDiff(added=locks), parent, name, config, locks,
                          config_changed=bool(config))
    moved = not is_root and parent != current.parent_node_id
    renamed = not is_root and name != current.name
    changed = canonical(config) != canonical(current.own_config)
    held = set(current.locked_paths)
    lock_diff = LockDiff(tuple(sorted(set(locks) - held)), tuple(sorted(held - set(locks))))
    action: Action = "move" if moved else (
        "update" if renamed or changed or lock_diff.added or lock_diff.removed else "unchanged"
    )
    return NodeChange(node_id, action, _diff(current.own_config, config) if changed else [], lock_diff, parent,
                      name, config, locks, current, moved=moved, renamed=renamed, config_changed=changed)


def _steps(placed: list[NodeChange], deleted: list[NodeChange]) -> tuple[Step, ...]:
    steps: list[Step] = []
    for change in placed:  # parents before children in the tree the import leaves
        if change.action == "create":
            steps.append(Step("create", change))
        if change.moved:
            steps.append(Step("move", change))
        if change.renamed:
            steps.append(Step("rename", change))
    steps += [Step("delete", change) for change in deleted]
    for change in placed:
        if change.locks.removed:
            kept = tuple(p for p in change.locked_paths if p not in change.locks.added)
            steps.append(Step("unlock", change, kept))
    steps += [Step("write", change) for change in placed if change.config_changed]
    steps += [Step("lock", change, change.locked_paths) for change in placed if change.locks.added]
    return tuple(steps)


def plan_import(
    current: Sequence[CurrentNode], document: Document, *, prune: bool = False, checks: Sequence[NodeCheck] = ()
) -> Plan:
    """The plan of importing `document` into the org whose state is `current`."""
    root, now = index_nodes(current)
    doc_root = document.nodes[0].node_id

    def mapped(node_id: str) -> str:
        return root.node_id if node_id == doc_root else node_id

    errors: list[PlanError] = []
    needs: list[SecretNeeded] = []
    placed: list[NodeChange] = []
    for index, entry in enumerate(document.nodes):
        node_id = mapped(entry.node_id)
        if index > 0 and node_id == root.node_id:
            errors.append(PlanError(node_id, "conflict",
                                    f"the document's node '{node_id}' has the id of this org's root", None))
            continue
        held = now.get(node_id)
        config, missing = resolve_masks(entry.config, held.own_config if held is not None else {})
        needs += [SecretNeeded(node_id, path) for path in missing]
        if index == 0:
            with_bindings = keep_workspaces(config, root.own_config)
            if with_bindings is None:
                errors.append(PlanError(node_id, "forbidden", "the org's Slack workspace bindings are kept by an "
                                        "import, so the root's routing must stay an object",
                                        f"/routing/{WORKSPACE_LIST}"))
            else:
                config = with_bindings
        parent = None if entry.parent_node_id is None else mapped(entry.parent_node_id)
        name = root.name if index == 0 else entry.name
        placed.append(_change(node_id, parent, name, config, tuple(entry.locked_paths), held, index == 0))

    in_document = {change.node_id for change in placed}
    parents_now = {node.node_id: node.parent_node_id for node in current}
    absent = [now[n] for n in reversed(preorder(root.node_id, children_by_parent(parents_now))) if n not in in_document]
    deleted = [
        NodeChange(n.node_id, "delete", _diff(n.own_config, {}), LockDiff(removed=tuple(sorted(set(n.locked_paths)))),
                   n.parent_node_id, n.name, None, tuple(sorted(set(n.locked_paths))), n)
        for n in absent
    ] if prune else []
    kept = [] if prune else absent[::-1]  # parents first again
    tree = FinalTree(root.node_id, [
        *(FinalNode(c.node_id, c.parent_node_id, c.name, c.config or {}, c.locked_paths) for c in placed),
        *(FinalNode(n.node_id, n.parent_node_id, n.name, n.own_config, tuple(n.locked_paths)) for n in kept),
    ])
    errors += _tree_errors(tree)

    for change in placed:
        assert change.config is not None
        size = encoded_size(change.config)
        if size > MAX_OWN_CONFIG_BYTES:
            errors.append(PlanError(change.node_id, "payload_too_large",
                                    f"own config would be {size} bytes; the limit is {MAX_OWN_CONFIG_BYTES}"))
        if change.config_changed:
            errors += _lock_errors(change, now, tree)
        if change.action != "unchanged":
            for check in checks:
                try:
                    errors.extend(check(change, tree))
                except AppError as exc:
                    errors.append(PlanError.of(change.node_id, exc))

    order = {c.node_id: i for i, c in enumerate([*placed, *deleted])}
    order.update((n.node_id, len(order) + i) for i, n in enumerate(kept))
    return Plan(
        based_on=tree_state_hash(current),
        changes=(*placed, *deleted),
        needs_secret=tuple(needs),
        errors=tuple(sorted(errors, key=lambda e: order.get(e.node_id, len(order)))),
        kept=tuple(n.node_id for n in kept),
        steps=_steps(placed, deleted),
        tree=tree,
    )


def _tree_errors(tree: FinalTree) -> list[PlanError]:
    """Depth after the import. The document's own depth is checked with the document, so this
    finds kept nodes hanging below a deeper place. (No cycle can arise: the document is a tree
    from the root and kept nodes keep their parents; `steps` never moves a node below itself.)"""
    depth = depths(tree.root_id, tree.children)
    errors = []
    for node_id in preorder(tree.root_id, tree.children):
        parent = tree.nodes[node_id].parent_node_id
        if depth[node_id] > MAX_TREE_DEPTH and parent is not None and depth[parent] <= MAX_TREE_DEPTH:
            height = max(depth[n] for n in tree.subtree(node_id))
            errors.append(PlanError(node_id, "invalid_request", f"after the import '{node_id}' would be at depth "
                                    f"{depth[node_id]} (its subtree at {height}); the limit is {MAX_TREE_DEPTH}"))
    return errors
