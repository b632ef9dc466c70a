"""Request bodies refuse unknown fields (DESIGN §2; issue 10): 422 `invalid_request` naming each
one (`path` = the first), and nothing is written. The peer's legacy forms accept exactly its
documented fields."""

from __future__ import annotations

import orjson
import pytest

WRITER = ["config:read", "config:write", "runs:write"]
BOGUS = "bogus_field"


def _assert_unknown(response, *names: str) -> dict:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_request"
    assert problem["path"] == "/" + names[0]
    for name in names:
        assert f"'{name}'" in problem["detail"], problem["detail"]
    assert "unknown field" in problem["detail"]
    return problem


@pytest.fixture()
def world(org, internal):
    org.add_node("sre")
    run = internal.post("/agent-runs", json={"agent_name": "a", "org_id": org.org_id, "team_node_id": "sre"})
    assert run.status_code == 201, run.text
    org.run_id = run.json()["id"]
    return org


# (who, method, path, a valid body): each is sent with one unknown field added
ADMIN_BODIES = [
    ("POST", "/admin/orgs", {"org_id": "strict-new"}),
    ("POST", "/admin/orgs/{org}/nodes", {"node_id": "new-node"}),
    ("PATCH", "/admin/orgs/{org}/nodes/sre", {"name": "SRE"}),
    ("PATCH", "/admin/orgs/{org}/nodes/sre/config", {"config": {"a": 1}, "reason": "r"}),
    ("PUT", "/admin/orgs/{org}/nodes/sre/config", {"config": {"a": 1}}),
    ("PUT", "/admin/orgs/{org}/nodes/sre/config", {"patch": {"a": 1}}),
    ("POST", "/admin/orgs/{org}/nodes/sre/config/rollback", {"version": 1}),
    ("POST", "/admin/orgs/{org}/nodes/sre/config/preview", {"config": {"a": 1}}),
    ("POST", "/admin/orgs/{org}/nodes/sre/config/preview", {"rollback_to": 1}),
    ("PUT", "/admin/orgs/{org}/nodes/sre/locks", {"locked_paths": ["/a"]}),
    ("POST", "/admin/orgs/{org}/teams/sre/tokens", {"description": "d"}),
    ("POST", "/admin/orgs/{org}/admin-tokens", {"description": "d"}),
    ("POST", "/internal/routing/lookup", {"identifiers": {"service": "s"}}),
    ("POST", "/internal/tokens/exchange", {"org_id": "{org}", "team_node_id": "sre"}),
    ("POST", "/integrations/schemas", {"id": "strict-schema", "name": "S", "fields": []}),
    ("PUT", "/integrations/schemas/strict-schema", {"name": "S", "fields": []}),
    ("PATCH", "/integrations/schemas/strict-schema", {"name": "S"}),
    ("POST", "/internal/agent-runs/cleanup-stale", {"max_age_seconds": 3600}),
]
INTERNAL_BODIES = [
    ("POST", "/agent-runs", {"agent_name": "a", "org_id": "{org}", "team_node_id": "sre"}),
    ("POST", "/internal/agent-runs", {"agent_name": "a", "org_id": "{org}", "team_node_id": "sre"}),
    ("PATCH", "/agent-runs/{run}", {"status": "success"}),
    ("PATCH", "/internal/agent-runs/{run}", {"status": "success"}),
]
TEAM_BODIES = [
    ("PATCH", "/config/me", {"config": {"a": 1}}),
    ("PUT", "/config/me", {"config": {"a": 1}}),
    ("PUT", "/config/me", {"patch": {"a": 1}}),
    ("POST", "/config/me/rollback", {"version": 1}),
    ("POST", "/config/me/preview", {"config": {"a": 1}}),
    ("POST", "/agent-runs", {"agent_name": "a"}),
]


def _fill(value, world):
    if isinstance(value, str):
        return value.replace("{org}", world.org_id).replace("{run}", world.run_id)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


def _send(client, method, path, body, world):
    return client.request(method, _fill(path, world), json={**_fill(body, world), BOGUS: 1})


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_BODIES)
def test_admin_bodies_refuse_unknown_fields(world, admin, method, path, body):
    _assert_unknown(_send(admin, method, path, body, world), BOGUS)


@pytest.mark.parametrize(("method", "path", "body"), INTERNAL_BODIES)
def test_run_bodies_refuse_unknown_fields(world, internal, method, path, body):
    _assert_unknown(_send(internal, method, path, body, world), BOGUS)


@pytest.mark.parametrize(("method", "path", "body"), TEAM_BODIES)
def test_team_bodies_refuse_unknown_fields(world, method, path, body):
    with world.team_client("sre", WRITER) as team:
        _assert_unknown(_send(team, method, path, body, world), BOGUS)


def test_a_misspelt_expiry_issues_no_token(world, db):
    response = world.admin.post(f"/admin/orgs/{world.org_id}/teams/sre/tokens", json={"expires_in_seconds": 2})
    _assert_unknown(response, "expires_in_seconds")
    assert db.execute("SELECT count(*) FROM team_tokens WHERE org_id = %s", (world.org_id,)).fetchone()[0] == 0


