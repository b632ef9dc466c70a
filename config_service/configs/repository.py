"""Every query on node_configurations and node_config_versions. The lineage is one query."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import repository as audit_repository
from config_service.db import raw
from config_service.models import NodeConfiguration, NodeConfigVersion

MAX_DEPTH = 32


@dataclass(frozen=True)
class LineageRow:
    org_id: str
    node_id: str
    parent_node_id: str | None
    node_type: str
    name: str
    node_uid: uuid.UUID
    depth: int
    config_json: dict[str, Any]
    version: int
    locked_paths: list[str]
    updated_at: datetime
    updated_by: str | None
    has_children: bool = False  # known for the last node of a lineage only
    row_xmin: int = 0  # the config row's xmin: with node_uid and version, what exactly it holds


_LINEAGE = """
WITH RECURSIVE lineage AS (
    SELECT n.org_id, n.node_id, n.parent_node_id, n.node_type, n.name, n.node_uid, 1 AS hops
    FROM org_nodes n
    WHERE n.org_id = %(org_id)s AND n.node_id = %(node_id)s
    UNION ALL
    SELECT p.org_id, p.node_id, p.parent_node_id, p.node_type, p.name, p.node_uid, l.hops + 1
    FROM org_nodes p
    JOIN lineage l ON p.org_id = l.org_id AND p.node_id = l.parent_node_id
    WHERE l.hops <= 64
)
SELECT l.org_id, l.node_id, l.parent_node_id, l.node_type, l.name, l.node_uid, l.hops,
       {config} AS config_json, c.version, c.locked_paths, c.updated_at, c.updated_by,
       (c.xmin::text)::bigint AS row_xmin,
       (l.hops = 1 AND EXISTS (
           SELECT 1 FROM org_nodes ch WHERE ch.org_id = l.org_id AND ch.parent_node_id = l.node_id
       )) AS has_children
FROM lineage l
JOIN node_configurations c ON c.org_id = l.org_id AND c.node_id = l.node_id
ORDER BY l.hops DESC
"""

# psycopg statements (`%(name)s`), run through db.raw on every read and write of a config
_LINEAGE_SQL = _LINEAGE.replace("{config}", "c.config_json")
_LINEAGE_FOR_SHARE_SQL = _LINEAGE_SQL + " FOR SHARE OF c"
# the ancestors' configs left out (NULL): the caller has them cached by (node_uid, version, xmin)
_HEADS_FOR_SHARE_SQL = _LINEAGE.replace("{config}", "CASE WHEN l.hops = 1 THEN c.config_json END") + " FOR SHARE OF c"

_SUBTREE_SQL = text(
    """
