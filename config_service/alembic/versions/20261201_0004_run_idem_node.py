"""run idempotency keys per node incarnation: a re-created node id starts with no keys

Revision ID: 20261201_0004_run_idem_node
Revises: 20261201_0003_org_identity
Create Date: 2026-12-10 09:00:00

`uq_agent_runs_idempotency` was unique on (org_id, team_node_id, idempotency_key): a node
deleted and created again with the same id (another team, DESIGN §3 `node_uid`) could not
use a key the old node had used — its create hit the old run's row. The key's scope becomes
the node's incarnation: (org_id, team_node_id, node_uid, idempotency_key).

Rolling deploy: the new index is strictly finer than the old one, and every insert of either
release is `ON CONFLICT DO NOTHING` without a named target, so the previous release runs on it
unchanged (it still answers 409 on a re-created node, as it did). Built without CONCURRENTLY
(one transaction, under the migration lock): one scan of `agent_runs` with writes blocked.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_0004_run_idem_node"
down_revision: str | None = "20261201_0003_org_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_agent_runs_node_idempotency", "agent_runs", ["org_id", "team_node_id", "node_uid", "idempotency_key"],
        unique=True,
    )
    op.drop_index("uq_agent_runs_idempotency", table_name="agent_runs")


def downgrade() -> None:
    # the coarser index again; fails (and changes nothing) while two incarnations of one node
    # id share a key — delete the former incarnation's runs first
    op.create_index(
        "uq_agent_runs_idempotency", "agent_runs", ["org_id", "team_node_id", "idempotency_key"], unique=True,
    )
    op.drop_index("uq_agent_runs_node_idempotency", table_name="agent_runs")
