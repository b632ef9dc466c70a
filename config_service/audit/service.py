"""Recording and reading the audit log. Details never carry a secret or a token."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import repository
from config_service.audit.schemas import AuditEventOut, AuditFilter, AuditPage
from config_service.auth.principal import Principal
from config_service.db import raw
from config_service.errors import InvalidRequest

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
) -> raw.Statement:
    """The statement that records an event, to run with others in one round trip (`db.raw.run`)."""
    assert action in ACTIONS, action
    actor = principal if isinstance(principal, str) else principal.subject
    return repository.event_statement(
        session,
        org_id=org_id,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
    )


def _encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"a:{event_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, value = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 1)
        if kind != "a" or not value.isascii() or not value.isdigit() or int(value) >= 2**63:
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("cursor is not one this service issued", path="cursor") from None


def _out(event: Any) -> AuditEventOut:
    return AuditEventOut.model_validate(event, from_attributes=True)


async def list_events(
    session: AsyncSession, org_id: str, flt: AuditFilter, *, limit: int, cursor: str | None
) -> AuditPage:
    before_id = _decode_cursor(cursor) if cursor else None
    rows = await repository.list_events(session, org_id, flt, before_id=before_id, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1].id) if more and rows else None
    return AuditPage(items=[_out(row) for row in rows], next_cursor=next_cursor)
