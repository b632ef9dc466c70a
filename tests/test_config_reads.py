"""Own, effective and raw reads (DESIGN §5, §6, §7), for admins and for the team's /config/me."""

from __future__ import annotations

from datetime import datetime

import pytest

OWN_FIELDS = {"org_id", "node_id", "version", "config", "locked_paths", "updated_at", "updated_by"}
EFFECTIVE_FIELDS = {"org_id", "node_id", "version", "etag", "effective_config", "hierarchy"}


def tree(org):
    """org → platform → sre, and org → data (a sibling branch)."""
    org.add_node("platform")
    org.add_node("sre", "platform", name="SRE team")
    org.add_node("data")
    return org


def test_own_config_of_a_new_node_is_empty_at_version_1(org):
    org.add_node("sre")
    response = org.admin.get(org.node_path("sre") + "/config")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == OWN_FIELDS
    assert body["org_id"] == org.org_id and body["node_id"] == "sre"
    assert body["version"] == 1 and body["config"] == {} and body["locked_paths"] == []
    assert response.headers["etag"] == '"1"'
    assert datetime.fromisoformat(body["updated_at"]).tzinfo is not None
    assert body["updated_by"] == "admin"


def test_own_config_shows_only_the_nodes_own_document_with_tombstones(org):
    tree(org)
    assert org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}}).status_code == 200
    assert org.put("sre", {"model": None, "tools": {"deploy": True}}).status_code == 200
    response = org.admin.get(org.node_path("sre") + "/config")
    body = response.json()
    assert body["config"] == {"model": None, "tools": {"deploy": True}}
    assert body["version"] == 2
    assert response.headers["etag"] == '"2"'
    assert body["updated_by"] == "admin"


def test_effective_merges_the_lineage_root_first(org):
    tree(org)
    org.patch(org.org_id, {"tools": {"think": True, "web_search": True}, "model": "gpt-4o",
        "routing": {"services": ["a", "b"]}})
    org.patch("platform", {"tools": {"k8s": True}, "notifications": {"default_slack_channel_id": "C1"}})
    # PUT stores the null as a tombstone (a PATCH null would only delete an own key)
    org.put("sre", {"tools": {"web_search": False, "deploy": True}, "model": None, "routing": {"services": ["c"]}})
    org.patch("data", {"model": "o3"})

    response = org.admin.get(org.node_path("sre") + "/effective")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == EFFECTIVE_FIELDS
    assert body["effective_config"] == {
        "tools": {"think": True, "web_search": False, "deploy": True, "k8s": True},
        "routing": {"services": ["c"]},
        "notifications": {"default_slack_channel_id": "C1"},
    }
    assert body["hierarchy"] == [org.org_id, "platform", "sre"]
    assert body["org_id"] == org.org_id and body["node_id"] == "sre"
    assert body["version"] == 2  # the node's own version
    assert response.headers["etag"] == f'"{body["etag"]}"'
    assert body["etag"] and '"' not in body["etag"]

    root = org.admin.get(org.node_path(org.org_id) + "/effective").json()
    assert root["hierarchy"] == [org.org_id]
    assert root["effective_config"]["model"] == "gpt-4o"
    assert org.effective("data")["model"] == "o3"  # a sibling branch is untouched


def test_patch_null_shows_the_inherited_value_again(org):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    org.patch("sre", {"model": "o3"})
    assert org.effective("sre")["model"] == "o3"
    org.patch("sre", {"model": None})
    assert org.own("sre")["config"] == {}
    assert org.effective("sre")["model"] == "gpt-4o"


def test_raw_lists_lineage_and_own_configs_with_tombstones_as_null(org):
    tree(org)
    org.patch(org.org_id, {"model": "gpt-4o"})
    org.put("sre", {"model": None, "x": {"y": None, "z": 1}})
    response = org.admin.get(org.node_path("sre") + "/raw")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"lineage", "configs"}
    assert body["lineage"] == [
        {"node_id": org.org_id, "node_type": "org", "name": f"Org {org.org_id}", "parent_node_id": None, "version": 2},
        {"node_id": "platform", "node_type": "team", "name": "platform", "parent_node_id": org.org_id, "version": 1},
        {"node_id": "sre", "node_type": "team", "name": "SRE team", "parent_node_id": "platform", "version": 2},
    ]
    assert body["configs"] == {
        org.org_id: {"model": "gpt-4o"},
        "platform": {},
        "sre": {"model": None, "x": {"y": None, "z": 1}},
    }


