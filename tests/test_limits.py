"""Limits (DESIGN §6): body size, own-config size, nesting, key length, top-level shape, invalid
and pathological JSON, effective size across the subtree. Nothing is written on any error."""

from __future__ import annotations

import json

import httpx
import pytest

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
MiB = 1024 * 1024
KiB = 1024


def stored(db, org_id: str, node_id: str) -> tuple[dict, int]:
    return db.execute(
        "SELECT config_json, version FROM node_configurations WHERE org_id = %s AND node_id = %s", (org_id, node_id)
    ).fetchone()


def version_rows(db, org_id: str) -> int:
    return db.execute("SELECT count(*) FROM node_config_versions WHERE org_id = %s", (org_id,)).fetchone()[0]


def assert_problem(response: httpx.Response, status: int, code: str, *, path: bool = False) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_FIELDS <= set(body)
    assert body["status"] == status and body["code"] == code
    assert isinstance(body["type"], str) and isinstance(body["title"], str) and isinstance(body["detail"], str)
    if path:
        assert "path" in body
    return body


def nested(depth: int) -> dict:
    """An object nested `depth` levels deep (the top-level object is level 1)."""
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


# ---- body and own-config size ------------------------------------------------------------------


def test_request_body_over_1_mib_is_413(org, db):
    org.add_node("sre")
    big = {"config": {"blob": "x" * (MiB + 10)}}
    assert_problem(org.patch("sre", big["config"]), 413, "payload_too_large")
    assert_problem(org.put("sre", big["config"]), 413, "payload_too_large")
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        assert_problem(team.patch("/config/me", json=big), 413, "payload_too_large")
    assert stored(db, org.org_id, "sre") == ({}, 1)


