"""Every query on integration_schemas (and the one that asks whether a config uses a schema)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.models import IntegrationSchema


async def list_schemas(session: AsyncSession, category: str | None) -> list[IntegrationSchema]:
    query = select(IntegrationSchema).order_by(IntegrationSchema.id)
    if category is not None:
        query = query.where(IntegrationSchema.category == category)
    return list((await session.execute(query)).scalars())


async def get(session: AsyncSession, schema_id: str, *, for_update: bool = False) -> IntegrationSchema | None:
    query = select(IntegrationSchema).where(IntegrationSchema.id == schema_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def fields_of(
    session: AsyncSession, ids: Sequence[str] | None, *, for_share: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """id → fields, for these ids (all when None). `for_share`: a config write holds the schemas
    it was checked against, so a concurrent delete waits and then sees the config using it."""
    query = select(IntegrationSchema.id, IntegrationSchema.fields)
    if ids is not None:
        if not ids:
            return {}
        query = query.where(IntegrationSchema.id.in_(list(ids)))
    if for_share:
        query = query.with_for_update(read=True)
    return {row.id: row.fields for row in (await session.execute(query)).all()}


async def insert(session: AsyncSession, values: dict[str, Any]) -> IntegrationSchema:
    schema = IntegrationSchema(**values)
    session.add(schema)
    await session.flush()
    await session.refresh(schema)
    return schema


async def update(session: AsyncSession, schema: IntegrationSchema, values: dict[str, Any]) -> IntegrationSchema:
    for key, value in values.items():
        setattr(schema, key, value)  # `fields` is always a new list: the JSONB change is seen
    schema.updated_at = func.now()
    await session.flush()
    await session.refresh(schema)
    return schema


async def remove(session: AsyncSession, schema_id: str) -> None:
    await session.execute(delete(IntegrationSchema).where(IntegrationSchema.id == schema_id))


async def first_user(session: AsyncSession, schema_id: str) -> tuple[str, str] | None:
    """(org_id, node_id) of a node whose own config configures this integration, if any."""
    row = (
        await session.execute(
            text(
                "SELECT org_id, node_id FROM node_configurations "
                "WHERE jsonb_typeof(config_json -> 'integrations' -> :id) = 'object' LIMIT 1"
            ),
            {"id": schema_id},
        )
    ).first()
    return (row.org_id, row.node_id) if row else None
