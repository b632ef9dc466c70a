"""PURE: export (DESIGN §12.4) and the round trips export → render → parse → plan → apply →
export, on fixed and on randomly grown orgs. The apply is the in-memory model of
`tests.transfer_support`, which refuses each step as the node API would."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from config_service.kit.pointer import parse_pointer
from config_service.kit.secret_leaves import MASK, mask
from config_service.transfer import codec
from config_service.transfer.document import Document, validate_document
from config_service.transfer.export import export_document
from config_service.transfer.plan import plan_import
from config_service.transfer.state import CurrentNode
from tests.transfer_support import apply, cur, env

ORG = [
    cur("acme", None, {
        "model": "gpt-4o",
        "routing": {"slack_workspace_ids": ["T1"], "services": ["payments"]},
        "integrations": {"coralogix": {"api_key": env("org-cx"), "domain": "eu2"}},
        "agents": {"planner": {"model": "o3", "tools": ["think", "search"]}},
    }, ("/model", "/agents/planner/model", "/model"), version=7, name="Acme Inc"),
    cur("web", "acme", {"routing": {"services": ["web"]}}, version=2),
    cur("sre", "acme", {"model": None, "agents": {"planner": {"tools": ["think"]}}}, ("/agents",), version=4),
    cur("db", "sre", {"custom": {"token": env("db-token"), "url": "https://db"}, "model": "2024-01-01"}, version=3),
    cur("api", "sre", {"flags": {"yes": "yes", "n": "123", "on": None}}),
    cur("pg", "db", {"agents": {"planner": {"model": "local"}}, "list": [MASK, None, 1.5]}, version=2),
]


def test_export_shape() -> None:
    document = export_document("Acme Inc", ORG)
    assert (document.format, document.org.org_id, document.org.name) == ("config-service/v1", "acme", "Acme Inc")
    # depth first, siblings by id: a team's sub-teams follow it
    assert [(n.node_id, n.parent_node_id) for n in document.nodes] == [
        ("acme", None), ("sre", "acme"), ("api", "sre"), ("db", "sre"), ("pg", "db"), ("web", "acme")]
    root, sre, _, db, pg, web = document.nodes
    assert root.config == {
        "model": "gpt-4o",
        "routing": {"services": ["payments"]},  # the global admin's workspace binding is left out
        "integrations": {"coralogix": {"api_key": MASK, "domain": "eu2"}},
        "agents": {"planner": {"model": "o3", "tools": ["think", "search"]}},
    }
    assert root.locked_paths == ["/agents/planner/model", "/model"]  # sorted, once each
    assert sre.config == {"model": None, "agents": {"planner": {"tools": ["think"]}}}  # tombstone kept
    assert db.config["custom"] == {"token": MASK, "url": "https://db"}
    assert pg.config["list"] == [MASK, None, 1.5] and web.config == {"routing": {"services": ["web"]}}
    assert "$enc:" not in str(document.model_dump())


def test_export_leaves_the_state_alone_and_keeps_an_emptied_routing() -> None:
    state = [cur("acme", None, {"routing": {"slack_workspace_ids": ["T1"]}, "k": env("a")})]
    before = copy.deepcopy(state)
    document = export_document("Acme", state)
    assert document.nodes[0].config == {"routing": {}, "k": MASK}
    assert state == before


def test_an_export_is_a_valid_document() -> None:
    document = export_document("Acme Inc", ORG)
    assert validate_document(codec.document_dict(document)) == document


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_exports_of_one_state_are_byte_identical(kind: Any) -> None:
    shuffled = list(reversed(ORG))
    shuffled[0] = CurrentNode(**{**shuffled[0].__dict__, "own_config": dict(reversed(shuffled[0].own_config.items()))})
    first = codec.render(export_document("Acme Inc", ORG), kind)
    assert first == codec.render(export_document("Acme Inc", ORG), kind)
    assert first == codec.render(export_document("Acme Inc", shuffled), kind)


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_an_export_plans_unchanged_against_its_own_org(kind: Any) -> None:
    document = export_document("Acme Inc", ORG)
    media = "application/yaml" if kind == "yaml" else "application/json"
    plan = plan_import(ORG, codec.parse(codec.render(document, kind), media))
    assert {c.action for c in plan.changes} == {"unchanged"} and len(plan.changes) == len(ORG)
    assert (plan.steps, plan.errors, plan.needs_secret) == ((), (), ())


def without(data: dict[str, Any], needs: list[tuple[str, str]]) -> dict[str, Any]:
    """Document data with the given (node, path) members removed."""
    for node in data["nodes"]:
        for node_id, path in needs:
            if node["node_id"] == node_id:
                *parents, last = parse_pointer(path)
                target = node["config"]
                for token in parents:
                    target = target[token]
                del target[last]
    return data


def as_org(document: Document, root: str, name: str) -> dict[str, Any]:
    """The document as data with its root as `root` (what an import into that org makes of it)."""
    data = codec.document_dict(document)
    data["org"] = {"org_id": root, "name": name}
    data["nodes"][0].update(node_id=root, name=name)
    for node in data["nodes"][1:]:
        if node["parent_node_id"] == document.nodes[0].node_id:
            node["parent_node_id"] = root
    return data


def test_promotion_into_an_empty_org_reproduces_the_document_but_its_secrets() -> None:
    source = export_document("Acme Inc", ORG)
    empty = [cur("prod", None, name="Production")]
    plan = plan_import(empty, codec.parse(codec.render_yaml(source), "application/yaml"))
    assert [(s.node_id, s.path) for s in plan.needs_secret] == [
        ("prod", "/integrations/coralogix/api_key"), ("db", "/custom/token")]
    assert plan.errors == ()
    imported = apply(empty, plan, normal_lock_check=True)
    again = export_document("Production", imported)
    expected = without(as_org(source, "prod", "Production"), [(s.node_id, s.path) for s in plan.needs_secret])
    assert codec.document_dict(again) == expected
    replan = plan_import(imported, source)
    assert {c.action for c in replan.changes} == {"unchanged"}
    assert [(s.node_id, s.path) for s in replan.needs_secret] == [(s.node_id, s.path) for s in plan.needs_secret]


# ---- randomly grown orgs and randomly edited documents ----------------------------------------

KEYS = ["model", "tools", "agents", "routing", "flags", "limits"]


def random_config(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key in rng.sample(KEYS, rng.randint(0, 3)):
        roll = rng.random()
        if roll < 0.15:
            config[key] = None
        elif roll < 0.3 and depth < 3:
            config[key] = random_config(rng, depth + 1)
        elif roll < 0.45:
            config[key] = {"secret": env(f"{rng.random():.6f}")}
        elif roll < 0.6:
            config[key] = [rng.randint(0, 3), "x"]
        else:
            config[key] = rng.choice(["a", "b", 1, 2.5, True, "2024-01-01", "yes"])
    return config


def random_org(rng: random.Random, size: int, root: str = "acme") -> list[CurrentNode]:
    nodes = [cur(root, None, random_config(rng), version=rng.randint(1, 9))]
    for index in range(1, size):
        parent = rng.choice(nodes).node_id
        locks = tuple(rng.sample(["/locked/a", "/locked/b", "/locked/c"], rng.randint(0, 2)))
        nodes.append(cur(f"t{index}", parent, random_config(rng), locks, version=rng.randint(1, 9)))
    return nodes


def edited_document(rng: random.Random, source: Document) -> Document:
    """Another tree and other configs from `source`: moves, renames, edits, lock changes, new
    nodes, dropped leaves, masks the target may or may not fill. Locks only ever cover
    `/locked/…`, which no config uses, so the lock rule never refuses and the apply must succeed."""
    data = codec.document_dict(source)
    nodes = data["nodes"]
    placed: list[dict[str, Any]] = [nodes[0]]
    for node in nodes[1:]:
        roll = rng.random()
        if roll < 0.1:
            continue  # dropped (kept or pruned), with its subtree unless a child is placed elsewhere
        known = [n["node_id"] for n in placed]
        if node["parent_node_id"] not in known or roll < 0.3:
            node["parent_node_id"] = rng.choice(known)
        if rng.random() < 0.2:
            node["name"] = f"renamed {rng.randint(0, 99)}"
        if rng.random() < 0.4:
            node["config"] = mask(random_config(rng))
        if rng.random() < 0.3:
            node["locked_paths"] = sorted(rng.sample(["/locked/a", "/locked/b", "/locked/c"], rng.randint(0, 3)))
        placed.append(node)
    for index in range(rng.randint(0, 4)):
        placed.append({"node_id": f"new{index}", "parent_node_id": rng.choice(placed)["node_id"], "name": "new",
                       "config": mask(random_config(rng)), "locked_paths": []})
    data["nodes"] = placed
    return validate_document(data)


@pytest.mark.parametrize("seed", range(40))
def test_random_imports_apply_and_replan_unchanged(seed: int) -> None:
    rng = random.Random(seed)
    state = random_org(rng, rng.randint(1, 25), root="prod" if seed % 2 else "acme")
    source = random_org(rng, rng.randint(1, 25))
    document = edited_document(rng, export_document("Acme", source if seed % 3 == 0 else state))
    prune = bool(seed % 4 < 2)
    document = codec.parse(codec.render_yaml(document), "application/yaml")
    plan = plan_import(state, document, prune=prune)
    assert plan.errors == ()
    imported = apply(state, plan, normal_lock_check=True)
    replan = plan_import(imported, document, prune=prune)
    assert {c.action for c in replan.changes} == {"unchanged"}, [c.view() for c in replan.changes]
    assert replan.steps == () and replan.needs_secret == plan.needs_secret
    # the org now holds exactly the document (its root as the org's), without the unfillable secrets
    exported = codec.document_dict(export_document("Acme", imported))
    needs = [(s.node_id, s.path) for s in plan.needs_secret]
    expected = without(as_org(document, state[0].node_id, state[0].name), needs)
    in_document = {n["node_id"] for n in expected["nodes"]}
    kept = [n for n in exported["nodes"] if n["node_id"] not in in_document]
    assert set(plan.kept) == {n["node_id"] for n in kept} and not (prune and kept)
    before = {n["node_id"]: n for n in codec.document_dict(export_document("Acme", state))["nodes"]}
    for node in kept:  # untouched
        assert node == before[node["node_id"]]
    by_id = {n["node_id"]: n for n in exported["nodes"]}
    for node in expected["nodes"]:
        assert by_id[node["node_id"]] == node