WITH RECURSIVE subtree AS (
    SELECT n.org_id, n.node_id, n.parent_node_id, 0 AS below
    FROM org_nodes n
    WHERE n.org_id = :org_id AND n.node_id = :node_id
    UNION ALL
    SELECT c.org_id, c.node_id, c.parent_node_id, s.below + 1
    FROM org_nodes c
    JOIN subtree s ON c.org_id = s.org_id AND c.parent_node_id = s.node_id
    WHERE s.below <= 64
)
SELECT s.node_id, s.parent_node_id, s.below, c.config_json, c.version, c.locked_paths
FROM subtree s
JOIN node_configurations c ON c.org_id = s.org_id AND c.node_id = s.node_id
ORDER BY s.below, s.node_id
"""
)


@dataclass(frozen=True)
class SubtreeRow:
    node_id: str
    parent_node_id: str | None
    below: int
    config_json: dict[str, Any]
    version: int
    locked_paths: list[str]


async def lock_for_write(
    session: AsyncSession, org_id: str, node_id: str, *, ancestor_configs: bool
) -> tuple[OwnRow | None, list[LineageRow]]:
    """What a config write starts with, in one round trip and in this order: the org's tree
    lock (shared), the node's own row (locked for update: writes to one node are serialised
    here), and its lineage (locked for share, see `lineage`)."""
    params = {"org_id": org_id, "node_id": node_id}
    _, own, rows = await raw.fetch_pipelined(
        session,
        [
            (_SHARE_TREE_LOCK, {"k": f"org:{org_id}"}),
            (_LOCK_OWN_ROW, params),
            (_LINEAGE_FOR_SHARE_SQL if ancestor_configs else _HEADS_FOR_SHARE_SQL, params),
        ],
    )
    return (OwnRow(*own[0]) if own else None), _lineage_rows(rows)


async def lineage(
    session: AsyncSession, org_id: str, node_id: str, *, for_share: bool = False, ancestor_configs: bool = True
) -> list[LineageRow]:
    """The nodes from the root down to `node_id`, with their own configs, root first.

    `ancestor_configs=False` (with `for_share` only) leaves the ancestors' `config_json` empty
    (`{}`): for a caller that has them cached by `(node_uid, version, row_xmin)`."""
    if ancestor_configs:
        statement = _LINEAGE_FOR_SHARE_SQL if for_share else _LINEAGE_SQL
    else:
        assert for_share, "a lineage without the ancestors' configs is read under FOR SHARE only"
        statement = _HEADS_FOR_SHARE_SQL
    return _lineage_rows(await raw.fetch(session, statement, {"org_id": org_id, "node_id": node_id}))


def _lineage_rows(rows: list[Any]) -> list[LineageRow]:
    """Rows of the lineage query (`hops` from the node up) as LineageRow, root first."""
    count = len(rows)
    return [_row(r, depth=count - r.hops + 1, has_children=bool(r.has_children)) for r in rows]


def _row(r: Any, *, depth: int, has_children: bool = False) -> LineageRow:
    return LineageRow(
        org_id=r.org_id,
        node_id=r.node_id,
        parent_node_id=r.parent_node_id,
        node_type=r.node_type,
        name=r.name,
        node_uid=r.node_uid,
        depth=depth,
        config_json=r.config_json if r.config_json is not None else {},
        version=r.version,
        locked_paths=r.locked_paths,
        updated_at=r.updated_at,
        updated_by=r.updated_by,
        has_children=has_children,
        row_xmin=r.row_xmin,
    )


_LINEAGES_SQL = """
WITH RECURSIVE up AS (
    SELECT n.org_id, n.node_id, n.parent_node_id, n.node_type, n.name, n.node_uid, 1 AS hops
    FROM org_nodes n
    WHERE n.org_id = %(org_id)s AND n.node_id = ANY(%(node_ids)s)
    UNION
    SELECT p.org_id, p.node_id, p.parent_node_id, p.node_type, p.name, p.node_uid, u.hops + 1
    FROM org_nodes p
    JOIN up u ON p.org_id = u.org_id AND p.node_id = u.parent_node_id
    WHERE u.hops <= 64
), nodes AS (
    SELECT DISTINCT ON (node_id) org_id, node_id, parent_node_id, node_type, name, node_uid FROM up
)
SELECT n.org_id, n.node_id, n.parent_node_id, n.node_type, n.name, n.node_uid,
       c.config_json, c.version, c.locked_paths, c.updated_at, c.updated_by, (c.xmin::text)::bigint AS row_xmin
FROM nodes n
JOIN node_configurations c ON c.org_id = n.org_id AND c.node_id = n.node_id
"""


async def lineages(session: AsyncSession, org_id: str, node_ids: list[str]) -> dict[str, list[LineageRow]]:
    """The lineages of several nodes in one query (each shared ancestor read once), root first,
    by node id; a node that does not exist is left out."""
    by_id = {r.node_id: r for r in await raw.fetch(session, _LINEAGES_SQL, {"org_id": org_id, "node_ids": list(node_ids)})}
    out: dict[str, list[LineageRow]] = {}
    for node_id in node_ids:
        chain = []
        current = by_id.get(node_id)
        while current is not None and len(chain) <= 64:
            chain.append(current)
            current = by_id.get(current.parent_node_id) if current.parent_node_id is not None else None
        if not chain or chain[-1].parent_node_id is not None:
            continue  # gone (or its lineage changed under the query)
        count = len(chain)
        out[node_id] = [_row(r, depth=count - i) for i, r in enumerate(chain)][::-1]
    return out


async def subtree(session: AsyncSession, org_id: str, node_id: str) -> list[SubtreeRow]:
    """`node_id` and every descendant, parents before children."""
    result = await session.execute(_SUBTREE_SQL, {"org_id": org_id, "node_id": node_id})
    return [
        SubtreeRow(r.node_id, r.parent_node_id, r.below, r.config_json, r.version, r.locked_paths)
        for r in result.all()
    ]


_SHARE_TREE_LOCK = "SELECT pg_advisory_xact_lock_shared(hashtextextended(%(k)s, 0))"


async def share_tree_lock(session: AsyncSession, org_id: str) -> None:
    """The org's tree lock, shared: tree changes (which take it exclusively) cannot move a
    lineage under a config or lock write."""
    await raw.fetch(session, _SHARE_TREE_LOCK, {"k": f"org:{org_id}"})


@dataclass
class OwnRow:
    """A node's own-config row as a write holds it (locked for update)."""

    org_id: str
    node_id: str
    config_json: dict[str, Any]
    version: int
    locked_paths: list[str]


