"""The audit log (DESIGN §3, §7): written in the change's own transaction, listed with filters
and a cursor (newest first), exported as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

AUDIT_FIELDS = {"id", "at", "org_id", "org_uid", "actor", "action", "target_type", "target_id", "details"}


def audit_url(org) -> str:
    return f"/admin/orgs/{org.org_id}/audit"


def items(org, **params) -> list[dict]:
    response = org.admin.get(audit_url(org), params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_each_config_change_writes_version_row_and_event_in_one_transaction(org, db):
    org.add_node("sre")
    org.patch("sre", {"a": 1}, reason="why")
    org.put("sre", {"b": 1})
    org.admin.post(org.node_path("sre") + "/config/rollback", json={"version": 2})
    # the transaction that inserted each version row also inserted its audit event
    rows = db.execute(
        """
        SELECT v.version, (v.xmin::text)::bigint, e.xid, e.action, e.details
        FROM node_config_versions v
        JOIN audit_events e ON e.org_id = v.org_id AND e.target_id = v.node_id
             AND e.action LIKE 'config.%%' AND (e.details->>'version')::int = v.version
        WHERE v.org_id = %s AND v.node_id = 'sre'
        ORDER BY v.version
        """,
        (org.org_id,),
    ).fetchall()
    assert [r[0] for r in rows] == [2, 3, 4]
    for version, xmin, xid, _action, _details in rows:
        assert xid % (1 << 32) == xmin, version
    assert [r[3] for r in rows] == ["config.written", "config.written", "config.rolled_back"]
    assert rows[0][4]["reason"] == "why"
    assert rows[0][4]["changed_paths"] == ["/a"]
    assert rows[2][4]["rolled_back_to"] == 2


def test_audit_list_shape_newest_first(org):
    org.add_node("sre")
    org.patch("sre", {"a": 1})
    response = org.admin.get(audit_url(org))
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "next_cursor"} and page["next_cursor"] is None
    events = page["items"]
    assert [e["action"] for e in events] == ["config.written", "node.created", "org.created"]
    for event in events:
        assert set(event) == AUDIT_FIELDS
        assert event["org_id"] == org.org_id
        assert event["org_uid"] == org.admin.get(f"/admin/orgs/{org.org_id}").json()["node_uid"]
        assert datetime.fromisoformat(event["at"]).tzinfo is not None
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)
    assert events[0]["actor"] == "admin" and events[0]["target_type"] == "node" and events[0]["target_id"] == "sre"


def test_audit_filters(org):
    org.add_node("sre")
    org.add_node("data")
    org.patch("sre", {"a": 1})
    org.patch("data", {"a": 1})
    org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/x"]})
    token = org.admin_token()
    with org.client(token) as org_admin:
        assert org_admin.patch(org.node_path("sre") + "/config", json={"config": {"b": 1}}).status_code == 200
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        assert team.patch("/config/me", json={"config": {"c": 1}}).status_code == 200

    sre = items(org, target_id="sre")
    assert {e["target_id"] for e in sre} == {"sre"}
    assert [e["action"] for e in sre if e["action"].startswith("config.")] == ["config.written"] * 3
    written = items(org, action="config.written")
    assert len(written) == 4 and {e["action"] for e in written} == {"config.written"}
    assert [e["action"] for e in items(org, action="locks.changed")] == ["locks.changed"]
    team_events = [e for e in written if e["actor"].startswith("team:")]
    assert len(team_events) == 1
    assert items(org, actor=team_events[0]["actor"]) == team_events
    org_admin_actor = [e for e in written if e["actor"].startswith("org-admin:")][0]["actor"]
    assert [e["target_id"] for e in items(org, actor=org_admin_actor)] == ["sre"]
    combined = items(org, actor="admin", action="config.written", target_id="data")
    assert len(combined) == 1 and combined[0]["target_id"] == "data"
    assert items(org, action="no.such.action") == []
    # tokens never show up in the log
    assert token not in json.dumps(items(org))


def test_a_tokens_actor_is_named_by_its_id_and_description(org):
    """DESIGN §7: audit events name a token's actor as its id and description — a person reading
    the log sees which token acted and what it is for; the token itself never shows."""
    org.add_node("sre")
    description = "nightly triage bot — sre on-call (owner: platform team, ticket OPS-1234, rotation weekly)"
    issued = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens",
                            json={"description": description, "scopes": ["config:read", "config:write"]}).json()
    admin_issued = org.admin.post(f"/admin/orgs/{org.org_id}/admin-tokens", json={"description": "release pipeline"})
    with org.client(issued["token"]) as team:
        assert team.patch("/config/me", json={"config": {"a": 1}}).status_code == 200
        assert team.get("/auth/me").json()["subject"].endswith(f"({description})")
    with org.client(admin_issued.json()["token"]) as org_admin:
        assert org_admin.patch(org.node_path("sre") + "/config", json={"config": {"b": 1}}).status_code == 200
    written = items(org, action="config.written", target_id="sre")
    actors = [e["actor"] for e in written]
    assert any(issued["id"] in a and description in a for a in actors), actors
    assert any(admin_issued.json()["id"] in a and "release pipeline" in a for a in actors), actors
    assert issued["token"] not in json.dumps(written)
    for actor in actors:  # the actor filter takes the actor as listed
        assert [e["actor"] for e in items(org, actor=actor)] == [actor]
    history = org.admin.get(org.node_path("sre") + "/history").json()["items"]
    assert {h["changed_by"] for h in history[:2]} == set(actors)


def test_since_is_inclusive_and_until_exclusive(org, db):
    org.add_node("sre")
    org.patch("sre", {"a": 1})
    event = items(org, action="config.written")[0]
    at = event["at"]
    assert event["id"] in [e["id"] for e in items(org, since=at)]
    assert event["id"] not in [e["id"] for e in items(org, until=at)]
    assert [e["id"] for e in items(org, since=at, until=at)] == []
    later = (datetime.fromisoformat(at) + timedelta(microseconds=1)).isoformat()
    assert [e["id"] for e in items(org, since=at, until=later, action="config.written")] == [event["id"]]
    assert event["id"] not in [e["id"] for e in items(org, since=later)]
    # the same instant in another zone is the same instant
    shifted = datetime.fromisoformat(at).astimezone(datetime.fromisoformat("2020-01-01T00:00:00+05:30").tzinfo)
    assert event["id"] in [e["id"] for e in items(org, since=shifted.isoformat(), action="config.written")]
    # a time without a zone is read as UTC
    naive = datetime.fromisoformat(at).astimezone(UTC).replace(tzinfo=None).isoformat()
    assert event["id"] in [e["id"] for e in items(org, since=naive, action="config.written")]
    assert event["id"] not in [e["id"] for e in items(org, until=naive, action="config.written")]
    assert org.admin.get(audit_url(org), params={"since": "yesterday"}).status_code == 422


def test_audit_cursor_pages_newest_first_without_gaps_or_repeats(org):
    for i in range(7):
        org.add_node(f"n{i}")
    all_ids = [e["id"] for e in items(org)]
    assert len(all_ids) == 8
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = org.admin.get(audit_url(org), params=params)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 3
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == all_ids
    # a cursor keeps its place even when newer events arrive
    first = org.admin.get(audit_url(org), params={"limit": 2}).json()
    org.add_node("late")
    second = org.admin.get(audit_url(org), params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [e["id"] for e in second["items"]] == all_ids[2:4]
    # filters and cursor together
    page = org.admin.get(audit_url(org), params={"limit": 2, "action": "node.created"}).json()
    rest = org.admin.get(audit_url(org), params={"limit": 500, "action": "node.created",
        "cursor": page["next_cursor"]}).json()
    assert len(page["items"]) + len(rest["items"]) == 8
    assert {e["action"] for e in rest["items"]} == {"node.created"}


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage"},
        {"cursor": "YjoxMg"},  # another kind
        {"cursor": "YTrCsg"},  # a unicode digit
        {"cursor": "YTotNQ"},
        {"cursor": "YTo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"},  # past BIGINT
        {"limit": 0},
        {"limit": 501},
    ],
)
def test_audit_bad_paging_is_422(org, params):
    response = org.admin.get(audit_url(org), params=params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_failed_writes_leave_no_event(org, db):
    org.add_node("sre")
    before = db.execute("SELECT count(*) FROM audit_events WHERE org_id = %s", (org.org_id,)).fetchone()[0]
    org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/m"]})
    assert org.patch("sre", {"m": 1}).status_code == 403
    assert org.patch("sre", {"x": 1}, **{}).status_code == 200
    assert org.admin.patch(org.node_path("sre") + "/config", json={"config": {"y": 1}},
        headers={"If-Match": '"1"'}).status_code == 412
    assert org.patch("sre", {"x": 1}).json()["changed"] is False
    actions = [
        a for (a,) in db.execute(
            "SELECT action FROM audit_events WHERE org_id = %s ORDER BY id", (org.org_id,)
        ).fetchall()
    ][before:]
    assert actions == ["locks.changed", "config.written"]


def test_audit_needs_an_admin_of_the_org(org, make_org):
    org.add_node("sre")
    with org.team_client("sre") as team:
        assert team.get(audit_url(org)).status_code == 403
        assert team.get(audit_url(org) + "/export").status_code == 403
    other = make_org("other")
    with other.client(other.admin_token()) as client:
        assert client.get(audit_url(org)).status_code == 403
        assert client.get(audit_url(org) + "/export", params={"format": "csv"}).status_code == 403
        assert client.get(audit_url(other)).status_code == 200


def test_export_json_and_csv(org):
    org.add_node("sre")
    org.patch("sre", {"a": 1}, reason='with "quotes", commas\nand a newline')
    org.patch("sre", {"b": 2})
    listed = items(org)

    response = org.admin.get(audit_url(org) + "/export", params={"format": "json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert f"audit-{org.org_id}.json" in response.headers["content-disposition"]
    exported = response.json()
    assert exported == listed

    response = org.admin.get(audit_url(org) + "/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"audit-{org.org_id}.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0].keys()) == ["id", "at", "org_id", "org_uid", "actor", "action", "target_type", "target_id",
                                    "details"]
    org_uid = org.admin.get(f"/admin/orgs/{org.org_id}").json()["node_uid"]
    assert {r["org_uid"] for r in rows} == {org_uid}
    assert [int(r["id"]) for r in rows] == [e["id"] for e in listed]
    assert [r["action"] for r in rows] == [e["action"] for e in listed]
    assert [json.loads(r["details"]) for r in rows] == [e["details"] for e in listed]
    assert rows[1]["target_id"] == "sre"
    assert json.loads(rows[1]["details"])["reason"] == 'with "quotes", commas\nand a newline'
    # the org-created event has a target; a missing one is an empty cell, not "None"
    assert "None" not in {r["target_id"] for r in rows}


def test_export_applies_filters_and_refuses_unknown_formats(org):
    org.add_node("sre")
    org.add_node("data")
    org.patch("sre", {"a": 1})
    response = org.admin.get(audit_url(org) + "/export", params={"format": "json", "target_id": "sre",
        "action": "config.written"})
    exported = response.json()
    assert len(exported) == 1 and exported[0]["target_id"] == "sre"
    response = org.admin.get(audit_url(org) + "/export", params={"format": "csv", "action": "node.created"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["target_id"] for r in rows) == ["data", "sre"]
    at = items(org, action="config.written")[0]["at"]
    assert org.admin.get(audit_url(org) + "/export", params={"until": at, "action": "config.written"}).json() == []
    assert len(org.admin.get(audit_url(org) + "/export", params={"since": at, "action": "config.written"}).json()) == 1
    response = org.admin.get(audit_url(org) + "/export", params={"format": "xml"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_audit_events_of_other_orgs_are_invisible(org, make_org):
    other = make_org("other")
    other.add_node("secret-team")
    org.add_node("sre")
    assert all(e["org_id"] == org.org_id for e in items(org))
    assert items(org, target_id="secret-team") == []
    response = org.admin.get(audit_url(org) + "/export", params={"format": "json"})
    assert "secret-team" not in response.text
