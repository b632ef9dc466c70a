from __future__ import annotations

from sqlalchemy import ForeignKeyConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import ID_LENGTH, Base


class RoutingKey(Base):
    """An external identifier claimed by a node's own `routing` lists (DESIGN §9)."""

    __tablename__ = "routing_keys"

    org_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    key_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_norm: Mapped[str] = mapped_column(String(500), primary_key=True)
    key_value: Mapped[str] = mapped_column(String(500), nullable=False)
    node_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)

    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "node_id"],
            ["org_nodes.org_id", "org_nodes.node_id"],
            ondelete="CASCADE",
            name="fk_routing_keys_node",
        ),
        Index("idx_routing_keys_lookup", "key_type", "key_norm"),
        Index("idx_routing_keys_node", "org_id", "node_id"),
        # A Slack workspace is bound to at most one org, across all orgs.
        Index(
            "uq_routing_keys_slack_workspace",
            "key_type",
            "key_norm",
            unique=True,
            postgresql_where=text("key_type = 'slack_workspace_ids'"),
        ),
    )
