"""The reads the console and the CLI build on (DESIGN §7): masked team reads, the team preview,
one version, the diff of two versions, and the org-wide token and routing listings."""

from __future__ import annotations

import httpx

from tests.support import unique_id

MASK = "********"


def _secret_org(org):
    org.add_node("sre")
    assert org.patch("sre", {"model": "a", "hook": {"$secret": "s3cret-one"}}).status_code == 200
    return org


def _audited_reads(org) -> list:
    response = org.admin.get(f"/admin/orgs/{org.org_id}/audit", params={"action": "secrets.read"})
    assert response.status_code == 200
    return response.json()["items"]


# ---- ?secrets=masked ----------------------------------------------------------------------


def test_masked_read_hides_secrets_from_a_secrets_read_token_and_is_not_audited(org):
    _secret_org(org)
    with org.team_client("sre") as team:  # default scopes hold secrets:read
        masked = team.get("/config/me", params={"secrets": "masked"})
        effective = team.get("/config/me/effective", params={"secrets": "masked"})
        assert masked.status_code == 200 and effective.status_code == 200
        assert masked.json()["effective_config"]["hook"] == MASK
        assert effective.json()["effective_config"]["hook"] == MASK
        assert "no-store" not in masked.headers.get("cache-control", "")
        assert _audited_reads(org) == []
        plain = team.get("/config/me")
        assert plain.json()["effective_config"]["hook"] == "s3cret-one"
        assert plain.headers["cache-control"] == "no-store"
        # one effective config, one validator: the masked view answers If-None-Match the same
        assert masked.headers["etag"] == plain.headers["etag"]
        again = team.get("/config/me", params={"secrets": "masked"}, headers={"If-None-Match": plain.headers["etag"]})
        assert again.status_code == 304
    assert len(_audited_reads(org)) == 1


def test_masked_watch_streams_masked_configs(org, server):
    _secret_org(org)
    token = org.token("sre")
    with httpx.Client(base_url=server.api, timeout=10) as client:
        with client.stream(
            "GET", "/config/me/watch", params={"secrets": "masked"}, headers={"Authorization": f"Bearer {token}"}
        ) as stream:
            assert stream.status_code == 200
            data = next(line for line in stream.iter_lines() if line.startswith("data:"))
    assert '"hook":"********"' in data and "s3cret-one" not in data
    assert _audited_reads(org) == []


def test_secrets_parameter_takes_only_masked(org):
    _secret_org(org)
    with org.team_client("sre") as team:
        for path in ("/config/me", "/config/me/effective", "/config/me/watch"):
            response = team.get(path, params={"secrets": "plain"})
            assert response.status_code == 422, path
            assert response.headers["content-type"].startswith("application/problem+json")


# ---- POST /config/me/preview --------------------------------------------------------------


def test_team_preview_shows_the_blast_radius_and_writes_nothing(org):
    org.add_node("sre")
    org.add_node("oncall", "sre")
    org.patch("sre", {"model": "a"})
    with org.team_client("sre", ["config:read", "config:write"]) as team:
        response = team.post("/config/me/preview", json={"config": {"model": "b"}})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"based_on", "affected", "unaffected_count", "errors"}
        assert sorted(a["node_id"] for a in body["affected"]) == ["oncall", "sre"]
        assert body["affected"][0]["diff"] == [{"op": "replace", "path": "/model", "value": "b"}]
        assert body["errors"] == []
        assert body["based_on"] == team.get("/config/me").headers["etag"].strip('"')
    assert org.own("sre")["version"] == 2


def test_team_preview_reports_a_lock_and_a_rollback(org):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "org"})
    org.patch("sre", {"tier": 1})
    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]}).status_code == 200
    with org.team_client("sre", ["config:read", "config:write"]) as team:
        locked = team.post("/config/me/preview", json={"config": {"model": "mine"}}).json()
        assert [(e["code"], e["path"]) for e in locked["errors"]] == [("locked_path", "/model")]
        back = team.post("/config/me/preview", json={"rollback_to": 1}).json()
        assert back["errors"] == [] and back["affected"][0]["diff"] == [{"op": "remove", "path": "/tier"}]


def test_team_preview_needs_config_write(org):
    org.add_node("sre")
    with org.team_client("sre", ["config:read"]) as team:
        response = team.post("/config/me/preview", json={"config": {"model": "b"}})
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"
    assert org.admin.post("/config/me/preview", json={"config": {}}).status_code == 403


# ---- one version, and the diff of two -----------------------------------------------------


def _ops(diff: list) -> list:
    return sorted(diff, key=lambda op: op["path"])


def _versions(org):
    _secret_org(org)  # v2: model a, hook (secret)
    org.patch("sre", {"model": "b", "tools": {"x": True}})  # v3
    org.patch("sre", {"hook": {"$secret": "s3cret-two"}, "tools": None}, reason="rotate")  # v4
    return org


def test_one_version_with_its_full_masked_content(org):
    _versions(org)
    response = org.admin.get(org.node_path("sre") + "/history/3")
    assert response.status_code == 200
    item = response.json()
    assert set(item) == {"version", "changed_at", "changed_by", "reason", "diff", "config"}
    assert item["version"] == 3 and item["config"] == {"model": "b", "hook": MASK, "tools": {"x": True}}
    with org.team_client("sre") as team:
        mine = team.get("/config/me/history/4").json()
        assert mine["reason"] == "rotate" and mine["config"] == {"model": "b", "hook": MASK}
        missing = team.get("/config/me/history/9")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        assert team.get("/config/me/history/0").status_code == 422