_LOCK_OWN_ROW = (
    "SELECT org_id, node_id, config_json, version, locked_paths FROM node_configurations "
    "WHERE org_id = %(org_id)s AND node_id = %(node_id)s FOR UPDATE"
)


async def lock_own(session: AsyncSession, org_id: str, node_id: str) -> NodeConfiguration | None:
    """The node's own-config row, locked for update: writes to one node are serialised here."""
    result = await session.execute(
        select(NodeConfiguration)
        .where(NodeConfiguration.org_id == org_id, NodeConfiguration.node_id == node_id)
        .with_for_update()
    )
    return result.scalars().first()


async def get_own(session: AsyncSession, org_id: str, node_id: str) -> NodeConfiguration | None:
    result = await session.execute(
        select(NodeConfiguration).where(NodeConfiguration.org_id == org_id, NodeConfiguration.node_id == node_id)
    )
    return result.scalars().first()


async def create_initial(session: AsyncSession, org_id: str, node_id: str, actor: str) -> None:
    """Own config `{}` at version 1, with its version row."""
    await session.execute(
        insert(NodeConfiguration).values(
            org_id=org_id, node_id=node_id, config_json={}, version=1, updated_by=actor, locked_paths=[]
        )
    )
    await session.execute(
        insert(NodeConfigVersion).values(
            org_id=org_id, node_id=node_id, version=1, config_json={}, diff=[], changed_by=actor, reason="created"
        )
    )


_WRITE_VERSION = """
    WITH u AS (
        UPDATE node_configurations
        SET config_json = CAST(%(config)s AS jsonb), version = version + 1, updated_by = %(actor)s, updated_at = now()
        WHERE org_id = %(org_id)s AND node_id = %(node_id)s
        RETURNING version, updated_at
    ), v AS (
        INSERT INTO node_config_versions (org_id, node_id, version, config_json, diff, changed_by, reason)
        SELECT %(org_id)s, %(node_id)s, u.version, CAST(%(config)s AS jsonb), CAST(%(diff)s AS jsonb), %(actor)s, %(reason)s
        FROM u
        RETURNING version
    ), """ + audit_repository.EVENT_CTE + """
    SELECT """ + audit_repository.EVENT_COLUMNS + """, v.version FROM v, e
    """


async def write_version(
    session: AsyncSession,
    row: OwnRow,
    new_config: dict[str, Any],
    diff: list[dict[str, Any]],
    actor: str,
    reason: str | None,
    event: raw.Statement,
) -> None:
    """Replace the own config, add its version row and record `event` (an audit event statement,
    `audit.service.event`) in one statement; `row` then holds the new config and version."""
    params = {
        "org_id": row.org_id,
        "node_id": row.node_id,
        "config": orjson.dumps(new_config).decode(),
        "diff": orjson.dumps(diff).decode(),
        "actor": actor,
        "reason": reason,
        **event.params,
    }
    rows = await raw.fetch(session, _WRITE_VERSION, params)
    row.config_json, row.version = new_config, rows[0].version
    if event.then is not None:
        event.then(rows)


async def set_locked_paths(session: AsyncSession, row: NodeConfiguration, paths: list[str]) -> None:
    row.locked_paths = list(paths)
    await session.flush()


async def history(
    session: AsyncSession, org_id: str, node_id: str, *, before_version: int | None, limit: int
) -> list[NodeConfigVersion]:
    query = select(NodeConfigVersion).where(
        NodeConfigVersion.org_id == org_id, NodeConfigVersion.node_id == node_id
    )
    if before_version is not None:
        query = query.where(NodeConfigVersion.version < before_version)
    query = query.order_by(NodeConfigVersion.version.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def get_version(session: AsyncSession, org_id: str, node_id: str, version: int) -> NodeConfigVersion | None:
    result = await session.execute(
        select(NodeConfigVersion).where(
            NodeConfigVersion.org_id == org_id,
            NodeConfigVersion.node_id == node_id,
            NodeConfigVersion.version == version,
        )
    )
    return result.scalars().first()


async def touch_updated(session: AsyncSession, org_id: str, node_id: str) -> None:
    await session.execute(
        update(NodeConfiguration)
        .where(NodeConfiguration.org_id == org_id, NodeConfiguration.node_id == node_id)
        .values(updated_at=func.now())
    )
