"""A reused id is another tenant (issue 10 finding 5): after deleting org `x` and creating a new
`x`, nothing of the old org reaches the new one's admins — audit events (reasons, actors, token
hints, the old name), token listings, revocations, routing, runs. Only the global admin reads a
former incarnation's audit log (`?org_uid=<uid>` or `?org_uid=all`). The same holds for a node
id deleted and created again inside one org (its token listing)."""

from __future__ import annotations

import threading
import time

import httpx
import psycopg
import pytest

from config_service.db.urls import libpq_url
from tests.support import unique_id

OLD_REASON = "old-tenant-reason-do-not-leak"
OLD_NAME = "Old Tenant Name"


def _create(admin, org_id: str, name: str) -> dict:
    response = admin.post("/admin/orgs", json={"org_id": org_id, "name": name})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture()
def reused(admin, internal):
    """Org `x` lived (tokens, a reasoned write, routing, a run), was deleted, and `x` exists again."""
    org_id = unique_id("reuse")
    old = _create(admin, org_id, OLD_NAME)
    base = f"/admin/orgs/{org_id}"
    assert admin.post(base + "/nodes", json={"node_id": "sre"}).status_code == 201
    old_team = admin.post(base + "/teams/sre/tokens", json={"description": "old team token"}).json()
    old_admin = admin.post(base + "/admin-tokens", json={"description": "old admin token"}).json()
    write = admin.patch(base + "/nodes/sre/config",
                        json={"config": {"routing": {"services": ["old-svc"]}}, "reason": OLD_REASON})
    assert write.status_code == 200
    run = internal.post("/agent-runs", json={"agent_name": "old-agent", "org_id": org_id, "team_node_id": "sre"})
    assert run.status_code == 201
    assert admin.delete(base, params={"cascade": "true"}).status_code == 204

    new = _create(admin, org_id, "New Tenant")
    assert admin.post(base + "/nodes", json={"node_id": "sre"}).status_code == 201
    new_team = admin.post(base + "/teams/sre/tokens", json={"description": "new team token"}).json()
    new_admin = admin.post(base + "/admin-tokens", json={"description": "new admin token"}).json()
    return {
        "org_id": org_id, "base": base, "old": old, "new": new, "old_team": old_team, "old_admin": old_admin,
        "new_team": new_team, "new_admin": new_admin,
    }


def _texts_without_the_old_tenant(*responses: httpx.Response, old: dict) -> None:
    for response in responses:
        assert response.status_code == 200, response.text
        for leaked in (OLD_REASON, OLD_NAME, old["old_team"]["id"], old["old_team"]["token_hint"],
                       old["old_admin"]["id"], "old-svc", "old-agent", old["old"]["node_uid"]):
            assert leaked not in response.text, (leaked, response.request.url)


def test_the_new_orgs_admin_sees_nothing_of_the_old_one(reused, server):
    with httpx.Client(base_url=server.api, timeout=30,
                      headers={"Authorization": f"Bearer {reused['new_admin']['token']}"}) as org_admin:
        base = reused["base"]
        audit = org_admin.get(base + "/audit", params={"limit": 500})
        reads = [
            audit,
            org_admin.get(base + "/audit/export", params={"format": "json"}),
            org_admin.get(base + "/audit/export", params={"format": "csv"}),
            org_admin.get(base + "/teams/sre/tokens"),
            org_admin.get(base + "/tokens"),
            org_admin.get(base + "/admin-tokens"),
            org_admin.get(base + "/routing"),
            org_admin.get(base + "/agent-runs"),
            org_admin.get(base),
        ]
        _texts_without_the_old_tenant(*reads, old=reused)
        events = audit.json()["items"]
        assert {e["action"] for e in events} >= {"org.created", "node.created", "token.issued"}
        assert "org.deleted" not in {e["action"] for e in events}
        assert {e["org_uid"] for e in events} == {reused["new"]["node_uid"]}
        assert [t["id"] for t in reads[3].json()["items"]] == [reused["new_team"]["id"]]
        assert [t["id"] for t in reads[4].json()["items"]] == [reused["new_team"]["id"]]
        assert [t["id"] for t in reads[5].json()["items"]] == [reused["new_admin"]["id"]]
        # the old tenant's tokens cannot be touched either (their existence is not revealed)
        old_team = org_admin.post(base + f"/teams/sre/tokens/{reused['old_team']['id']}/revoke")
        old_admin = org_admin.post(base + f"/admin-tokens/{reused['old_admin']['id']}/revoke")
        assert old_team.status_code == 404 and old_admin.status_code == 404
        # a former incarnation's log is the global admin's to read
        for asked in (reused["old"]["node_uid"], "all", reused["new"]["node_uid"]):
            refused = org_admin.get(base + "/audit", params={"org_uid": asked})
            assert refused.status_code == 403, refused.text


