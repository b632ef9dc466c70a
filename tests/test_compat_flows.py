"""The flows issue 11 names, end to end on the mount with the peer's own calls: Slack onboarding,
the agent's run tracking, the orchestrator's admin check and short-lived team tokens."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.compat_support import PeerWorld, call, make_world, worlds

SECRET_KEY = "sk-ant-api03-onboarding-" + secrets.token_hex(8)


@pytest.fixture()
def world(named_server, server_keys) -> Iterator[PeerWorld]:
    yield from worlds(named_server, server_keys)


def headers_patch(world: PeerWorld, team: str, config: dict) -> int:
    """The Slack bot's `_update_config`: an admin bearer, the node in X-Org-Id / X-Team-Node-Id."""
    response = world.http.patch("/api/v1/config/me", json={"config": config}, headers={
        "Authorization": f"Bearer {world['ADMIN_TOKEN']}", "X-Org-Id": world["ORG"], "X-Team-Node-Id": team,
    })
    assert response.status_code == 200, response.text
    return response.status_code


def lookup(world: PeerWorld, **identifiers: str) -> dict:
    response = world.send(call("slackbot.routing_lookup"), CHANNEL=identifiers.get("channel", world["CHANNEL"]))
    assert response.status_code == 200, response.text
    return response.json()


# ---- Slack onboarding --------------------------------------------------------------------------------------


def test_slack_onboarding_completes(world: PeerWorld) -> None:
    org = world["ORG"]
    # provision_workspace again (a re-install): the org and the default team "already exist"
    for entry in ("slackbot.org_create", "slackbot.team_create"):
        again = world.send(call(entry))
        assert again.status_code == 400 and "already exists" in again.text.lower()
    # the org is bound to its workspace, by the global admin's own creation
    own = world.admin("GET", f"/api/v1/admin/orgs/{org}/nodes/{org}/config").json()
    assert own["config"]["routing"]["slack_workspace_ids"] == [world["WORKSPACE"]]
    # the free trial, written by an admin through the node headers (fields anthropic's schema lacks kept)
    assert world.send(call("slackbot.config_patch_headers")).status_code == 200
    # an unrouted channel of the workspace routes to its default team
    fallback = lookup(world)
    assert (fallback["found"], fallback["org_id"], fallback["team_node_id"]) == (True, org, "default")
    assert fallback["matched_by"] == "slack_workspace_id" and fallback["tried"][-1] == "slack_workspace_id"

    # setup_team: a team of its own for a channel
    assert world.send(call("slackbot.team_create"), TEAM="payments").status_code == 201
    headers_patch(world, "payments", {"routing": {"slack_channel_ids": [world["CHANNEL"]]}})
    routed = lookup(world)
    assert (routed["team_node_id"], routed["matched_by"]) == ("payments", "slack_channel_id")
    teams = world.send(call("slackbot.list_nodes")).json()
    assert {row["node_id"] for row in teams if row["node_type"] == "team"} == {"default", "payments"}
    # add_channel_to_team (lists replace: the bot writes the whole list)
    second = "C" + secrets.token_hex(5).upper()
    headers_patch(world, "payments", {"routing": {"slack_channel_ids": [world["CHANNEL"], second]}})
    assert lookup(world, channel=second)["team_node_id"] == "payments"

    # save_api_key, then get_workspace_config: masked for the admin, plaintext for the team's agent
    saved = world.send(call("slackbot.save_api_key"))
    assert saved.status_code == 200, saved.text
    view = world.send(call("slackbot.workspace_config")).json()["effective_config"]
    anthropic = view["integrations"]["anthropic"]
    assert anthropic["api_key"] == "********"
    assert anthropic["is_trial"] is False and anthropic["workspace_attribution"] == org
    assert anthropic["api_endpoint"] == "https://api.anthropic.com" and view["subscription_status"] == "none"
    agent = world.send(call("agent.config_me")).json()["effective_config"]
    assert agent["integrations"]["anthropic"]["api_key"] == "sk-ant-api03-compat-probe-0123456789"
    # the bot's team token for a routed channel works as a team bearer
    token = world.send(call("slackbot.team_token"), TEAM="payments").json()["token"]
    me = world.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["auth_kind"], me["team_node_id"]) == ("team_token", "payments")


