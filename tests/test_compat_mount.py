"""The mount's own rules (DESIGN §4, §6; issue 11): node headers only pick a node for an admin of
that org, the peer's bodies are taken exactly, unknown integration fields are kept only here —
and the root API answers as before."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.compat_support import PeerWorld, call, make_world, worlds

ME = "/api/v1/config/me"


@pytest.fixture()
def world(named_server, server_keys) -> Iterator[PeerWorld]:
    yield from worlds(named_server, server_keys)


def node_headers(world: PeerWorld, token: str | None, org: str | None = None, node: str | None = "default") -> dict:
    headers = {"X-Org-Id": org or world["ORG"]} if org != "" else {}
    if node is not None:
        headers["X-Team-Node-Id"] = node
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


# ---- X-Org-Id / X-Team-Node-Id ----------------------------------------------------------------------


def test_headers_never_authenticate(world: PeerWorld) -> None:
    for method in ("GET", "PATCH"):
        response = world.http.request(method, ME, headers=node_headers(world, None), json={"config": {"a": 1}})
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_a_team_token_naming_another_node_is_403(world: PeerWorld) -> None:
    world.send(call("slackbot.team_create"), TEAM="other")
    mine = world.http.get(ME, headers=node_headers(world, world["TEAM_TOKEN"]))
    assert mine.status_code == 200 and mine.json()["node_id"] == "default"
    for org, node in ((None, "other"), ("elsewhere", "default")):
        response = world.http.get(ME, headers=node_headers(world, world["TEAM_TOKEN"], org, node))
        assert response.status_code == 403, response.text
        response = world.http.patch(ME, headers=node_headers(world, world["WRITER_TOKEN"], org, node),
                                    json={"config": {"x": 1}})
        assert response.status_code == 403, response.text


def test_only_admins_of_that_org_pick_a_node(world: PeerWorld, named_server, server_keys) -> None:
    other = make_world(named_server, server_keys)
    try:
        own = world.http.get(ME, headers=node_headers(world, world["ORG_ADMIN_TOKEN"]))
        assert own.status_code == 200 and own.json()["org_id"] == world["ORG"]
        foreign = world.http.get(ME, headers=node_headers(world, other["ORG_ADMIN_TOKEN"]))
        assert foreign.status_code == 403
        written = world.http.patch(ME, headers=node_headers(world, other["ORG_ADMIN_TOKEN"]), json={"config": {"a": 1}})
        assert written.status_code == 403
        assert world.http.get(ME, headers=node_headers(world, world["INTERNAL_TOKEN"])).status_code == 403
        named = world.http.get(ME, headers={**node_headers(world, None), "X-Internal-Service": "slack-bot"})
        assert named.status_code == 403
    finally:
        other.close()


@pytest.mark.parametrize(("org", "node", "path"), [
    ("bad.id", "default", "X-Org-Id"), (None, "no/slash", "X-Team-Node-Id"), ("", "default", "X-Org-Id"),
    (None, None, "X-Team-Node-Id"),
])
def test_header_ids_are_validated(world: PeerWorld, org, node, path: str) -> None:
    response = world.http.get(ME, headers=node_headers(world, world["ADMIN_TOKEN"], org, node))
    assert response.status_code == 422 and response.json()["path"] == path, response.text


def test_a_missing_node_is_404_as_the_bot_expects(world: PeerWorld) -> None:
    response = world.http.get(ME, headers=node_headers(world, world["ADMIN_TOKEN"], node="nope"))
    assert response.status_code == 404


def test_admin_reads_through_headers_are_masked_and_not_audited_as_plaintext(world: PeerWorld,
                                                                               db: psycopg.Connection) -> None:
    assert world.send(call("slackbot.save_api_key")).status_code == 200
    view = world.http.get(ME, headers=node_headers(world, world["ADMIN_TOKEN"]))
    assert view.headers.get("cache-control") != "no-store"
    assert view.json()["effective_config"]["integrations"]["anthropic"]["api_key"] == "********"
    reads = db.execute("SELECT count(*) FROM audit_events WHERE org_id = %s AND action = 'secrets.read'",
                       (world["ORG"],)).fetchone()
    assert reads == (0,)


def test_the_root_ignores_node_headers(world: PeerWorld) -> None:
    root = world.server.url + ME
    admin = httpx.get(root, headers=node_headers(world, world["ADMIN_TOKEN"]))
    assert admin.status_code == 403  # an admin token on a team route, as always
    team = httpx.get(root, headers=node_headers(world, world["TEAM_TOKEN"], node="elsewhere"))
    assert team.status_code == 200 and team.json()["node_id"] == "default"


# ---- the peer's bodies, exactly ------------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "extra_field"), [
    ("slackbot.team_create", "metadata"),
    ("agent.run_create", "input_message"),
    ("agent.run_finish", "output"),
    ("agent.routing_lookup", "issue_token"),
    ("slackbot.config_patch_headers", "patch"),
    ("cron.cleanup_stale", "org_id"),
])
def test_fields_the_peer_never_sends_are_refused(world: PeerWorld, entry: str, extra_field: str) -> None:
    world.send(call("agent.run_create"))
    body = world.fill(call(entry)["body"]) | {extra_field: "x" if extra_field != "issue_token" else True}
    if entry == "slackbot.team_create":
        body["node_id"] = "fresh"
    peer = call(entry)
    response = world.http.request(peer["method"], world.fill(peer["path"]), json=body,
                                  headers=world.fill(peer["headers"]))
    assert response.status_code == 422, response.text
    assert extra_field in response.json()["detail"] or response.json().get("path", "").endswith(extra_field)


def test_merge_false_is_refused_and_true_accepted(world: PeerWorld) -> None:
    headers = {"Authorization": f"Bearer {world['WRITER_TOKEN']}"}
    assert world.http.patch(ME, headers=headers, json={"config": {"a": 1}, "merge": False}).status_code == 422
    assert world.http.patch(ME, headers=headers, json={"config": {"a": 1}, "merge": True}).status_code == 200


def test_an_org_node_needs_the_global_admin_and_its_own_id(world: PeerWorld) -> None:
    org_admin = world.http.post(f"/api/v1/admin/orgs/{world['ORG']}/nodes", json={
        "node_id": world["ORG"], "node_type": "org"}, headers={"Authorization": f"Bearer {world['ORG_ADMIN_TOKEN']}"})
    assert org_admin.status_code == 403
    mismatch = world.http.post(
        "/api/v1/admin/orgs/slack-TNEW1/nodes", json={"node_id": "slack-TNEW2", "node_type": "org"},
        headers={"Authorization": f"Bearer {world['ADMIN_TOKEN']}"})
    assert mismatch.status_code == 422 and mismatch.json()["path"] == "/node_id"
    assert world.admin("GET", "/api/v1/admin/orgs/slack-TNEW1").status_code == 404
    team_in_missing_org = world.http.post("/api/v1/admin/orgs/nowhere-org/nodes", json={"node_id": "t"},
                                          headers={"Authorization": f"Bearer {world['ADMIN_TOKEN']}"})
    assert team_in_missing_org.status_code == 404


# ---- unknown integration fields: kept on the mount, refused at the root ------------------------------------


def test_unknown_integration_fields_are_kept_only_on_the_mount(world: PeerWorld, db: psycopg.Connection) -> None:
    fields = {"integrations": {"anthropic": {"is_trial": True, "workspace_attribution": world["ORG"]}}}
    root = world.admin("PATCH", f"/api/v1/admin/orgs/{world['ORG']}/nodes/default/config", json={"config": fields})
    assert root.status_code == 422 and root.json()["path"] == "/integrations/anthropic/is_trial"
    assert headers_write(world, fields).status_code == 200
    # a name that says "credential" is sealed like a catalog secret
    assert headers_write(world, {"integrations": {"anthropic": {"backup_api_key": "sk-backup-0123456789"}}}
                         ).status_code == 200
    stored = db.execute("SELECT config_json->'integrations'->'anthropic' FROM node_configurations "
                        "WHERE org_id = %s AND node_id = 'default'", (world["ORG"],)).fetchone()[0]
    assert stored["is_trial"] is True and stored["backup_api_key"].startswith("$enc:")
    # types of the catalog's own fields are still checked
    wrong = headers_write(world, {"integrations": {"anthropic": {"base_url": "not a url"}}})
    assert wrong.status_code == 422 and wrong.json()["path"] == "/integrations/anthropic/base_url"


def test_an_unknown_endpoint_field_cannot_redirect_an_inherited_credential(world: PeerWorld) -> None:
    org = world["ORG"]
    response = world.admin("PATCH", f"/api/v1/admin/orgs/{org}/nodes/{org}/config",
                           json={"config": {"integrations": {"anthropic": {"api_key": "sk-org-0123456789"}}}})
    assert response.status_code == 200, response.text
    moved = headers_write(world, {"integrations": {"anthropic": {"api_endpoint": "https://collector.example"}}})
    assert moved.status_code == 422 and moved.json()["code"] == "secret_rebind_required"


def headers_write(world: PeerWorld, config: dict) -> httpx.Response:
    return world.http.patch(ME, json={"config": config}, headers=node_headers(world, world["ADMIN_TOKEN"]))


# ---- the root API is unchanged by the mount ----------------------------------------------------------------


def test_the_root_keeps_its_shapes(world: PeerWorld) -> None:
    org = world["ORG"]
    nodes = world.admin("GET", f"/api/v1/admin/orgs/{org}/nodes").json()
    assert set(nodes) == {"items", "next_cursor"}
    tokens = world.admin("GET", f"/api/v1/admin/orgs/{org}/teams/default/tokens").json()
    assert set(tokens) == {"items", "next_cursor"}
    catalog = world.admin("GET", "/api/v1/integrations/schemas").json()
    assert set(catalog) == {"items", "next_cursor"}
    duplicate = world.admin("POST", f"/api/v1/admin/orgs/{org}/nodes", json={"node_id": "default"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "conflict"
    as_org = world.admin("POST", f"/api/v1/admin/orgs/{org}/nodes", json={"node_id": "x", "node_type": "org"})
    assert as_org.status_code == 422
    lookup = world.admin("POST", "/api/v1/internal/routing/lookup",
                         json={"identifiers": {"slack_workspace_id": world["WORKSPACE"], "slack_channel_id": "C404"}})
    assert lookup.json()["found"] is False  # the workspace → default-team fallback is the mount's alone


def test_the_mount_mirrors_everything_it_does_not_translate(world: PeerWorld) -> None:
    """An untranslated route answers on the mount exactly as at the root."""
    org = world["ORG"]
    for path in (f"/admin/orgs/{org}/tree", f"/admin/orgs/{org}/nodes/default/config", "/admin/orgs?limit=1"):
        root = world.admin("GET", "/api/v1" + path)
        mounted = world.admin("GET", "/compat/incidentfox/api/v1" + path)
        assert (mounted.status_code, mounted.json()) == (root.status_code, root.json())


def test_the_openapi_document_lists_the_mounts_translated_routes_once(world: PeerWorld) -> None:
    document = httpx.get(world.server.url + "/openapi.json")
    assert "#/$defs/" not in document.text  # every reference resolves inside the document
    paths = document.json()["paths"]
    mounted = [p for p in paths if p.startswith("/compat/incidentfox/")]
    assert "/compat/incidentfox/api/v1/auth/me" in mounted
    assert "/compat/incidentfox/api/v1/admin/orgs/{org_id}/tree" not in mounted  # the mirror is not listed
    assert "/api/v1/admin/orgs/{org_id}/teams/{node_id}/impersonation-token" in paths
