"""PURE: tree walks for export and import, and the org's tree as an import would leave it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config_service.configs.merge import Layer


def children_by_parent(parents: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Each node's children, sorted by id."""
    children: dict[str, list[str]] = {}
    for node_id, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(node_id)
    for kids in children.values():
        kids.sort()
    return children


def preorder(root: str, children: Mapping[str, Sequence[str]]) -> list[str]:
    """Depth first from `root`, a node before its children, siblings in the given order."""
    order: list[str] = []
    stack = [root]
    while stack:
        node_id = stack.pop()
        order.append(node_id)
        stack.extend(reversed(children.get(node_id, ())))
    return order


def depths(root: str, children: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Each reachable node's depth; the root is 1 (DESIGN: depth ≤ 32 counts the root)."""
    depth = {root: 1}
    for node_id in preorder(root, children):
        for child in children.get(node_id, ()):
            depth[child] = depth[node_id] + 1
    return depth


@dataclass(frozen=True)
class FinalNode:
    """A node as the import leaves it: its own config in stored form (envelopes kept,
    `{"$secret": …}` requests still to be sealed) and its locked paths."""

    node_id: str
    parent_node_id: str | None
    name: str
    config: dict[str, Any]
    locked_paths: tuple[str, ...]


class FinalTree:
    """The org after the import: the document's nodes (its root mapped to the org's) and the
    nodes it keeps. What the service's extra checks judge (effective configs, routing)."""

    def __init__(self, root_id: str, nodes: Iterable[FinalNode]) -> None:
        self.root_id = root_id
        self.nodes: dict[str, FinalNode] = {node.node_id: node for node in nodes}
        self.children = children_by_parent({n.node_id: n.parent_node_id for n in self.nodes.values()})

    def lineage(self, node_id: str) -> list[FinalNode]:
        """The nodes from the root down to `node_id`, inclusive."""
        chain: list[FinalNode] = []
        here: str | None = node_id
        while here is not None and len(chain) <= len(self.nodes):
            node = self.nodes[here]
            chain.append(node)
            here = node.parent_node_id
        chain.reverse()
        return chain

    def layers(self, node_id: str) -> list[Layer]:
        """The lineage as merge layers (`configs.merge`), root first."""
        return [Layer(n.node_id, n.config, n.locked_paths) for n in self.lineage(node_id)]

    def subtree(self, node_id: str) -> list[str]:
        """`node_id` and every node below it, parents before children."""
        return preorder(node_id, self.children)