def test_chunked_request_body_over_1_mib_is_413(org, db):
    org.add_node("sre")
    payload = json.dumps({"config": {"blob": "x" * (MiB + 10)}}).encode()

    def chunks():
        for start in range(0, len(payload), 64 * KiB):
            yield payload[start : start + 64 * KiB]

    response = org.admin.patch(
        org.node_path("sre") + "/config", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
    assert stored(db, org.org_id, "sre") == ({}, 1)


def test_own_config_over_256_kib_is_413(org, db):
    org.add_node("sre")
    assert_problem(org.put("sre", {"blob": "x" * (256 * KiB + 1)}), 413, "payload_too_large")
    # grown in steps past the limit by merge patches
    assert org.patch("sre", {"a": "x" * (200 * KiB)}).status_code == 200
    assert_problem(org.patch("sre", {"b": "x" * (60 * KiB)}), 413, "payload_too_large")
    ops = [{"op": "add", "path": "/b", "value": "x" * (60 * KiB)}]
    response = org.admin.patch(
        org.node_path("sre") + "/config", content=json.dumps(ops),
        headers={"Content-Type": "application/json-patch+json"}
    )
    assert_problem(response, 413, "payload_too_large")
    config, version = stored(db, org.org_id, "sre")
    assert version == 2 and set(config) == {"a"}
    # just under the limit is fine
    assert org.put("sre", {"blob": "x" * (250 * KiB)}).status_code == 200


def test_effective_config_over_1_mib_anywhere_in_the_subtree_is_422(org, db):
    # root → t1 → t2 → t3 → t4, each able to hold ~250 KB of its own
    chunk = 250_000
    parent = org.org_id
    for node in ("t1", "t2", "t3", "t4"):
        org.add_node(node, parent)
        parent = node
    for node in (org.org_id, "t2", "t3", "t4"):
        assert org.patch(node, {f"blob_{node}": "x" * chunk}).status_code == 200
    # t4 sees 4 × 250 KB < 1 MiB
    assert len(json.dumps(org.effective("t4"))) < MiB
    before_rows = version_rows(db, org.org_id)
    # t1's own effective would be small, but t4's would exceed 1 MiB
    response = org.patch("t1", {"blob_t1": "x" * chunk})
    body = assert_problem(response, 422, "invalid_config", path=True)
    assert "t4" in body["detail"]
    assert stored(db, org.org_id, "t1") == ({}, 1)
    assert version_rows(db, org.org_id) == before_rows
    # writing the same amount that replaces (not adds to) inherited content is fine
    response = org.patch("t1", {f"blob_{org.org_id}": None, "small": 1})
    assert response.status_code == 200


def test_shrinking_a_node_can_still_grow_a_descendant_past_1_mib(make_org, db):
    org = make_org("shrink")
    parent = org.org_id
    for node in ("mid", "leaf", "leaf2", "leaf3", "leaf4"):
        org.add_node(node, parent)
        parent = node
    # the root holds a big scalar at /a; leaf's own /a is an object that replaces it
    big = 255_000
    assert org.patch(org.org_id, {"a": "s" * big}).status_code == 200
    assert org.patch("leaf", {"a": {"leaf": "l" * big}}).status_code == 200
    assert org.patch("leaf2", {"b": "b" * big}).status_code == 200
    assert org.patch("leaf3", {"c": "c" * big}).status_code == 200
    assert org.patch("leaf4", {"d": "d" * big}).status_code == 200
    assert len(json.dumps(org.effective("leaf4"))) < MiB  # the root's /a is replaced at leaf
    # mid turns /a into a smaller object: mid's own effective config shrinks, but leaf's /a now
    # merges into mid's object, so leaf4's effective config grows past 1 MiB
    response = org.patch("mid", {"a": {"mid": "m" * (big - 30_000)}})
    body = assert_problem(response, 422, "invalid_config", path=True)
    assert "leaf4" in body["detail"]
    assert stored(db, org.org_id, "mid") == ({}, 1)


# ---- shape ---------------------------------------------------------------------------------------


def test_nesting_of_32_is_fine_and_33_is_422(org, db):
    org.add_node("sre")
    assert org.put("sre", nested(32)).status_code == 200
    body = assert_problem(org.put("sre", nested(33)), 422, "invalid_config", path=True)
    assert body["path"].startswith("/n/n/")
    # lists count as levels too
    value: object = [1]
    for _ in range(32):
        value = [value]
    assert_problem(org.put("sre", {"l": value}), 422, "invalid_config", path=True)
    # a merge patch that deepens an existing document past the limit: 31 levels plus a
    # patch that adds two more under the deepest object
    assert org.put("sre", nested(31)).status_code == 200
    target: dict = {}
    cursor = target
    for _ in range(30):
        cursor["n"] = {}
        cursor = cursor["n"]
    cursor["deeper"] = {"x": {"y": 1}}
    assert_problem(org.patch("sre", target), 422, "invalid_config", path=True)
    assert stored(db, org.org_id, "sre")[0] == nested(31)


def test_keys_up_to_256_characters(org, db):
    org.add_node("sre")
    assert org.put("sre", {"k" * 256: 1, "a": {"b" * 256: 2}}).status_code == 200
    assert_problem(org.put("sre", {"k" * 257: 1}), 422, "invalid_config", path=True)
    assert_problem(org.patch("sre", {"a": {"b" * 257: 1}}), 422, "invalid_config", path=True)
    assert stored(db, org.org_id, "sre")[1] == 2


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b'{"config": {"a": {"b": "x\\u0000y"}}}', "/a/b"),
        (b'{"config": {"l": ["ok", "\\u0000"]}}', "/l/1"),
        (b'{"config": {"k\\u0000": 1}}', "/k"),
    ],
)
def test_nul_characters_are_422_with_their_path(org, db, raw, path):
    # PostgreSQL JSONB cannot hold U+0000: refused before the database sees it
    org.add_node("sre")
    response = org.admin.patch(org.node_path("sre") + "/config", content=raw,
        headers={"Content-Type": "application/json"})
    body = assert_problem(response, 422, "invalid_config", path=True)
    assert body["path"] == path
    response = org.admin.put(org.node_path("sre") + "/locks", content=b'{"locked_paths": ["/a\\u0000"]}')
    assert_problem(response, 422, "invalid_request", path=True)
    assert stored(db, org.org_id, "sre") == ({}, 1)


