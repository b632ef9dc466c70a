"""Recording and reading the audit log. Details never carry a secret or a token."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import repository
from config_service.audit.schemas import AuditEventOut, AuditFilter, AuditPage
from config_service.auth.principal import Principal
from config_service.db import raw
from config_service.kit import paging

ACTIONS = (
    "org.created",
    "org.deleted",
    "node.created",
    "node.renamed",
    "node.moved",
    "node.deleted",
    "config.written",
    "config.rolled_back",
    "locks.changed",
    "token.issued",
    "token.revoked",
    "schema.created",
    "schema.updated",
    "schema.deleted",
    "secrets.read",
    "secrets.reencrypted",
    "runs.timed_out",
)


async def record(session: AsyncSession, principal: Principal | str, action: str, **event_fields: Any) -> None:
    """Record one audit event now (`event` describes the fields)."""
    await raw.run(session, event(session, principal, action, **event_fields))


def event(
    session: AsyncSession,
    principal: Principal | str,
    action: str,
    *,
    org_id: str | None,
    target_type: str,
    target_id: str | None,
    details: dict[str, Any] | None = None,
    org_uid: uuid.UUID | None = None,
) -> raw.Statement:
    """The statement that records an event, to run with others in one round trip (`db.raw.run`).
    `org_uid` (the org's incarnation) defaults to the org's root as the statement finds it; an
    event written after the root is gone (`org.deleted`) names it."""
    assert action in ACTIONS, action
    actor = principal if isinstance(principal, str) else principal.subject
    return repository.event_statement(
        session,
        org_id=org_id,
        org_uid=org_uid,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
    )


def _out(event: Any) -> AuditEventOut:
    return AuditEventOut.model_validate(event, from_attributes=True)


async def list_events(
    session: AsyncSession, org_id: str, flt: AuditFilter, *, limit: int, cursor: str | None
) -> AuditPage:
    before_id = paging.decode_event_cursor(cursor) if cursor else None
    found = await repository.list_events(session, org_id, flt, before_id=before_id, limit=limit + 1)
    rows, more = paging.page(found, limit)
    next_cursor = paging.event_cursor(rows[-1].id) if more else None
    return AuditPage(items=[_out(row) for row in rows], next_cursor=next_cursor)
