"""Org and tree routes (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from config_service.auth.dependencies import AnyAdmin, Context, GlobalAdmin, OrgAdmin
from config_service.http import ClientInputRoute
from config_service.kit.paging import DEFAULT_LIMIT, MAX_LIMIT
from config_service.orgs import service
from config_service.orgs.schemas import NodeCreate, NodeList, NodeOut, NodeUpdate, OrgCreate, OrgList, OrgOut, TreeOut

router = APIRouter(prefix="/admin/orgs", tags=["orgs"], route_class=ClientInputRoute)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post("", status_code=201, response_model=OrgOut, operation_id="org_create")
async def create_org(ctx: Context, principal: GlobalAdmin, body: OrgCreate) -> OrgOut:
    """Create an org: its root node, with own config `{}` at version 1."""
    async with ctx.db.transaction() as session:
        return await service.create_org(session, principal, body)


@router.get("", response_model=OrgList, operation_id="org_list")
async def list_orgs(
    ctx: Context, principal: AnyAdmin, limit: Limit = DEFAULT_LIMIT, cursor: str | None = None
) -> OrgList:
    """Every org (global admin) or the caller's own (org admin), newest first."""
    async with ctx.db.transaction() as session:
        return await service.list_orgs(session, principal, limit=limit, cursor=cursor)


@router.get("/{org_id}", response_model=OrgOut, operation_id="org_get")
async def get_org(ctx: Context, principal: OrgAdmin, org_id: str) -> OrgOut:
    async with ctx.db.transaction() as session:
        return await service.get_org(session, org_id)


@router.delete("/{org_id}", status_code=204, operation_id="org_delete")
async def delete_org(ctx: Context, principal: GlobalAdmin, org_id: str, cascade: bool = False) -> Response:
    """Delete an org with all its teams (`cascade=true` when it has any), revoke every token of
    it and destroy its data key. Audit events stay."""
    async with ctx.db.transaction() as session:
        await service.delete_org(session, principal, org_id, cascade=cascade)
    return Response(status_code=204)


@router.get("/{org_id}/nodes", response_model=NodeList, operation_id="node_list")
async def list_nodes(
    ctx: Context, principal: OrgAdmin, org_id: str, limit: Limit = DEFAULT_LIMIT, cursor: str | None = None
) -> NodeList:
    """Every node of the org, the root included (first), oldest first."""
    async with ctx.db.transaction() as session:
        return await service.list_nodes(session, org_id, limit=limit, cursor=cursor)


@router.post("/{org_id}/nodes", status_code=201, response_model=NodeOut, operation_id="node_create")
async def create_node(ctx: Context, principal: OrgAdmin, org_id: str, body: NodeCreate) -> NodeOut:
    async with ctx.db.transaction() as session:
        return await service.create_node(session, principal, org_id, body)


@router.get("/{org_id}/tree", response_model=TreeOut, operation_id="org_tree")
async def get_tree(ctx: Context, principal: OrgAdmin, org_id: str) -> TreeOut:
    async with ctx.db.transaction() as session:
        return await service.tree(session, org_id)


@router.get("/{org_id}/nodes/{node_id}", response_model=NodeOut, operation_id="node_get")
async def get_node(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str) -> NodeOut:
    async with ctx.db.transaction() as session:
        return service.node_out(await service.get_node_or_404(session, org_id, node_id))


@router.patch("/{org_id}/nodes/{node_id}", response_model=NodeOut, operation_id="node_update")
async def update_node(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, body: NodeUpdate) -> NodeOut:
    """Rename (`name`) and/or move (`parent_node_id`). A move under its own subtree is 409 `cycle`."""
    async with ctx.db.transaction() as session:
        node, _moved = await service.update_node(session, principal, org_id, node_id, body)
    return node


@router.delete("/{org_id}/nodes/{node_id}", status_code=204, operation_id="node_delete")
async def delete_node(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str, cascade: bool = False) -> Response:
    """Delete a node (409 `has_children` unless `cascade=true`); revokes the subtree's tokens."""
    async with ctx.db.transaction() as session:
        await service.delete_node(session, principal, org_id, node_id, cascade=cascade)
    return Response(status_code=204)
