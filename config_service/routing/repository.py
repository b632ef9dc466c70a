"""Every query on routing_keys. A lookup is one indexed query."""

from __future__ import annotations

from sqlalchemy import delete, literal, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.models import OrgNode, RoutingKey
from config_service.routing.keys import Claim


async def claims_of(session: AsyncSession, org_id: str, node_id: str) -> set[Claim]:
    result = await session.execute(
        select(RoutingKey.key_type, RoutingKey.key_norm, RoutingKey.key_value).where(
            RoutingKey.org_id == org_id, RoutingKey.node_id == node_id
        )
    )
    return {Claim(r.key_type, r.key_norm, r.key_value) for r in result.all()}


async def claims_of_org(session: AsyncSession, org_id: str) -> dict[str, set[Claim]]:
    """Every claim of an org, by node (one query)."""
    result = await session.execute(
        select(RoutingKey.node_id, RoutingKey.key_type, RoutingKey.key_norm, RoutingKey.key_value).where(
            RoutingKey.org_id == org_id
        )
    )
    found: dict[str, set[Claim]] = {}
    for r in result.all():
        found.setdefault(r.node_id, set()).add(Claim(r.key_type, r.key_norm, r.key_value))
    return found


async def release(session: AsyncSession, org_id: str, node_id: str, gone: set[Claim]) -> None:
    if not gone:
        return
    await session.execute(
        delete(RoutingKey).where(
            RoutingKey.org_id == org_id,
            RoutingKey.node_id == node_id,
            tuple_(RoutingKey.key_type, RoutingKey.key_norm).in_([(c.key_type, c.key_norm) for c in gone]),
        )
    )


async def claim(session: AsyncSession, org_id: str, node_id: str, new: set[Claim]) -> set[tuple[str, str]]:
    """Insert claims; returns the (key_type, key_norm) pairs that someone else already holds."""
    if not new:
        return set()
    rows = [
        {"org_id": org_id, "node_id": node_id, "key_type": c.key_type, "key_norm": c.key_norm, "key_value": c.key_value}
        for c in sorted(new)
    ]
    result = await session.execute(
        insert(RoutingKey).values(rows).on_conflict_do_nothing().returning(RoutingKey.key_type, RoutingKey.key_norm)
    )
    inserted = {(r.key_type, r.key_norm) for r in result.all()}
    return {(c.key_type, c.key_norm) for c in new} - inserted


async def holders(session: AsyncSession, pairs: set[tuple[str, str]], org_id: str | None) -> list[RoutingKey]:
    query = select(RoutingKey).where(tuple_(RoutingKey.key_type, RoutingKey.key_norm).in_(sorted(pairs)))
    if org_id is not None:
        query = query.where(RoutingKey.org_id == org_id)
    return list((await session.execute(query)).scalars())


async def lookup(session: AsyncSession, pairs: list[tuple[str, str]], org_id: str | None) -> list[RoutingKey]:
    """Every claim of any of these (key_type, key_norm) pairs — one query on the lookup index."""
    if not pairs:
        return []
    query = select(RoutingKey).where(tuple_(RoutingKey.key_type, RoutingKey.key_norm).in_(pairs))
    if org_id is not None:
        query = query.where(RoutingKey.org_id == org_id)
    return list((await session.execute(query)).scalars())


async def list_claims(
    session: AsyncSession,
    org_id: str,
    *,
    node_id: str | None,
    key_type: str | None,
    limit: int,
    after: tuple[str, str] | None,
) -> list[RoutingKey]:
    """An org's claims ordered by (key_type, key_norm) — the primary key's order; `after` is the
    (key_type, key_norm) of the previous page's last item."""
    query = select(RoutingKey).where(RoutingKey.org_id == org_id)
    if node_id is not None:
        query = query.where(RoutingKey.node_id == node_id)
    if key_type is not None:
        query = query.where(RoutingKey.key_type == key_type)
    if after is not None:
        last = tuple_(literal(after[0]), literal(after[1]))
        query = query.where(tuple_(RoutingKey.key_type, RoutingKey.key_norm) > last)
    query = query.order_by(RoutingKey.key_type, RoutingKey.key_norm).limit(limit)
    return list((await session.execute(query)).scalars())


async def node_exists(session: AsyncSession, org_id: str, node_id: str) -> bool:
    query = select(OrgNode.node_id).where(OrgNode.org_id == org_id, OrgNode.node_id == node_id)
    return (await session.execute(query)).first() is not None
