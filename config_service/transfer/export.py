"""PURE: an org's state as a document (DESIGN §12.4 export).

Nodes depth first from the root, siblings by id (a team's sub-teams follow it, so a file reads
like the tree and a new node is one insertion near its parent); own configs as stored with every
secret masked (`"********"`: a file never carries a credential, not even sealed) and tombstones
kept as `null`; locked paths sorted. The root's `routing.slack_workspace_ids` is left out: those
bindings are the global admin's, not the org's configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config_service.kit.secret_leaves import mask
from config_service.routing.keys import WORKSPACE_LIST
from config_service.transfer.document import FORMAT, Document, DocumentNode, DocumentOrg
from config_service.transfer.state import CurrentNode, index_nodes
from config_service.transfer.tree import children_by_parent, preorder


def without_workspaces(config: dict[str, Any]) -> dict[str, Any]:
    """`config` without `routing.slack_workspace_ids` (a copy only when it holds them)."""
    routing = config.get("routing")
    if not isinstance(routing, dict) or WORKSPACE_LIST not in routing:
        return config
    return {**config, "routing": {k: v for k, v in routing.items() if k != WORKSPACE_LIST}}


def export_document(org_name: str, nodes: Sequence[CurrentNode]) -> Document:
    """The document of the org whose state is `nodes` (every node of it, the root included)."""
    root, by_id = index_nodes(nodes)
    children = children_by_parent({n.node_id: n.parent_node_id for n in nodes})
    entries = []
    for node_id in preorder(root.node_id, children):
        node = by_id[node_id]
        config = mask(node.own_config)
        if node is root:
            config = without_workspaces(config)
        entries.append(DocumentNode.model_construct(
            node_id=node.node_id,
            parent_node_id=node.parent_node_id,
            name=node.name,
            config=config,
            locked_paths=sorted(set(node.locked_paths)),
        ))
    return Document.model_construct(
        format=FORMAT,
        org=DocumentOrg.model_construct(org_id=root.node_id, name=org_name),
        nodes=entries,
    )
