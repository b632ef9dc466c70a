"""The peer service's legacy forms (DESIGN §6): `PUT …/config {"patch": …}` = PATCH, and the
read aliases under /config/orgs/{org}/nodes/{node}/…, all answered with a `Deprecation` header."""

from __future__ import annotations

import pytest

WRITER = ["config:read", "config:write"]


def legacy(org, node_id: str, what: str) -> str:
    return f"/config/orgs/{org.org_id}/nodes/{node_id}/{what}"


def test_legacy_put_with_patch_acts_as_a_merge_patch(org, db):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    org.put("sre", {"tools": {"a": True}, "model": "o3"})
    url = org.node_path("sre") + "/config"
    response = org.admin.put(url, json={"patch": {"tools": {"b": True}, "model": None}, "reason": "legacy client"})
    assert response.status_code == 200, response.text
    assert response.headers["deprecation"] == "true"
    assert "deprecation" in response.headers.get("link", "")
    body = response.json()
    assert set(body) == {"org_id", "node_id", "version", "etag", "changed", "config"}
    # merged, not replaced; the null deleted the own key, so the inherited value shows again
    assert body["config"] == {"tools": {"a": True, "b": True}}
    assert body["version"] == 3 and body["changed"] is True
    assert response.headers["etag"] == '"3"'
    assert org.effective("sre") == {"tools": {"a": True, "b": True}, "model": "gpt-4o"}
    history = org.admin.get(org.node_path("sre") + "/history").json()["items"]
    assert history[0]["reason"] == "legacy client"
    action = db.execute(
        "SELECT action FROM audit_events WHERE org_id = %s AND target_id = 'sre' ORDER BY id DESC LIMIT 1", (org.org_id,
            )
    ).fetchone()[0]
    assert action == "config.written"


def test_canonical_put_has_no_deprecation_header(org):
    org.add_node("sre")
    response = org.put("sre", {"a": 1})
    assert response.status_code == 200
    assert "deprecation" not in response.headers
    assert "deprecation" not in org.patch("sre", {"b": 1}).headers
    # a body with both keys is neither form: 422, nothing written
    response = org.admin.put(org.node_path("sre") + "/config", json={"config": {"c": 1}, "patch": {"d": 1}})
    assert response.status_code == 422 and response.json()["path"] == "/patch"
    assert org.own("sre")["config"] == {"a": 1, "b": 1}


def test_legacy_put_by_a_team_on_config_me(org):
    org.add_node("sre")
    with org.team_client("sre", scopes=WRITER) as team:
        assert team.put("/config/me", json={"config": {"a": 1, "b": 2}}).status_code == 200
        response = team.put("/config/me", json={"patch": {"b": None, "c": 3}})
        assert response.status_code == 200, response.text
        assert response.headers["deprecation"] == "true"
        assert response.json()["config"] == {"a": 1, "c": 3}
        # the team's ETag is the effective etag, legacy or not
        assert response.headers["etag"] == f'"{response.json()["etag"]}"'
        # a no-op legacy write is changed: false
        again = team.put("/config/me", json={"patch": {"a": 1}})
        assert again.json()["changed"] is False
    with org.team_client("sre") as reader:
        response = reader.put("/config/me", json={"patch": {"a": 2}})
        assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"


def test_legacy_put_honours_if_match_and_locks(org, db):
    org.add_node("sre")
    url = org.node_path("sre") + "/config"
    response = org.admin.put(url, json={"patch": {"a": 1}}, headers={"If-Match": '"7"'})
    assert response.status_code == 412
    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]}).status_code == 200
    response = org.admin.put(url, json={"patch": {"model": "x"}})
    assert response.status_code == 403
    assert response.json()["code"] == "locked_path"
    assert response.json()["path"] == "/model"
    assert db.execute(
        "SELECT version FROM node_configurations WHERE org_id = %s AND node_id = 'sre'", (org.org_id,)
    ).fetchone()[0] == 1


@pytest.mark.parametrize("patch", [[1], "x", None])
def test_legacy_put_with_a_non_object_patch_is_422(org, patch):
    org.add_node("sre")
    response = org.admin.put(org.node_path("sre") + "/config", json={"patch": patch})
    assert response.status_code == 422


