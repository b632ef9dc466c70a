"""Blast-radius preview (DESIGN §7): `POST /admin/orgs/{org}/nodes/{node}/config/preview`.

First the pure part (`configs.preview`: the diff, and the level-by-level subtree merge checked
against merging every lineage from the root), then the real server: every body form, errors
collected with status 200, secrets masked, nothing written, and 1,000 descendants answered fast.
"""

from __future__ import annotations

import copy
import json
import random
import time

import jsonpatch
import pytest
from psycopg.types.json import Jsonb

from config_service.configs.merge import Descendant, Layer, MergeState, effective_chain, effective_config, oversized
from config_service.configs.preview import blast_radius, json_diff
from config_service.kit.jsondoc import canonical

ENVELOPE = "$enc:v1:k1:c2VjcmV0LWNpcGhlcnRleHQ="
OTHER_ENVELOPE = "$enc:v1:k1:b3RoZXItY2lwaGVydGV4dA=="

# ---- pure: the diff --------------------------------------------------------------------------

DIFF_CASES = [
    ("nothing changed", {"a": {"b": [1]}}, {"a": {"b": [1]}}, []),
    ("add, remove, replace", {"a": 1, "b": 2}, {"b": 3, "c": 4},
     [{"op": "remove", "path": "/a"}, {"op": "replace", "path": "/b", "value": 3}, {"op": "add", "path": "/c",
         "value": 4}]),
    ("objects are compared key by key", {"o": {"x": 1, "y": 2}}, {"o": {"x": 1, "y": 5}},
     [{"op": "replace", "path": "/o/y", "value": 5}]),
    ("lists are replaced whole", {"l": [1, 2, 3]}, {"l": [1, 2]}, [{"op": "replace", "path": "/l", "value": [1, 2]}]),
    ("true is not 1", {"f": 1}, {"f": True}, [{"op": "replace", "path": "/f", "value": True}]),
    ("1 is not 1.0", {"f": 1}, {"f": 1.0}, [{"op": "replace", "path": "/f", "value": 1.0}]),
    ("a type change replaces", {"a": {"b": 1}}, {"a": "s"}, [{"op": "replace", "path": "/a", "value": "s"}]),
    ("keys are escaped", {}, {"a/b": {"~": 1}}, [{"op": "add", "path": "/a~1b", "value": {"~": 1}}]),
    ("secrets are masked", {"k": ENVELOPE}, {"k": OTHER_ENVELOPE, "n": {"s": ENVELOPE}},
     [{"op": "replace", "path": "/k", "value": "********"}, {"op": "add", "path": "/n", "value": {"s": "********"}}]),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in DIFF_CASES], ids=[c[0] for c in DIFF_CASES])
def test_json_diff(old, new, expected):
    ops = json_diff(old, new)
    assert ops == expected
    assert repr(ops) == repr(expected)
    if "$enc:" not in repr(new):
        assert jsonpatch.apply_patch(old, ops) == new, "a valid RFC 6902 patch from old to new"


# ---- pure: the blast radius equals merging every lineage from the root -----------------------


def _random_tree(rng: random.Random, size: int) -> tuple[list[Layer], dict[str, str]]:
    keys = ["a", "b", "c"]

    def value(depth):
        roll = rng.random()
        if depth < 2 and roll < 0.3:
            return {k: value(depth + 1) for k in rng.sample(keys, rng.randint(0, 2))}
        return None if roll < 0.45 else rng.choice([1, 2, [1], "s", True])

    layers, parents = [], {}
    for index in range(size):
        config = {k: value(1) for k in rng.sample(keys, rng.randint(0, 2))}
        locks = ["/" + "/".join(rng.sample(keys, rng.randint(1, 2)))] if rng.random() < 0.2 else []
        layers.append(Layer(f"n{index}", config, locks, 1))
        if index:
            parents[f"n{index}"] = f"n{rng.randrange(index)}"
    return layers, parents


def _lineage(node_id, by_id, parents):
    chain = [node_id]
    while chain[-1] in parents:
        chain.append(parents[chain[-1]])
    return [by_id[n] for n in reversed(chain)]


