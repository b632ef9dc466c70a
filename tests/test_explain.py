"""Explain (DESIGN §7) through the real server: `GET /config/me/explain` (team, `config:read`)
and `GET /admin/orgs/{org}/nodes/{node}/explain` (admin)."""

from __future__ import annotations

import json

from psycopg.types.json import Jsonb

ENVELOPE = "$enc:v1:k1:c2VjcmV0LWNpcGhlcnRleHQ="
OTHER_ENVELOPE = "$enc:v1:k1:b3RoZXItY2lwaGVydGV4dA=="


def explain(org, node_id: str) -> dict:
    response = org.admin.get(org.node_path(node_id) + "/explain")
    assert response.status_code == 200, response.text
    return response.json()["paths"]


def store_own(db, org_id: str, node_id: str, config: dict) -> None:
    """Store an own config directly (secrets cannot be written through the API before issue #3)."""
    db.execute(
        "UPDATE node_configurations SET config_json = %s WHERE org_id = %s AND node_id = %s",
        (Jsonb(config), org_id, node_id),
    )


def _leaves(value, pointer=""):
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaves(child, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}")
    elif pointer:
        yield pointer, value


def test_team_explain_names_source_version_overrides_and_tombstones(org):
    org.add_node("platform")
    org.add_node("sre", parent="platform")
    assert org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True, "web_search": True},
                                  "routing": {"services": ["a", "b"]}, "timeout": 30}).status_code == 200
    assert org.patch("platform", {"timeout": 60, "tools": {"web_search": False}}).status_code == 200
    assert org.patch("platform", {"tools": {"deploy": True}}).status_code == 200  # platform now at v3
    # PUT keeps null values as tombstones
    assert org.put("sre", {"model": None, "timeout": 90, "routing": {"services": ["c"]}}).status_code == 200

    with org.team_client("sre", scopes=["config:read"]) as team:
        response = team.get("/config/me/explain")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    paths = response.json()["paths"]
    root = org.org_id

    def entry(value, node_id, version, overrides=()):
        return {"value": value, "node_id": node_id, "version": version, "locked_by": None, "secret": False,
                "fingerprint": None, "overrides": [{"node_id": n, "value": v} for n, v in overrides]}

    assert paths == {
        "/model": entry(None, "sre", 2, [(root, "gpt-4o")]),
        "/tools/think": entry(True, root, 2),
        "/tools/web_search": entry(False, "platform", 3, [(root, True)]),
        "/tools/deploy": entry(True, "platform", 3),
        "/routing/services": entry(["c"], "sre", 2, [(root, ["a", "b"])]),
        "/timeout": entry(90, "sre", 2, [("platform", 60), (root, 30)]),
    }
    # every effective leaf is explained, with the same value; the rest are tombstones
    effective = org.effective("sre")
    leaves = dict(_leaves(effective))
    assert {p for p, e in paths.items() if p in leaves} == set(leaves)
    for pointer, value in leaves.items():
        assert paths[pointer]["value"] == value
    assert [p for p in paths if p not in leaves] == ["/model"]


def test_admin_explain_is_the_same_as_the_teams(org):
    org.add_node("sre")
    org.patch(org.org_id, {"a": {"b": 1, "c": [1, 2]}, "x": "y"})
    org.patch("sre", {"a": {"b": 2}})
    with org.team_client("sre") as team:
        team_view = team.get("/config/me/explain").json()
    admin_view = org.admin.get(org.node_path("sre") + "/explain").json()
    assert team_view == admin_view
    assert list(admin_view) == ["paths"]
    root_view = explain(org, org.org_id)
    assert root_view["/a/b"] == {"value": 1, "node_id": org.org_id, "version": 2, "locked_by": None,
                                 "secret": False, "fingerprint": None, "overrides": []}
    assert root_view["/a/c"]["value"] == [1, 2], "lists are leaves"
    assert "/a/c/0" not in root_view


def test_an_org_admin_token_reads_explain_of_its_own_org_only(org, make_org):
    org.add_node("sre")
    other = make_org("other")
    with org.client(org.admin_token()) as org_admin:
        assert org_admin.get(org.node_path("sre") + "/explain").status_code == 200
        refused = org_admin.get(other.node_path(other.org_id) + "/explain")
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


def test_explain_needs_config_read_and_teams_cannot_use_admin_paths(org):
    org.add_node("sre")
    org.add_node("other")
    with org.team_client("sre", scopes=["runs:write"]) as weak:
        response = weak.get("/config/me/explain")
        assert response.status_code == 403
        assert response.json()["code"] == "insufficient_scope"
    with org.team_client("sre", scopes=["config:read"]) as team:
        assert team.get(org.node_path("sre") + "/explain").status_code == 403
        assert team.get(org.node_path("other") + "/explain").status_code == 403
    assert org.admin.get("/config/me/explain").status_code == 403, "admins use the node paths"