def test_legacy_read_aliases_match_the_canonical_reads(org):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"a": True}})
    org.put("sre", {"model": None})
    org.patch("sre", {"x": 1})
    pairs = [
        (legacy(org, "sre", "effective"), org.node_path("sre") + "/effective"),
        (legacy(org, "sre", "raw"), org.node_path("sre") + "/raw"),
        (legacy(org, "sre", "audit"), org.node_path("sre") + "/history"),
    ]
    for old, new in pairs:
        old_response = org.admin.get(old)
        assert old_response.status_code == 200, (old, old_response.text)
        assert old_response.headers["deprecation"] == "true"
        assert old_response.json() == org.admin.get(new).json()
        assert "deprecation" not in org.admin.get(new).headers
    effective = org.admin.get(legacy(org, "sre", "effective"))
    assert effective.headers["etag"] == f'"{effective.json()["etag"]}"'
    assert effective.json()["effective_config"] == {"tools": {"a": True}, "x": 1}


def test_legacy_effective_if_none_match_is_304_with_deprecation(org):
    org.add_node("sre")
    url = legacy(org, "sre", "effective")
    etag = org.admin.get(url).headers["etag"]
    response = org.admin.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["deprecation"] == "true"
    assert response.headers["etag"] == etag


def test_legacy_history_alias_pages_like_history(org):
    org.add_node("sre")
    for i in range(4):
        org.patch("sre", {"i": i}, reason=f"r{i}")
    page = org.admin.get(legacy(org, "sre", "audit"), params={"limit": 2, "include_full": "true"}).json()
    assert [i["version"] for i in page["items"]] == [5, 4]
    assert page["items"][0]["config"] == {"i": 3}
    rest = org.admin.get(legacy(org, "sre", "audit"), params={"cursor": page["next_cursor"]}).json()
    assert [i["version"] for i in rest["items"]] == [3, 2, 1]
    assert rest["next_cursor"] is None


def test_legacy_reads_by_team_tokens(org):
    org.add_node("sre")
    org.add_node("other")
    org.patch("sre", {"a": 1})
    with org.team_client("sre") as team:
        for what in ("effective", "raw", "audit"):
            response = team.get(legacy(org, "sre", what))
            assert response.status_code == 200, (what, response.text)
            assert response.headers["deprecation"] == "true"
            # another node, or another org, is refused
            assert team.get(legacy(org, "other", what)).status_code == 403
            assert team.get(f"/config/orgs/not-{org.org_id}/nodes/sre/{what}").status_code == 403
        assert team.get(legacy(org, "sre", "effective")).json() == team.get("/config/me").json()
    with org.team_client("sre", scopes=["runs:write"]) as no_read:
        response = no_read.get(legacy(org, "sre", "effective"))
        assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"


def test_legacy_reads_need_credentials_and_a_real_node(org, anon):
    assert anon.get(legacy(org, org.org_id, "effective")).status_code == 401
    assert org.admin.get(legacy(org, "missing", "effective")).status_code == 404
    assert org.admin.get(legacy(org, "missing", "raw")).status_code == 404
    assert org.admin.get(legacy(org, "missing", "audit")).status_code == 404
    assert org.admin.get(f"/config/orgs/{org.org_id}/nodes/bad.id/effective").status_code == 422


def test_config_me_patch_with_merge_flag_is_the_canonical_patch(org):
    org.add_node("sre")
    with org.team_client("sre", scopes=WRITER) as team:
        team.patch("/config/me", json={"config": {"a": 1}})
        response = team.patch("/config/me", json={"config": {"b": 2}, "merge": True})
        assert response.status_code == 200
        assert response.json()["config"] == {"a": 1, "b": 2}  # `merge: true` is the canonical merge patch
        # a PATCH always merges: asking for anything else is refused, not silently merged (DESIGN §2)
        refused = team.patch("/config/me", json={"config": {"c": 3}, "merge": False})
        assert refused.status_code == 422 and refused.json()["path"] == "/merge"
        assert team.get("/config/me/raw").json()["configs"]["sre"] == {"a": 1, "b": 2}