def test_the_global_admin_reads_each_incarnation_apart(reused, admin):
    base = reused["base"]
    current = admin.get(base + "/audit", params={"limit": 500}).json()["items"]
    assert {e["org_uid"] for e in current} == {reused["new"]["node_uid"]}
    assert OLD_REASON not in str(current)

    former = admin.get(base + "/audit", params={"limit": 500, "org_uid": reused["old"]["node_uid"]})
    assert former.status_code == 200, former.text
    former_events = former.json()["items"]
    assert {e["org_uid"] for e in former_events} == {reused["old"]["node_uid"]}
    assert former_events[0]["action"] == "org.deleted"
    assert any(e["details"].get("reason") == OLD_REASON for e in former_events)

    every = admin.get(base + "/audit", params={"limit": 500, "org_uid": "all"}).json()["items"]
    assert len(every) == len(current) + len(former_events)
    export = admin.get(base + "/audit/export", params={"format": "json", "org_uid": reused["old"]["node_uid"]})
    assert export.status_code == 200 and OLD_REASON in export.text
    assert admin.get(base + "/audit", params={"org_uid": "not-a-uid"}).status_code == 422

    # once no org has the id, its current log is 404 and the former ones stay readable
    assert admin.delete(base, params={"cascade": "true"}).status_code == 204
    gone = admin.get(base + "/audit")
    assert gone.status_code == 404 and gone.json()["detail"] == f"org '{reused['org_id']}' does not exist"
    assert len(admin.get(base + "/audit", params={"limit": 500, "org_uid": "all"}).json()["items"]) > len(every)


def test_a_recreated_node_lists_only_its_own_tokens(org):
    org.add_node("sre")
    old_token = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={}).json()
    assert org.admin.delete(org.node_path("sre")).status_code == 204
    org.add_node("sre")
    new_token = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={}).json()
    listed = org.admin.get(f"/admin/orgs/{org.org_id}/teams/sre/tokens").json()["items"]
    assert [t["id"] for t in listed] == [new_token["id"]]
    revoke = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{old_token['id']}/revoke")
    assert revoke.status_code == 404
    # the org's own listing still shows every token of this org, the deleted node's included (revoked)
    everything = org.admin.get(f"/admin/orgs/{org.org_id}/tokens").json()["items"]
    assert {t["id"] for t in everything} == {old_token["id"], new_token["id"]}
    assert next(t for t in everything if t["id"] == old_token["id"])["revoked_at"] is not None


def _wait_for_lock_wait(db, result: dict, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and "response" not in result:
        waiting = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the request never waited for the org lock (it did not take it)")


@pytest.mark.parametrize("what", ["team token", "admin token", "run"])
def test_nothing_is_issued_for_a_node_deleted_meanwhile(org, admin, internal, db, database_url, what):
    """Issuing a token (or recording a run) takes the org lock tree changes take exclusive, so it
    can never land on a node a concurrent delete removed — where a re-created id would find it."""
    org.add_node("sre")
    request = {
        "team token": lambda: admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={}),
        "admin token": lambda: admin.post(f"/admin/orgs/{org.org_id}/admin-tokens", json={}),
        "run": lambda: internal.post("/agent-runs", json={"agent_name": "a", "org_id": org.org_id,
                                                           "team_node_id": "sre"}),
    }[what]
    result: dict = {}
    with psycopg.connect(libpq_url(database_url)) as deleter:
        deleter.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"org:{org.org_id}",))
        deleter.execute("DELETE FROM org_nodes WHERE org_id = %s", (org.org_id,))
        thread = threading.Thread(target=lambda: result.setdefault("response", request()))
        thread.start()
        _wait_for_lock_wait(db, result)
        deleter.commit()
        thread.join(30)
    assert result["response"].status_code == 404, result["response"].text
    counts = db.execute(
        "SELECT (SELECT count(*) FROM team_tokens WHERE org_id = %(o)s) + "
        "(SELECT count(*) FROM org_admin_tokens WHERE org_id = %(o)s) + "
        "(SELECT count(*) FROM agent_runs WHERE org_id = %(o)s)", {"o": org.org_id},
    ).fetchone()[0]
    assert counts == 0
