"""PURE: an org's current state as the service layer hands it to export and the planner, and
the plan's `based_on` (DESIGN §12.4)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from config_service.kit.jsondoc import canonical

_HASH_VERSION = "config-service/tree-state/v1"


@dataclass(frozen=True)
class CurrentNode:
    """One node of the target org as stored: `own_config` holds secrets as `$enc:` envelopes
    and tombstones as `null`. `node_uid` (optional) makes `based_on` tell a node deleted and
    recreated under the same id from the one a plan was computed against."""

    node_id: str
    parent_node_id: str | None
    name: str
    version: int
    own_config: dict[str, Any]
    locked_paths: Sequence[str] = ()
    node_uid: str | None = None


def tree_state_hash(nodes: Iterable[CurrentNode]) -> str:
    """A tag of the org's tree state: each node's id, parent, name, own-config version, locked
    paths (as a set) and uid. Independent of the order of `nodes`; tokens, routing claims and
    configs' contents are not part of it (a content change bumps the version)."""
    rows = sorted(
        [node.node_id, node.parent_node_id, node.name, node.version, sorted(set(node.locked_paths)), node.node_uid]
        for node in nodes
    )
    return hashlib.sha256(canonical([_HASH_VERSION, rows])).hexdigest()[:32]


def index_nodes(nodes: Iterable[CurrentNode]) -> tuple[CurrentNode, dict[str, CurrentNode]]:
    """The root and every node by id. The state of an org has exactly one root."""
    by_id: dict[str, CurrentNode] = {}
    roots = []
    for node in nodes:
        by_id[node.node_id] = node
        if node.parent_node_id is None:
            roots.append(node)
    if len(roots) != 1:
        raise ValueError(f"an org's state has exactly one root, not {len(roots)}")
    return roots[0], by_id
