"""Run ids chosen by clients, the peer's run fields and tool calls at the root API (DESIGN §9, issue 11)."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from config_service.errors import InvalidRequest
from config_service.runs.masking import check_data, mask_copies, secret_values
from tests.support import unique_id

KEY = "sk-test-" + uuid.uuid4().hex


@pytest.fixture()
def team(org):
    org.add_node("sre")
    org.add_node("other")
    client = org.team_client("sre")
    yield client
    client.close()


def _create(client, **body):
    return client.post("/agent-runs", json={"agent_name": "planner", **body})


# ---- run ids -------------------------------------------------------------------------------------------


def test_a_client_run_id_is_the_id_and_the_idempotency_key(team) -> None:
    run_id = uuid.uuid4().hex[:8]
    first = _create(team, run_id=run_id, trigger_message="why?", trigger_actor="U1", trigger_channel_id="C1",
                    correlation_id="inc-1", metadata={"k": "v"})
    assert first.status_code == 201, first.text
    run = first.json()
    assert run["run_id"] == run_id and uuid.UUID(run["id"])  # the root's `id` stays a uuid
    assert (run["trigger_message"], run["trigger_actor"], run["trigger_channel_id"]) == ("why?", "U1", "C1")
    again = _create(team, run_id=run_id, trigger_message="why?", trigger_actor="U1", trigger_channel_id="C1",
                    correlation_id="inc-1", metadata={"k": "v"})
    assert again.status_code == 201 and again.json()["id"] == run["id"] and again.headers["idempotent-replayed"]
    other_body = _create(team, run_id=run_id, trigger_message="something else")
    assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency_mismatch"
    # both forms name the run in paths
    for ref in (run_id, run["id"]):
        assert team.get(f"/agent-runs/{ref}").json()["id"] == run["id"]
    assert team.get("/agent-runs").json()["total"] == 1


def test_a_uuid_run_id_is_the_runs_own_id(team) -> None:
    run_id = str(uuid.uuid4())
    run = _create(team, run_id=run_id).json()
    assert run["id"] == run_id and run["run_id"] == run_id
    assert team.get(f"/agent-runs/{uuid.UUID(run_id).hex}").status_code == 200  # any uuid spelling


def test_idempotency_key_and_run_id_must_agree(team) -> None:
    response = team.post("/agent-runs", json={"agent_name": "a", "run_id": "abc-" + uuid.uuid4().hex[:6]},
                         headers={"Idempotency-Key": "other"})
    assert response.status_code == 422 and response.json()["path"] == "Idempotency-Key"
    key = unique_id("abc")
    same = team.post("/agent-runs", json={"agent_name": "a", "run_id": key}, headers={"Idempotency-Key": key})
    assert same.status_code == 201


def test_the_same_key_with_another_body_is_422(team) -> None:
    headers = {"Idempotency-Key": unique_id("k")}
    assert team.post("/agent-runs", json={"agent_name": "a"}, headers=headers).status_code == 201
    response = team.post("/agent-runs", json={"agent_name": "b"}, headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "idempotency_mismatch"


def test_another_teams_run_id_is_409_and_reveals_nothing(org, team) -> None:
    run_id = "shared-" + uuid.uuid4().hex[:6]
    assert _create(team, run_id=run_id, trigger_message="private words").status_code == 201
    with org.team_client("other") as other:
        clash = _create(other, run_id=run_id, trigger_message="private words")
        assert clash.status_code == 409 and clash.json()["code"] == "conflict"
        assert "private" not in clash.text and "sre" not in clash.text
        assert other.get(f"/agent-runs/{run_id}").status_code == 404


def test_a_recreated_node_does_not_replay_the_old_nodes_run(org, admin) -> None:
    again_1 = unique_id("again")
    org.add_node("temp")
    with org.team_client("temp") as old:
        assert _create(old, run_id=again_1).status_code == 201
    assert admin.delete(f"/admin/orgs/{org.org_id}/nodes/temp").status_code == 204
    org.add_node("temp")
    with org.team_client("temp") as new:
        assert _create(new, run_id=again_1).status_code == 409


@pytest.mark.parametrize("run_id", ["", "-x", "a" * 201, "with space", "stats", "list", "ü"])
def test_bad_run_ids_are_422(team, run_id: str) -> None:
    assert _create(team, run_id=run_id).status_code == 422


@pytest.mark.parametrize("ref", ["not a run", "x" * 300, "-dash", "00000000-0000-0000-0000-000000000000"])
def test_a_malformed_or_unknown_run_path_is_404(team, ref: str) -> None:
    assert team.get(f"/agent-runs/{ref}").status_code == 404
    assert team.patch(f"/agent-runs/{ref}", json={"status": "success"}).status_code == 404


def test_a_run_path_holding_a_nul_is_422_as_any_client_text(team) -> None:
    """U+0000 is refused wherever a client sends text (DESIGN §6), a path parameter included."""
    for response in (team.get("/agent-runs/%00"), team.patch("/agent-runs/%00", json={"status": "success"})):
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"


def test_finish_keeps_the_clients_figures(team) -> None:
    fig_1 = unique_id("fig")
    fig_2 = unique_id("fig")
    run = _create(team, run_id=fig_1).json()
    done = team.patch(f"/agent-runs/{fig_1}", json={"status": "failed", "duration_seconds": 3.25, "tool_calls_count": 7,
                                                  "confidence": 0.8, "output_summary": "", "error_message": "boom"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["id"] == run["id"] and body["status"] == "error" and body["output"] == "boom"
    assert (body["reported_duration_seconds"], body["tool_calls_count"], body["confidence"]) == (3.25, 7, 0.8)
    assert body["duration_seconds"] is not None and body["duration_seconds"] != 3.25
    _create(team, run_id=fig_2)
    for bad in ({"duration_seconds": -1}, {"duration_seconds": 1e9}, {"confidence": 101}, {"tool_calls_count": -1}):
        assert team.patch(f"/agent-runs/{fig_2}", json={"status": "success", **bad}).status_code == 422


def test_secret_requests_in_metadata_are_refused(team) -> None:
    response = _create(team, metadata={"deep": [{"x": {"$secret": "s3cr3t-value"}}]})
    assert response.status_code == 422 and response.json()["path"] == "/metadata/deep/0/x"
    assert "s3cr3t" not in response.text
    run = _create(team).json()
    finish = team.patch(f"/agent-runs/{run['id']}", json={"status": "success", "metadata": {"$secret": "x"}})
    assert finish.status_code == 422


def test_the_internal_list_takes_an_org_alone(org, internal) -> None:
    for node in ("a", "b"):
        org.add_node(node)
        assert internal.post("/internal/agent-runs", json={"org_id": org.org_id, "team_node_id": node,
                                                           "agent_name": "x"}).status_code == 201
    page = internal.get("/internal/agent-runs/list", params={"org_id": org.org_id, "limit": 1}).json()
    assert page["total"] == 2 and page["has_more"] is True and len(page["runs"]) == 1
    rest = internal.get("/internal/agent-runs/list", params={"org_id": org.org_id, "limit": 1, "offset": 1}).json()
    assert rest["has_more"] is False
    listed = internal.get("/agent-runs", params={"org_id": org.org_id}).json()
    assert listed["total"] == 2 and "has_more" not in listed  # the root's own list keeps its shape


# ---- tool calls -------------------------------------------------------------------------------------------


def test_tool_calls_are_recorded_and_read_in_order(org, team, admin, internal) -> None:
    run_1 = unique_id("tc")
    run = _create(team, run_id=run_1).json()
    one = team.post(f"/agent-runs/{run_1}/tool-calls", json={"name": "search", "input": {"q": "x"}, "id": "c-1"})
    assert one.status_code == 201, one.text
    batch = {"run_id": run_1, "tool_calls": [
        {"name": "logs", "status": "error", "error": "timeout", "duration_ms": 5, "id": "c-2"},
        {"name": "metrics", "sequence_number": 10, "started_at": "2026-01-02T03:04:05", "id": "c-3"},
        {"name": "after", "output": "done"},
    ]}
    assert team.post(f"/agent-runs/{run_1}/tool-calls", json=batch).status_code == 201
    assert team.post(f"/agent-runs/{run_1}/tool-calls", json=batch).json()["items"][0]["client_id"] == "c-2"
    assert team.patch(f"/agent-runs/{run_1}", json={"status": "success"}).status_code == 200
    late = team.post(f"/agent-runs/{run['id']}/tool-calls", json={"name": "late"})  # after the finish
    assert late.status_code == 201
    items = team.get(f"/agent-runs/{run_1}/tool-calls").json()["items"]
    # the re-sent batch stored only its call without an id again; numbers follow the highest
    assert [(i["name"], i["sequence_number"]) for i in items] == [
        ("search", 1), ("logs", 2), ("metrics", 10), ("after", 11), ("after", 12), ("late", 13),
    ]
    assert items[2]["started_at"] == "2026-01-02T03:04:05Z"  # a time without a zone is UTC
    # pages
    first = team.get(f"/agent-runs/{run_1}/tool-calls", params={"limit": 2}).json()
    second = team.get(f"/agent-runs/{run_1}/tool-calls", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["name"] for i in first["items"] + second["items"]] == [i["name"] for i in items[:4]]
    assert team.get(f"/agent-runs/{run_1}/tool-calls", params={"cursor": "garbage"}).status_code == 422
    # who reads: the team, its org's admins, the internal token; not another team
    assert admin.get(f"/agent-runs/{run_1}/tool-calls").status_code == 200
    assert internal.get(f"/internal/agent-runs/{run_1}/tool-calls").json()["items"] == items[:50]
    with org.client(org.admin_token()) as org_admin:
        assert org_admin.get(f"/agent-runs/{run_1}/tool-calls").status_code == 200
    with org.team_client("other") as other:
        assert other.get(f"/agent-runs/{run_1}/tool-calls").status_code == 404
        assert other.post(f"/agent-runs/{run_1}/tool-calls", json={"name": "x"}).status_code == 404


def test_a_resent_call_is_stored_once(team) -> None:
    run_once = unique_id("tc")
    _create(team, run_id=run_once)
    for _ in range(3):
        assert team.post(f"/agent-runs/{run_once}/tool-calls", json={"name": "x", "id": "same"}).status_code == 201
    assert len(team.get(f"/agent-runs/{run_once}/tool-calls").json()["items"]) == 1


@pytest.mark.parametrize("body", [
    {"name": "x", "input": {"a": {"$secret": "hidden"}}},
    {"name": "x", "input": "not an object"},
    {"name": "x", "output": "o" * (64 * 1024 + 1)},
    {"name": "x", "error": "e" * (8 * 1024 + 1)},
    {"name": "x", "input": {"big": "i" * (64 * 1024)}},
    {"name": "x", "status": "weird"},
    {"name": "x", "unknown_field": 1},
    {"name": ""},
    {"tool_calls": []},
    {"tool_calls": [{"name": "x"}] * 501},
    {"tool_calls": [{"name": "x"}], "run_id": "another-run"},
    {"name": "x", "input": {"n": "\u0000"}},
    {"name": "x", "duration_ms": -1},
])
def test_bad_tool_calls_are_refused(team, body: dict) -> None:
    run_bad = unique_id("tc")
    _create(team, run_id=run_bad)
    response = team.post(f"/agent-runs/{run_bad}/tool-calls", json=body)
    assert response.status_code == 422, response.text
    assert "hidden" not in response.text


def test_a_run_holds_at_most_ten_thousand_calls(team, db: psycopg.Connection) -> None:
    run_full = unique_id("tc")
    run = _create(team, run_id=run_full).json()
    db.execute("INSERT INTO agent_tool_calls (id, run_id, sequence_number, name, status) "
               "SELECT gen_random_uuid(), %s, n, 'x', 'success' FROM generate_series(1, 9999) n", (run["id"],))
    assert team.post(f"/agent-runs/{run_full}/tool-calls", json={"name": "last"}).status_code == 201
    full = team.post(f"/agent-runs/{run_full}/tool-calls", json={"name": "one too many"})
    assert full.status_code == 422 and "10000" in full.json()["detail"]


def test_copies_of_the_teams_secrets_are_masked_before_storage(org, team, db: psycopg.Connection) -> None:
    run_mask = unique_id("tc")
    org.patch(org.org_id, {"integrations": {"openai": {"api_key": KEY}}})
    run = _create(team, run_id=run_mask, input_message=f"use {KEY}", metadata={KEY: f"x{KEY}y"}).json()
    assert KEY not in str(run) and run["input_message"] == "use ********"
    assert run["metadata"] == {"********": "x********y"}
    recorded = team.post(f"/agent-runs/{run_mask}/tool-calls", json={"name": "curl", "input": {"h": f"Bearer {KEY}"},
                                                                  "output": f"{KEY}{KEY}", "error": KEY})
    assert recorded.status_code == 201, recorded.text
    finished = team.patch(f"/agent-runs/{run_mask}", json={"status": "failed", "error_message": f"auth failed {KEY}"})
    assert finished.status_code == 200, finished.text
    rows = db.execute(
        "SELECT r.input_message, r.output, r.error_message, r.metadata::text, t.input::text, t.output, t.error "
        "FROM agent_runs r JOIN agent_tool_calls t ON t.run_id = r.id WHERE r.client_run_id = %s", (run_mask,)
    ).fetchall()
    assert rows and all(KEY not in value for row in rows for value in row)
    assert rows[0][5] == "****************"


def test_pruning_a_run_removes_its_tool_calls(team, db: psycopg.Connection) -> None:
    run_prune = unique_id("tc")
    run = _create(team, run_id=run_prune).json()
    team.post(f"/agent-runs/{run_prune}/tool-calls", json={"name": "x"})
    db.execute("DELETE FROM agent_runs WHERE id = %s", (run["id"],))
    assert db.execute("SELECT count(*) FROM agent_tool_calls WHERE run_id = %s", (run["id"],)).fetchone() == (0,)


# ---- the pure masking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "secrets", "expected"), [
    ("a secret-token here", ["secret-token"], "a ******** here"),
    ("abcdef", ["abcdef", "abcd"], "********"),  # longest first: the longer one is masked whole
    ("abc", ["abc"], "abc"),  # too short to be worth masking
    ({"k": ["x tok1 y", {"tok1": 1}]}, ["tok1"], {"k": ["x ******** y", {"********": 1}]}),
    (42, ["tok1"], 42),
    ("nothing", [], "nothing"),
])
def test_mask_copies(value, secrets: list[str], expected) -> None:
    assert mask_copies(value, secret_values(secrets)) == expected


@pytest.mark.parametrize(("value", "path"), [
    ({"$secret": "x"}, "/metadata"),
    ({"a": [1, {"b": {"$secret": "x"}}]}, "/metadata/a/1/b"),
    ({"a~b/c": {"$secret": "x"}}, "/metadata/a~0b~1c"),
])
def test_check_data_names_the_secret_request(value, path: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_data(value, "/metadata")
    assert refused.value.extra["path"] == path


def test_check_data_bounds_nesting() -> None:
    deep: dict = {}
    node = deep
    for _ in range(40):
        node["d"] = {}
        node = node["d"]
    with pytest.raises(InvalidRequest):
        check_data(deep, "/metadata")
    check_data({"fine": [1, "two", {"three": None}]}, "/metadata")
