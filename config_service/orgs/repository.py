"""Every query on org_nodes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, literal, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from config_service.models import OrgNode

_SUBTREE_IDS = text(
    """
WITH RECURSIVE subtree AS (
    SELECT node_id, 0 AS below FROM org_nodes WHERE org_id = :org_id AND node_id = :node_id
    UNION ALL
    SELECT c.node_id, s.below + 1
    FROM org_nodes c JOIN subtree s ON c.org_id = :org_id AND c.parent_node_id = s.node_id
    WHERE s.below <= 64
)
SELECT node_id, below FROM subtree ORDER BY below DESC, node_id
"""
)

_DEPTH = text(
    """
WITH RECURSIVE up AS (
    SELECT node_id, parent_node_id, 1 AS depth FROM org_nodes WHERE org_id = :org_id AND node_id = :node_id
    UNION ALL
    SELECT p.node_id, p.parent_node_id, u.depth + 1
    FROM org_nodes p JOIN up u ON p.org_id = :org_id AND p.node_id = u.parent_node_id
    WHERE u.depth <= 64
)
SELECT max(depth) FROM up
"""
)


async def get(session: AsyncSession, org_id: str, node_id: str) -> OrgNode | None:
    result = await session.execute(select(OrgNode).where(OrgNode.org_id == org_id, OrgNode.node_id == node_id))
    return result.scalars().first()


async def identity(session: AsyncSession, org_id: str, node_id: str) -> tuple[OrgNode, OrgNode] | None:
    """The node and its org's root, in one query (None if either is missing)."""
    root = aliased(OrgNode)
    result = await session.execute(
        select(OrgNode, root)
        .join(root, (root.org_id == OrgNode.org_id) & (root.node_id == OrgNode.org_id))
        .where(OrgNode.org_id == org_id, OrgNode.node_id == node_id)
    )
    row = result.first()
    return (row[0], row[1]) if row is not None else None


async def list_roots(
    session: AsyncSession,
    org_id: str | None = None,
    *,
    limit: int | None = None,
    after: tuple[datetime, str] | None = None,
) -> list[OrgNode]:
    """Org roots, newest first; `after` is the (created_at, org_id) of the previous page's last."""
    query = select(OrgNode).where(OrgNode.node_type == "org")
    if org_id is not None:
        query = query.where(OrgNode.org_id == org_id)
    if after is not None:
        query = query.where(tuple_(OrgNode.created_at, OrgNode.org_id) < tuple_(literal(after[0]), literal(after[1])))
    query = query.order_by(OrgNode.created_at.desc(), OrgNode.org_id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def list_nodes(
    session: AsyncSession,
    org_id: str,
    *,
    limit: int | None = None,
    after: tuple[datetime, str] | None = None,
) -> list[OrgNode]:
    """An org's nodes, oldest first (the root first); `after` as in `list_roots`."""
    query = select(OrgNode).where(OrgNode.org_id == org_id)
    if after is not None:
        query = query.where(tuple_(OrgNode.created_at, OrgNode.node_id) > tuple_(literal(after[0]), literal(after[1])))
    query = query.order_by(OrgNode.created_at, OrgNode.node_id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def add(session: AsyncSession, node: OrgNode) -> OrgNode:
    session.add(node)
    await session.flush()
    await session.refresh(node)
    return node


async def subtree_ids(session: AsyncSession, org_id: str, node_id: str) -> list[tuple[str, int]]:
    """(node_id, levels below `node_id`) of the node and its descendants, deepest first."""
    result = await session.execute(_SUBTREE_IDS, {"org_id": org_id, "node_id": node_id})
    return [(r.node_id, r.below) for r in result.all()]


async def depth(session: AsyncSession, org_id: str, node_id: str) -> int:
    """Number of nodes from the root down to `node_id`, inclusive (the root has depth 1)."""
    return (await session.execute(_DEPTH, {"org_id": org_id, "node_id": node_id})).scalar_one() or 0


async def rename(session: AsyncSession, node: OrgNode, name: str) -> None:
    node.name = name
    node.updated_at = func.now()
    await session.flush()
    await session.refresh(node)


async def move(session: AsyncSession, node: OrgNode, parent_node_id: str) -> None:
    node.parent_node_id = parent_node_id
    node.updated_at = func.now()
    await session.flush()
    await session.refresh(node)


async def delete_nodes(session: AsyncSession, org_id: str, node_ids: list[str]) -> None:
    """Delete nodes in one statement (so the parent FK sees the final state); configs,
    versions and routing keys go with them by cascade."""
    await session.execute(delete(OrgNode).where(OrgNode.org_id == org_id, OrgNode.node_id.in_(node_ids)))


async def delete_org(session: AsyncSession, org_id: str) -> None:
    await session.execute(delete(OrgNode).where(OrgNode.org_id == org_id))


async def touch(session: AsyncSession, org_id: str, node_id: str) -> None:
    await session.execute(
        update(OrgNode).where(OrgNode.org_id == org_id, OrgNode.node_id == node_id).values(updated_at=func.now())
    )


async def destroy_org_data(session: AsyncSession, org_id: str) -> None:
    """What an org delete removes besides its nodes: its data keys and runs (audit stays)."""
    await session.execute(text("DELETE FROM org_keys WHERE org_id = :o"), {"o": org_id})
    await session.execute(text("DELETE FROM agent_runs WHERE org_id = :o"), {"o": org_id})
