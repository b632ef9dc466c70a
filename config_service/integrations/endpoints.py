"""Integration routes: the public catalog, its admin edits, and integration health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from config_service.auth.dependencies import Context, GlobalAdmin, OrgAdmin, TeamReader
from config_service.errors import InvalidRequest
from config_service.http import ClientInputRoute, body_doc, json_body
from config_service.integrations import health, service
from config_service.integrations.schemas import (
    HealthView,
    IntegrationSchemaCreate,
    IntegrationSchemaList,
    IntegrationSchemaOut,
    IntegrationSchemaUpdate,
)
from config_service.kit.ids import ID_PATTERN, is_valid_id

router = APIRouter(tags=["integrations"], route_class=ClientInputRoute)

Category = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)]


def _schema_id(schema_id: str) -> str:
    if not is_valid_id(schema_id):
        raise InvalidRequest("'schema_id' is not a valid identifier", path="schema_id")
    return schema_id


async def _object_body(request: Request) -> dict:
    body = await json_body(request)  # depth-limited: no input gets past a 400/422
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object", path="")
    return body


@router.get("/integrations/schemas", response_model=IntegrationSchemaList, operation_id="integration_schemas_list")
async def list_schemas(ctx: Context, category: Category = None) -> IntegrationSchemaList:
    """The integration catalog (no token needed), optionally one `category`."""
    async with ctx.db.transaction() as session:
        return await service.list_schemas(session, category)


@router.get("/integrations/schemas/{schema_id}", response_model=IntegrationSchemaOut,
    operation_id="integration_schema_get")
async def get_schema(ctx: Context, schema_id: str) -> IntegrationSchemaOut:
    async with ctx.db.transaction() as session:
        return await service.get_schema(session, _schema_id(schema_id))


@router.post("/integrations/schemas", status_code=201, response_model=IntegrationSchemaOut,
             operation_id="integration_schema_create", openapi_extra=body_doc(IntegrationSchemaCreate))
async def create_schema(ctx: Context, request: Request, principal: GlobalAdmin) -> IntegrationSchemaOut:
    body = IntegrationSchemaCreate.model_validate(await _object_body(request))
    async with ctx.db.transaction() as session:
        return await service.create_schema(session, principal, body)


@router.put("/integrations/schemas/{schema_id}", response_model=IntegrationSchemaOut,
            operation_id="integration_schema_replace", openapi_extra=body_doc(IntegrationSchemaUpdate))
async def replace_schema(ctx: Context, request: Request, principal: GlobalAdmin,
    schema_id: str) -> IntegrationSchemaOut:
    body = IntegrationSchemaUpdate.model_validate(await _object_body(request))
    async with ctx.db.transaction() as session:
        return await service.update_schema(session, principal, _schema_id(schema_id), body, replace=True)


@router.patch("/integrations/schemas/{schema_id}", response_model=IntegrationSchemaOut,
              operation_id="integration_schema_update", openapi_extra=body_doc(IntegrationSchemaUpdate))
async def update_schema(ctx: Context, request: Request, principal: GlobalAdmin, schema_id: str) -> IntegrationSchemaOut:
    body = IntegrationSchemaUpdate.model_validate(await _object_body(request))
    async with ctx.db.transaction() as session:
        return await service.update_schema(session, principal, _schema_id(schema_id), body, replace=False)


@router.delete("/integrations/schemas/{schema_id}", status_code=204, operation_id="integration_schema_delete")
async def delete_schema(ctx: Context, principal: GlobalAdmin, schema_id: str) -> Response:
    """409 `schema_in_use` while any node's own config configures the integration."""
    async with ctx.db.transaction() as session:
        await service.delete_schema(session, principal, _schema_id(schema_id))
    return Response(status_code=204)


@router.get("/integrations/health", response_model=HealthView, operation_id="integrations_health_me")
async def my_health(ctx: Context, caller: TeamReader) -> HealthView:
    """For every catalog integration: configured / incomplete / not_configured on the team's
    effective config, and the node that supplies each configured field."""
    async with ctx.db.transaction() as session:
        return await health.node_health(session, caller.org_id, caller.node_id)


@router.get("/admin/orgs/{org_id}/nodes/{node_id}/integrations/health", response_model=HealthView,
            operation_id="integrations_health_node")
async def node_health(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str) -> HealthView:
    async with ctx.db.transaction() as session:
        return await health.node_health(session, org_id, node_id)
