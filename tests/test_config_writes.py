"""Writing config (DESIGN §6): merge patch, JSON Patch, PUT, rollback, no-op writes, history,
media types and the If-Match validators, for admins and teams."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

WRITE_FIELDS = {"org_id", "node_id", "version", "etag", "changed", "config"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def version_rows(db, org_id: str, node_id: str) -> int:
    return db.execute(
        "SELECT count(*) FROM node_config_versions WHERE org_id = %s AND node_id = %s", (org_id, node_id)
    ).fetchone()[0]


def config_events(db, org_id: str, node_id: str) -> int:
    return db.execute(
        "SELECT count(*) FROM audit_events WHERE org_id = %s AND target_id = %s AND action LIKE 'config.%%'",
        (org_id, node_id),
    ).fetchone()[0]


def stored(db, org_id: str, node_id: str) -> tuple[dict, int]:
    return db.execute(
        "SELECT config_json, version FROM node_configurations WHERE org_id = %s AND node_id = %s", (org_id, node_id)
    ).fetchone()


def raw_patch(client, url: str, body, content_type: str, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.patch(url, content=data, headers={"Content-Type": content_type, **headers})


# ---- PATCH as merge patch -----------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json",
    "application/merge-patch+json; charset=utf-8"])
def test_patch_merge_patch_media_types(org, db, content_type):
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    response = raw_patch(org.admin, url, {"config": {"tools": {"a": True}, "model": "m"}, "reason": "first"},
        content_type)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == WRITE_FIELDS
    assert body["org_id"] == org.org_id and body["node_id"] == "sre"
    assert body["version"] == 2 and body["changed"] is True
    assert body["config"] == {"tools": {"a": True}, "model": "m"}
    assert response.headers["etag"] == '"2"'

    refused = raw_patch(org.admin, url, {"config": {"tools": {"b": False}, "model": None}, "unknown": 1}, content_type)
    assert refused.status_code == 422 and refused.json()["path"] == "/unknown"  # never silently ignored
    response = raw_patch(org.admin, url, {"config": {"tools": {"b": False}, "model": None}}, content_type)
    assert response.status_code == 200, response.text
    assert response.json()["config"] == {"tools": {"a": True, "b": False}}
    assert response.json()["version"] == 3
    assert stored(db, org.org_id, "sre") == ({"tools": {"a": True, "b": False}}, 3)


def test_patch_without_content_type_is_a_merge_patch(org):
    # a client that sends no Content-Type at all is read as application/json
    org.add_node("sre")
    response = org.admin.patch(org.node_path("sre") + "/config", content=b'{"config": {"a": 1}}')
    assert "content-type" not in response.request.headers
    assert response.status_code == 200, response.text
    assert response.json()["config"] == {"a": 1}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"reason": "no config"}, 422, "invalid_request"),
        ({"config": [1, 2]}, 422, "invalid_config"),
        ({"config": "text"}, 422, "invalid_config"),
        ({"config": None}, 422, "invalid_config"),
        ([{"config": {}}], 422, "invalid_request"),
        ({"config": {}, "reason": 5}, 422, "invalid_request"),
        ({"config": {}, "reason": "x" * 2001}, 422, "invalid_request"),
    ],
)
def test_patch_bad_envelopes_are_refused_and_write_nothing(org, db, body, status, code):
    org.add_node("sre")
    response = org.admin.patch(org.node_path("sre") + "/config", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert {"type", "title", "status", "detail", "code", "path"} <= set(problem)
    assert stored(db, org.org_id, "sre") == ({}, 1)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
def test_unsupported_media_type_is_415(org, db, content_type):
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    data = b'{"config": {"a": 1}}'
    for method in ("PATCH", "PUT"):
        response = org.admin.request(method, url, content=data, headers={"Content-Type": content_type})
        assert response.status_code == 415, (method, response.text)
        assert response.json()["code"] == "unsupported_media_type"
    # a JSON Patch is not a PUT body
    response = org.admin.put(url, content=b"[]", headers=JSON_PATCH)
    assert response.status_code == 415
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        response = team.patch("/config/me", content=data, headers={"Content-Type": "text/plain"})
        assert response.status_code == 415
    assert stored(db, org.org_id, "sre") == ({}, 1)


# ---- PATCH as JSON Patch ------------------------------------------------------------------------


def test_json_patch_add_null_stores_a_tombstone_that_hides_the_inherited_value(org, db):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}})
    ops = [{"op": "add", "path": "/model", "value": None}, {"op": "add", "path": "/tools", "value": {"deploy": True}}]
    response = raw_patch(org.admin, org.node_path("sre") + "/config", ops, "application/json-patch+json",
        **{"X-Change-Reason": "hide model"})
    assert response.status_code == 200, response.text
    assert response.json()["config"] == {"model": None, "tools": {"deploy": True}}
    assert stored(db, org.org_id, "sre") == ({"model": None, "tools": {"deploy": True}}, 2)
    assert org.effective("sre") == {"tools": {"think": True, "deploy": True}}
    history = org.admin.get(org.node_path("sre") + "/history").json()["items"]
    assert history[0]["reason"] == "hide model"
    # removing the tombstone shows the inherited value again
    response = raw_patch(org.admin, org.node_path("sre") + "/config", [{"op": "remove", "path": "/model"}],
        "application/json-patch+json")
    assert response.status_code == 200
    assert org.effective("sre")["model"] == "gpt-4o"


def test_json_patch_failing_test_is_412_and_writes_nothing(org, db):
    org.add_node("sre")
    org.patch("sre", {"model": "a", "n": 1})
    before_rows = version_rows(db, org.org_id, "sre")
    before_events = config_events(db, org.org_id, "sre")
    ops = [
        {"op": "replace", "path": "/n", "value": 2},
        {"op": "test", "path": "/model", "value": "b"},
    ]
    response = raw_patch(org.admin, org.node_path("sre") + "/config", ops, "application/json-patch+json")
    assert response.status_code == 412, response.text
    assert response.json()["code"] == "precondition_failed"
    assert stored(db, org.org_id, "sre") == ({"model": "a", "n": 1}, 2)
    assert version_rows(db, org.org_id, "sre") == before_rows
    assert config_events(db, org.org_id, "sre") == before_events
    # a passing test makes the write
    ops[1]["value"] = "a"
    response = raw_patch(org.admin, org.node_path("sre") + "/config", ops, "application/json-patch+json")
    assert response.status_code == 200
    assert stored(db, org.org_id, "sre") == ({"model": "a", "n": 2}, 3)


@pytest.mark.parametrize(
    "body",
    [
        {"op": "add", "path": "/a", "value": 1},  # not an array
        [{"op": "remove", "path": "/missing"}],
        [{"op": "nope", "path": "/a"}],
        [{"op": "add", "path": "/a/b/c", "value": 1}],
        [{"op": "replace", "path": "", "value": [1]}],
        ["add"],
    ],
)
def test_json_patch_that_cannot_apply_is_422_and_writes_nothing(org, db, body):
    org.add_node("sre")
    response = raw_patch(org.admin, org.node_path("sre") + "/config", body, "application/json-patch+json")
    assert response.status_code == 422, response.text
    assert response.json()["code"] in ("invalid_request", "invalid_config")
    assert "path" in response.json()
    assert stored(db, org.org_id, "sre") == ({}, 1)


# ---- PUT -----------------------------------------------------------------------------------------


def test_put_replaces_the_whole_own_config_and_keeps_null_tombstones(org, db):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}})
    org.patch("sre", {"a": 1, "tools": {"x": True}})
    response = org.put("sre", {"model": None, "tools": {"y": True}}, reason="rewrite")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["config"] == {"model": None, "tools": {"y": True}}
    assert body["version"] == 3 and body["changed"] is True
    assert response.headers["etag"] == '"3"'
    assert stored(db, org.org_id, "sre") == ({"model": None, "tools": {"y": True}}, 3)
    assert org.effective("sre") == {"tools": {"think": True, "y": True}}
    assert org.admin.get(org.node_path("sre") + "/history").json()["items"][0]["reason"] == "rewrite"


def test_put_needs_a_config_object(org, db):
    org.add_node("sre")
    for body in ({}, {"config": [1]}, {"config": 3}, {"reason": "x"}):
        response = org.admin.put(org.node_path("sre") + "/config", json=body)
        assert response.status_code == 422, body
    assert stored(db, org.org_id, "sre") == ({}, 1)


# ---- rollback -----------------------------------------------------------------------------------


def test_rollback_makes_an_old_version_current_as_a_new_version(org, db):
    org.add_node("sre")
    org.put("sre", {"model": "a", "tools": {"x": True}})  # v2
    org.put("sre", {"model": "b"})  # v3
    org.patch("sre", {"extra": 1})  # v4
    response = org.admin.post(org.node_path("sre") + "/config/rollback", json={"version": 2, "reason": "bad deploy"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == WRITE_FIELDS
    assert body["version"] == 5 and body["changed"] is True
    assert body["config"] == {"model": "a", "tools": {"x": True}}
    assert response.headers["etag"] == '"5"'
    assert stored(db, org.org_id, "sre") == ({"model": "a", "tools": {"x": True}}, 5)

    items = org.admin.get(org.node_path("sre") + "/history", params={"include_full": "true"}).json()["items"]
    assert [i["version"] for i in items] == [5, 4, 3, 2, 1]
    assert items[0]["reason"] == "bad deploy"
    assert items[0]["config"] == {"model": "a", "tools": {"x": True}}
    # the old versions are untouched
    assert items[3]["config"] == {"model": "a", "tools": {"x": True}}
    assert items[1]["config"] == {"model": "b", "extra": 1}

    action = db.execute(
        "SELECT action, details FROM audit_events WHERE org_id = %s AND target_id = 'sre' ORDER BY id DESC LIMIT 1",
        (org.org_id,),
    ).fetchone()
    assert action[0] == "config.rolled_back"
    assert action[1]["rolled_back_to"] == 2 and action[1]["version"] == 5

    # rollback to version 1 empties the node
    response = org.admin.post(org.node_path("sre") + "/config/rollback", json={"version": 1})
    assert response.status_code == 200
    assert response.json()["config"] == {} and response.json()["version"] == 6


def test_rollback_keeps_tombstones_of_the_old_version(org):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    org.put("sre", {"model": None})  # v2
    org.put("sre", {"other": 1})  # v3
    assert org.effective("sre") == {"model": "gpt-4o", "other": 1}
    response = org.admin.post(org.node_path("sre") + "/config/rollback", json={"version": 2})
    assert response.status_code == 200
    assert response.json()["config"] == {"model": None}
    assert org.effective("sre") == {}


@pytest.mark.parametrize(
    ("body", "status"),
    [({"version": 99}, 404), ({"version": 0}, 422), ({"version": 2**31}, 422), ({"version": 10**30}, 422),
     ({"version": "two"}, 422), ({"version": 1.5}, 422), ({}, 422), ([2], 422)],
)
def test_rollback_to_an_unknown_or_invalid_version(org, db, body, status):
    org.add_node("sre")
    org.patch("sre", {"a": 1})
    response = org.admin.post(org.node_path("sre") + "/config/rollback", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if status == 404:
        assert response.json()["code"] == "not_found"
    assert stored(db, org.org_id, "sre") == ({"a": 1}, 2)


def test_rollback_of_another_nodes_version_number_uses_this_nodes_history(org):
    org.add_node("sre")
    org.add_node("data")
    for i in range(3):
        org.patch("data", {"i": i})
    response = org.admin.post(org.node_path("sre") + "/config/rollback", json={"version": 3})
    assert response.status_code == 404


# ---- changed: false --------------------------------------------------------------------------------


def test_writes_that_change_nothing_answer_changed_false_and_store_nothing(org, db):
    org.add_node("sre")
    org.put("sre", {"model": "m", "tools": {"a": True}, "gone": None})
    rows, events = version_rows(db, org.org_id, "sre"), config_events(db, org.org_id, "sre")
    state = stored(db, org.org_id, "sre")
    url = org.node_path("sre") + "/config"
    attempts = [
        lambda: org.patch("sre", {}),
        lambda: org.patch("sre", {"model": "m", "tools": {"a": True}}),
        lambda: org.patch("sre", {"never-there": None}),
        lambda: org.put("sre", {"tools": {"a": True}, "gone": None, "model": "m"}),  # another key order
        lambda: raw_patch(org.admin, url, [], "application/json-patch+json"),
        lambda: raw_patch(org.admin, url, [{"op": "replace", "path": "/model", "value": "m"}],
            "application/json-patch+json"),
        lambda: org.admin.post(url + "/rollback", json={"version": 2}),
        lambda: org.admin.put(url, json={"patch": {"model": "m"}}),
    ]
    for attempt in attempts:
        response = attempt()
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["changed"] is False
        assert body["version"] == 2
        assert body["config"] == {"model": "m", "tools": {"a": True}, "gone": None}
    assert version_rows(db, org.org_id, "sre") == rows
    assert config_events(db, org.org_id, "sre") == events
    assert stored(db, org.org_id, "sre") == state
    assert org.own("sre")["version"] == 2


def test_every_change_writes_one_version_row_and_one_event(org, db):
    org.add_node("sre")
    assert version_rows(db, org.org_id, "sre") == 1
    org.patch("sre", {"a": 1})
    org.put("sre", {"b": 1})
    org.admin.post(org.node_path("sre") + "/config/rollback", json={"version": 2})
    assert version_rows(db, org.org_id, "sre") == 4
    assert config_events(db, org.org_id, "sre") == 3


# ---- history --------------------------------------------------------------------------------------


def test_history_items_newest_first_with_rfc6902_diffs(org):
    org.add_node("sre")
    org.patch("sre", {"model": "a", "tools": {"x": True}}, reason="one")
    org.patch("sre", {"model": "b", "tools": {"x": None}}, reason="two")
    org.put("sre", {"model": None})
    response = org.admin.get(org.node_path("sre") + "/history")
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None
    items = page["items"]
    assert [i["version"] for i in items] == [4, 3, 2, 1]
    for item in items:
        assert set(item) == {"version", "changed_at", "changed_by", "reason", "diff", "config"}
        assert item["config"] is None
        assert datetime.fromisoformat(item["changed_at"]).tzinfo is not None
        assert item["changed_by"] == "admin"
    assert [i["reason"] for i in items] == [None, "two", "one", "created"]
    assert items[3]["diff"] == []
    assert sorted(items[2]["diff"], key=lambda op: op["path"]) == [
        {"op": "add", "path": "/model", "value": "a"},
        {"op": "add", "path": "/tools", "value": {"x": True}},
    ]
    assert sorted(items[1]["diff"], key=lambda op: op["path"]) == [
        {"op": "replace", "path": "/model", "value": "b"},
        {"op": "remove", "path": "/tools/x"},
    ]
    # every diff, applied in order, rebuilds the config (they are real RFC 6902 patches)
    import jsonpatch

    config: dict = {}
    for item in reversed(items):
        config = jsonpatch.apply_patch(config, item["diff"])
    assert config == {"model": None}
    assert org.own("sre")["config"] == config


def test_history_paging_with_limit_cursor_and_before_version(org):
    org.add_node("sre")
    for i in range(6):
        org.patch("sre", {"i": i})  # versions 2..7
    url = org.node_path("sre") + "/history"
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = org.admin.get(url, params=params).json()
        assert len(page["items"]) <= 3
        seen += [i["version"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3
    page = org.admin.get(url, params={"before_version": 4, "limit": 2}).json()
    assert [i["version"] for i in page["items"]] == [3, 2]
    assert page["next_cursor"] is not None
    page = org.admin.get(url, params={"before_version": 3, "limit": 2}).json()
    assert [i["version"] for i in page["items"]] == [2, 1]
    assert page["next_cursor"] is None
    page = org.admin.get(url, params={"limit": 7}).json()
    assert len(page["items"]) == 7 and page["next_cursor"] is None
    bad_pages = (
        {"limit": 0}, {"limit": 501}, {"before_version": 0}, {"before_version": 2**31}, {"cursor": "garbage"},
        {"cursor": "\u00b2"}, {"cursor": "\u0663"}, {"cursor": "-1"}, {"cursor": "9" * 30}, {"cursor": ""},
    )
    for bad in bad_pages:
        response = org.admin.get(url, params=bad)
        assert response.status_code == 422, bad
        assert response.json()["code"] == "invalid_request"


def test_history_include_full_adds_each_versions_config(org):
    org.add_node("sre")
    org.patch("sre", {"a": 1})
    org.patch("sre", {"b": {"c": None}})
    items = org.admin.get(org.node_path("sre") + "/history", params={"include_full": "true"}).json()["items"]
    assert [i["config"] for i in items] == [{"a": 1, "b": {}}, {"a": 1}, {}]


# ---- team writes on /config/me ------------------------------------------------------------------


def test_team_writes_need_config_write(org, db):
    org.add_node("sre")
    with org.team_client("sre") as team:  # default scopes: no config:write
        for method, path, kwargs in (
            ("PATCH", "/config/me", {"json": {"config": {"a": 1}}}),
            ("PUT", "/config/me", {"json": {"config": {"a": 1}}}),
            ("POST", "/config/me/rollback", {"json": {"version": 1}}),
        ):
            response = team.request(method, path, **kwargs)
            assert response.status_code == 403, (method, path)
            assert response.json()["code"] == "insufficient_scope"
    assert stored(db, org.org_id, "sre") == ({}, 1)


def test_team_patch_put_json_patch_rollback_and_history(org, db):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}})
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        response = team.patch("/config/me", json={"config": {"tools": {"deploy": True}}, "merge": True, "reason": "r1"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == WRITE_FIELDS and body["version"] == 2 and body["changed"] is True
        assert body["config"] == {"tools": {"deploy": True}}
        # on /config/me the ETag is the effective etag
        assert response.headers["etag"] == f'"{body["etag"]}"'
        assert body["etag"] == team.get("/config/me").json()["etag"]

        response = raw_patch(team, "/config/me", [{"op": "add", "path": "/model", "value": None}],
            "application/json-patch+json", **{"X-Change-Reason": "r2"})
        assert response.status_code == 200, response.text
        assert team.get("/config/me").json()["effective_config"] == {"tools": {"think": True, "deploy": True}}

        response = team.put("/config/me", json={"config": {"x": 1}, "reason": "r3"})
        assert response.status_code == 200 and response.json()["version"] == 4

        response = team.post("/config/me/rollback", json={"version": 3, "reason": "r4"})
        assert response.status_code == 200, response.text
        assert response.json()["config"] == {"tools": {"deploy": True}, "model": None}
        assert response.json()["version"] == 5

        page = team.get("/config/me/history", params={"limit": 2}).json()
        assert [i["version"] for i in page["items"]] == [5, 4]
        assert [i["reason"] for i in page["items"]] == ["r4", "r3"]
        assert page["items"][0]["changed_by"].startswith(f"team:{org.org_id}/sre:")
        rest = team.get("/config/me/history", params={"cursor": page["next_cursor"], "include_full": "true"}).json()
        assert [i["version"] for i in rest["items"]] == [3, 2, 1]
        assert rest["items"][0]["config"] == {"tools": {"deploy": True}, "model": None}
        assert [i["reason"] for i in rest["items"]] == ["r2", "r1", "created"]
        assert team.post("/config/me/rollback", json={"version": 42}).status_code == 404
    assert stored(db, org.org_id, "sre")[1] == 5


# ---- validators (§6) --------------------------------------------------------------------------------


def test_admin_if_match_is_the_own_version_or_any_write_validator(org, db):
    org.add_node("sre")
    org.patch("sre", {"a": 1})  # v2
    url = org.node_path("sre") + "/config"
    etag = org.admin.get(url).headers["etag"]
    assert etag == '"2"'
    for method, kwargs in (
        ("PATCH", {"json": {"config": {"b": 1}}}),
        ("PUT", {"json": {"config": {"b": 1}}}),
        ("POST", {"json": {"version": 1}}),
    ):
        target = url + "/rollback" if method == "POST" else url
        response = org.admin.request(method, target, headers={"If-Match": '"1"'}, **kwargs)
        assert response.status_code == 412, method
        assert response.json()["code"] == "precondition_failed"
        assert response.json()["current"] == "2" and response.headers["etag"] == '"2"'
        # an old effective etag and an old v<version> are stale here too
        assert org.admin.request(method, target, headers={"If-Match": '"v1"'}, **kwargs).status_code == 412
        assert org.admin.request(method, target, headers={"If-Match": '"old"'}, **kwargs).status_code == 412
    assert stored(db, org.org_id, "sre") == ({"a": 1}, 2)
    assert version_rows(db, org.org_id, "sre") == 2

    response = org.admin.patch(url, json={"config": {"b": 1}}, headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] == '"3"'
    # the tag just used is now stale
    assert org.admin.patch(url, json={"config": {"c": 1}}, headers={"If-Match": etag}).status_code == 412
    assert org.admin.patch(url, json={"config": {"c": 1}}, headers={"If-Match": '"2", "3"'}).status_code == 200
    assert org.admin.patch(url, json={"config": {"d": 1}}, headers={"If-Match": "*"}).status_code == 200
    # If-Match is a strong comparison; an empty header conditions on nothing that can match
    assert org.admin.patch(url, json={"config": {"w": 1}}, headers={"If-Match": 'W/"5"'}).status_code == 412
    assert org.admin.patch(url, json={"config": {"w": 1}}, headers={"If-Match": ""}).status_code == 412
    # a JSON Patch honours If-Match too
    response = raw_patch(org.admin, url, [{"op": "add", "path": "/e", "value": 1}], "application/json-patch+json",
        **{"If-Match": '"1"'})
    assert response.status_code == 412
    assert stored(db, org.org_id, "sre")[1] == 5


def test_admin_own_config_if_none_match(org):
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    assert org.admin.get(url, headers={"If-None-Match": '"1"'}).status_code == 304
    org.patch("sre", {"a": 1})
    assert org.admin.get(url, headers={"If-None-Match": '"1"'}).status_code == 200


def test_team_if_match_effective_etag_fails_when_an_ancestor_changed(org, db):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        read = team.get("/config/me")
        etag = read.headers["etag"]
        own_version = read.json()["version"]
        # an ancestor change that this node sees
        org.patch(org.org_id, {"model": "o3"})
        response = team.patch("/config/me", json={"config": {"x": 1}}, headers={"If-Match": etag})
        assert response.status_code == 412
        assert response.json()["code"] == "precondition_failed"
        assert team.put("/config/me", json={"config": {"x": 1}}, headers={"If-Match": etag}).status_code == 412
        assert team.post("/config/me/rollback", json={"version": 1}, headers={"If-Match": etag}).status_code == 412
        assert stored(db, org.org_id, "sre") == ({}, 1)
        # a bare version is not a /config/me validator
        assert team.patch("/config/me", json={"config": {"x": 1}},
            headers={"If-Match": f'"{own_version}"'}).status_code == 412
        # "v<version>" conditions on the own config only: the ancestor change does not matter
        response = team.patch("/config/me", json={"config": {"x": 1}}, headers={"If-Match": f'"v{own_version}"'})
        assert response.status_code == 200, response.text
        assert response.json()["version"] == 2
        assert team.patch("/config/me", json={"config": {"x": 2}},
            headers={"If-Match": f'"v{own_version}"'}).status_code == 412
        # the fresh effective etag works
        fresh = team.get("/config/me").headers["etag"]
        response = team.patch("/config/me", json={"config": {"x": 3}}, headers={"If-Match": fresh})
        assert response.status_code == 200
        # and the ETag of the answer is the next valid validator
        assert team.patch("/config/me", json={"config": {"x": 4}},
            headers={"If-Match": response.headers["etag"]}).status_code == 200


def test_team_if_match_survives_an_ancestor_change_it_cannot_see(org):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    org.patch("sre", {"model": "mine"})
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        etag = team.get("/config/me").headers["etag"]
        org.patch(org.org_id, {"model": "o3"})  # hidden by the team's own value
        response = team.patch("/config/me", json={"config": {"x": 1}}, headers={"If-Match": etag})
        assert response.status_code == 200
