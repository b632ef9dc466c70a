"""Config as code over HTTP against the real server (DESIGN §12.4): export, plan and apply —
the round trip into an empty org, promotion between orgs, the write rules in a plan, all or
nothing, 412 / 428, prune, audit and watchers."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import Org
from tests.live_support import SSEReader
from tests.transfer_http import (
    MASK,
    actions,
    applied,
    apply,
    audit,
    claims,
    document,
    export,
    exported,
    node,
    plan,
    planned,
    promoted,
    without_masks,
)

SECRETS = {("root", "/integrations/coralogix/api_key"), ("sre", "/token"), ("oncall", "/pager/api_key")}


def lock(org: Org, node_id: str, paths: list[str]) -> None:
    response = org.admin.put(org.node_path(node_id) + "/locks", json={"locked_paths": paths})
    assert response.status_code == 200, response.text


def build_source(org: Org) -> list[str]:
    """An org five levels deep with tombstones, locks (one set after a value below it was
    written), secrets (a catalog secret field and `$secret` members), routing claims and names."""
    org.add_node("platform", name="Platform team")
    org.add_node("sre", "platform")
    org.add_node("oncall", "sre", name="On-call")
    org.add_node("night", "oncall")
    org.add_node("web", "platform")
    org.add_node("data")
    writes = {
        org.org_id: {"model": "gpt-4o", "tools": {"think": True, "web_search": True},
                     "integrations": {"coralogix": {"api_key": "cx-root-key", "domain": "cx498.coralogix.com"}},
                     "notifications": {"default_slack_channel_id": "C-ROOT", "digest": "daily"}},
        "platform": {"tools": {"deploy": True}, "routing": {"services": ["Platform-API"]}, "limits": {"max_runs": 5}},
        "sre": {"routing": {"slack_channel_ids": ["C-SRE"], "services": ["sre-bot"]}, "tools": {"web_search": False},
                "token": {"$secret": "sre-secret"}},
        "oncall": {"tools": {"think": None}, "pager": {"api_key": {"$secret": "pd-key"}, "level": 2},
                   "escalation": [1, 2, 3], "limits": {"max_runs": 9}},
        "night": {"notifications": None, "quiet": True},
        "web": {"routing": {"github_repos": ["acme/web"]}, "model": "gpt-4o"},
        "data": {"integrations": {"coralogix": {"team_id": 42}}},
    }
    for node_id, config in writes.items():
        assert org.put(node_id, config).status_code == 200  # PUT: `null` values are stored tombstones
    lock(org, org.org_id, ["/model"])
    lock(org, "platform", ["/limits/max_runs", "/tools/deploy"])  # after oncall wrote under it
    return [org.org_id, *list(writes)[1:]]


def secret_paths(org_id: str, needs: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {("root" if n["node_id"] == org_id else n["node_id"], n["path"]) for n in needs}


def test_round_trip_into_an_empty_org(org: Org, make_org):
    nodes = build_source(org)
    first = export(org)
    assert first.headers["content-type"].startswith("application/json")
    assert b"sre-secret" not in first.content and b"cx-root-key" not in first.content and b"pd-key" not in first.content
    assert export(org).content == first.content, "the same state exports the same bytes"
    source = first.json()
    assert [n["node_id"] for n in source["nodes"]] == [org.org_id, "data", "platform", "sre", "oncall", "night", "web"]
    by_id = {n["node_id"]: n for n in source["nodes"]}
    assert by_id["oncall"]["config"]["tools"] == {"think": None}  # a tombstone stays a tombstone
    assert by_id["sre"]["config"]["token"] == MASK
    assert by_id["platform"]["locked_paths"] == ["/limits/max_runs", "/tools/deploy"]

    copy = make_org("copy")
    body = planned(copy, source)
    assert body["errors"] == [] and body["kept"] == []
    assert actions(body) == {copy.org_id: "update", **{n: "create" for n in nodes[1:]}}
    assert secret_paths(copy.org_id, body["needs_secret"]) == SECRETS
    result = applied(copy, source)
    assert result["errors"] == [] and result["new_based_on"] != result["based_on"]

    again = exported(copy)
    assert again == promoted(source, copy.org_id, copy.org_id, body["needs_secret"])
    for node_id in nodes:
        target = copy.org_id if node_id == org.org_id else node_id
        assert without_masks(org.effective(node_id)) == copy.effective(target), node_id
    rename = {org.org_id: copy.org_id}
    assert claims(copy) == [(k, v, rename.get(n, n)) for k, v, n in claims(org)]

    replan = planned(copy, source)
    assert set(actions(replan).values()) == {"unchanged"} and replan["errors"] == []
    assert replan["based_on"] == result["new_based_on"]
    assert secret_paths(copy.org_id, replan["needs_secret"]) == SECRETS  # still lacking: listed again


def test_export_is_yaml_when_asked_and_round_trips_as_yaml(org: Org, make_org):
    build_source(org)
    for accept in ("application/yaml", "application/x-yaml", "text/yaml", "text/html, application/yaml;q=0.9"):
        response = export(org, accept)
        assert response.headers["content-type"].startswith("application/yaml"), accept
        assert response.headers["vary"] == "Accept"
    text = export(org, "application/yaml").content
    assert export(org, "application/yaml").content == text
    assert text.startswith(b"format: config-service/v1\n")
    assert export(org, "application/json").headers["content-type"].startswith("application/json")

    copy = make_org("yaml")
    for media in ("application/yaml", "application/x-yaml", "text/yaml"):
        response = plan(copy, text, content_type=media)
        assert response.status_code == 200, response.text
    based_on = plan(copy, text, content_type="application/yaml").json()["based_on"]
    assert apply(copy, text, based_on, content_type="application/yaml").status_code == 200
    # the YAML import equals the JSON one
    json_copy = make_org("json")
    applied(json_copy, export(org).json())
    from_yaml = exported(copy)
    assert len(from_yaml["nodes"]) == 7
    assert from_yaml == promoted(exported(json_copy), copy.org_id, copy.org_id, [])


def test_promotion_keeps_the_targets_secrets_and_lists_what_it_lacks(org: Org, make_org):
    staging, production = org, make_org("prod")
    staging.add_node("sre")
    assert staging.patch("sre", {"token": {"$secret": "staging-token"}, "pager": {"api_key": {"$secret": "s-pd"}},
                                 "model": "small"}).status_code == 200
    production.add_node("sre")
    assert production.patch("sre", {"token": {"$secret": "prod-token"}, "model": "large"}).status_code == 200
    source = exported(staging)
    body = planned(production, source)
    assert actions(body) == {production.org_id: "unchanged", "sre": "update"}
    sre = next(c for c in body["changes"] if c["node_id"] == "sre")
    assert {"op": "replace", "path": "/model", "value": "small"} in sre["diff"]
    assert all(op["path"] != "/token" for op in sre["diff"]), "the mask keeps production's own secret"
    assert body["needs_secret"] == [{"node_id": "sre", "path": "/pager/api_key"}]
    applied(production, source)
    reader = production.client(production.token("sre"))
    effective = reader.get("/config/me").json()["effective_config"]
    assert effective == {"token": "prod-token", "model": "small", "pager": {}}  # the path it lacks stays unset
    replan = planned(production, source)
    assert set(actions(replan).values()) == {"unchanged"}
    assert replan["needs_secret"] == [{"node_id": "sre", "path": "/pager/api_key"}]


def test_a_plan_writes_nothing_and_a_stale_plan_is_refused(org: Org):
    org.add_node("sre")
    before = export(org).content
    doc = document(org.org_id, node(org.org_id, None, {"model": "x"}), node("sre", org.org_id, {"a": 1}),
                   node("new", "sre", {"b": 2}))
    body = planned(org, doc)
    assert actions(body) == {org.org_id: "update", "sre": "update", "new": "create"}
    assert export(org).content == before, "a plan never writes"
    assert org.patch("sre", {"c": 3}).status_code == 200  # the org changes after the plan
    now = planned(org, doc)["based_on"]
    response = apply(org, doc, f'"{body["based_on"]}"')
    assert response.status_code == 412, response.text
    assert response.json()["code"] == "precondition_failed" and response.json()["current"] == now
    assert response.headers["etag"] == f'"{now}"'
    assert org.own("sre")["config"] == {"c": 3}
    # issuing a token does not stale a plan
    org.token("sre")
    assert apply(org, doc, now).status_code == 200
    assert org.own("new")["config"] == {"b": 2}


def test_if_match_is_required_and_star_applies_blind(org: Org):
    doc = document("src", node("src", None, {"model": "y"}))
    response = apply(org, doc, None)
    assert response.status_code == 428 and response.json()["code"] == "precondition_required"
    assert org.own(org.org_id)["config"] == {}
    for weak in ('W/"whatever"', '""'):
        assert apply(org, doc, weak).status_code == 412
    response = apply(org, doc, "*")
    assert response.status_code == 200, response.text
    assert org.own(org.org_id)["config"] == {"model": "y"}


def test_a_plan_with_one_bad_node_applies_nothing(org: Org):
    org.add_node("holder")
    assert org.patch("holder", {"routing": {"slack_channel_ids": ["C-TAKEN"]}}).status_code == 200
    before = export(org).content
    doc = document(org.org_id, node(org.org_id, None, {"model": "m"}),
                   node("holder", org.org_id, {"routing": {"slack_channel_ids": ["C-TAKEN"]}}),
                   *[node(f"t{i}", org.org_id, {"n": i}) for i in range(5)],
                   node("bad", org.org_id, {"routing": {"slack_channel_ids": ["c-other", "C-TAKEN"]}}))
    body = planned(org, doc)
    assert body["errors"] == [{"node_id": "bad", "code": "routing_conflict", "path": "/routing/slack_channel_ids",
                               "detail": "routing.slack_channel_ids 'C-TAKEN' is already claimed by node 'holder'",
                               "holder": {"org_id": org.org_id, "node_id": "holder", "key_type": "slack_channel_ids",
                                          "key_value": "C-TAKEN"}}]
    response = apply(org, doc, body["based_on"])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "import_refused" and problem["errors"] == body["errors"]
    assert problem["based_on"] == body["based_on"]
    assert export(org).content == before, "nothing was written"
    assert planned(org, doc)["based_on"] == body["based_on"]


def test_routing_is_judged_on_the_final_state(org: Org):
    """Two nodes swapping identifiers, and one taking over a pruned node's, plan without errors and apply."""
    for node_id in ("a", "b", "gone"):
        org.add_node(node_id)
    assert org.patch("a", {"routing": {"services": ["alpha"]}}).status_code == 200
    assert org.patch("b", {"routing": {"services": ["beta"]}}).status_code == 200
    assert org.patch("gone", {"routing": {"slack_channel_ids": ["C-GONE"]}}).status_code == 200
    doc = document(org.org_id, node(org.org_id, None),
                   node("a", org.org_id, {"routing": {"services": ["Beta"]}}),
                   node("b", org.org_id, {"routing": {"services": ["alpha"], "slack_channel_ids": ["C-GONE"]}}))
    body = planned(org, doc, prune=True)
    assert body["errors"] == []
    assert actions(body) == {org.org_id: "unchanged", "a": "update", "b": "update", "gone": "delete"}
    kept = planned(org, doc)  # without prune the node keeps its channel: b cannot take it
    assert kept["kept"] == ["gone"] and [e["node_id"] for e in kept["errors"]] == ["b"]
    assert kept["errors"][0]["code"] == "routing_conflict"
    applied(org, doc, prune=True)
    assert claims(org) == [("services", "Beta", "a"), ("services", "alpha", "b"), ("slack_channel_ids", "C-GONE", "b")]
    # two new nodes claiming one identifier: each is an error
    clash = document(org.org_id, node(org.org_id, None), node("a", org.org_id, {"routing": {"services": ["Beta"]}}),
                     node("b", org.org_id, {"routing": {"services": ["alpha"], "slack_channel_ids": ["C-GONE"]}}),
                     node("x", org.org_id, {"routing": {"github_repos": ["o/r"]}}),
                     node("y", org.org_id, {"routing": {"github_repos": ["O/R"]}}))
    errors = planned(org, clash)["errors"]
    assert [(e["node_id"], e["code"], e["holder"]["node_id"]) for e in errors] == [
        ("x", "routing_conflict", "y"), ("y", "routing_conflict", "x")]


