"""The integration catalog: reads (public), admin edits (global admin, audited), and the
schemas a config write is checked against. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth.principal import Principal
from config_service.errors import Conflict, InvalidRequest, NotFound, SchemaInUse
from config_service.integrations import repository
from config_service.integrations.catalog import BUILT_IN
from config_service.integrations.schemas import (
    FieldDef,
    IntegrationSchemaCreate,
    IntegrationSchemaList,
    IntegrationSchemaOut,
    IntegrationSchemaUpdate,
)
from config_service.integrations.validation import normalise_fields, schema_problem
from config_service.models import IntegrationSchema

BUILT_IN_IDS = frozenset(item["id"] for item in BUILT_IN)


def _out(schema: IntegrationSchema) -> IntegrationSchemaOut:
    return IntegrationSchemaOut(
        id=schema.id,
        name=schema.name,
        description=schema.description,
        category=schema.category,
        logo_url=schema.logo_url,
        fields=[FieldDef.model_validate(f) for f in normalise_fields(schema.fields)],
        built_in=schema.id in BUILT_IN_IDS,
        created_at=schema.created_at,
        updated_at=schema.updated_at,
    )


def _checked_fields(fields: list[Any]) -> list[dict[str, Any]]:
    problem = schema_problem(fields)
    if problem is not None:
        path, message = problem
        raise InvalidRequest(f"{path}: {message}", path=path)
    return normalise_fields(fields)


def _checked_logo(url: str | None) -> None:
    if url is not None and not url.startswith(("https://", "http://")):
        raise InvalidRequest("logo_url must be an http(s) URL", path="/logo_url")


async def list_schemas(session: AsyncSession, category: str | None) -> IntegrationSchemaList:
    return IntegrationSchemaList(items=[_out(s) for s in await repository.list_schemas(session, category)])


async def get_schema(session: AsyncSession, schema_id: str) -> IntegrationSchemaOut:
    schema = await repository.get(session, schema_id)
    if schema is None:
        raise NotFound(f"no integration schema '{schema_id}'")
    return _out(schema)


async def catalog_for(
    session: AsyncSession, ids: Sequence[str] | None = None, *, for_write: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """id → field definitions of these integrations (unknown ids are simply absent)."""
    return await repository.fields_of(session, ids, for_share=for_write)


async def create_schema(session: AsyncSession, principal: Principal,
    body: IntegrationSchemaCreate) -> IntegrationSchemaOut:
    fields = _checked_fields(body.fields)
    _checked_logo(body.logo_url)
    if await repository.get(session, body.id) is not None:
        raise Conflict(f"integration schema '{body.id}' already exists")
    schema = await repository.insert(
        session,
        {"id": body.id, "name": body.name, "description": body.description, "category": body.category,
         "logo_url": body.logo_url, "fields": fields},
    )
    await audit.record(session, principal, "schema.created", org_id=None, target_type="integration_schema",
                       target_id=body.id, details={"fields": [f["name"] for f in fields]})
    return _out(schema)


async def update_schema(
    session: AsyncSession, principal: Principal, schema_id: str, body: IntegrationSchemaUpdate, *, replace: bool
) -> IntegrationSchemaOut:
    schema = await repository.get(session, schema_id, for_update=True)
    if schema is None:
        raise NotFound(f"no integration schema '{schema_id}'")
    sent = body.model_fields_set
    if replace:
        if body.name is None:
            raise InvalidRequest("name is required", path="/name")
        sent = {"name", "description", "category", "logo_url", "fields"}
    values: dict[str, Any] = {}
    for key in sent:
        value = getattr(body, key)
        if key == "name" and value is None:
            raise InvalidRequest("name cannot be null", path="/name")
        if key == "fields":
            value = _checked_fields(value or [])
        if key == "logo_url":
            _checked_logo(value)
        values[key] = value
    schema = await repository.update(session, schema, values)
    await audit.record(session, principal, "schema.updated", org_id=None, target_type="integration_schema",
                       target_id=schema_id, details={"changed": sorted(values)})
    return _out(schema)


async def delete_schema(session: AsyncSession, principal: Principal, schema_id: str) -> None:
    schema = await repository.get(session, schema_id, for_update=True)
    if schema is None:
        raise NotFound(f"no integration schema '{schema_id}'")
    user = await repository.first_user(session, schema_id)
    if user is not None:
        raise SchemaInUse(
            f"integration schema '{schema_id}' is in use (e.g. by node '{user[1]}' of org '{user[0]}')",
            org_id=user[0], node_id=user[1],
        )
    await repository.remove(session, schema_id)
    await audit.record(session, principal, "schema.deleted", org_id=None, target_type="integration_schema",
                       target_id=schema_id, details={})