def test_team_reads_its_own_node_under_config_me(org):
    tree(org)
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}})
    org.patch("sre", {"tools": {"deploy": True}})
    admin_view = org.admin.get(org.node_path("sre") + "/effective").json()
    with org.team_client("sre") as team:
        for path in ("/config/me", "/config/me/effective"):
            response = team.get(path)
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == EFFECTIVE_FIELDS
            assert body == admin_view
            assert response.headers["etag"] == f'"{admin_view["etag"]}"'
        raw = team.get("/config/me/raw")
        assert raw.status_code == 200
        assert raw.json() == org.admin.get(org.node_path("sre") + "/raw").json()


def test_team_without_config_read_cannot_read(org):
    org.add_node("sre")
    with org.team_client("sre", scopes=["runs:write"]) as team:
        for path in ("/config/me", "/config/me/effective", "/config/me/raw", "/config/me/history"):
            response = team.get(path)
            assert response.status_code == 403, path
            assert response.json()["code"] == "insufficient_scope"


def test_team_token_cannot_use_admin_node_paths(org):
    org.add_node("sre")
    org.add_node("other")
    with org.team_client("sre") as team:
        for path in ("/config", "/effective", "/raw", "/history", "/locks"):
            assert team.get(org.node_path("sre") + path).status_code == 403
            assert team.get(org.node_path("other") + path).status_code == 403


def test_unknown_node_is_404_problem(org):
    for path in ("/config", "/effective", "/raw", "/history", "/locks"):
        response = org.admin.get(org.node_path("nope") + path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "not_found"


def test_if_none_match_gives_304_on_effective_reads(org):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o"})
    first = org.admin.get(org.node_path("sre") + "/effective")
    etag = first.headers["etag"]
    again = org.admin.get(org.node_path("sre") + "/effective", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = org.admin.get(org.node_path("sre") + "/effective", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    with org.team_client("sre") as team:
        assert team.get("/config/me", headers={"If-None-Match": etag}).status_code == 304
        assert team.get("/config/me/effective", headers={"If-None-Match": etag}).status_code == 304
        # a change above the node makes the old tag stale
        org.patch(org.org_id, {"model": "o3"})
        changed = team.get("/config/me", headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert changed.json()["effective_config"] == {"model": "o3"}


def _etag(org, node_id: str) -> str:
    response = org.admin.get(org.node_path(node_id) + "/effective")
    assert response.status_code == 200
    return response.json()["etag"]


def test_etag_changes_exactly_when_effective_content_changes(org):
    tree(org)
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"a": True}})
    org.patch("sre", {"model": "o3"})
    base = _etag(org, "sre")

    # an ancestor change hidden by the node's own override: same content, same tag
    org.patch(org.org_id, {"model": "claude"})
    assert _etag(org, "sre") == base
    # a change in another branch: same tag
    org.patch("data", {"x": 1})
    assert _etag(org, "sre") == base
    # an own-config change that does not change the effective content (a tombstone for a key
    # nobody sets): new own version, same tag
    own_before = org.own("sre")["version"]
    response = org.patch("sre", {"ghost": {"deep": None}})
    assert response.status_code == 200 and response.json()["changed"] is True
    response = org.put("sre", {"model": "o3", "ghost": None})
    assert response.json()["changed"] is True
    assert org.own("sre")["version"] == own_before + 2
    assert _etag(org, "sre") == base
    # a visible ancestor change: new tag
    org.patch(org.org_id, {"tools": {"b": True}})
    changed = _etag(org, "sre")
    assert changed != base
    # and back: the tag is a function of the content, so it comes back too
    org.patch(org.org_id, {"tools": {"b": None}})
    assert _etag(org, "sre") == base
    # a lock above that hides the node's own value changes the content, so the tag
    response = org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]})
    assert response.status_code == 200
    assert org.effective("sre")["model"] == "claude"
    assert _etag(org, "sre") != base


def test_write_result_etag_is_the_effective_etag(org):
    org.add_node("sre")
    response = org.patch("sre", {"a": 1})
    assert response.json()["etag"] == _etag(org, "sre")


def test_effective_version_is_the_own_version(org):
    org.add_node("sre")
    org.patch("sre", {"a": 1})
    org.patch("sre", {"b": 1})
    org.patch(org.org_id, {"c": 1})
    body = org.admin.get(org.node_path("sre") + "/effective").json()
    assert body["version"] == 3


@pytest.mark.parametrize("path", ["/config", "/effective", "/raw"])
def test_org_admin_token_reads_its_org_only(make_org, path):
    mine = make_org("mine")
    theirs = make_org("theirs")
    token = mine.admin_token()
    with mine.client(token) as client:
        assert client.get(mine.node_path(mine.org_id) + path).status_code == 200
        response = client.get(theirs.node_path(theirs.org_id) + path)
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