def test_the_write_rules_are_reported_per_node(org: Org):
    org.add_node("team")
    assert org.patch(org.org_id, {"model": "gpt-4o", "integrations": {
        "coralogix": {"api_key": "cx-key", "domain": "cx498.coralogix.com"}}}).status_code == 200
    lock(org, org.org_id, ["/model"])
    doc = document(org.org_id,
                   node(org.org_id, None, {"model": "gpt-4o", "integrations": {
                       "coralogix": {"api_key": MASK, "domain": "cx498.coralogix.com"}}}, ["/model"]),
                   node("team", org.org_id, {"model": "other", "integrations": {"coralogix": {"domain": "evil.test"}}}),
                   node("typed", org.org_id, {"integrations": {"coralogix": {"team_id": "not a number"}}}),
                   node("sealed", "typed", {"x": {"$secret": "fine"}}))
    body = planned(org, doc)
    found = [(e["node_id"], e["code"], e["path"]) for e in body["errors"]]
    assert ("team", "locked_path", "/model") in found
    assert ("team", "secret_rebind_required", "/integrations/coralogix/domain") in found
    assert ("typed", "invalid_config", "/integrations/coralogix/team_id") in found
    assert all(e["node_id"] != "sealed" for e in body["errors"])
    assert len(found) == len(set(found)), "a problem both the plan and the rules find is listed once"
    assert all("cx-key" not in json.dumps(e) and "$enc:" not in json.dumps(e) for e in body["errors"])
    assert apply(org, doc, body["based_on"]).status_code == 422


