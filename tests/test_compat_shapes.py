"""The one translation to and from IncidentFox's shapes (`compat.shapes`, pure), table-driven."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from config_service.compat import shapes
from config_service.compat.schemas import PeerRunCreate, PeerRunFinish, PeerToolCall
from config_service.errors import Conflict, InvalidRequest
from config_service.runs.schemas import RunOut, ToolCallOut

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def run(**fields) -> RunOut:
    base = dict(
        id=uuid.uuid4(), run_id=None, org_id="o", team_node_id="t", agent_name="planner", status="running",
        input_message=None, output=None, duration_seconds=None, created_at=NOW, completed_at=None,
        correlation_id="c", trigger_source=None, trigger_message=None, trigger_actor=None, trigger_channel_id=None,
        idempotency_key=None, config_version=None, config_versions=None, metadata=None,
        reported_duration_seconds=None, tool_calls_count=None, confidence=None, output_summary=None,
        error_message=None,
    )
    return RunOut(**{**base, **fields})


@pytest.mark.parametrize(("fields", "expected"), [
    ({"status": "success"}, {"status": "completed"}),
    ({"status": "error"}, {"status": "failed"}),
    ({"status": "timeout"}, {"status": "timeout"}),
    ({"run_id": "3f9c2a1b"}, {"id": "3f9c2a1b"}),
    ({"duration_seconds": 4.0}, {"duration_seconds": 4.0}),
    ({"duration_seconds": 4.0, "reported_duration_seconds": 3.5}, {"duration_seconds": 3.5}),
    ({"completed_at": NOW}, {"completed_at": NOW.isoformat(), "started_at": NOW.isoformat()}),
])
def test_peer_run(fields: dict, expected: dict) -> None:
    peer = shapes.peer_run(run(**fields))
    assert set(peer) == {"id", "org_id", "team_node_id", "correlation_id", "agent_name", "status", "started_at",
                         "completed_at", "duration_seconds", "tool_calls_count", "output_summary", "error_message"}
    for key, value in expected.items():
        assert peer[key] == value


def test_a_run_without_a_client_id_shows_the_servers() -> None:
    plain = run()
    assert shapes.peer_run(plain)["id"] == str(plain.id)


@pytest.mark.parametrize(("kind", "auth_kind", "star"), [
    ("global_admin", "admin_token", True), ("org_admin", "org_admin_token", False), ("team", "team_token", False),
    ("internal_service", "internal_service", False),
])
def test_peer_me(kind: str, auth_kind: str, star: bool) -> None:
    me = {"role": "admin", "auth_kind": kind, "org_id": None, "team_node_id": None, "subject": "s",
          "can_write": True, "scopes": [], "permissions": ["x"]}
    peer = shapes.peer_me(me, kind)
    assert peer["auth_kind"] == auth_kind and ("admin:*" in peer["permissions"]) is star
    assert peer["email"] is None and me["permissions"] == ["x"]  # ours is not changed


def test_peer_tool_call_defaults_its_start_to_the_record_time() -> None:
    call = ToolCallOut(id=uuid.uuid4(), client_id=None, run_id=uuid.uuid4(), sequence_number=3, name="logs",
                       agent_name=None, parent_agent=None, input={"a": 1}, output="o", status="success", error=None,
                       started_at=None, duration_ms=5, created_at=NOW)
    peer = shapes.peer_tool_call(call, "3f9c2a1b")
    assert (peer["id"], peer["run_id"], peer["tool_name"], peer["tool_input"]) == (str(call.id), "3f9c2a1b", "logs",
                                                                                     {"a": 1})
    assert peer["started_at"] == NOW.isoformat()


def test_peer_requests_become_ours() -> None:
    ours = shapes.run_create(PeerRunCreate(run_id="3f9c2a1b", org_id="o", team_node_id="t", agent_name="a",
                                           trigger_message="m", trigger_source="slack"))
    assert (ours.run_id, ours.trigger_message, ours.input_message) == ("3f9c2a1b", "m", None)
    finish = shapes.run_finish(PeerRunFinish(status="completed", duration_seconds=1.0, output_summary="",
                                             error_message="boom"))
    assert (finish.status, finish.final_output(), finish.duration_seconds) == ("success", "boom", 1.0)
    with pytest.raises(InvalidRequest) as refused:
        shapes.run_finish(PeerRunFinish(status="weird"))
    assert refused.value.extra["path"] == "/status"
    with pytest.raises(InvalidRequest) as refused:
        shapes.tool_call(PeerToolCall(tool_name="x", tool_output="o" * (64 * 1024 + 1)), 2)
    assert refused.value.extra["path"] == "/tool_calls/2/tool_output"  # the peer's field name
    with pytest.raises(InvalidRequest):
        shapes.run_create(PeerRunCreate(run_id="stats", org_id="o", team_node_id="t", agent_name="a"))


def test_a_duplicate_is_the_peers_400() -> None:
    converted = shapes.already_exists(Conflict("node 'x' already exists in org 'o'"))
    assert converted.status == 400 and "already exists" in converted.body()["detail"]


def test_the_cron_answer_is_compact() -> None:
    assert shapes.cleanup_answer(2, 600) == {"marked_count": 2, "max_age_seconds": 600,
                                             "message": "Marked 2 stale runs as timeout"}
