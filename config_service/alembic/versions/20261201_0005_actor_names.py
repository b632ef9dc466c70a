"""actors named by token id and description: the columns naming who changed something widen

Revision ID: 20261201_0005_actor_names
Revises: 20261201_0004_run_idem_node
Create Date: 2026-12-10 10:00:00

DESIGN §7: audit events name a token's actor as its id and description
(`team:{org}/{node}:{token id} ({description})`, the description ≤ 500 characters), which no
longer fits 200 characters. `audit_events.actor`, `node_configurations.updated_by`,
`node_config_versions.changed_by` and the token tables' `created_by` become varchar(1000).

Expand only: a wider varchar is a catalog change in PostgreSQL (no table rewrite, no index
rebuild), and the previous release writes its shorter actors into it unchanged. The downgrade
cuts longer values to 200 characters first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_0005_actor_names"
down_revision: str | None = "20261201_0004_run_idem_node"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("audit_events", "actor", False),
    ("node_configurations", "updated_by", True),
    ("node_config_versions", "changed_by", True),
    ("team_tokens", "created_by", True),
    ("org_admin_tokens", "created_by", True),
)


def upgrade() -> None:
    for table, column, nullable in COLUMNS:
        op.alter_column(table, column, type_=sa.String(length=1000), existing_type=sa.String(length=200),
                        existing_nullable=nullable)


def downgrade() -> None:
    for table, column, nullable in COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = left({column}, 200) WHERE length({column}) > 200")
        op.alter_column(table, column, type_=sa.String(length=200), existing_type=sa.String(length=1000),
                        existing_nullable=nullable)