def test_a_lock_added_by_the_document_does_not_bind_and_a_standing_one_does(org: Org):
    org.add_node("team")
    doc = document(org.org_id, node(org.org_id, None, {"model": "a"}, ["/model"]),
                   node("team", org.org_id, {"model": "b"}))
    body = planned(org, doc)
    assert body["errors"] == []
    applied(org, doc)
    assert org.own("team")["config"] == {"model": "b"} and org.effective("team")["model"] == "a"
    # now the lock stands: a document changing the value below it is refused, naming node and path
    doc["nodes"][1]["config"] = {"model": "c"}
    errors = planned(org, doc)["errors"]
    assert errors == [{"node_id": "team", "code": "locked_path", "path": "/model",
                       "detail": f"'/model' is locked at '{org.org_id}'", "holder": None}]


def test_effective_size_is_judged_in_the_subtree_of_the_final_tree(org: Org):
    """Five levels of 240 KB each: every own config fits, the deepest effective config does not
    (a body over MAX_BODY_BYTES, which the import route accepts)."""
    chain = [org.org_id, "n1", "n2", "n3", "n4"]
    nodes = [node(n, None if i == 0 else chain[i - 1], {f"k{i}": "x" * 240_000}) for i, n in enumerate(chain)]
    doc = document(org.org_id, *nodes)
    assert len(json.dumps(doc)) > 1024 * 1024
    body = planned(org, doc)
    assert {e["node_id"] for e in body["errors"]} == set(chain)
    assert all(e["code"] == "invalid_config" and "'n4'" in e["detail"] for e in body["errors"])


