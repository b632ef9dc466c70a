from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import ID_LENGTH, Base, created_at_column, updated_at_column


class OrgNode(Base):
    """A point in an org's tree: the root (`node_type='org'`, `node_id == org_id`) or a team."""

    __tablename__ = "org_nodes"

    org_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    parent_node_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    node_type: Mapped[str] = mapped_column(String(8), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    node_uid: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "parent_node_id"],
            ["org_nodes.org_id", "org_nodes.node_id"],
            name="fk_org_nodes_parent",
        ),
        CheckConstraint("node_type IN ('org', 'team')", name="node_type"),
        CheckConstraint(
            "(node_type = 'org' AND parent_node_id IS NULL AND node_id = org_id)"
            " OR (node_type = 'team' AND parent_node_id IS NOT NULL)",
            name="root_shape",
        ),
        Index("idx_org_nodes_parent", "org_id", "parent_node_id"),
        Index("idx_org_nodes_type", "org_id", "node_type"),
    )
