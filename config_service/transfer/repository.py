"""The queries of config as code: a whole org's nodes with their own configs and locks, in one
statement (an export or a plan never reads per node)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.db import raw

_ORG_STATE = """
SELECT n.node_id, n.parent_node_id, n.name, n.node_uid, c.version, c.config_json, c.locked_paths
FROM org_nodes n
JOIN node_configurations c ON c.org_id = n.org_id AND c.node_id = n.node_id
WHERE n.org_id = %(org_id)s
"""


@dataclass(frozen=True)
class NodeRow:
    node_id: str
    parent_node_id: str | None
    name: str
    node_uid: uuid.UUID
    version: int
    config_json: dict[str, Any]
    locked_paths: list[str]


async def org_state(session: AsyncSession, org_id: str) -> list[NodeRow]:
    """Every node of the org with its own config, version and locked paths (none: no such org)."""
    rows = await raw.fetch(session, _ORG_STATE, {"org_id": org_id})
    return [
        NodeRow(r.node_id, r.parent_node_id, r.name, r.node_uid, r.version, r.config_json, list(r.locked_paths))
        for r in rows
    ]


async def read_only_snapshot(session: AsyncSession) -> None:
    """Make the session's transaction one snapshot that cannot write (a plan writes nothing).
    Must be its first statement."""
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