@pytest.mark.parametrize("value", [[1, 2], "text", 3, None, True])
def test_top_level_must_be_an_object(org, db, value):
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    assert_problem(org.admin.put(url, json={"config": value}), 422, "invalid_config", path=True)
    assert_problem(org.admin.patch(url, json={"config": value}), 422, "invalid_config", path=True)
    ops = [{"op": "replace", "path": "", "value": value}]
    response = org.admin.patch(url, content=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"})
    assert response.status_code == 422
    assert stored(db, org.org_id, "sre") == ({}, 1)


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"config": {"a": }}', b"not json", b"\xff\xfe{}", b'{"config": {"a": 1}} trailing', b"", b"   "],
)
def test_invalid_json_is_400(org, db, raw):
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    for method, content_type in (
        ("PATCH", "application/json"),
        ("PATCH", "application/merge-patch+json"),
        ("PATCH", "application/json-patch+json"),
        ("PUT", "application/json"),
    ):
        response = org.admin.request(method, url, content=raw, headers={"Content-Type": content_type})
        assert_problem(response, 400, "invalid_json")
    response = org.admin.post(url + "/rollback", content=raw, headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "invalid_json")
    assert stored(db, org.org_id, "sre") == ({}, 1)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"config": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
        b'{"a":' * 100_000,
    ],
    ids=["open brackets", "balanced brackets", "deep config", "open objects"],
)
def test_pathologically_deep_json_is_never_a_500(org, db, raw):
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    targets = [
        ("PATCH", url, "application/json"),
        ("PATCH", url, "application/json-patch+json"),
        ("PUT", url, "application/json"),
        ("POST", url + "/rollback", "application/json"),
        ("PUT", org.node_path("sre") + "/locks", "application/json"),
    ]
    for method, target, content_type in targets:
        response = org.admin.request(method, target, content=raw, headers={"Content-Type": content_type})
        assert response.status_code in (400, 422), (method, target, response.status_code, response.text[:200])
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] in ("invalid_json", "invalid_config", "invalid_request")
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        response = team.patch("/config/me", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code in (400, 422)
    assert stored(db, org.org_id, "sre") == ({}, 1)


def test_nothing_is_written_on_any_error(org, db):
    org.add_node("sre")
    org.patch("sre", {"a": 1})
    rows = version_rows(db, org.org_id)
    events = db.execute("SELECT count(*) FROM audit_events WHERE org_id = %s", (org.org_id,)).fetchone()[0]
    url = org.node_path("sre") + "/config"
    failures = [
        org.admin.put(url, json={"config": nested(40)}),
        org.admin.put(url, json={"config": {"x" * 300: 1}}),
        org.admin.put(url, json={"config": {"b": "x" * (300 * KiB)}}),
        org.admin.patch(url, content=b"{", headers={"Content-Type": "application/json"}),
        org.admin.patch(url, json={"config": {"b": 1}}, headers={"If-Match": '"1"'}),
        org.admin.post(url + "/rollback", json={"version": 77}),
    ]
    assert all(r.status_code >= 400 for r in failures)
    assert stored(db, org.org_id, "sre") == ({"a": 1}, 2)
    assert version_rows(db, org.org_id) == rows
    assert db.execute("SELECT count(*) FROM audit_events WHERE org_id = %s", (org.org_id,)).fetchone()[0] == events


@pytest.mark.parametrize("depth", [40, 400, 1000])
def test_deep_but_parseable_json_is_422_on_every_write_form(org, db, depth):
    # orjson parses up to 1024 levels; nothing recursive may see them (merge, deepcopy, JSON Patch)
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    deep = '{"a":' * depth + "1" + "}" * depth
    attempts = [
        ("PATCH", url, "application/json", '{"config": ' + deep + "}"),
        ("PUT", url, "application/json", '{"config": ' + deep + "}"),
        ("PUT", url, "application/json", '{"patch": ' + deep + "}"),
        ("PATCH", url, "application/json-patch+json", '[{"op": "add", "path": "/x", "value": ' + deep + "}]"),
        ("PATCH", url, "application/json-patch+json", '[{"op": "test", "path": "/x", "value": ' + deep + "}]"),
    ]
    for method, target, content_type, body in attempts:
        response = org.admin.request(method, target, content=body.encode(), headers={"Content-Type": content_type})
        assert_problem(response, 422, "invalid_config", path=True)
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        response = team.put("/config/me", content=('{"config": ' + deep + "}").encode(),
            headers={"Content-Type": "application/json"})
        assert_problem(response, 422, "invalid_config", path=True)
    assert stored(db, org.org_id, "sre") == ({}, 1)


def test_json_patch_copy_amplification_is_refused(org, db):
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    org.put("sre", {"blob": "x" * 10_000})
    # each copy of the root doubles the document
    grow = [{"op": "copy", "from": "", "path": f"/a{i}"} for i in range(40)]
    response = org.admin.patch(url, content=json.dumps(grow), headers={"Content-Type": "application/json-patch+json"})
    assert_problem(response, 413, "payload_too_large")
    # each copy of the root nests it one level deeper
    nest = [{"op": "copy", "from": "", "path": "/a"}] * 5000
    response = org.admin.patch(url, content=json.dumps(nest), headers={"Content-Type": "application/json-patch+json"})
    assert_problem(response, 422, "invalid_config", path=True)
    assert stored(db, org.org_id, "sre")[1] == 2
    # a few legitimate copies are fine
    response = org.admin.patch(
        url, content=json.dumps([{"op": "copy", "from": "/blob", "path": "/blob2"}]),
        headers={"Content-Type": "application/json-patch+json"}
    )
    assert response.status_code == 200
