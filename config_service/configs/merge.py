"""PURE: the merge of own configs along a lineage into an effective config (DESIGN §5).

`merge(base, layer)` is RFC 7396: objects merge key by key, lists and scalars replace,
`null` removes the key (a tombstone), unmentioned keys are inherited. Locked paths
(rule 6) keep the value — or absence — they have in the effective config of the node
that locked them, whatever the layers below say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from config_service.kit.jsondoc import canonical, encoded_size
from config_service.kit.pointer import ABSENT, get_path, parse_pointer, restore_path


@dataclass(frozen=True)
class Layer:
    node_id: str
    config: dict[str, Any]
    locked_paths: Sequence[str] = ()
    version: int | None = None


@dataclass(frozen=True)
class ActiveLock:
    path: str
    tokens: list[str]
    node_id: str
    snapshot: dict[str, Any] = field(repr=False)


def merge(base: Any, layer: Any) -> Any:
    """RFC 7396 merge of `layer` onto `base`; returns a new value, inputs untouched.

    The result shares every subtree it does not change with `base` and `layer` (copy-on-write):
    effective configs are never mutated in place, so sharing is safe and saves a deep copy of
    the (often large) inherited config at every level.
    """
    if not isinstance(layer, dict):
        return layer
    result: dict[str, Any] = dict(base) if isinstance(base, dict) else {}
    for key, value in layer.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge(result.get(key), value)
        else:
            result[key] = value
    return result


@dataclass(frozen=True)
class MergeState:
    """The effective config of one node and the locks in force below it.

    `push` gives the state of a child, so a subtree can be merged one level at a time
    without re-merging each lineage from the root. A state is never mutated.
    """

    effective: dict[str, Any] = field(default_factory=dict)
    active: tuple[ActiveLock, ...] = ()

    def push(self, layer: Layer) -> MergeState:
        effective = merge(self.effective, layer.config)
        for lock in self.active:
            restore_path(effective, lock.tokens, lock.snapshot)
        active = self.active
        if layer.locked_paths:
            snapshot = effective  # never mutated: restore_path copies along the paths it changes
            active = (
                *active,
                *(ActiveLock(path, parse_pointer(path), layer.node_id, snapshot) for path in layer.locked_paths),
            )
        return MergeState(effective, active)


@dataclass(frozen=True)
class Descendant:
    """One node below another: its parent and its layer (own config, locks, version)."""

    parent_node_id: str
    layer: Layer


def oversized(
    node_id: str, state: MergeState, descendants: Sequence[Descendant], *, max_bytes: int
) -> list[tuple[str, int]]:
    """(node id, bytes) of every effective config above `max_bytes` in the subtree of `node_id`
    (whose merged state is `state`; `descendants` parents before children), in that order."""
    children: dict[str, list[Layer]] = {}
    for item in descendants:
        children.setdefault(item.parent_node_id, []).append(item.layer)
    order = {node_id: 0} | {d.layer.node_id: i + 1 for i, d in enumerate(descendants)}
    found: list[tuple[str, int]] = []
    stack = [(node_id, state)]
    while stack:
        here_id, here = stack.pop()
        size = encoded_size(here.effective)
        if size > max_bytes:
            found.append((here_id, size))
        for child in children.get(here_id, ()):
            stack.append((child.node_id, here.push(child)))
    found.sort(key=lambda item: order[item[0]])
    return found


def effective_chain(layers: Sequence[Layer]) -> list[dict[str, Any]]:
    """The effective config of every node on the lineage, root first."""
    results: list[dict[str, Any]] = []
    state = MergeState()
    for layer in layers:
        state = state.push(layer)
        results.append(state.effective)
    return results


def effective_config(layers: Sequence[Layer]) -> dict[str, Any]:
    """effective(node) for the last layer of a root-first lineage."""
    state = MergeState()
    for layer in layers:
        state = state.push(layer)
    return state.effective


class Locking(Protocol):
    """Whatever names a node and the paths it locks (a `Layer`, a lineage row)."""

    @property
    def node_id(self) -> str: ...

    @property
    def locked_paths(self) -> Sequence[str]: ...


def inherited_locks(ancestors: Sequence[Locking]) -> list[tuple[str, str]]:
    """(path, locking node) of every lock set strictly above the node being written."""
    return [(path, layer.node_id) for layer in ancestors for path in layer.locked_paths]


def lock_violation(
    old_own: dict[str, Any], new_own: dict[str, Any], locks: Sequence[tuple[str, str]]
) -> str | None:
    """The first locked path a write from `old_own` to `new_own` would break, else None.

    A write breaks a lock if it changes the own config at or under the path, or puts a
    `null` or a non-object at a proper prefix of it.
    """
    for path, _node in locks:
        tokens = parse_pointer(path)
        if not _same_json(get_path(old_own, tokens), get_path(new_own, tokens)):
            return path
        for end in range(1, len(tokens)):
            prefix = tokens[:end]
            new_value = get_path(new_own, prefix)
            if new_value is ABSENT or isinstance(new_value, dict):
                continue
            if not _same_json(get_path(old_own, prefix), new_value):
                return path
    return None


def _same_json(a: Any, b: Any) -> bool:
    """JSON equality: unlike Python's `==`, `true` is not `1` and `1` is not `1.0`."""
    if a is ABSENT or b is ABSENT:
        return a is b
    return canonical(a) == canonical(b)