def test_a_workspace_bound_elsewhere_refuses_the_whole_org(world: PeerWorld, named_server, server_keys) -> None:
    """Only the global admin binds workspaces, and a workspace belongs to one org: creating
    `slack-<W>` while W is bound to another org creates nothing."""
    other = make_world(named_server, server_keys)
    try:
        workspace = "T" + secrets.token_hex(6).upper()
        response = world.admin("PATCH", f"/api/v1/admin/orgs/{other['ORG']}/nodes/{other['ORG']}/config",
                               json={"config": {"routing": {"slack_workspace_ids": [other["WORKSPACE"], workspace]}}})
        assert response.status_code == 200, response.text
        refused = world.send(call("slackbot.org_create"), ORG=f"slack-{workspace}")
        assert refused.status_code == 409 and refused.json()["code"] == "routing_conflict"
        assert world.admin("GET", f"/api/v1/admin/orgs/slack-{workspace}").status_code == 404
    finally:
        other.close()


def test_local_mode_cannot_bind_a_workspace_on_a_team(world: PeerWorld) -> None:
    response = world.http.patch("/api/v1/config/me", json={"config": {"routing": {"slack_workspace_ids": ["TLOCAL"]}}},
                                headers={"Authorization": f"Bearer {world['ADMIN_TOKEN']}", "X-Org-Id": world["ORG"],
                                         "X-Team-Node-Id": "default"})
    assert response.status_code == 422 and response.json()["path"] == "/routing/slack_workspace_ids"


def test_the_orchestrator_looks_up_kinds_we_do_not_route_as_not_found(world: PeerWorld) -> None:
    for kind in ("teams_channel_id", "google_chat_space_id", "email_domain"):
        response = world.http.post("/api/v1/internal/routing/lookup", json={"identifiers": {kind: "anything"}},
                                   headers={"X-Internal-Service": "orchestrator"})
        assert response.status_code == 200 and response.json()["found"] is False, response.text


# ---- the agent's run tracking ------------------------------------------------------------------------------