@pytest.mark.parametrize("seed", range(150))
def test_blast_radius_agrees_with_full_merges(seed):
    rng = random.Random(seed)
    layers, parents = _random_tree(rng, rng.randint(1, 14))
    by_id = {layer.node_id: layer for layer in layers}
    target = rng.choice(layers)
    new_config = {k: v for k, v in {"a": rng.choice([None, 3, {"b": 9}]), "c": rng.choice([None, "z"])}.items()}
    new_config = {k: v for k, v in new_config.items() if v is not None or rng.random() < 0.5}

    below = []  # parents first: the ids are created in that order
    inside = {target.node_id}
    for layer in layers:
        if parents.get(layer.node_id) in inside:
            inside.add(layer.node_id)
            below.append(Descendant(parents[layer.node_id], layer))
    ancestors = _lineage(target.node_id, by_id, parents)[:-1]
    before = copy.deepcopy(layers)
    result = blast_radius(ancestors, target, new_config, below)
    assert layers == before

    changed_by_id = dict(by_id) | {target.node_id: Layer(target.node_id, new_config, target.locked_paths, 1)}
    expected = []
    for node_id in [target.node_id, *(d.layer.node_id for d in below)]:
        old = effective_config(_lineage(node_id, by_id, parents))
        new = effective_config(_lineage(node_id, changed_by_id, parents))
        if canonical(old) != canonical(new):
            expected.append((node_id, old, new))
    assert [a.node_id for a in result.affected] == [e[0] for e in expected]
    assert result.unaffected_count == len(inside) - len(expected)
    for affected, (_, old, new) in zip(result.affected, expected, strict=True):
        assert jsonpatch.apply_patch(old, affected.diff) == new


@pytest.mark.parametrize("seed", range(150))
def test_level_by_level_states_merge_exactly_like_the_chain(seed):
    rng = random.Random(1000 + seed)
    layers, parents = _random_tree(rng, 8)
    lineage = _lineage(layers[-1].node_id, {layer.node_id: layer for layer in layers}, parents)
    before = copy.deepcopy(lineage)
    shared, states = MergeState(), []
    for layer in lineage:
        shared = shared.push(layer)
        states.append(shared)
    assert [repr(s.effective) for s in states] == [repr(e) for e in effective_chain(lineage)], "same keys, order, types"
    assert lineage == before, "layers are shared, never changed"


def test_a_subtree_under_an_unchanged_node_is_counted_not_merged():
    root = Layer("root", {"model": "a"}, [], 1)
    teams = [Descendant("root", Layer(f"t{i}", {"model": "own"} if i % 2 else {}, [], 1)) for i in range(6)]
    below_odd = [Descendant("t1", Layer(f"t1-{i}", {}, [], 1)) for i in range(4)]
    result = blast_radius([], root, {"model": "b"}, [*teams, *below_odd])
    assert [a.node_id for a in result.affected] == ["root", "t0", "t2", "t4"]
    assert result.unaffected_count == 3 + 4
    assert result.affected[1].diff == [{"op": "replace", "path": "/model", "value": "b"}]


def test_a_lock_at_the_node_reaches_teams_that_override_the_value():
    # teams below a lock keep the locking node's value, whatever they set
    node = Layer("root", {"m": "a"}, ["/m"], 1)
    team = Descendant("root", Layer("t", {"m": "own"}, [], 1))
    result = blast_radius([], node, {"m": "b"}, [team])
    assert [a.node_id for a in result.affected] == ["root", "t"]


def test_oversized_effective_configs_are_reported():
    team = Descendant("root", Layer("t", {"big": "x" * 500}, [], 1))
    grown = MergeState().push(Layer("root", {"more": "y" * 600}, [], 1))
    assert oversized("root", grown, [team], max_bytes=1000) == [("t", len('{"more":"","big":""}') + 1100)]
    assert oversized("root", grown, [team], max_bytes=2000) == []


# ---- the real server ---------------------------------------------------------------------------