def test_explain_of_unknown_or_invalid_nodes(org, anon):
    missing = org.admin.get(org.node_path("nope") + "/explain")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert org.admin.get(f"/admin/orgs/{org.org_id}/nodes/bad.id/explain").status_code == 422
    assert anon.get(org.node_path(org.org_id) + "/explain").status_code == 401


def test_explain_names_the_lock_and_ignores_values_set_below_before_it(org):
    org.add_node("sre")
    org.patch(org.org_id, {"agents": {"planner": {"model": "gpt-4o", "temperature": 0.2}}})
    org.patch("sre", {"agents": {"planner": {"model": "o3", "temperature": 0.9}}})  # before the lock
    response = org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/agents/planner/model"]})
    assert response.status_code == 200, response.text

    paths = explain(org, "sre")
    assert paths["/agents/planner/model"] == {
        "value": "gpt-4o", "node_id": org.org_id, "version": 2, "locked_by": org.org_id,
        "secret": False, "fingerprint": None, "overrides": [],
    }
    assert paths["/agents/planner/temperature"]["value"] == 0.9
    assert paths["/agents/planner/temperature"]["locked_by"] is None
    assert paths["/agents/planner/temperature"]["overrides"] == [{"node_id": org.org_id, "value": 0.2}]
    assert org.effective("sre")["agents"]["planner"]["model"] == "gpt-4o"
    # the locking node shows its own lock
    assert explain(org, org.org_id)["/agents/planner/model"]["locked_by"] == org.org_id


def test_secrets_are_masked_with_a_fingerprint_never_the_value(org, db):
    org.add_node("sre")
    store_own(db, org.org_id, org.org_id, {"integrations": {"coralogix": {"api_key": ENVELOPE, "domain": "eu2"}}})
    with org.team_client("sre") as team:  # holds secrets:read — explain still masks
        response = team.get("/config/me/explain")
    assert response.status_code == 200, response.text
    assert "$enc:" not in response.text
    key = response.json()["paths"]["/integrations/coralogix/api_key"]
    assert key["value"] == "********"
    assert key["secret"] is True
    assert isinstance(key["fingerprint"], str) and key["fingerprint"]
    assert response.json()["paths"]["/integrations/coralogix/domain"]["secret"] is False
    assert response.json()["paths"]["/integrations/coralogix/domain"]["fingerprint"] is None

    # stable while the secret is unchanged, different once it changes; overrides are masked too
    assert explain(org, "sre")["/integrations/coralogix/api_key"]["fingerprint"] == key["fingerprint"]
    store_own(db, org.org_id, "sre", {"integrations": {"coralogix": {"api_key": OTHER_ENVELOPE}}})
    response = org.admin.get(org.node_path("sre") + "/explain")
    assert "$enc:" not in response.text
    changed = response.json()["paths"]["/integrations/coralogix/api_key"]
    assert changed["fingerprint"] != key["fingerprint"]
    assert changed["node_id"] == "sre"
    assert changed["overrides"] == [{"node_id": org.org_id, "value": "********"}]
    assert ENVELOPE not in json.dumps(response.json()) and OTHER_ENVELOPE not in json.dumps(response.json())


def test_explain_of_an_empty_config_is_empty(org):
    org.add_node("sre")
    assert explain(org, "sre") == {}


def test_fingerprint_is_of_the_envelope_not_the_plaintext(org):
    """Two nodes holding the same secret plaintext (different envelopes) have different
    fingerprints, and rewriting the same plaintext changes it: a fingerprint tells that a secret
    was rewritten, never what it holds (DESIGN §8, no oracle)."""
    org.add_node("a")
    org.add_node("b")
    org.patch("a", {"cred": {"$secret": "same-plaintext"}})
    org.patch("b", {"cred": {"$secret": "same-plaintext"}})
    prints = []
    for node in ("a", "b"):
        entry = org.admin.get(org.node_path(node) + "/explain").json()["paths"]["/cred"]
        assert entry["secret"] is True and entry["value"] == "********"
        prints.append(entry["fingerprint"])
    assert prints[0] != prints[1] and prints[0] and prints[1]
    assert org.admin.get(org.node_path("a") + "/explain").json()["paths"]["/cred"]["fingerprint"] == prints[0]
    org.patch("b", {"cred": {"$secret": "same-plaintext"}})
    assert org.admin.get(org.node_path("b") + "/explain").json()["paths"]["/cred"]["fingerprint"] != prints[1]
