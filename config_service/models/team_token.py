from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import ACTOR_LENGTH, ID_LENGTH, Base, created_at_column


class TeamToken(Base):
    """A team token, stored only as HMAC-SHA256(pepper, token)."""

    __tablename__ = "team_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    team_node_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    # the node and the org it was issued for (their node_uids), so a node or org id deleted and
    # created again never lists it (NULL: issued before the columns existed, see `kit.tenancy`)
    node_uid: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    org_uid: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    pepper_id: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hint: Mapped[str] = mapped_column(String(8), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)

    __table_args__ = (
        Index("idx_team_tokens_token", "token_hash", unique=True),
        Index("idx_team_tokens_org_team", "org_id", "team_node_id"),
    )
