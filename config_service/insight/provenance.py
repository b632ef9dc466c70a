"""PURE: where every value of an effective config comes from (DESIGN §7 `explain`).

The merge of `configs.merge` is replayed on a *provenance tree*: the same shape as the
effective config, but each leaf records the lineage layer that set it (`Set`) or hid it
(`Tombstone`), and each object the deepest layer that wrote an object there. Every step
mirrors `MergeState.push` exactly — RFC 7396 merge, then each active lock restored from the
provenance of the node that locked it (rule 6), then the layer's own locks snapshotted — so
the tree always has the effective config's shape (a table-driven and a randomised test check
this against `effective_config`).

Trees are never mutated once built: a merge copies the objects it touches, a restore copies
the objects along its path, so lock snapshots can share structure with later states.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from config_service.configs.merge import Layer, effective_config
from config_service.kit.jsondoc import canonical, escape_token
from config_service.kit.pointer import ABSENT, get_path, parse_pointer
from config_service.kit.secret_leaves import is_envelope, mask

Fingerprint = Callable[[Any], str]


def secret_fingerprint(key: bytes, stored_leaf: Any) -> str:
    """A keyed, non-reversible tag of one stored secret leaf: it tells whether a secret was
    rewritten since (each write seals a new envelope), never what it holds.

    The explain service passes the stored envelope, never the plaintext (DESIGN §8, no oracle:
    the same plaintext written twice gets two fingerprints, and a re-encryption new ones). This
    is the only place that decides what a fingerprint is.
    """
    subkey = hmac.new(key, b"config-service/secret-fingerprint/v1", hashlib.sha256).digest()
    mac = hmac.new(subkey, canonical(stored_leaf), hashlib.sha256).digest()
    return "hmac-sha256:" + base64.urlsafe_b64encode(mac[:12]).decode()


@dataclass(frozen=True)
class Set:
    """A leaf (scalar or list) set by lineage layer `layer`."""

    layer: int


@dataclass(frozen=True)
class Tombstone:
    """A key hidden by a `null` in lineage layer `layer`; absent from the effective config."""

    layer: int


class Obj(dict[str, Any]):
    """An object; `layer` is the deepest layer that wrote an object at this path."""

    __slots__ = ("layer",)

    def __init__(self, items: Any = (), layer: int = -1) -> None:
        super().__init__(items)
        self.layer = layer


@dataclass(frozen=True)
class _Lock:
    node_id: str
    tokens: tuple[str, ...]
    snapshot: Obj


def _merge(base: Any, layer: dict[str, Any], index: int) -> Obj:
    """`configs.merge.merge` on provenance: objects by key, everything else replaces."""
    result = Obj(base if isinstance(base, Obj) else (), index)
    for key, value in layer.items():
        if value is None:
            result[key] = Tombstone(index)
        elif isinstance(value, dict):
            result[key] = _merge(result.get(key), value, index)
        else:
            result[key] = Set(index)
    return result


def _restore(target: Obj, tokens: Sequence[str], source: Obj) -> Obj:
    """`kit.pointer.restore_path` on provenance, copying what it changes. A `Tombstone` in
    `source` stands for absence there, and a copied tombstone is absent in the result too."""
    root = Obj(target, target.layer)
    node: Obj = root
    src: Any = source
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        src_child = src.get(token, ABSENT) if isinstance(src, dict) else ABSENT
        child = node.get(token, ABSENT)
        if last or not isinstance(child, Obj):
            if src_child is ABSENT:
                node.pop(token, None)
            else:
                node[token] = src_child
            return root
        child = Obj(child, child.layer)
        node[token] = child
        node = child
        src = src_child
    return root


def provenance_tree(layers: Sequence[Layer]) -> tuple[Obj, list[_Lock]]:
    """The provenance of the last layer's effective config, and the locks in force there."""
    tree = Obj()
    active: list[_Lock] = []
    for index, layer in enumerate(layers):
        tree = _merge(tree, layer.config, index)
        for lock in active:
            tree = _restore(tree, lock.tokens, lock.snapshot)
        for path in layer.locked_paths:
            active.append(_Lock(layer.node_id, tuple(parse_pointer(path)), tree))
    return tree, active


def visible_shape(tree: Any) -> Any:
    """The effective config's shape the tree describes (leaves as their layer index); for tests."""
    if isinstance(tree, Obj):
        return {k: visible_shape(v) for k, v in tree.items() if not isinstance(v, Tombstone)}
    return tree.layer


def _holds_secret(value: Any) -> bool:
    if isinstance(value, list):
        return any(_holds_secret(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_secret(item) for item in value.values())
    return is_envelope(value)


def _locked_by(tokens: tuple[str, ...], locks: Sequence[_Lock]) -> str | None:
    """The highest node with a lock at, above or below this path.

    A lock below a leaf pins it too: `restore_path` puts the locking node's value back whole
    where a lower layer made a prefix of the lock path a list or a scalar (lists are leaves).
    """
    for lock in locks:
        common = min(len(tokens), len(lock.tokens))
        if tokens[:common] == lock.tokens[:common]:
            return lock.node_id
    return None


def explain_paths(layers: Sequence[Layer], fingerprint: Fingerprint) -> dict[str, dict[str, Any]]:
    """Every leaf of the effective config of the last layer, and every tombstone in force.

    `{pointer: {value, node_id, version, locked_by, secret, fingerprint, overrides}}` in document
    order. Lists and empty objects are leaves. `overrides` are the values the own configs of the
    layers above the source set at exactly that path (a `null` there included), nearest first.
    Secret values are masked everywhere; `fingerprint` tags the effective one.
    """
    if not layers:
        return {}
    tree, locks = provenance_tree(layers)
    effective = effective_config(layers)
    paths: dict[str, dict[str, Any]] = {}

    def entry(tokens: tuple[str, ...], source: int, value: Any, *, tombstone: bool) -> dict[str, Any]:
        secret = not tombstone and _holds_secret(value)
        overrides = []
        for index in range(source - 1, -1, -1):
            above = get_path(layers[index].config, list(tokens))
            if above is not ABSENT:
                overrides.append({"node_id": layers[index].node_id, "value": mask(above)})
        return {
            "value": None if tombstone else mask(value),
            "node_id": layers[source].node_id,
            "version": layers[source].version,
            "locked_by": _locked_by(tokens, locks),
            "secret": secret,
            "fingerprint": fingerprint(value) if secret else None,
            "overrides": overrides,
        }

    def walk(node: Obj, values: dict[str, Any], tokens: tuple[str, ...], pointer: str) -> None:
        for key, child in node.items():
            here = (*tokens, key)
            at = f"{pointer}/{escape_token(key)}"
            if isinstance(child, Tombstone):
                paths[at] = entry(here, child.layer, None, tombstone=True)
            elif isinstance(child, Obj):
                value = values[key]
                if not value:
                    paths[at] = entry(here, child.layer, value, tombstone=False)
                walk(child, value, here, at)
            else:
                paths[at] = entry(here, child.layer, values[key], tombstone=False)

    walk(tree, effective, (), "")
    return paths