def test_diff_between_versions_masks_secrets_and_defaults_to_current(org):
    _versions(org)
    path = org.node_path("sre") + "/diff"
    forward = org.admin.get(path, params={"from": 2, "to": 3}).json()
    diff = forward.pop("diff")
    assert forward == {"org_id": org.org_id, "node_id": "sre", "from_version": 2, "to_version": 3}
    assert _ops(diff) == _ops([{"op": "replace", "path": "/model", "value": "b"},
                               {"op": "add", "path": "/tools", "value": {"x": True}}])
    with org.team_client("sre") as team:
        current = team.get("/config/me/diff", params={"from": 3}).json()
    assert current["to_version"] == 4
    assert {"op": "replace", "path": "/hook", "value": MASK} in current["diff"]  # the secret changed
    assert {"op": "remove", "path": "/tools"} in current["diff"]
    assert "s3cret" not in str(current)
    reverse = org.admin.get(path, params={"from": 3, "to": 2}).json()
    assert _ops(reverse["diff"]) == _ops([{"op": "replace", "path": "/model", "value": "a"},
                                          {"op": "remove", "path": "/tools"}])
    assert org.admin.get(path, params={"from": 2, "to": 2}).json()["diff"] == []
    assert org.admin.get(path, params={"from": 2, "to": 40}).status_code == 404
    assert org.admin.get(path, params={"to": 2}).status_code == 422
    assert org.admin.get(org.node_path("nosuch") + "/diff", params={"from": 1}).status_code == 404


def test_version_routes_keep_teams_to_their_own_node(org):
    _versions(org)
    org.add_node("data")
    with org.team_client("data") as other:
        assert other.get(org.node_path("sre") + "/history/2").status_code == 403
        assert other.get(org.node_path("sre") + "/diff", params={"from": 1}).status_code == 403
        assert other.get("/config/me/history/2").status_code == 404  # its own node has only version 1


# ---- org-wide listings --------------------------------------------------------------------


def test_org_token_listing_covers_every_team_and_pages(org, make_org):
    org.add_node("sre")
    org.add_node("data")
    ids = [org.admin.post(f"/admin/orgs/{org.org_id}/teams/{n}/tokens", json={"description": n}).json()["id"]
           for n in ("sre", "data", "sre")]
    other = make_org()
    other.add_node("sre")
    other.token("sre")  # another org's tokens never show
    path = f"/admin/orgs/{org.org_id}/tokens"
    first = org.admin.get(path, params={"limit": 2}).json()
    assert [t["id"] for t in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    rest = org.admin.get(path, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [t["id"] for t in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert "token" not in first["items"][0] and first["items"][0]["token_hint"]
    only = org.admin.get(path, params={"team_node_id": "data"}).json()["items"]
    assert [t["id"] for t in only] == [ids[1]]
    assert org.admin.get(path, params={"team_node_id": "bad.id"}).status_code == 422


def test_org_listings_are_for_the_orgs_admins_only(org, make_org):
    other = make_org()
    org.add_node("sre")
    with org.client(other.admin_token()) as foreign, org.team_client("sre") as team:
        for path in ("/tokens", "/routing"):
            assert foreign.get(f"/admin/orgs/{org.org_id}{path}").status_code == 403
            assert team.get(f"/admin/orgs/{org.org_id}{path}").status_code == 403
    with org.client(org.admin_token()) as own:
        assert own.get(f"/admin/orgs/{org.org_id}/tokens").status_code == 200
        assert own.get(f"/admin/orgs/{org.org_id}/routing").status_code == 200
    assert org.admin.get(f"/admin/orgs/{unique_id('none')}/routing").status_code == 404


def test_routing_listing_names_kind_value_and_node(org):
    org.add_node("sre")
    org.add_node("data")
    org.patch("sre", {"routing": {"slack_channel_ids": ["C0SRE"], "services": ["Checkout", "api"]}})
    org.patch("data", {"routing": {"github_repos": ["acme/etl"]}})
    path = f"/admin/orgs/{org.org_id}/routing"
    items = org.admin.get(path).json()["items"]
    assert items == [
        {"kind": "github_repos", "value": "acme/etl", "node_id": "data"},
        {"kind": "services", "value": "api", "node_id": "sre"},
        {"kind": "services", "value": "Checkout", "node_id": "sre"},
        {"kind": "slack_channel_ids", "value": "C0SRE", "node_id": "sre"},
    ]
    page = org.admin.get(path, params={"limit": 3}).json()
    assert page["items"] == items[:3]
    rest = org.admin.get(path, params={"cursor": page["next_cursor"]}).json()
    assert rest == {"items": items[3:], "next_cursor": None}
    assert org.admin.get(path, params={"node_id": "data"}).json()["items"] == items[:1]
    assert org.admin.get(path, params={"kind": "services"}).json()["items"] == items[1:3]
    assert org.admin.get(path, params={"kind": "emails"}).status_code == 422
    assert org.admin.get(path, params={"cursor": "garbage"}).status_code == 422