def preview_url(org, node_id: str) -> str:
    return org.node_path(node_id) + "/config/preview"


def preview(org, node_id: str, body, content_type: str | None = None, client=None) -> dict:
    client = client or org.admin
    if content_type is None:
        response = client.post(preview_url(org, node_id), json=body)
    else:
        response = client.post(preview_url(org, node_id), content=json.dumps(body),
            headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"based_on", "affected", "unaffected_count", "errors"}
    return response.json()


def store_own(db, org_id: str, node_id: str, config: dict) -> None:
    db.execute(
        "UPDATE node_configurations SET config_json = %s WHERE org_id = %s AND node_id = %s",
        (Jsonb(config), org_id, node_id),
    )


def written_state(db, org_id: str):
    """Everything a write would touch, for proving a preview touched nothing."""
    return (
        db.execute("SELECT node_id, version, config_json FROM node_configurations WHERE org_id = %s ORDER BY node_id",
                   (org_id,)).fetchall(),
        db.execute("SELECT count(*) FROM node_config_versions WHERE org_id = %s", (org_id,)).fetchone(),
        db.execute("SELECT count(*) FROM audit_events WHERE org_id = %s", (org_id,)).fetchone(),
        db.execute("SELECT key_type, key_norm, node_id FROM routing_keys WHERE org_id = %s ORDER BY 1, 2",
                   (org_id,)).fetchall(),
    )


@pytest.fixture()
def tree(org):
    """root → platform → (sre, db); root → data. `db` overrides the model."""
    org.add_node("platform")
    org.add_node("sre", parent="platform")
    org.add_node("dbteam", parent="platform")
    org.add_node("data")
    assert org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}}).status_code == 200
    assert org.patch("dbteam", {"model": "o3"}).status_code == 200
    return org


def test_org_level_patch_shows_who_would_change_and_writes_nothing(tree, db):
    org = tree
    before = written_state(db, org.org_id)
    etag = org.admin.get(org.node_path(org.org_id) + "/effective").headers["etag"].strip('"')

    result = preview(org, org.org_id, {"config": {"model": "gpt-5", "tools": {"deploy": True}}, "reason": "upgrade"})

    assert result["based_on"] == etag
    assert result["errors"] == []
    by_node = {a["node_id"]: a["diff"] for a in result["affected"]}
    assert [a["node_id"] for a in result["affected"]] == [org.org_id, "data", "platform", "dbteam", "sre"]
    both = [{"op": "replace", "path": "/model", "value": "gpt-5"}, {"op": "add", "path": "/tools/deploy",
        "value": True}]
    assert by_node[org.org_id] == both and by_node["sre"] == both and by_node["data"] == both
    # the team that overrides the model only sees the tool
    assert by_node["dbteam"] == [{"op": "add", "path": "/tools/deploy", "value": True}]
    assert result["unaffected_count"] == 0
    assert written_state(db, org.org_id) == before, "a preview writes nothing"

    # the same write, made for real, does exactly what the preview said
    old = {n: org.effective(n) for n in by_node}
    assert org.patch(org.org_id, {"model": "gpt-5", "tools": {"deploy": True}}).status_code == 200
    for node_id, diff in by_node.items():
        assert jsonpatch.apply_patch(old[node_id], diff) == org.effective(node_id)


def test_a_team_that_overrides_the_key_is_not_affected(tree):
    result = preview(tree, tree.org_id, {"config": {"model": "gpt-5"}})
    assert [a["node_id"] for a in result["affected"]] == [tree.org_id, "data", "platform", "sre"]
    assert result["unaffected_count"] == 1


def test_preview_of_a_team_covers_its_subtree_only(tree):
    result = preview(tree, "platform", {"config": {"tools": {"think": False}}})
    assert [a["node_id"] for a in result["affected"]] == ["platform", "dbteam", "sre"]
    assert result["unaffected_count"] == 0
    assert result["based_on"] == tree.admin.get(tree.node_path("platform") + "/effective").json()["etag"]


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
def test_merge_patch_media_types(tree, content_type):
    result = preview(tree, "sre", {"config": {"model": None, "x": 1}}, content_type)
    assert result["affected"] == [{"node_id": "sre", "diff": [{"op": "add", "path": "/x", "value": 1}]}]
    # `null` in a merge patch deletes from the own config: the inherited model stays
    result = preview(tree, "dbteam", {"config": {"model": None}}, content_type)
    assert result["affected"] == [{"node_id": "dbteam", "diff": [{"op": "replace", "path": "/model",
        "value": "gpt-4o"}]}]


