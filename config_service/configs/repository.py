"""Every query on node_configurations and node_config_versions. The lineage is one query."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

import orjson
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.db import locks, raw
from config_service.models import NodeConfiguration, NodeConfigVersion


@dataclass(frozen=True, kw_only=True)
class LineageHead:
    """A node of a lineage and what identifies its stored own config, without the config itself
    (`lock_for_write` reads no more of the ancestors while their merged state is cached)."""

    org_id: str
    node_id: str
    parent_node_id: str | None
    node_type: str
    name: str
    node_uid: uuid.UUID
    depth: int
    version: int
    locked_paths: list[str]
    updated_at: datetime
    updated_by: str | None
    has_children: bool = False  # known for the last node of a lineage only
    row_xmin: int = 0  # the config row's xmin: with node_uid and version, what exactly it holds


@dataclass(frozen=True, kw_only=True)
class LineageRow(LineageHead):
    """A node of a lineage with its own config."""

    config_json: dict[str, Any]


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
# no config at all: the caller has the ancestors' merged state cached by (node_uid, version, xmin)
# and the node's own config from its locked row
_HEADS_FOR_SHARE_SQL = _LINEAGE.replace("{config}", "NULL::jsonb") + " FOR SHARE OF c"

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


@dataclass(frozen=True)
class WriteLock:
    """What a config write starts with: the node's own row (None: no such node), its lineage
    locked for share (`heads`, root first), and the same rows with every own config when they
    were asked for (`rows`; else None: read them with `lineage`, they are locked)."""

    own: OwnRow | None
    heads: list[LineageHead]
    rows: list[LineageRow] | None


async def lock_for_write(session: AsyncSession, org_id: str, node_id: str, *, ancestor_configs: bool) -> WriteLock:
    """In one round trip and in this order: the org lock (shared), the node's own row (locked for
    update: writes to one node are serialised here), and its lineage, locked for share (a lock
    committed concurrently on an ancestor cannot be bypassed)."""
    params = {"org_id": org_id, "node_id": node_id}
    tree_lock = locks.org_lock(org_id, shared=True)
    _, own, found = await raw.fetch_pipelined(
        session,
        [
            (tree_lock.sql, tree_lock.params),
            (_LOCK_OWN_ROW, params),
            (_LINEAGE_FOR_SHARE_SQL if ancestor_configs else _HEADS_FOR_SHARE_SQL, params),
        ],
    )
    own_row = OwnRow(*own[0]) if own else None
    if ancestor_configs:
        rows = _lineage_rows(found)
        return WriteLock(own_row, list(rows), rows)
    count = len(found)
    heads = [_head(r, depth=count - r.hops + 1, has_children=bool(r.has_children)) for r in found]
    return WriteLock(own_row, heads, None)


async def lineage(session: AsyncSession, org_id: str, node_id: str) -> list[LineageRow]:
    """The nodes from the root down to `node_id`, with their own configs, root first (none: no such node)."""
    return _lineage_rows(await raw.fetch(session, _LINEAGE_SQL, {"org_id": org_id, "node_id": node_id}))


def _lineage_rows(rows: list[Any]) -> list[LineageRow]:
    """Rows of the lineage query (`hops` from the node up) as LineageRow, root first."""
    count = len(rows)
    return [_row(r, depth=count - r.hops + 1, has_children=bool(r.has_children)) for r in rows]


def _head_fields(r: Any, *, depth: int, has_children: bool) -> dict[str, Any]:
    return {
        "org_id": r.org_id,
        "node_id": r.node_id,
        "parent_node_id": r.parent_node_id,
        "node_type": r.node_type,
        "name": r.name,
        "node_uid": r.node_uid,
        "depth": depth,
        "version": r.version,
        "locked_paths": r.locked_paths,
        "updated_at": r.updated_at,
        "updated_by": r.updated_by,
        "has_children": has_children,
        "row_xmin": r.row_xmin,
    }


def _head(r: Any, *, depth: int, has_children: bool = False) -> LineageHead:
    return LineageHead(**_head_fields(r, depth=depth, has_children=has_children))


def _row(r: Any, *, depth: int, has_children: bool = False) -> LineageRow:
    if r.config_json is None:  # every node has a config row (inner join): NULL means a query without it
        raise ValueError(f"the lineage row of '{r.node_id}' holds no config")
    return LineageRow(config_json=r.config_json, **_head_fields(r, depth=depth, has_children=has_children))


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
    by_id = {r.node_id: r for r in await raw.fetch(session, _LINEAGES_SQL, {"org_id": org_id,
        "node_ids": list(node_ids)})}
    out: dict[str, list[LineageRow]] = {}
    for node_id in node_ids:
        chain: list[Any] = []
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


_WRITE_VERSION: LiteralString = """
    WITH u AS (
        UPDATE node_configurations
        SET config_json = CAST(%(config)s AS jsonb), version = version + 1, updated_by = %(actor)s, updated_at = now()
        WHERE org_id = %(org_id)s AND node_id = %(node_id)s
        RETURNING version, updated_at
    ), v AS (
        INSERT INTO node_config_versions (org_id, node_id, version, config_json, diff, changed_by, reason)
        SELECT %(org_id)s, %(node_id)s, u.version, CAST(%(config)s AS jsonb), CAST(%(diff)s AS jsonb),
               %(actor)s, %(reason)s
        FROM u
        RETURNING version
    ), """


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
    `audit.service.event`, folded in as a CTE) in one statement; `row` then holds the new config
    and version."""
    if not event.cte:
        raise ValueError("the event statement cannot be folded into the write (no CTE form)")
    params = {
        "org_id": row.org_id,
        "node_id": row.node_id,
        "config": orjson.dumps(new_config).decode(),
        "diff": orjson.dumps(diff).decode(),
        "actor": actor,
        "reason": reason,
        **event.params,
    }
    sql = _WRITE_VERSION + event.cte + " SELECT " + event.columns + ", v.version FROM v, e"
    rows = await raw.fetch(session, sql, params)
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


async def org_exists(session: AsyncSession, org_id: str) -> bool:
    """Whether the org's root exists (asked only to word a 404)."""
    found = await session.execute(
        text("SELECT 1 FROM org_nodes WHERE org_id = :o AND node_id = :o"), {"o": org_id}
    )
    return found.first() is not None
