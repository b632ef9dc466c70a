"""The org's audit log: filtered, cursor-paged, exportable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from config_service.audit import service
from config_service.audit.schemas import AuditFilter, AuditPage
from config_service.auth.dependencies import Context, OrgAdmin
from config_service.http import ClientInputRoute

router = APIRouter(prefix="/admin/orgs/{org_id}/audit", tags=["audit"], route_class=ClientInputRoute)


def audit_filter(
    actor: str | None = None,
    action: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditFilter:
    """The filter query parameters shared by the listing and the export."""
    return AuditFilter(actor=actor, action=action, target_id=target_id, since=since, until=until)


Filter = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("", response_model=AuditPage, operation_id="audit_list")
async def list_audit(
    ctx: Context,
    principal: OrgAdmin,
    org_id: str,
    flt: Filter,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> AuditPage:
    """Newest first. `since` is inclusive, `until` exclusive."""
    async with ctx.db.transaction() as session:
        return await service.list_events(session, org_id, flt, limit=limit, cursor=cursor)


_EXPORT_ANSWER = {
    200: {
        "description": "The events, as a file to save",
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEventOut"}}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/export", operation_id="audit_export", responses=_EXPORT_ANSWER)
async def export_audit(
    ctx: Context,
    principal: OrgAdmin,
    org_id: str,
    flt: Filter,
    format: Literal["csv", "json"] = "json",  # noqa: A002 - the documented query name
) -> Response:
    """The whole (filtered) log as CSV or JSON, newest first."""
    async with ctx.db.transaction() as session:
        body, media = await service.export(session, org_id, format, flt)
    filename = f"audit-{org_id}.{format}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
