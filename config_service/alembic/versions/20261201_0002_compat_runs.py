"""compat runs: client-chosen run ids, the peer's run fields, tool calls (issue 11)

Expand only (DESIGN §3: one release's code runs on the next release's schema): every new
column is nullable and has no default, so the previous release's inserts and updates are
untouched; the new unique index covers only rows that set `client_run_id`, which the previous
release never does; `agent_tool_calls` is a new table. The index is built without
CONCURRENTLY (migrations run in one transaction, under the migration lock): it blocks writes to
`agent_runs` for the time of one scan of the table — prune old runs first on a large table.

Run ids: `agent_runs.id` stays a UUID (the root API's `id` keeps its type). A client's `run_id`
that is a UUID becomes the row's `id` as well; any other (the peer's agent sends 8 hex
characters) is kept in `client_run_id` next to a server-made UUID. Paths take either form.

Revision ID: 20261201_0002_compat_runs
Revises: 0001
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261201_0002_compat_runs"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_RUN_COLUMNS = (
    sa.Column("client_run_id", sa.String(length=200), nullable=True),
    sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
    sa.Column("trigger_message", sa.Text(), nullable=True),
    sa.Column("trigger_actor", sa.String(length=200), nullable=True),
    sa.Column("trigger_channel_id", sa.String(length=200), nullable=True),
    sa.Column("reported_duration_seconds", sa.Float(), nullable=True),
    sa.Column("tool_calls_count", sa.Integer(), nullable=True),
    sa.Column("confidence", sa.Float(), nullable=True),
    sa.Column("output_summary", sa.Text(), nullable=True),
    sa.Column("error_message", sa.Text(), nullable=True),
)


def upgrade() -> None:
    for column in NEW_RUN_COLUMNS:
        op.add_column("agent_runs", column)
    op.create_index(
        "uq_agent_runs_client_run_id", "agent_runs", ["client_run_id"], unique=True,
        postgresql_where=sa.text("client_run_id IS NOT NULL"),
    )
    op.create_table(
        "agent_tool_calls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("client_call_id", sa.String(length=200), nullable=True),
        sa.Column("sequence_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agent_name", sa.String(length=200), nullable=True),
        sa.Column("parent_agent", sa.String(length=200), nullable=True),
        sa.Column("input", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["agent_runs.id"], name=op.f("fk_agent_tool_calls_run_id_agent_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tool_calls")),
    )
    op.create_index("idx_agent_tool_calls_run_seq", "agent_tool_calls", ["run_id", "sequence_number"], unique=False)
    op.create_index(
        "uq_agent_tool_calls_client_id", "agent_tool_calls", ["run_id", "client_call_id"], unique=True,
        postgresql_where=sa.text("client_call_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_agent_tool_calls_client_id", table_name="agent_tool_calls",
                  postgresql_where=sa.text("client_call_id IS NOT NULL"))
    op.drop_index("idx_agent_tool_calls_run_seq", table_name="agent_tool_calls")
    op.drop_table("agent_tool_calls")
    op.drop_index("uq_agent_runs_client_run_id", table_name="agent_runs",
                  postgresql_where=sa.text("client_run_id IS NOT NULL"))
    for column in reversed(NEW_RUN_COLUMNS):
        op.drop_column("agent_runs", column.name)