def test_json_patch_form(tree):
    ops = [{"op": "add", "path": "/model", "value": None}, {"op": "add", "path": "/limits", "value": {"runs": 3}}]
    result = preview(tree, "platform", ops, "application/json-patch+json")
    diff = [{"op": "remove", "path": "/model"}, {"op": "add", "path": "/limits", "value": {"runs": 3}}]
    assert result["affected"] == [
        {"node_id": "platform", "diff": diff},
        {"node_id": "dbteam", "diff": diff[1:]},  # its own model stays
        {"node_id": "sre", "diff": diff},
    ]
    assert result["unaffected_count"] == 0
    failing = preview(tree, "platform", [{"op": "test", "path": "/model", "value": "x"}], "application/json-patch+json")
    assert failing["affected"] == [] and failing["unaffected_count"] == 3
    assert [e["code"] for e in failing["errors"]] == ["precondition_failed"]
    broken = preview(tree, "platform", [{"op": "remove", "path": "/nope"}], "application/json-patch+json")
    assert broken["errors"][0]["code"] == "invalid_request" and broken["errors"][0]["path"] == "/0"


def test_rollback_to_a_version(tree):
    org = tree
    assert org.patch(org.org_id, {"model": "gpt-5"}).status_code == 200  # root is now at v3
    result = preview(org, org.org_id, {"rollback_to": 2})
    back = [{"op": "replace", "path": "/model", "value": "gpt-4o"}]
    assert {a["node_id"]: a["diff"] for a in result["affected"]} == {
        org.org_id: back, "data": back, "platform": back, "sre": back,
    }
    assert result["unaffected_count"] == 1 and result["errors"] == []
    everything = preview(org, org.org_id, {"rollback_to": 1})
    assert everything["affected"][0]["diff"] == [{"op": "remove", "path": "/model"}, {"op": "remove", "path": "/tools"}]
    nothing = preview(org, org.org_id, {"rollback_to": 3})
    assert nothing == {"based_on": nothing["based_on"], "affected": [], "unaffected_count": 5, "errors": []}
    missing = preview(org, org.org_id, {"rollback_to": 99})
    assert missing["affected"] == []
    assert missing["errors"] == [{"code": "not_found", "detail": missing["errors"][0]["detail"],
                                  "path": "/rollback_to", "holder": None}]


def test_a_change_that_changes_nothing(tree):
    result = preview(tree, "dbteam", {"config": {"model": "o3"}})
    assert result["affected"] == [] and result["errors"] == [] and result["unaffected_count"] == 1
    # an own value equal to the inherited one changes the own config but no effective config
    result = preview(tree, "platform", {"config": {"model": "gpt-4o"}})
    assert result["affected"] == [] and result["unaffected_count"] == 3


def test_lock_violations_are_errors_with_status_200(tree):
    org = tree
    response = org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model", "/tools/think"]})
    assert response.status_code == 200
    result = preview(org, "platform", {"config": {"model": "mine", "tools": {"think": False}, "other": 1}})
    assert result["errors"] == [
        {"code": "locked_path", "detail": result["errors"][0]["detail"], "path": "/model", "holder": None},
        {"code": "locked_path", "detail": result["errors"][1]["detail"], "path": "/tools/think", "holder": None},
    ]
    assert org.org_id in result["errors"][0]["detail"]
    # the locked values would not change below the lock anyway; the rest would
    assert {a["node_id"]: a["diff"] for a in result["affected"]} == {
        n: [{"op": "add", "path": "/other", "value": 1}] for n in ("platform", "dbteam", "sre")
    }
    # and the real write is refused the same way
    refused = org.patch("platform", {"model": "mine"})
    assert refused.status_code == 403 and refused.json()["code"] == "locked_path"


