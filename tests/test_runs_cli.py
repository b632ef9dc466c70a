"""`config-service runs prune|cleanup-stale` against the real database."""

from __future__ import annotations

import subprocess
import sys
import uuid

from tests.support import ROOT, clean_env


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = clean_env() | {"DATABASE_URL": database_url, "CONFIG_SERVICE_ENV": "production"}
    return subprocess.run(
        [sys.executable, "-m", "config_service", "runs", *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )


def _insert_run(db, org_id: str, age: str, status: str = "success") -> uuid.UUID:
    run_id = uuid.uuid4()
    db.execute(
        "INSERT INTO agent_runs (id, org_id, team_node_id, agent_name, status, created_at) "
        "VALUES (%s, %s, 'sre', 'a', %s, now() - %s::interval)",
        (run_id, org_id, status, age),
    )
    return run_id


def test_prune_deletes_only_old_runs_in_batches(org, db, database_url):
    old = [_insert_run(db, org.org_id, "100 days") for _ in range(7)]
    recent = _insert_run(db, org.org_id, "10 days")
    result = _cli(database_url, "prune", "--older-than", "90d", "--batch-size", "3")
    assert result.returncode == 0, result.stderr
    assert "deleted" in result.stdout
    left = {r[0] for r in db.execute("SELECT id FROM agent_runs WHERE org_id = %s", (org.org_id,)).fetchall()}
    assert recent in left and not (set(old) & left)


def test_prune_refuses_a_bad_age(database_url):
    result = _cli(database_url, "prune", "--older-than", "ninety")
    assert result.returncode != 0 and "90d" in (result.stderr + result.stdout)


def test_cleanup_stale_cli(org, db, database_url):
    stale = _insert_run(db, org.org_id, "3 hours", status="running")
    fresh = _insert_run(db, org.org_id, "1 minute", status="running")
    result = _cli(database_url, "cleanup-stale", "--max-age", "1h")
    assert result.returncode == 0, result.stderr
    statuses = dict(db.execute("SELECT id, status FROM agent_runs WHERE org_id = %s", (org.org_id,)).fetchall())
    assert statuses[stale] == "timeout" and statuses[fresh] == "running"
