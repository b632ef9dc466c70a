"""org identity on audit events and tokens (issue 10: a reused org id is another tenant)

Revision ID: 20261201_0003_org_identity
Revises: 20261201_0002_compat_runs
Create Date: 2026-12-01 12:00:00

Expand only: three nullable columns, backfilled from the rows that exist. A row belongs to the
org (or node) of its id that existed when it was written: the current one if it was written at
or after that org's (node's) creation, else a former one, whose uid is unknown (left NULL).
Rows the previous release writes during a rolling deploy carry NULL too; the readers apply the
same rule to NULL rows (`kit.tenancy`), so nothing is lost or misattributed meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_0003_org_identity"
down_revision: str | None = "20261201_0002_compat_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("org_uid", sa.Uuid(), nullable=True))
    op.add_column("team_tokens", sa.Column("node_uid", sa.Uuid(), nullable=True))
    op.add_column("team_tokens", sa.Column("org_uid", sa.Uuid(), nullable=True))
    op.add_column("org_admin_tokens", sa.Column("org_uid", sa.Uuid(), nullable=True))
    op.execute(
        """
        UPDATE audit_events e SET org_uid = r.node_uid
        FROM org_nodes r
        WHERE r.org_id = e.org_id AND r.node_id = r.org_id AND e.at >= r.created_at
        """
    )
    op.execute(
        """
        UPDATE team_tokens t SET node_uid = n.node_uid
        FROM org_nodes n
        WHERE n.org_id = t.org_id AND n.node_id = t.team_node_id AND t.created_at >= n.created_at
        """
    )
    for table in ("team_tokens", "org_admin_tokens"):
        op.execute(
            f"""
            UPDATE {table} t SET org_uid = r.node_uid
            FROM org_nodes r
            WHERE r.org_id = t.org_id AND r.node_id = r.org_id AND t.created_at >= r.created_at
            """
        )


def downgrade() -> None:
    op.drop_column("org_admin_tokens", "org_uid")
    op.drop_column("team_tokens", "org_uid")
    op.drop_column("team_tokens", "node_uid")
    op.drop_column("audit_events", "org_uid")
