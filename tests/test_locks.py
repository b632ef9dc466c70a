"""Locked paths (DESIGN §5 rule 6, §6): set and read, enforced on every write kind below the
locking node, never bypassed by a lock committed concurrently."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from config_service.db.urls import libpq_url

WRITER_SCOPES = ["config:read", "config:write"]


def locks_url(org, node_id: str) -> str:
    return org.node_path(node_id) + "/locks"


def set_locks(org, node_id: str, paths: list[str], **extra) -> httpx.Response:
    response = org.admin.put(locks_url(org, node_id), json={"locked_paths": paths, **extra})
    assert response.status_code == 200, response.text
    return response


def stored(db, org_id: str, node_id: str) -> tuple[dict, int]:
    return db.execute(
        "SELECT config_json, version FROM node_configurations WHERE org_id = %s AND node_id = %s", (org_id, node_id)
    ).fetchone()


def assert_locked(response: httpx.Response, path: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "locked_path"
    assert body["path"] == path
    assert {"type", "title", "status", "detail", "code", "path"} <= set(body)
    assert body["status"] == 403


# ---- PUT / GET …/locks ----------------------------------------------------------------------------


def test_set_and_read_locks(org, db):
    org.add_node("sre")
    url = locks_url(org, org.org_id)
    assert org.admin.get(url).json() == {"org_id": org.org_id, "node_id": org.org_id, "locked_paths": []}
    response = org.admin.put(url, json={"locked_paths": ["/agents/planner/model", "/tools", "/tools"],
        "reason": "policy"})
    assert response.status_code == 200, response.text
    assert response.json() == {"org_id": org.org_id, "node_id": org.org_id, "locked_paths": ["/agents/planner/model",
        "/tools"]}
    assert org.admin.get(url).json()["locked_paths"] == ["/agents/planner/model", "/tools"]
    assert org.own(org.org_id)["locked_paths"] == ["/agents/planner/model", "/tools"]
    # a lock is not config content: no new version
    assert org.own(org.org_id)["version"] == 1
    events = db.execute(
        "SELECT actor, details FROM audit_events WHERE org_id = %s AND action = 'locks.changed'", (org.org_id,)
    ).fetchall()
    assert events == [("admin", {"before": [], "after": ["/agents/planner/model", "/tools"], "reason": "policy"})]
    # the same set again is not a change
    org.admin.put(url, json={"locked_paths": ["/agents/planner/model", "/tools"]})
    assert db.execute(
        "SELECT count(*) FROM audit_events WHERE org_id = %s AND action = 'locks.changed'", (org.org_id,)
    ).fetchone()[0] == 1
    # clearing
    assert org.admin.put(url, json={"locked_paths": []}).json()["locked_paths"] == []
    assert org.patch("sre", {"tools": {"x": True}}).status_code == 200


@pytest.mark.parametrize(
    "paths",
    [
        ["agents/planner"],  # no leading slash
        [""],  # the whole document
        ["/"],  # an empty key
        ["/a//b"],
        ["/a/~2"],  # a bad escape
        [5],
        [None],
        "/a",
        ["/" + "a" * 2000],
    ],
)
def test_invalid_lock_paths_are_422(org, db, paths):
    response = org.admin.put(locks_url(org, org.org_id), json={"locked_paths": paths})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert "path" in response.json()
    assert org.admin.get(locks_url(org, org.org_id)).json()["locked_paths"] == []


def test_locks_need_an_admin_of_the_org(org, make_org):
    org.add_node("sre")
    with org.team_client("sre", scopes=WRITER_SCOPES) as team:
        assert team.put(locks_url(org, "sre"), json={"locked_paths": ["/a"]}).status_code == 403
        assert team.get(locks_url(org, "sre")).status_code == 403
    other = make_org("other")
    with other.client(other.admin_token()) as client:
        assert client.put(locks_url(org, org.org_id), json={"locked_paths": ["/a"]}).status_code == 403
    assert org.admin.put(locks_url(org, "nope"), json={"locked_paths": ["/a"]}).status_code == 404


# ---- enforcement ---------------------------------------------------------------------------------


@pytest.fixture()
def locked(org):
    """org locks /agents/planner/model = "gpt-4o"; sre and sre/oncall below it."""
    org.add_node("sre")
    org.add_node("oncall", "sre")
    org.add_node("data")
    assert org.patch(org.org_id, {"agents": {"planner": {"model": "gpt-4o", "temperature": 0.2}}}).status_code == 200
    # a value the team set before the lock existed
    assert org.patch("sre", {"agents": {"planner": {"model": "pre-lock", "temperature": 0.9}},
        "other": 1}).status_code == 200
    set_locks(org, org.org_id, ["/agents/planner/model"])
    return org


def test_values_set_below_before_the_lock_are_ignored(locked, db):
    org = locked
    assert org.own("sre")["config"]["agents"]["planner"]["model"] == "pre-lock"  # still stored
    assert org.effective("sre") == {"agents": {"planner": {"model": "gpt-4o", "temperature": 0.9}}, "other": 1}
    assert org.effective("oncall")["agents"]["planner"]["model"] == "gpt-4o"
    with org.team_client("sre") as team:
        assert team.get("/config/me").json()["effective_config"]["agents"]["planner"]["model"] == "gpt-4o"
    # unlocking shows the team's old value again
    set_locks(org, org.org_id, [])
    assert org.effective("sre")["agents"]["planner"]["model"] == "pre-lock"


LOCK_BREAKING_CONFIGS = [
    ("change the locked value", {"agents": {"planner": {"model": "o3"}}}),
    ("tombstone the locked value", {"agents": {"planner": {"model": None}}}),
    ("write under the locked value", {"agents": {"planner": {"model": {"name": "o3"}}}}),
    ("null at a prefix", {"agents": {"planner": None}}),
    ("null at the top prefix", {"agents": None}),
    ("scalar at a prefix", {"agents": {"planner": "off"}}),
    ("list at a prefix", {"agents": ["planner"]}),
    ("false at a prefix", {"agents": False}),
]


@pytest.mark.parametrize("config", [w[1] for w in LOCK_BREAKING_CONFIGS], ids=[w[0] for w in LOCK_BREAKING_CONFIGS])
def test_put_below_the_lock_that_breaks_it_is_403(locked, db, config):
    org = locked
    before = stored(db, org.org_id, "oncall")
    assert_locked(org.put("oncall", config), "/agents/planner/model")
    assert stored(db, org.org_id, "oncall") == before


@pytest.mark.parametrize("config",
    [w[1] for w in LOCK_BREAKING_CONFIGS[:1] + LOCK_BREAKING_CONFIGS[2:3] + LOCK_BREAKING_CONFIGS[5:]])
def test_merge_patch_below_the_lock_that_breaks_it_is_403(locked, db, config):
    org = locked
    before = stored(db, org.org_id, "oncall")
    assert_locked(org.patch("oncall", config), "/agents/planner/model")
    assert stored(db, org.org_id, "oncall") == before


def test_merge_patch_null_where_the_node_holds_nothing_is_a_no_op_not_a_violation(locked):
    # a merge-patch null deletes an own key; oncall has none, so nothing changes
    response = locked.patch("oncall", {"agents": None})
    assert response.status_code == 200
    assert response.json()["changed"] is False
    # RFC 7396 makes {"agents": {"planner": null}} create an empty object: allowed, an object at a prefix
    response = locked.patch("oncall", {"agents": {"planner": {"model": None}}})
    assert response.status_code == 200
    assert response.json()["config"] == {"agents": {"planner": {}}}


def test_every_write_kind_below_the_lock_is_403_and_writes_nothing(locked, db):
    org = locked
    path = "/agents/planner/model"
    before = stored(db, org.org_id, "sre")
    url = org.node_path("sre") + "/config"
    assert_locked(org.patch("sre", {"agents": {"planner": {"model": "o3"}}}), path)
    assert_locked(
        org.admin.patch(url, content=json.dumps([{"op": "replace", "path": path, "value": "o3"}]),
                        headers={"Content-Type": "application/json-patch+json"}),
        path,
    )
    assert_locked(
        org.admin.patch(url, content=json.dumps([{"op": "add", "path": "/agents", "value": None}]),
                        headers={"Content-Type": "application/json-patch+json"}),
        path,
    )
    assert_locked(org.put("sre", {"other": 2}), path)  # PUT drops the team's pre-lock value: a change at the path
    assert_locked(org.admin.put(url, json={"patch": {"agents": {"planner": {"model": "o3"}}}}), path)  # legacy form
    assert_locked(org.admin.post(url + "/rollback", json={"version": 1}), path)  # v1 had no value there
    with org.team_client("sre", scopes=WRITER_SCOPES) as team:
        assert_locked(team.patch("/config/me", json={"config": {"agents": {"planner": {"model": "o3"}}}}), path)
        assert_locked(team.patch("/config/me", json={"config": {"agents": None}}), path)
        assert_locked(
            team.patch("/config/me", content=json.dumps([{"op": "remove", "path": path}]),
                       headers={"Content-Type": "application/json-patch+json"}),
            path,
        )
        assert_locked(team.put("/config/me", json={"config": {}}), path)
        assert_locked(team.put("/config/me", json={"patch": {"agents": {"planner": "x"}}}), path)
        assert_locked(team.post("/config/me/rollback", json={"version": 1}), path)
    assert stored(db, org.org_id, "sre") == before
    assert db.execute(
        "SELECT count(*) FROM node_config_versions WHERE org_id = %s AND node_id = 'sre'", (org.org_id,)
    ).fetchone()[0] == 2


def test_rollback_to_a_pre_lock_version_that_changes_the_path_is_403(org, db):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    org.patch("sre", {"model": "old"})  # v2
    org.patch("sre", {"model": None})  # v3: removed again
    set_locks(org, org.org_id, ["/model"])
    assert_locked(org.admin.post(org.node_path("sre") + "/config/rollback", json={"version": 2}), "/model")
    assert stored(db, org.org_id, "sre") == ({}, 3)


def test_writes_that_leave_the_locked_path_alone_are_allowed(locked, db):
    org = locked
    # siblings, other branches, objects at a prefix
    assert org.patch("sre", {"agents": {"planner": {"temperature": 0.5}}}).status_code == 200
    assert org.patch("sre", {"agents": {"coder": {"model": "o3"}}, "other": None}).status_code == 200
    assert org.patch("oncall", {"agents": {"planner": {}}}).status_code == 200
    assert org.put("oncall", {"tools": {"x": True}}).status_code == 200
    assert org.patch("data", {"model": "anything"}).status_code == 200
    with org.team_client("sre", scopes=WRITER_SCOPES) as team:
        response = team.patch("/config/me", json={"config": {"agents": {"planner": {"temperature": 0.1}}}})
        assert response.status_code == 200, response.text
        # a PUT that keeps the pre-lock value exactly as it is
        own = team.get("/config/me/raw").json()["configs"]["sre"]
        own["new"] = 1
        assert team.put("/config/me", json={"config": own}).status_code == 200
    assert org.effective("sre")["agents"]["planner"] == {"model": "gpt-4o", "temperature": 0.1}


def test_writes_at_the_locking_node_itself_are_allowed(locked):
    org = locked
    response = org.patch(org.org_id, {"agents": {"planner": {"model": "o3"}}})
    assert response.status_code == 200, response.text
    assert org.effective("sre")["agents"]["planner"]["model"] == "o3"
    assert org.effective("oncall")["agents"]["planner"]["model"] == "o3"
    assert org.patch(org.org_id, {"agents": None}).status_code == 200
    # the lock now keeps the absence
    assert "model" not in org.effective("sre")["agents"]["planner"]
    assert org.admin.post(org.node_path(org.org_id) + "/config/rollback", json={"version": 2}).status_code == 200
    assert org.effective("oncall")["agents"]["planner"]["model"] == "gpt-4o"


def test_a_lock_below_the_root_binds_only_its_subtree(org):
    org.add_node("sre")
    org.add_node("oncall", "sre")
    org.add_node("data")
    org.patch(org.org_id, {"model": "gpt-4o"})
    org.patch("sre", {"model": "sre-model"})
    set_locks(org, "sre", ["/model"])
    assert_locked(org.patch("oncall", {"model": "x"}), "/model")
    assert org.patch("sre", {"model": "sre-2"}).status_code == 200  # the locking node
    assert org.patch(org.org_id, {"model": "root-2"}).status_code == 200  # above it
    assert org.patch("data", {"model": "data"}).status_code == 200  # another branch
    assert org.effective("oncall")["model"] == "sre-2"
    assert org.effective("data")["model"] == "data"


def test_a_locked_absence_cannot_be_filled_below(org):
    org.add_node("sre")
    set_locks(org, org.org_id, ["/integrations/pagerduty"])
    assert_locked(org.patch("sre", {"integrations": {"pagerduty": {"from_email": "x@example.com"}}}),
        "/integrations/pagerduty")
    assert org.patch("sre", {"integrations": {"slack": {"default_channel_id": "c"}}}).status_code == 200
    assert org.effective("sre") == {"integrations": {"slack": {"default_channel_id": "c"}}}


def test_locked_path_is_named_when_several_locks_exist(org):
    org.add_node("sre")
    set_locks(org, org.org_id, ["/a", "/b/c"])
    assert_locked(org.patch("sre", {"b": 1}), "/b/c")
    assert_locked(org.patch("sre", {"a": {"x": 1}}), "/a")


def test_json_types_count_true_is_not_1(org, db):
    org.add_node("sre")
    org.patch(org.org_id, {"flags": {"deploy": False}})
    org.patch("sre", {"flags": {"deploy": True}})  # before the lock
    set_locks(org, org.org_id, ["/flags/deploy"])
    assert_locked(org.patch("sre", {"flags": {"deploy": 1}}), "/flags/deploy")
    assert stored(db, org.org_id, "sre")[0] == {"flags": {"deploy": True}}


# ---- concurrency: a lock committed concurrently is never bypassed ---------------------------------------


def _wait_for_lock_wait(db, timeout: float = 10.0) -> None:
    """Until some backend of the server waits on a heavyweight lock (our row lock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the write never waited for the ancestor row")


def test_write_waiting_on_a_concurrent_lock_is_refused_after_it_commits(org, db, database_url):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    org.patch("sre", {"model": "before"})
    result: dict = {}

    with psycopg.connect(libpq_url(database_url)) as locker:  # a transaction of its own
        locker.execute(
            "SELECT locked_paths FROM node_configurations WHERE org_id = %s AND node_id = %s FOR UPDATE",
            (org.org_id, org.org_id),
        )
        locker.execute(
            "UPDATE node_configurations SET locked_paths = '[\"/model\"]'::jsonb WHERE org_id = %s AND node_id = %s",
            (org.org_id, org.org_id),
        )

        def write() -> None:
            result["response"] = org.patch("sre", {"model": "during"})

        thread = threading.Thread(target=write)
        thread.start()
        _wait_for_lock_wait(db)
        assert "response" not in result  # still blocked on the ancestor row
        locker.commit()
        thread.join(30)
    assert not thread.is_alive()
    assert_locked(result["response"], "/model")
    assert stored(db, org.org_id, "sre") == ({"model": "before"}, 2)
    assert org.effective("sre")["model"] == "gpt-4o"


def test_write_waiting_on_a_rolled_back_lock_goes_through(org, db, database_url):
    org.add_node("sre")
    result: dict = {}
    with psycopg.connect(libpq_url(database_url)) as locker:
        locker.execute(
            "UPDATE node_configurations SET locked_paths = '[\"/model\"]'::jsonb WHERE org_id = %s AND node_id = %s",
            (org.org_id, org.org_id),
        )
        thread = threading.Thread(target=lambda: result.setdefault("response", org.patch("sre", {"model": "x"})))
        thread.start()
        _wait_for_lock_wait(db)
        locker.rollback()
        thread.join(30)
    assert result["response"].status_code == 200, result["response"].text
    assert stored(db, org.org_id, "sre") == ({"model": "x"}, 2)


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_lock_raced_with_many_child_writes_is_never_bypassed(org, db, server):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    stop = threading.Event()
    lock_done = threading.Event()
    outcomes: list[tuple[bool, int]] = []  # (started after the lock answered, status)
    outcomes_lock = threading.Lock()

    def writer(worker: int) -> None:
        with httpx.Client(base_url=server.api, timeout=30, headers=dict(org.admin.headers)) as client:
            i = 0
            while not stop.is_set():
                after = lock_done.is_set()
                response = client.patch(
                    org.node_path("sre") + "/config", json={"config": {"model": f"w{worker}-{i}", "n": i}}
                )
                with outcomes_lock:
                    outcomes.append((after, response.status_code))
                i += 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(writer, w) for w in range(8)]
        try:
            # conditions, not fixed sleeps: a loaded machine may start the writers late
            wait_until(lambda: any(status == 200 for _after, status in list(outcomes)), "a write before the lock")
            set_locks(org, org.org_id, ["/model"])
            lock_done.set()
            value_at_lock = stored(db, org.org_id, "sre")[0].get("model")
            version_at_lock = stored(db, org.org_id, "sre")[1]
            wait_until(lambda: sum(1 for after, _s in list(outcomes) if after) >= 16, "writes after the lock")
        finally:
            stop.set()
        for future in futures:
            future.result()

    statuses = {status for _after, status in outcomes}
    assert statuses <= {200, 403}, statuses
    assert any(status == 200 for after, status in outcomes if not after), "no write went through before the lock"
    assert [s for after, s in outcomes if after] and all(s == 403 for after, s in outcomes if after)
    # after the lock committed, the child's own value under the lock never changed again
    final, final_version = stored(db, org.org_id, "sre")
    assert final.get("model") == value_at_lock
    changed_later = db.execute(
        "SELECT version, config_json->>'model' FROM node_config_versions "
        "WHERE org_id = %s AND node_id = 'sre' AND version > %s ORDER BY version",
        (org.org_id, version_at_lock),
    ).fetchall()
    assert changed_later == []
    assert final_version == version_at_lock
    # and every accepted write is one version (no lost update)
    accepted = sum(1 for _after, status in outcomes if status == 200)
    assert final_version == 1 + accepted
    assert org.effective("sre")["model"] == "gpt-4o"
