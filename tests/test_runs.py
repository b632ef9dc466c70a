"""Agent runs, end to end on a real server (DESIGN §9)."""

from __future__ import annotations

import time
import uuid

import pytest


@pytest.fixture()
def team(org):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    client = org.team_client("sre")
    yield client
    client.close()


def _run(client, **extra):
    response = client.post("/agent-runs", json={"agent_name": "planner", "input_message": "why is checkout slow?",
        **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_records_current_config_version_and_lineage(org, team):
    etag = team.get("/config/me").json()["etag"]
    run = _run(team, correlation_id="inc-1", trigger_source="slack", metadata={"k": "v"})
    assert run["status"] == "running"
    assert run["config_version"] == etag
    assert run["config_versions"] == {org.org_id: 2, "sre": 1}
    assert run["correlation_id"] == "inc-1" and run["trigger_source"] == "slack" and run["metadata"] == {"k": "v"}
    for field in ("output", "duration_seconds", "completed_at"):
        assert run[field] is None


def test_supplied_config_version_is_kept(team):
    run = _run(team, config_version="what-i-read")
    assert run["config_version"] == "what-i-read"


def test_idempotency_key_returns_the_same_run(team):
    headers = {"Idempotency-Key": "retry-1"}
    first = team.post("/agent-runs", json={"agent_name": "a"}, headers=headers).json()
    second = team.post("/agent-runs", json={"agent_name": "a"}, headers=headers)
    assert second.status_code == 201
    assert second.json()["id"] == first["id"]
    assert team.get("/agent-runs").json()["total"] == 1


def test_finish_computes_duration_and_refuses_twice(team):
    run = _run(team)
    time.sleep(0.05)
    done = team.patch(f"/agent-runs/{run['id']}", json={"status": "completed", "output": "found it"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "success" and body["output"] == "found it"
    assert body["completed_at"] is not None and body["duration_seconds"] >= 0.05
    again = team.patch(f"/agent-runs/{run['id']}", json={"status": "error"})
    assert again.status_code == 409 and again.json()["code"] == "run_finished"


def test_failed_alias_and_bad_status(team):
    run = _run(team)
    assert team.patch(f"/agent-runs/{run['id']}", json={"status": "running"}).status_code == 422
    assert team.patch(f"/agent-runs/{run['id']}", json={"status": "failed"}).json()["status"] == "error"


def test_another_teams_run_is_404(org, team):
    org.add_node("other")
    run = _run(team)
    with org.team_client("other") as other:
        assert other.get(f"/agent-runs/{run['id']}").status_code == 404
        assert other.patch(f"/agent-runs/{run['id']}", json={"status": "success"}).status_code == 404
        assert other.get("/agent-runs").json()["total"] == 0


def test_runs_write_scope_is_needed_to_record(org):
    org.add_node("ro")
    with org.team_client("ro", scopes=["config:read"]) as reader:
        response = reader.post("/agent-runs", json={"agent_name": "a"})
        assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"
        assert reader.get("/agent-runs").status_code == 200


def test_text_fields_are_capped(team):
    big = "x" * (256 * 1024 + 1)
    assert team.post("/agent-runs", json={"agent_name": "a", "input_message": big}).status_code == 422
    run = _run(team)
    assert team.patch(f"/agent-runs/{run['id']}", json={"status": "success", "output": big}).status_code == 422


def test_listing_filters_total_and_order(team):
    ids = [_run(team, agent_name=f"agent-{i % 2}")["id"] for i in range(5)]
    team.patch(f"/agent-runs/{ids[0]}", json={"status": "success"})
    page = team.get("/agent-runs", params={"limit": 2}).json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 0
    assert [r["id"] for r in page["runs"]] == ids[::-1][:2]
    assert team.get("/agent-runs", params={"status": "success"}).json()["total"] == 1
    assert team.get("/agent-runs", params={"agent_name": "agent-1"}).json()["total"] == 2
    second = team.get("/agent-runs", params={"limit": 2, "offset": 4}).json()
    assert [r["id"] for r in second["runs"]] == [ids[0]]


def test_listing_filters_take_the_finish_aliases(org, team, admin, internal):
    """`completed` and `failed`, accepted when finishing a run, filter the listings as what they
    stand for (success, error) rather than being refused."""
    done, broke = _run(team), _run(team)
    _run(team)
    team.patch(f"/agent-runs/{done['id']}", json={"status": "completed"})
    team.patch(f"/agent-runs/{broke['id']}", json={"status": "failed"})
    for alias, run in (("completed", done), ("failed", broke)):
        for client, path, params in (
            (team, "/agent-runs", {}),
            (admin, f"/admin/orgs/{org.org_id}/agent-runs", {}),
            (internal, "/internal/agent-runs/list", {"org_id": org.org_id}),
        ):
            response = client.get(path, params={**params, "status": alias})
            assert response.status_code == 200, response.text
            assert [r["id"] for r in response.json()["runs"]] == [run["id"]]


def test_run_config_is_rebuilt_from_its_versions(org, team):
    run = _run(team)
    org.patch(org.org_id, {"model": "changed"})
    response = team.get(f"/agent-runs/{run['id']}/config")
    assert response.status_code == 200, response.text
    assert response.json()["effective_config"] == {"model": "gpt-4o"}
    assert team.get("/config/me").json()["effective_config"] == {"model": "changed"}


def test_stats_in_sql(team):
    for status in ("success", "success", "error"):
        run = _run(team, agent_name="triage")
        team.patch(f"/agent-runs/{run['id']}", json={"status": status})
    _run(team, agent_name="planner")
    stats = team.get("/agent-runs/stats").json()
    assert stats["by_status"] == {"success": 2, "error": 1, "running": 1}
    assert stats["agents"]["triage"]["by_status"] == {"success": 2, "error": 1}
    assert stats["agents"]["planner"]["by_status"] == {"running": 1}
    assert stats["duration"]["p50"] is not None and stats["agents"]["planner"]["duration"]["p50"] is None


def test_recreated_node_does_not_inherit_runs(org, admin):
    org.add_node("temp")
    with org.team_client("temp") as old:
        _run(old)
    assert admin.delete(f"/admin/orgs/{org.org_id}/nodes/temp").status_code == 204
    org.add_node("temp")
    with org.team_client("temp") as new:
        assert new.get("/agent-runs").json()["total"] == 0
    listing = admin.get(f"/admin/orgs/{org.org_id}/agent-runs", params={"team_node_id": "temp"}).json()
    assert listing["total"] == 0


def test_an_idempotency_key_of_a_deleted_node_is_free_for_the_recreated_node(org, admin, db):
    """A node id deleted and created again is another team (DESIGN §3 `node_uid`): its
    Idempotency-Key space starts empty — the same key records a new run, never the old node's."""
    headers = {"Idempotency-Key": "incident-42"}
    org.add_node("again")
    with org.team_client("again") as old:
        first = old.post("/agent-runs", json={"agent_name": "a"}, headers=headers)
        assert first.status_code == 201, first.text
    assert admin.delete(f"/admin/orgs/{org.org_id}/nodes/again").status_code == 204
    org.add_node("again")
    with org.team_client("again") as new:
        created = new.post("/agent-runs", json={"agent_name": "a"}, headers=headers)
        assert created.status_code == 201, created.text
        assert created.json()["id"] != first.json()["id"]
        retried = new.post("/agent-runs", json={"agent_name": "a"}, headers=headers)
        assert retried.status_code == 201 and retried.json()["id"] == created.json()["id"]
        assert new.get("/agent-runs").json()["total"] == 1
        other_body = new.post("/agent-runs", json={"agent_name": "b"}, headers=headers)
        assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency_mismatch"
    rows = db.execute("SELECT count(*) FROM agent_runs WHERE org_id = %s AND idempotency_key = %s",
                      (org.org_id, "incident-42")).fetchone()
    assert rows == (2,)


def test_internal_token_records_for_any_team_with_legacy_fields(org, internal):
    org.add_node("bot")
    created = internal.post("/internal/agent-runs", json={"org_id": org.org_id, "team_node_id": "bot",
        "agent_name": "x"})
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    done = internal.patch(f"/internal/agent-runs/{run_id}", json={"status": "failed", "error_message": "boom"})
    assert done.status_code == 200 and done.json()["output"] == "boom" and done.json()["status"] == "error"
    listing = internal.get("/internal/agent-runs/list", params={"org_id": org.org_id, "team_node_id": "bot"}).json()
    assert listing["total"] == 1 and set(listing) == {"runs", "total", "limit", "offset", "has_more"}
    assert listing["has_more"] is False
    assert internal.post("/agent-runs", json={"agent_name": "x"}).status_code == 422  # must name the team


def test_cleanup_stale_times_out_old_running_runs(org, team, internal, db):
    run = _run(team)
    fresh = _run(team)
    db.execute("UPDATE agent_runs SET created_at = now() - interval '2 hours' WHERE id = %s", (run["id"],))
    response = internal.post("/internal/agent-runs/cleanup-stale", json={"max_age_seconds": 3600})
    assert response.status_code == 200 and response.json()["timed_out"] >= 1
    assert team.get(f"/agent-runs/{run['id']}").json()["status"] == "timeout"
    assert team.get(f"/agent-runs/{fresh['id']}").json()["status"] == "running"


def test_admin_listing_and_scoping(org, make_org, admin):
    org.add_node("a")
    with org.team_client("a") as a:
        _run(a)
    assert admin.get(f"/admin/orgs/{org.org_id}/agent-runs").json()["total"] == 1
    other = make_org()
    with other.client(other.admin_token()) as other_admin:
        assert other_admin.get(f"/admin/orgs/{org.org_id}/agent-runs").status_code == 403


def test_unknown_run_is_404(team):
    assert team.get(f"/agent-runs/{uuid.uuid4()}").status_code == 404