def test_a_misspelt_reason_writes_nothing(world, db):
    response = world.patch("sre", {"a": 1}, reasn="why")
    _assert_unknown(response, "reasn")
    assert world.own("sre")["version"] == 1
    with world.team_client("sre", WRITER) as team:
        _assert_unknown(team.put("/config/me", json={"config": {"a": 1}, "reasn": "why"}), "reasn")
    assert world.own("sre")["version"] == 1


def test_every_unknown_field_is_named(world):
    response = world.admin.post(f"/admin/orgs/{world.org_id}/nodes", json={"node_id": "n2", "zeta": 1, "alpha": 2})
    problem = _assert_unknown(response, "zeta", "alpha")
    assert "unknown fields" in problem["detail"]
    response = world.patch("sre", {"a": 1}, zeta=1, alpha=2)
    _assert_unknown(response, "zeta", "alpha")


def test_the_legacy_merge_flag_is_accepted_only_as_true_on_config_me(world):
    with world.team_client("sre", WRITER) as team:
        response = team.patch("/config/me", json={"config": {"a": 1}, "merge": True, "reason": "r"})
        assert response.status_code == 200, response.text
        assert response.json()["config"] == {"a": 1}
        for bad in (False, "true", None, 1):
            refused = team.patch("/config/me", json={"config": {"b": 2}, "merge": bad})
            assert refused.status_code == 422 and refused.json()["path"] == "/merge", refused.text
        # not a field of the preview, which is not a legacy form
        _assert_unknown(team.post("/config/me/preview", json={"config": {"b": 2}, "merge": True}), "merge")
    # nor of the admin node PATCH
    _assert_unknown(world.patch("sre", {"b": 2}, merge=True), "merge")
    assert world.own("sre")["config"] == {"a": 1}


def test_the_legacy_put_takes_patch_and_reason_only(world):
    path = world.node_path("sre") + "/config"
    response = world.admin.put(path, json={"patch": {"a": 1}, "reason": "r"})
    assert response.status_code == 200 and response.headers["deprecation"] == "true"
    both = world.admin.put(path, json={"patch": {"a": 2}, "config": {"a": 3}})
    assert both.status_code == 422 and both.json()["code"] == "invalid_request", both.text
    assert world.own("sre")["config"] == {"a": 1}


def test_node_parent_alias_and_its_name_together_is_422(world):
    response = world.admin.post(f"/admin/orgs/{world.org_id}/nodes",
                                json={"node_id": "n3", "parent_id": world.org_id, "parent_node_id": world.org_id})
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert "parent_id" in response.json()["detail"]
    ok = world.admin.post(f"/admin/orgs/{world.org_id}/nodes", json={"node_id": "n3", "parent_id": "sre"})
    assert ok.status_code == 201 and ok.json()["parent_node_id"] == "sre"


def test_json_patch_operations_keep_rfc_6902_leniency(world):
    """RFC 6902 §4: members an operation does not define are ignored — the one body that keeps
    unknown members, because its standard says so."""
    response = world.admin.patch(
        world.node_path("sre") + "/config",
        content='[{"op": "add", "path": "/a", "value": 1, "comment": "why"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert response.status_code == 200, response.text
    assert world.own("sre")["config"] == {"a": 1}


def _send_as(client, method, path, body, world, content_type):
    content = orjson.dumps(_fill(body, world))
    return client.request(method, _fill(path, world), content=content, headers={"Content-Type": content_type})


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_BODIES)
def test_admin_bodies_of_another_media_type_are_415(world, admin, db, method, path, body, content_type):
    """A JSON body labelled as something else (curl's `-d` sends form encoding) is 415
    `unsupported_media_type`, as on the config writes, and changes nothing."""
    before = db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    response = _send_as(admin, method, path, body, world, content_type)
    assert response.status_code == 415, response.text
    problem = response.json()
    assert problem["code"] == "unsupported_media_type"
    assert "application/json" in problem["detail"]
    assert db.execute("SELECT count(*) FROM audit_events").fetchone()[0] == before


@pytest.mark.parametrize(("method", "path", "body"), INTERNAL_BODIES)
def test_run_bodies_of_another_media_type_are_415(world, internal, method, path, body):
    response = _send_as(internal, method, path, body, world, "text/plain; charset=utf-8")
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json", "APPLICATION/JSON"])
def test_json_media_types_and_no_media_type_are_read(world, admin, content_type):
    response = admin.post(f"/admin/orgs/{world.org_id}/nodes", content=b'{"node_id": "typed"}',
                          headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text
    bare = admin.post(f"/admin/orgs/{world.org_id}/nodes/typed/config/preview", content=b'{"config": {"a": 1}}',
                      headers={"Content-Type": ""})
    assert bare.status_code == 200, bare.text
    admin.delete(f"/admin/orgs/{world.org_id}/nodes/typed")