def test_routing_conflicts_name_the_holder(tree):
    org = tree
    assert org.patch("sre", {"routing": {"services": ["Checkout"], "slack_channel_ids": ["C1"]}}).status_code == 200
    result = preview(org, "data", {"config": {"routing": {"services": ["checkout"], "slack_channel_ids": ["C2"]}}})
    assert result["errors"] == [{
        "code": "routing_conflict",
        "detail": result["errors"][0]["detail"],
        "path": "/routing/services",
        "holder": {"org_id": org.org_id, "node_id": "sre", "key_type": "services", "key_value": "Checkout"},
    }]
    assert [a["node_id"] for a in result["affected"]] == ["data"]
    # re-claiming what the node itself holds is no conflict
    mine = preview(org, "sre", {"config": {"routing": {"services": ["CHECKOUT", "cart"]}}})
    assert mine["errors"] == []
    malformed = preview(org, "data", {"config": {"routing": {"services": "checkout"}}})
    assert [(e["code"], e["path"]) for e in malformed["errors"]] == [("invalid_config", "/routing/services")]
    workspace = preview(org, "data", {"config": {"routing": {"slack_workspace_ids": ["T1"]}}})
    assert [(e["code"], e["path"]) for e in workspace["errors"]] == [("invalid_config", "/routing/slack_workspace_ids")]


def test_binding_a_workspace_needs_the_global_admin(org):
    with org.client(org.admin_token()) as org_admin:
        result = preview(org, org.org_id, {"config": {"routing": {"slack_workspace_ids": ["T-preview"]}}},
            client=org_admin)
    assert [e["code"] for e in result["errors"]] == ["forbidden"]
    assert preview(org, org.org_id, {"config": {"routing": {"slack_workspace_ids": ["T-preview"]}}})["errors"] == []


def test_validation_problems_are_errors(tree):
    result = preview(tree, "sre", {"config": {"a": "********"}})
    assert [(e["code"], e["path"]) for e in result["errors"]] == [("invalid_config", "/a")]
    assert result["affected"] == []
    forged = preview(tree, "sre", {"config": {"a": "$enc:v1:k:AAAA"}})
    assert [e["code"] for e in forged["errors"]] == ["invalid_config"]
    deep: dict = {}
    node = deep
    for _ in range(40):
        node["d"] = {}
        node = node["d"]
    too_deep = preview(tree, "sre", {"config": deep})
    assert [e["code"] for e in too_deep["errors"]] == ["invalid_config"]
    too_big = preview(tree, "sre", {"config": {"blob": "x" * (300 * 1024)}})
    assert [e["code"] for e in too_big["errors"]] == ["payload_too_large"]
    assert [a["node_id"] for a in too_big["affected"]] == ["sre"], "its blast radius is still shown"


def test_an_effective_config_over_1_mib_below_is_an_error(org):
    chain = [org.org_id, "n1", "n2", "n3", "team"]
    for parent, child in zip(chain, chain[1:], strict=False):
        org.add_node(child, parent=parent)
    sizes = {org.org_id: 100_000, "n1": 240_000, "n2": 240_000, "n3": 240_000, "team": 200_000}
    for index, node_id in enumerate(chain):
        assert org.patch(node_id, {f"k{index}": "x" * sizes[node_id]}).status_code == 200
    result = preview(org, org.org_id, {"config": {"more": "y" * 100_000}})
    assert [(e["code"], e["path"]) for e in result["errors"]] == [("invalid_config", "")]
    assert "'team'" in result["errors"][0]["detail"]
    assert len(result["affected"]) == 5


