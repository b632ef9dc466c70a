"""Every query on audit_events."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit.schemas import AuditFilter
from config_service.db import raw
from config_service.db.engine import after_commit
from config_service.db.tenancy import belongs_to
from config_service.kit.changelog import CHANNEL, ChangeEvent
from config_service.models import AuditEvent

# `e`: the event inserted (parameters `e_*`), for a statement's WITH list; and its notification.
# `org_uid` is the org's incarnation (`kit.tenancy`): given, or the root's node_uid as the
# statement sees it (an index lookup in the same statement, no round trip).
_EVENT_CTE = """
    e AS (
        INSERT INTO audit_events (org_id, org_uid, actor, action, target_type, target_id, details)
        VALUES (CAST(%(e_org_id)s AS text),
                COALESCE(CAST(%(e_org_uid)s AS uuid), (
                    SELECT r.node_uid FROM org_nodes r
                    WHERE r.org_id = CAST(%(e_org_id)s AS text) AND r.node_id = CAST(%(e_org_id)s AS text))),
                %(e_actor)s, %(e_action)s, %(e_target_type)s, %(e_target_id)s, CAST(%(e_details)s AS jsonb))
        RETURNING id, xid
    )"""
_EVENT_COLUMNS = "e.id, e.xid, pg_notify(%(e_channel)s, e.id::text)"
_INSERT_AND_NOTIFY = "WITH " + _EVENT_CTE + " SELECT " + _EVENT_COLUMNS + " FROM e"


def event_statement(
    session: AsyncSession,
    *,
    org_id: str | None,
    org_uid: uuid.UUID | None = None,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    details: dict[str, Any],
) -> raw.Statement:
    """Insert one event and NOTIFY its id in one statement: PostgreSQL delivers the
    notification only if the transaction commits. Once run, the event is handed to this
    process's change feed the moment the transaction commits (read-your-writes). The statement
    can also be folded into a larger one (`raw.Statement.cte`)."""

    def note(rows: list[Any]) -> None:
        (row,) = rows  # _EVENT_COLUMNS: id, xid, …
        after_commit(session, ChangeEvent(row.id, row.xid, org_id, action, target_type, target_id, details))

    params = {
        "e_org_id": org_id,
        "e_org_uid": org_uid,
        "e_actor": actor,
        "e_action": action,
        "e_target_type": target_type,
        "e_target_id": target_id,
        "e_details": orjson.dumps(details).decode(),
        "e_channel": CHANNEL,
    }
    return raw.Statement(_INSERT_AND_NOTIFY, params, note, cte=_EVENT_CTE, columns=_EVENT_COLUMNS)


def _filtered(query: Select[Any], org_id: str, flt: AuditFilter, before_id: int | None) -> Select[Any]:
    query = query.where(AuditEvent.org_id == org_id)
    if flt.incarnation is None:
        raise RuntimeError("an audit read names the incarnation of the org it reads (kit.tenancy)")
    if flt.incarnation != "all":
        query = query.where(belongs_to(AuditEvent.org_uid, AuditEvent.at, flt.incarnation))
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
    AuditEvent.id, AuditEvent.at, AuditEvent.org_id, AuditEvent.org_uid, AuditEvent.actor, AuditEvent.action,
    AuditEvent.target_type, AuditEvent.target_id, AuditEvent.details,
)


async def event_rows(
    session: AsyncSession, org_id: str, flt: AuditFilter, *, before_id: int | None, limit: int
) -> list[Row[Any]]:
    """A page of events as plain rows. An export reads thousands of pages: ORM objects, which hold
    reference cycles, would pile up until a full garbage collection instead of going at once."""
    result = await session.execute(_filtered(select(*EXPORT_COLUMNS), org_id, flt, before_id).limit(limit))
    return list(result.all())
