"""Every query on audit_events."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit.schemas import AuditFilter
from config_service.db import raw
from config_service.models import AuditEvent

NOTIFY_CHANNEL = "config_service_changes"


# `e`: the event inserted (parameters `e_*`), for a statement's WITH list; and its notification
EVENT_CTE = """
    e AS (
        INSERT INTO audit_events (org_id, actor, action, target_type, target_id, details)
        VALUES (%(e_org_id)s, %(e_actor)s, %(e_action)s, %(e_target_type)s, %(e_target_id)s, CAST(%(e_details)s AS jsonb))
        RETURNING id, xid
    )"""
EVENT_COLUMNS = "e.id, e.xid, pg_notify(%(e_channel)s, e.id::text)"
_INSERT_AND_NOTIFY = "WITH " + EVENT_CTE + " SELECT " + EVENT_COLUMNS + " FROM e"


def event_statement(
    session: AsyncSession,
    *,
    org_id: str | None,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    details: dict[str, Any],
) -> raw.Statement:
    """Insert one event and NOTIFY its id in one statement: PostgreSQL delivers the
    notification only if the transaction commits. Once run, the event is also noted on the
    session so this process can apply it the moment the transaction commits (read-your-writes)."""

    def note(rows: list[Any]) -> None:
        (row,) = rows  # EVENT_COLUMNS: id, xid, …
        session.info.setdefault("events", []).append(
            {"id": row.id, "xid": row.xid, "org_id": org_id, "action": action, "target_type": target_type,
             "target_id": target_id, "details": details}
        )

    params = {
        "e_org_id": org_id,
        "e_actor": actor,
        "e_action": action,
        "e_target_type": target_type,
        "e_target_id": target_id,
        "e_details": orjson.dumps(details).decode(),
        "e_channel": NOTIFY_CHANNEL,
    }
    return raw.Statement(_INSERT_AND_NOTIFY, params, note)


def _filtered(query: Select[Any], org_id: str, flt: AuditFilter, before_id: int | None) -> Select[Any]:
    query = query.where(AuditEvent.org_id == org_id)
    if flt.actor is not None:
        query = query.where(AuditEvent.actor == flt.actor)
    if flt.action is not None:
        query = query.where(AuditEvent.action == flt.action)
    if flt.target_id is not None:
        query = query.where(AuditEvent.target_id == flt.target_id)
    if flt.since is not None:
        query = query.where(AuditEvent.at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEvent.at < flt.until)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return query.order_by(AuditEvent.id.desc())


async def list_events(
    session: AsyncSession,
    org_id: str,
    flt: AuditFilter,
    *,
    before_id: int | None = None,
    limit: int | None = 50,
) -> list[AuditEvent]:
    query = _filtered(select(AuditEvent), org_id, flt, before_id)
    if limit is not None:
        query = query.limit(limit)
    result = await session.execute(query)
    return list(result.scalars())


EXPORT_COLUMNS = (
    AuditEvent.id, AuditEvent.at, AuditEvent.org_id, AuditEvent.actor, AuditEvent.action,
    AuditEvent.target_type, AuditEvent.target_id, AuditEvent.details,
)


async def event_rows(
    session: AsyncSession, org_id: str, flt: AuditFilter, *, before_id: int | None, limit: int
) -> list[Row[Any]]:
    """A page of events as plain rows. An export reads thousands of pages: ORM objects, which hold
    reference cycles, would pile up until a full garbage collection instead of going at once."""
    result = await session.execute(_filtered(select(*EXPORT_COLUMNS), org_id, flt, before_id).limit(limit))
    return list(result.all())