def test_secrets_are_masked_in_diffs(tree, db):
    org = tree
    store_own(db, org.org_id, org.org_id, {"model": "gpt-4o", "creds": {"key": ENVELOPE}})
    db.execute("UPDATE node_config_versions SET config_json = %s WHERE org_id = %s AND node_id = %s AND version = 1",
               (Jsonb({"creds": {"key": OTHER_ENVELOPE}}), org.org_id, org.org_id))
    responses = [
        org.admin.post(preview_url(org, org.org_id), json={"rollback_to": 1, "restore_secrets": True}),
        org.admin.post(preview_url(org, org.org_id), json={"rollback_to": 1}),
        org.admin.post(preview_url(org, org.org_id), json={"config": {"creds": {"key": "********", "user": "u"}}}),
        org.admin.post(preview_url(org, org.org_id), json={"config": {"creds": None}}),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert ENVELOPE not in response.text and OTHER_ENVELOPE not in response.text
        assert "c2VjcmV0" not in response.text and "b3RoZXIt" not in response.text
    restored, kept, masked, removed = (r.json() for r in responses)
    assert restored["affected"][0]["diff"] == [
        {"op": "remove", "path": "/model"}, {"op": "replace", "path": "/creds/key", "value": "********"},
    ]
    assert kept["affected"][0]["diff"] == [{"op": "remove", "path": "/model"}], "the current secret is kept"
    assert masked["errors"] == [] and masked["affected"][0]["diff"] == [{"op": "add", "path": "/creds/user",
        "value": "u"}]
    assert removed["affected"][0]["diff"] == [{"op": "remove", "path": "/creds"}]


def test_new_secrets_and_integration_fields_are_checked_and_masked(tree):
    org = tree
    plaintext = "sk-preview-plaintext-0123456789"
    bodies = [
        {"config": {"vendor": {"token": {"$secret": plaintext}}}},
        {"config": {"integrations": {"coralogix": {"api_key": plaintext, "domain": "eu2.coralogix.com"}}}},
    ]
    for body in bodies:
        response = org.admin.post(preview_url(org, org.org_id), json=body)
        assert response.status_code == 200, response.text
        assert plaintext not in response.text and "$enc:" not in response.text
        result = response.json()
        assert result["errors"] == [], result["errors"]
        assert len(result["affected"]) == 5
        assert "********" in json.dumps(result["affected"][0]["diff"])
    unknown = preview(org, "sre", {"config": {"integrations": {"coralogix": {"no_such_field": 1}}}})
    assert [(e["code"], e["path"]) for e in unknown["errors"]] == [("invalid_config",
        "/integrations/coralogix/no_such_field")]
    assert unknown["affected"] == []


def test_error_details_never_quote_a_secret(tree, db):
    """JSON Patch and JSON Pointer messages quote the document; a preview masks what they quote."""
    org = tree
    store_own(db, org.org_id, "sre", {"creds": {"key": ENVELOPE}})
    bodies = [
        [{"op": "test", "path": "/creds/key", "value": "guess"}],
        [{"op": "add", "path": "/creds/nope/x", "value": 1}],
    ]
    for ops in bodies:
        response = org.admin.post(preview_url(org, "sre"), content=json.dumps(ops),
                                  headers={"Content-Type": "application/json-patch+json"})
        assert response.status_code == 200, response.text
        assert ENVELOPE not in response.text and "c2VjcmV0" not in response.text
        assert response.json()["errors"][0]["code"] in ("precondition_failed", "invalid_request")


def test_preview_is_for_admins_of_the_org(tree, make_org):
    org = tree
    body = {"config": {"x": 1}}
    with org.team_client("sre", scopes=["config:read", "config:write"]) as team:
        response = team.post(preview_url(org, "sre"), json=body)
        assert response.status_code == 403
    with org.client(org.admin_token()) as org_admin:
        assert org_admin.post(preview_url(org, "sre"), json=body).status_code == 200
        other = make_org("other")
        assert org_admin.post(preview_url(other, other.org_id), json=body).status_code == 403
    missing = org.admin.post(preview_url(org, "nope"), json=body)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{nope", "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b'{"config": 1}', "application/json", 422, "invalid_config"),
        (b'{"reason": "x"}', "application/json", 422, "invalid_request"),
        (b"[1]", "application/json", 422, "invalid_request"),
        (b'{"rollback_to": "2"}', "application/json", 422, "invalid_request"),
        (b'{"rollback_to": 0}', "application/json", 422, "invalid_request"),
        (b'{"rollback_to": true}', "application/json", 422, "invalid_request"),
        (b'{"rollback_to": 99999999999}', "application/json", 422, "invalid_request"),
        (b'{"rollback_to": 1, "config": {}}', "application/json", 422, "invalid_request"),
        (b'{"op": "add"}', "application/json-patch+json", 422, "invalid_request"),
        (b'{"config": {}}', "text/plain", 415, "unsupported_media_type"),
        (b"[" * 5000 + b"]" * 5000, "application/json-patch+json", 422, "invalid_config"),
    ],
)
def test_bad_bodies_are_client_errors(tree, db, content, content_type, status, code):
    before = written_state(db, tree.org_id)
    response = tree.admin.post(preview_url(tree, "sre"), content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert written_state(db, tree.org_id) == before


# ---- 1,000 descendants -------------------------------------------------------------------------


def test_preview_over_1000_descendants_is_correct_and_fast(org, db):
    """10 groups of 99 teams under the root (1,000 descendants in all). Every 7th team overrides
    the model; group g3 locks nothing but overrides it for all its teams."""
    org_id = org.org_id
    nodes = [(f"g{g}", org_id) for g in range(10)] + [(f"g{g}-t{t}", f"g{g}") for g in range(10) for t in range(89)]
    nodes += [(f"g0-t0-s{s}", "g0-t0") for s in range(100)]
    assert len(nodes) == 1000
    base_config = {"tools": {"think": True}, "agents": {"planner": {"prompt": "p" * 300, "steps": list(range(20))}}}

    def own(node_id: str) -> dict:
        if node_id == "g3" or (node_id.count("-") == 1 and int(node_id.rsplit("t", 1)[1]) % 7 == 0):
            return {"model": f"own-{node_id}", **base_config}
        return dict(base_config)

    with db.transaction():
        with db.cursor() as cur:
            cur.executemany(
                "INSERT INTO org_nodes (org_id, node_id, parent_node_id, node_type, name, node_uid) "
                "VALUES (%s, %s, %s, 'team', %s, gen_random_uuid())",
                [(org_id, n, p, n) for n, p in nodes],
            )
            cur.executemany(
                "INSERT INTO node_configurations (org_id, node_id, config_json, version, locked_paths) "
                "VALUES (%s, %s, %s, 1, '[]')",
                [(org_id, n, Jsonb(own(n))) for n, _ in nodes],
            )
            cur.executemany(
                "INSERT INTO node_config_versions (org_id, node_id, version, config_json, diff, changed_by, reason) "
                "VALUES (%s, %s, 1, %s, '[]', 'test', 'created')",
                [(org_id, n, Jsonb(own(n))) for n, _ in nodes],
            )
    assert org.patch(org_id, {"model": "gpt-4o"}).status_code == 200

    parent_of = dict(nodes)

    def inherits_the_model(node_id: str) -> bool:
        while node_id != org_id:
            if "model" in own(node_id):
                return False
            node_id = parent_of[node_id]
        return True

    expected = [org_id] + [n for n, _ in nodes if inherits_the_model(n)]
    assert 600 < len(expected) < 900

    preview(org, org_id, {"config": {"model": "gpt-5"}})  # warm up the connection pool and caches
    started = time.perf_counter()
    result = preview(org, org_id, {"config": {"model": "gpt-5"}})
    elapsed = time.perf_counter() - started

    affected = [a["node_id"] for a in result["affected"]]
    assert affected[0] == org_id and set(affected) == set(expected) and len(affected) == len(expected)
    depths = [n.count("-") for n in affected[1:]]
    assert depths == sorted(depths), "parents before children"
    assert all(a["diff"] == [{"op": "replace", "path": "/model", "value": "gpt-5"}] for a in result["affected"])
    assert result["unaffected_count"] == 1001 - len(expected)
    assert result["errors"] == []
    assert elapsed < 2.0, f"preview over 1,000 descendants took {elapsed:.2f}s"
