"""The org's audit log: filtered, cursor-paged, exportable — of the org that has the id now;
a former org of the same id (deleted, the id taken again) only for the global admin."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service
from config_service.audit.export import open_export
from config_service.audit.schemas import AuditFilter, AuditPage
from config_service.auth import policy
from config_service.auth.dependencies import Context, OrgAdmin
from config_service.auth.principal import Principal
from config_service.errors import InvalidRequest
from config_service.http import ClientInputRoute
from config_service.orgs import service as orgs

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
OrgUid = Annotated[
    str | None,
    Query(description="Global admin only: the `org_uid` of a former org of this id (deleted, the id taken "
          "again), or `all` for every org that had it. Default: the org that has the id now."),
]


async def scoped(session: AsyncSession, principal: Principal, org_id: str, flt: AuditFilter,
                 org_uid: str | None) -> AuditFilter:
    """The filter narrowed to the org the read may cover (`kit.tenancy`)."""
    asked = policy.audit_incarnation(principal, org_uid)
    if asked == "all":
        return replace(flt, incarnation="all")
    uid = None
    if asked is not None:
        try:
            uid = uuid.UUID(asked)
        except ValueError:
            raise InvalidRequest("org_uid must be an org's uid or 'all'", path="org_uid") from None
    return replace(flt, incarnation=await orgs.org_incarnation(session, org_id, uid))


@router.get("", response_model=AuditPage, operation_id="audit_list")
async def list_audit(
    ctx: Context,
    principal: OrgAdmin,
    org_id: str,
    flt: Filter,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    org_uid: OrgUid = None,
) -> AuditPage:
    """Newest first. `since` is inclusive, `until` exclusive. The org that has the id now; the
    global admin may name a former one (`org_uid`)."""
    async with ctx.db.transaction() as session:
        flt = await scoped(session, principal, org_id, flt, org_uid)
        return await service.list_events(session, org_id, flt, limit=limit, cursor=cursor)


_EXPORT_ANSWER: dict[int | str, dict[str, Any]] = {
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
    org_uid: OrgUid = None,
) -> Response:
    """The whole (filtered) log as CSV or JSON, newest first; `org_uid` as on the listing. Streamed
    (read in pages of 500, bounded memory). A CSV cell that a spreadsheet would run as a formula
    (`=`, `+`, `-`, `@`, tab, CR first) starts with a single quote."""
    async with ctx.db.transaction() as session:  # who may read which org: decided before any byte is sent
        flt = await scoped(session, principal, org_id, flt, org_uid)
    export = await open_export(ctx.db, org_id, format, flt)
    filename = f"audit-{org_id}.{format}"
    return StreamingResponse(
        export.chunks, media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
