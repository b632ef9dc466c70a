from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, Index, Integer, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import ID_LENGTH, Base, created_at_column


class AgentRun(Base):
    """One agent run, recorded against the config version it read (DESIGN §9)."""

    __tablename__ = "agent_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    team_node_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    node_uid: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    agent_name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=text("'running'"))
    input_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    correlation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    trigger_source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    config_version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    config_versions: Mapped[dict[str, int] | None] = mapped_column(JSONB, nullable=True)
    run_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB, nullable=True)
    # issue 11 (migration 20261201_0002): the peer's agents choose the run id and say more about a run
    client_run_id: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the create body's `run_id`
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)  # sha-256 of the create
    trigger_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    trigger_actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    trigger_channel_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reported_duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # the client's figure
    tool_calls_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    output_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("idx_agent_runs_org_team", "org_id", "team_node_id"),
        Index("idx_agent_runs_created", text("created_at DESC")),
        Index("idx_agent_runs_org_team_created", "org_id", "team_node_id", text("created_at DESC")),
        # a retry's key names a run of this node incarnation: a re-created node id starts afresh
        # (migration 20261201_0004_run_idem_node)
        Index(
            "uq_agent_runs_node_idempotency",
            "org_id",
            "team_node_id",
            "node_uid",
            "idempotency_key",
            unique=True,
        ),
        # run ids chosen by clients are unique across the service (a finish names only the id)
        Index("uq_agent_runs_client_run_id", "client_run_id", unique=True,
              postgresql_where=text("client_run_id IS NOT NULL")),
    )
