from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKeyConstraint, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import ACTOR_LENGTH, ID_LENGTH, Base


class NodeConfigVersion(Base):
    """One row per own-config version, written in the same transaction as the change."""

    __tablename__ = "node_config_versions"

    org_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_json: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    changed_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "node_id"],
            ["org_nodes.org_id", "org_nodes.node_id"],
            ondelete="CASCADE",
            name="fk_node_config_versions_node",
        ),
    )
