from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import Base, created_at_column


class AgentToolCall(Base):
    """One tool call of an agent run (DESIGN §9), deleted with its run."""

    __tablename__ = "agent_tool_calls"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agent_runs.id", ondelete="CASCADE"), nullable=False)
    client_call_id: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the client's own id
    sequence_number: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    agent_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    parent_agent: Mapped[str | None] = mapped_column(String(200), nullable=True)
    input: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        Index("idx_agent_tool_calls_run_seq", "run_id", "sequence_number"),
        # a re-sent batch inserts nothing twice
        Index("uq_agent_tool_calls_client_id", "run_id", "client_call_id", unique=True,
              postgresql_where=text("client_call_id IS NOT NULL")),
    )