def test_prune_deletes_children_first_and_revokes_their_tokens(org: Org):
    org.add_node("keep")
    org.add_node("old")
    org.add_node("older", "old")
    token = org.token("older")
    assert org.client(token).get("/config/me").status_code == 200
    doc = document(org.org_id, node(org.org_id, None), node("keep", org.org_id))
    body = planned(org, doc)
    assert actions(body) == {org.org_id: "unchanged", "keep": "unchanged"} and body["kept"] == ["old", "older"]
    pruned = planned(org, doc, prune=True)
    assert [c["node_id"] for c in pruned["changes"] if c["action"] == "delete"] == ["older", "old"]
    applied(org, doc, prune=True)
    assert org.admin.get(org.node_path("old")).status_code == 404
    assert org.admin.get(org.node_path("older")).status_code == 404
    assert org.client(token).get("/config/me").status_code == 401
    deleted = [e["target_id"] for e in audit(org) if e["action"] == "node.deleted"]
    assert sorted(deleted) == ["old", "older"]


def test_every_node_change_is_a_versioned_audited_write(org: Org):
    org.add_node("team")
    org.add_node("moving")
    doc = document(org.org_id, node(org.org_id, None, {"model": "m"}, ["/model"]),
                   node("team", org.org_id, {"x": 1}, name="The team"),
                   node("moving", "team", {"y": 2}), node("fresh", "moving", {"z": 3}))
    applied(org, doc, reason="promote staging")
    events = [e for e in audit(org) if e["details"].get("reason") == "promote staging"]
    got = sorted((e["action"], e["target_id"]) for e in events)
    assert got == sorted([
        ("config.written", org.org_id), ("config.written", "team"), ("config.written", "moving"),
        ("config.written", "fresh"), ("locks.changed", org.org_id), ("node.renamed", "team"),
        ("node.moved", "moving"), ("node.created", "fresh")])
    history = org.admin.get(org.node_path("fresh") + "/history").json()["items"]
    assert [(h["version"], h["reason"]) for h in history] == [(2, "promote staging"), (1, "created")]
    assert org.admin.get(org.node_path("moving")).json()["parent_node_id"] == "team"
    # without X-Change-Reason the reason is `import`
    doc["nodes"][1]["config"] = {"x": 2}
    applied(org, doc)
    assert org.admin.get(org.node_path("team") + "/history").json()["items"][0]["reason"] == "import"