def runs_list(world: PeerWorld, **query: str) -> dict:
    response = world.http.get("/api/v1/internal/agent-runs/list", params={"org_id": world["ORG"], **query},
                              headers={"X-Internal-Service": world["INTERNAL_TOKEN"]})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_agent_records_a_run_like_the_peer(world: PeerWorld) -> None:
    created = world.send(call("agent.run_create"))
    assert created.status_code == 201 and created.json()["id"] == world["RUN_ID"]
    assert created.json()["status"] == "running"
    # a retry (the same body) is the same run; another body under the same id is refused
    again = world.send(call("agent.run_create"))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    body = {**call("agent.run_create")["body"], "trigger_message": "something else"}
    other = world.http.post("/api/v1/internal/agent-runs", json=world.fill(body),
                            headers={"X-Internal-Service": "agent"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"

    done = world.send(call("agent.run_finish"))
    assert done.status_code == 200, done.text
    run = done.json()
    assert run["status"] == "completed" and run["duration_seconds"] == 12.345 and run["tool_calls_count"] == 3
    assert run["output_summary"] == "checkout-api pods are CPU-throttled" and run["error_message"] == ""
    assert world.send(call("agent.run_finish")).status_code == 409
    # the trace comes after the finish; sent twice, it is stored once
    for _ in range(2):
        assert world.send(call("agent.tool_calls")).status_code == 201
    trace = world.send(call("internal.tool_calls_read")).json()
    assert trace["total"] == 1 and trace["tool_calls"][0]["tool_name"] == "get_pod_logs"
    assert trace["tool_calls"][0]["tool_input"] == {"namespace": "checkout", "pod": "checkout-api-0"}

    listed = runs_list(world)
    assert [r["id"] for r in listed["runs"]] == [world["RUN_ID"]] and listed["has_more"] is False
    # the root shows the same run with our fields, the client's id and its reported figures
    root = world.admin("GET", f"/api/v1/admin/orgs/{world['ORG']}/agent-runs").json()["runs"][0]
    assert root["run_id"] == world["RUN_ID"] and root["status"] == "success"
    assert root["reported_duration_seconds"] == 12.345 and root["trigger_message"] == "why is checkout slow?"
    assert root["duration_seconds"] is not None and root["duration_seconds"] != 12.345


def test_both_of_the_agents_tool_call_shapes_are_recorded(world: PeerWorld) -> None:
    """`record_trace` sends zoned timestamps, `incomplete` calls and nulls; the older
    `_record_detailed_tool_calls` omits agent_name, parent_agent and started_at, may send a null
    duration and numbers from 0, with ids `<run>_<n>_<hex8>`. Both are 201 and read back."""
    assert world.send(call("agent.run_create")).status_code == 201
    run = world["RUN_ID"]
    headers = {"X-Internal-Service": "agent"}
    trace = {"run_id": run, "tool_calls": [
        {"id": world["UUID"], "tool_name": "get_pod_logs", "agent_name": "planner", "parent_agent": None,
         "tool_input": None, "tool_output": None, "started_at": datetime.now(UTC).isoformat(), "duration_ms": 7,
         "status": "incomplete", "error_message": None, "sequence_number": 1}]}
    detailed = {"run_id": run, "tool_calls": [
        {"id": f"{run}_0_{secrets.token_hex(4)}", "tool_name": "unknown", "tool_input": {"raw": "{not json"},
         "tool_output": None, "status": "error", "error_message": "boom", "duration_ms": None, "sequence_number": 0}]}
    for body in (trace, detailed):
        response = world.http.post(f"/api/v1/internal/agent-runs/{run}/tool-calls", json=body, headers=headers)
        assert response.status_code == 201, response.text
    read = world.http.get(f"/api/v1/internal/agent-runs/{run}/tool-calls",
                          headers={"X-Internal-Service": world["INTERNAL_TOKEN"]})
    assert read.status_code == 200 and read.json()["total"] == 2
    by_status = {row["status"]: row for row in read.json()["tool_calls"]}
    assert by_status["incomplete"]["agent_name"] == "planner" and by_status["incomplete"]["tool_output"] is None
    assert by_status["error"]["id"] == detailed["tool_calls"][0]["id"] and by_status["error"]["duration_ms"] is None
    assert by_status["error"]["tool_input"] == {"raw": "{not json"} and by_status["error"]["error_message"] == "boom"


def test_a_failed_run_keeps_its_error(world: PeerWorld) -> None:
    assert world.send(call("agent.run_create")).status_code == 201
    failed = world.http.patch(f"/api/v1/internal/agent-runs/{world['RUN_ID']}", headers={"X-Internal-Service": "agent"},
                              json={"status": "failed", "duration_seconds": 2.0, "output_summary": "",
                                    "error_message": "model timed out", "tool_calls_count": 0})
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    root = world.admin("GET", f"/api/v1/agent-runs/{world['RUN_ID']}").json()
    assert root["output"] == "model timed out" and root["status"] == "error"


def test_another_teams_run_id_is_a_409_that_reveals_nothing(world: PeerWorld, named_server, server_keys) -> None:
    assert world.send(call("agent.run_create")).status_code == 201
    other = make_world(named_server, server_keys)
    try:
        clash = other.send(call("agent.run_create"), RUN_ID=world["RUN_ID"])
        assert clash.status_code == 409 and clash.json()["code"] == "conflict"
        for secret_part in (world["ORG"], "planner", "checkout"):
            assert secret_part not in clash.text
        # the other tenant's team sees nothing of it, nor finishes it
        team = {"Authorization": f"Bearer {other['TEAM_TOKEN']}"}
        run = f"{named_server.api}/agent-runs/{world['RUN_ID']}"
        assert httpx.get(run, headers=team).status_code == 404
        assert httpx.patch(run, headers=team, json={"status": "success"}).status_code == 404
        assert httpx.get(run + "/tool-calls", headers=team).status_code == 404
    finally:
        other.close()


def test_the_org_list_pages_with_has_more(world: PeerWorld) -> None:
    for _ in range(3):
        assert world.send(call("agent.run_create"), RUN_ID=secrets.token_hex(4)).status_code == 201
    first = runs_list(world, limit="2")
    assert len(first["runs"]) == 2 and first["total"] == 3 and first["has_more"] is True
    rest = runs_list(world, limit="2", offset="2")
    assert len(rest["runs"]) == 1 and rest["has_more"] is False
    assert runs_list(world, status="running")["total"] == 3 and runs_list(world, status="completed")["total"] == 0


def test_run_data_never_stores_the_teams_secrets(world: PeerWorld, db: psycopg.Connection) -> None:
    org = world["ORG"]
    response = world.admin("PATCH", f"/api/v1/admin/orgs/{org}/nodes/{org}/config",
                           json={"config": {"integrations": {"anthropic": {"api_key": SECRET_KEY}}}})
    assert response.status_code == 200, response.text
    body = {**call("agent.run_create")["body"], "trigger_message": f"my key is {SECRET_KEY}, why?"}
    created = world.http.post("/api/v1/internal/agent-runs", json=world.fill(body),
                              headers={"X-Internal-Service": "agent"})
    assert created.status_code == 201, created.text
    trace = world.fill(call("agent.tool_calls")["body"])
    trace["tool_calls"][0]["tool_output"] = f"env: ANTHROPIC_API_KEY={SECRET_KEY}"
    trace["tool_calls"][0]["tool_input"] = {"headers": {"x-api-key": SECRET_KEY}}
    assert world.http.post(f"/api/v1/internal/agent-runs/{world['RUN_ID']}/tool-calls", json=trace,
                           headers={"X-Internal-Service": "agent"}).status_code == 201
    stored = db.execute("SELECT r.trigger_message, t.output, t.input::text FROM agent_runs r "
                        "JOIN agent_tool_calls t ON t.run_id = r.id WHERE r.client_run_id = %s",
                        (world["RUN_ID"],)).fetchone()
    assert stored is not None and all(SECRET_KEY not in value for value in stored)
    assert stored[0] == "my key is ********, why?" and stored[1] == "env: ANTHROPIC_API_KEY=********"
    # a {"$secret": …} in run data is refused: nothing would seal it
    bad = {**call("agent.run_create")["body"], "run_id": "feedbeef", "metadata": {"k": {"$secret": "x"}}}
    refused = world.http.post("/api/v1/internal/agent-runs", json=world.fill(bad),
                              headers={"X-Internal-Service": "agent"})
    assert refused.status_code == 422 and refused.json()["path"] == "/metadata/k"


def test_the_cron_job_greps_marked_count(world: PeerWorld, db: psycopg.Connection) -> None:
    assert world.send(call("agent.run_create")).status_code == 201
    db.execute("UPDATE agent_runs SET created_at = now() - interval '11 minutes' WHERE client_run_id = %s",
               (world["RUN_ID"],))
    response = world.send(call("cron.cleanup_stale"))
    assert response.status_code == 200
    match = re.search(r'"marked_count":(\d+)', response.text)
    assert match and int(match.group(1)) >= 1
    assert runs_list(world)["runs"][0]["status"] == "timeout"


# ---- the orchestrator ----------------------------------------------------------------------------------------


def test_only_the_global_admin_carries_admin_star(world: PeerWorld) -> None:
    kinds = {}
    for token in ("ADMIN_TOKEN", "ORG_ADMIN_TOKEN", "TEAM_TOKEN", "INTERNAL_TOKEN"):
        response = world.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {world[token]}"})
        assert response.status_code == 200, response.text
        kinds[token] = (response.json()["auth_kind"], "admin:*" in response.json()["permissions"])
    assert kinds == {"ADMIN_TOKEN": ("admin_token", True), "ORG_ADMIN_TOKEN": ("org_admin_token", False),
                     "TEAM_TOKEN": ("team_token", False), "INTERNAL_TOKEN": ("internal_service", False)}
    root = world.admin("GET", "/api/v1/auth/me").json()  # the root never changes shape
    assert root["auth_kind"] == "global_admin" and "admin:*" not in root["permissions"] and "email" not in root


def test_the_impersonation_token_is_a_short_lived_team_bearer(world: PeerWorld, db: psycopg.Connection) -> None:
    org = world["ORG"]
    world.admin("PATCH", f"/api/v1/admin/orgs/{org}/nodes/default/config",
                json={"config": {"integrations": {"github": {"token": "ghp_" + "a" * 36}}}})
    issued = world.send(call("orchestrator.impersonation_token"))
    assert issued.status_code == 201, issued.text
    expires = datetime.fromisoformat(issued.json()["expires_at"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=900)
    read = world.http.get("/api/v1/config/me", headers={"Authorization": f"Bearer {issued.json()['token']}"})
    assert read.status_code == 200
    assert read.json()["effective_config"]["integrations"]["github"]["token"].startswith("ghp_")
    audit = db.execute("SELECT actor, details->>'via', details->>'ttl_seconds' FROM audit_events WHERE org_id = %s "
                       "AND action = 'token.issued' ORDER BY id DESC LIMIT 1", (org,)).fetchone()
    assert audit == ("admin", "impersonation", "900")
    # the same at the root; an admin of another org, a team and a name are refused; a body is 422
    path = f"/admin/orgs/{org}/teams/default/impersonation-token"
    assert world.admin("POST", "/api/v1" + path).status_code == 201
    assert world.admin("POST", "/api/v1" + path, json={"ttl_seconds": 99999}).status_code == 422
    assert world.admin("POST", f"/api/v1/admin/orgs/{org}/teams/nope/impersonation-token").status_code == 404
    for headers in ({"Authorization": f"Bearer {world['TEAM_TOKEN']}"}, {"X-Internal-Service": "orchestrator"}):
        assert world.http.post("/api/v1" + path, headers=headers).status_code == 403
    keys = {"ADMIN_TOKEN": world["ADMIN_TOKEN"], "INTERNAL_SERVICE_TOKEN": world["INTERNAL_TOKEN"]}
    other = make_world(world.server, keys)
    try:
        response = world.http.post("/api/v1" + path, headers={"Authorization": f"Bearer {other['ORG_ADMIN_TOKEN']}"})
        assert response.status_code == 403
        own = world.http.post(f"/api/v1/admin/orgs/{other['ORG']}/teams/default/impersonation-token",
                              headers={"Authorization": f"Bearer {other['ORG_ADMIN_TOKEN']}"})
        assert own.status_code == 201
    finally:
        other.close()


def test_the_token_list_is_bare_and_counts_revocations(world: PeerWorld) -> None:
    rows = world.send(call("orchestrator.team_token_list")).json()
    assert len(rows) == 2 and all(row["revoked_at"] is None for row in rows)
    token_path = f"/api/v1/admin/orgs/{world['ORG']}/teams/default/tokens/{rows[0]['token_id']}"
    revoked = world.admin("POST", token_path + "/revoke")
    assert revoked.status_code == 204
    rows = world.send(call("orchestrator.team_token_list")).json()
    assert sum(row["revoked_at"] is not None for row in rows) == 1
    assert all("token" not in row for row in rows)
