"""PURE: the blast radius of a would-be own config — which effective configs in the node's
subtree would change, and how (DESIGN §7 `preview`).

The subtree is merged one level at a time from the parent's state, once with the
current own config and once with the new one (never re-merging a lineage from the root).
A descendant's effective config depends only on its parent's effective config, the locks in
force and its own config; so where both merges agree on the effective config and on what the
active locks would restore, the whole subtree below is unaffected and is counted, not merged.

The levels are `configs.merge.MergeState`s: a merge copies only the objects a layer touches
and a lock restore only the objects along its path, so a child shares everything it inherits
unchanged and a thousand-node preview stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from config_service.configs.merge import Descendant, Layer, MergeState
from config_service.kit.jsondoc import canonical, escape_token
from config_service.kit.pointer import ABSENT
from config_service.kit.secret_leaves import mask


@dataclass(frozen=True)
class Affected:
    node_id: str
    diff: list[dict[str, Any]]


@dataclass
class BlastRadius:
    affected: list[Affected] = field(default_factory=list)
    unaffected_count: int = 0


def json_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """RFC 6902 ops turning `old` into `new`, secrets masked.

    Objects are compared key by key; lists and scalars are leaves replaced whole, like the
    merge treats them. Equality is JSON equality (`true` is not `1`), unlike Python's `==`.
    """
    ops: list[dict[str, Any]] = []
    _diff(old, new, "", ops)
    return ops


def _diff(old: dict[str, Any], new: dict[str, Any], pointer: str, ops: list[dict[str, Any]]) -> None:
    for key in old:
        if key not in new:
            ops.append({"op": "remove", "path": f"{pointer}/{escape_token(key)}"})
    for key, value in new.items():
        before = old.get(key, ABSENT)
        if before is value:  # shared, so unchanged
            continue
        if before is ABSENT:
            ops.append({"op": "add", "path": f"{pointer}/{escape_token(key)}", "value": mask(value)})
        elif isinstance(before, dict) and isinstance(value, dict):
            _diff(before, value, f"{pointer}/{escape_token(key)}", ops)
        elif not _same_leaf(before, value):
            ops.append({"op": "replace", "path": f"{pointer}/{escape_token(key)}", "value": mask(value)})


def _same_leaf(a: Any, b: Any) -> bool:
    """JSON equality of two leaves: `true` is not `1`, `1` is not `1.0`."""
    if type(a) is not type(b):
        return False
    if isinstance(a, str | int | bool) or a is None:
        return bool(a == b)
    return canonical(a) == canonical(b)


def _lock_view(state: MergeState) -> list[tuple[str, str, bytes | None]]:
    """What the active locks would restore below this state.

    `restore_path` reads the snapshot at the first token of the lock path and within that value
    only, so the snapshot's value at that key decides everything the lock can do.
    """
    view = []
    for lock in state.active:
        held = lock.snapshot.get(lock.tokens[0], ABSENT) if lock.tokens else ABSENT
        view.append((lock.node_id, lock.path, None if held is ABSENT else canonical(held)))
    return view


def _subtree_sizes(node_id: str, descendants: Sequence[Descendant]) -> dict[str, int]:
    sizes = {node_id: 1} | {d.layer.node_id: 1 for d in descendants}
    for item in reversed(descendants):  # parents come before children: children are summed first
        if item.parent_node_id in sizes:
            sizes[item.parent_node_id] += sizes[item.layer.node_id]
    return sizes


def blast_radius(
    ancestors: Sequence[Layer],
    node: Layer,
    new_config: dict[str, Any],
    descendants: Sequence[Descendant],
) -> BlastRadius:
    """Compare the subtree of `node` with its current own config and with `new_config`.

    `ancestors` are the layers above `node`, root first; `descendants` every node below it,
    parents before children. Affected nodes come out in that order (the node first). (Whether
    an effective config would grow too large is a write rule: `configs.checks`.)
    """
    base = MergeState()
    for layer in ancestors:
        base = base.push(layer)
    children: dict[str, list[Layer]] = {}
    for item in descendants:
        children.setdefault(item.parent_node_id, []).append(item.layer)
    sizes = _subtree_sizes(node.node_id, descendants)
    order = {node.node_id: 0} | {d.layer.node_id: i + 1 for i, d in enumerate(descendants)}

    radius = BlastRadius()
    stack = [(node.node_id, base.push(node), base.push(replace(node, config=new_config)))]
    while stack:
        node_id, old, new = stack.pop()
        old_bytes, new_bytes = canonical(old.effective), canonical(new.effective)
        if old_bytes == new_bytes:
            if _lock_view(old) == _lock_view(new):
                radius.unaffected_count += sizes[node_id]
                continue
            radius.unaffected_count += 1
        else:
            radius.affected.append(Affected(node_id, json_diff(old.effective, new.effective)))
        for child in children.get(node_id, ()):
            stack.append((child.node_id, old.push(child), new.push(child)))
    radius.affected.sort(key=lambda item: order[item.node_id])
    return radius