def test_a_watcher_of_a_changed_node_gets_one_event_per_import(org: Org, server):
    org.add_node("unit")
    org.add_node("team", "unit")
    token = org.token("team")
    reader = SSEReader(server.api + "/config/me/watch", {"Authorization": f"Bearer {token}"}).start()
    assert reader.next()["event"] == "config"
    doc = document(org.org_id, node(org.org_id, None, {"a": 1}, ["/a"]), node("unit", org.org_id, {"b": 2}),
                   node("team", "unit", {"c": 3}), node("new", "team", {"d": 4}))
    applied(org, doc)
    assert org.patch("team", {"marker": True}).status_code == 200
    first, second = reader.next(), reader.next()
    assert json.loads(first["data"])["effective_config"] == {"a": 1, "b": 2, "c": 3}
    assert json.loads(second["data"])["effective_config"] == {"a": 1, "b": 2, "c": 3, "marker": True}


def test_an_import_across_orgs_needs_its_own_admin(org: Org, make_org):
    other = make_org("other")
    doc = document("src", node("src", None, {"a": 1}))
    other_admin = httpx.Client(base_url=org.server.api, timeout=30,
                               headers={"Authorization": f"Bearer {other.admin_token()}"})
    assert plan(org, doc, client=other_admin).status_code == 403
    assert other_admin.get(f"/admin/orgs/{org.org_id}/export").status_code == 403
    own = httpx.Client(base_url=org.server.api, timeout=30, headers={"Authorization": f"Bearer {org.admin_token()}"})
    assert plan(org, doc, client=own).status_code == 200
    assert own.get(f"/admin/orgs/{org.org_id}/export").status_code == 200
    assert own.get(f"/admin/orgs/{other.org_id}/export").status_code == 403
    team = org.client(org.token(org.org_id))
    assert team.get(f"/admin/orgs/{org.org_id}/export").status_code == 403
    assert plan(org, doc, client=team).status_code == 403


@pytest.mark.parametrize("method", ["export", "plan", "apply"])
def test_a_missing_org_is_404(admin: httpx.Client, method: str):
    path = "/admin/orgs/no-such-org-zz/"
    doc = json.dumps(document("src", node("src", None))).encode()
    if method == "export":
        response = admin.get(path + "export")
    else:
        params = {"dry_run": "true"} if method == "plan" else {}
        response = admin.post(path + "import", params=params, content=doc, headers={"If-Match": "*"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_export_and_plan_read_the_org_in_a_fixed_number_of_statements(make_org, server):
    """One query for the whole org (no query per node), whatever its size; a plan's rules read
    no more per node (routing claims are read once for the whole plan)."""
    from tests.live_support import statements

    export_route = "/api/v1/admin/orgs/{org_id}/export"
    import_route = "/api/v1/admin/orgs/{org_id}/import"

    def counted(route: str, method: str, call) -> float:
        before = statements(server, route, method)
        call()
        return statements(server, route, method) - before

    counts = []
    for size in (2, 12):
        org = make_org("stmts")
        doc = document(org.org_id, node(org.org_id, None, {"routing": {"services": ["root-svc"]}}),
                       *[node(f"t{i}", org.org_id, {"routing": {"services": [f"s{i}"]}, "n": i}) for i in range(size)])
        creates = counted(import_route, "POST", lambda org=org, doc=doc: planned(org, doc))  # every rule, every node
        applied(org, doc)
        export_count = counted(export_route, "GET", lambda org=org: exported(org))
        unchanged = counted(import_route, "POST", lambda org=org, doc=doc: planned(org, doc))
        counts.append((export_count, unchanged, creates))
    assert counts[0] == counts[1], counts
    assert counts[0][0] <= 2, counts  # the export: its snapshot and the one query
