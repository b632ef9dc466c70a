from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import ACTOR_LENGTH, ID_LENGTH, Base, created_at_column, updated_at_column


class NodeConfiguration(Base):
    """A node's own config. JSONB: reassign (or `flag_modified`) after an in-place change."""

    __tablename__ = "node_configurations"

    org_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    config_json: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    updated_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)
    locked_paths: Mapped[list[str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "node_id"],
            ["org_nodes.org_id", "org_nodes.node_id"],
            ondelete="CASCADE",
            name="fk_node_configurations_node",
        ),
        Index("idx_node_config_org", "org_id"),
    )
