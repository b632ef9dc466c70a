from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import ACTOR_LENGTH, ID_LENGTH, Base

# The writing transaction's id: lets a change-log reader notice an event that
# commits after one with a higher `id` (DESIGN §10).
CURRENT_XID = text("(pg_current_xact_id()::text)::bigint")


class AuditEvent(Base):
    """Every committed change, written in the change's own transaction."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    org_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    # which org of that id (its root's node_uid): an org id can be deleted and taken again, and
    # the new org's admins never read the old one's events (NULL: no org, or written before the
    # column existed, see `kit.tenancy`)
    org_uid: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str] = mapped_column(String(32), nullable=False)
    target_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    xid: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=CURRENT_XID)

    __table_args__ = (
        Index("idx_audit_events_org_id", "org_id", text("id DESC")),
        Index("idx_audit_events_org_action", "org_id", "action"),
        Index("idx_audit_events_org_at", "org_id", "at"),
        Index("idx_audit_events_xid", "xid"),  # the change feed reads forward by transaction id
    )
