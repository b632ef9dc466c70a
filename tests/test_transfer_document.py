"""PURE: the rules a document obeys on its own (DESIGN §12.4, §2, §6): fields, identifiers, the
tree (one root, first; parents before children; no repeats, no cycles, depth ≤ 32), configs as
the writes accept them, locked paths."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config_service.errors import AppError
from config_service.kit.limits import MAX_TREE_DEPTH
from config_service.transfer.document import MAX_DOCUMENT_NODES, validate_document


def node(node_id: str, parent: str | None, config: dict[str, Any] | None = None,
         locked_paths: list[Any] | None = None, name: Any = None) -> dict[str, Any]:
    return {"node_id": node_id, "parent_node_id": parent, "name": name or node_id.upper(),
            "config": config if config is not None else {}, "locked_paths": locked_paths or []}


def document(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"format": "config-service/v1", "org": {"org_id": "acme", "name": "Acme"},
            "nodes": list(nodes) or [node("acme", None)]}


GOOD = document(node("acme", None, {"model": "gpt-4o"}), node("sre", "acme"), node("db", "sre"))


def refused(value: Any) -> AppError:
    with pytest.raises(AppError) as caught:
        validate_document(value)
    assert caught.value.status == 422
    return caught.value


def edited(**changes: Any) -> dict[str, Any]:
    """GOOD with `path=value` edits: keys like `nodes__1__parent_node_id`; `DELETE` removes the key."""
    value = copy.deepcopy(GOOD)
    for dotted, new in changes.items():
        target: Any = value
        parts = [int(p) if p.isdigit() else p for p in dotted.split("__")]
        for part in parts[:-1]:
            target = target[part]
        if new == "DELETE":
            del target[parts[-1]]
        else:
            target[parts[-1]] = new
    return value


def test_a_good_document_validates() -> None:
    result = validate_document(GOOD)
    assert [n.node_id for n in result.nodes] == ["acme", "sre", "db"]
    assert result.nodes[0].config == {"model": "gpt-4o"}


FIELD_PROBLEMS = [
    # (label, value, code, path, words)
    ("not an object", ["format"], "invalid_request", "", "object"),
    ("unknown top-level field", edited(version=2), "invalid_request", "/version", "unknown field 'version'"),
    ("unknown org field", edited(org__org_uid="x"), "invalid_request", "/org/org_uid", "unknown field 'org_uid'"),
    ("unknown node field", edited(nodes__1__lock_paths=[]), "invalid_request", "/nodes/1/lock_paths",
     "unknown field 'lock_paths'"),
    ("missing format", edited(format="DELETE"), "invalid_request", "/format", "required"),
    ("missing config", edited(nodes__2__config="DELETE"), "invalid_request", "/nodes/2/config", "required"),
    ("missing locked_paths", edited(nodes__2__locked_paths="DELETE"), "invalid_request", "/nodes/2/locked_paths",
     "required"),
    ("missing parent_node_id", edited(nodes__1__parent_node_id="DELETE"), "invalid_request",
     "/nodes/1/parent_node_id", "required"),
    ("other format", edited(format="config-service/v2"), "invalid_request", "/format", "config-service/v1"),
    ("no nodes", edited(nodes=[]), "invalid_request", "/nodes", "at least 1"),
    ("config not an object", edited(nodes__1__config=[1]), "invalid_request", "/nodes/1/config", "dictionary"),
    ("name not a string", edited(nodes__1__name=5), "invalid_request", "/nodes/1/name", "string"),
    ("empty name", edited(nodes__1__name=""), "invalid_request", "/nodes/1/name", "at least 1"),
    ("name too long", edited(nodes__1__name="n" * 201), "invalid_request", "/nodes/1/name", "at most 200"),
    ("node id with a dot", edited(nodes__1__node_id="sre.team"), "invalid_request", "/nodes/1/node_id", "pattern"),
    ("node id starting with _", edited(nodes__1__node_id="_sre"), "invalid_request", "/nodes/1/node_id", "pattern"),
    ("node id of 65 characters", edited(nodes__1__node_id="a" * 65), "invalid_request", "/nodes/1/node_id",
     "at most 64"),
    ("org id with a space", edited(org__org_id="ac me"), "invalid_request", "/org/org_id", "pattern"),
    ("parent id not an id", edited(nodes__1__parent_node_id="a/b"), "invalid_request", "/nodes/1/parent_node_id",
     "pattern"),
    ("locked path not a string", edited(nodes__1__locked_paths=[1]), "invalid_request", "/nodes/1/locked_paths/0",
     "string"),
]


@pytest.mark.parametrize(("label", "value", "code", "path", "words"), FIELD_PROBLEMS,
                         ids=[p[0] for p in FIELD_PROBLEMS])
def test_field_problems(label: str, value: Any, code: str, path: str, words: str) -> None:
    error = refused(value)
    assert (error.code, error.extra["path"]) == (code, path)
    assert words in error.detail


def test_every_unknown_field_is_named() -> None:
    error = refused(edited(extra=1, org__color="red", nodes__2__owner="me"))
    assert error.extra["path"] in {"/extra", "/org/color", "/nodes/2/owner"}
    for name in ("'extra'", "'color'", "'owner'", "/nodes/2/owner", "/org/color"):
        assert name in error.detail


TREE_PROBLEMS = [
    ("root not first", document(node("sre", "acme"), node("acme", None)), "/nodes/0/parent_node_id", "first node"),
    ("two roots", document(node("acme", None), node("other", None)), "/nodes/1/parent_node_id", "only the first"),
    ("root id is not the org id", document(node("root", None)), "/nodes/0/node_id", "org's id"),
    ("duplicate id", document(node("acme", None), node("sre", "acme"), node("sre", "acme")), "/nodes/2/node_id",
     "appears twice"),
    ("duplicate of the root", document(node("acme", None), node("acme", "acme")), "/nodes/1/node_id",
     "appears twice"),
    ("parent listed after the child", document(node("acme", None), node("db", "sre"), node("sre", "acme")),
     "/nodes/1/parent_node_id", "must come before"),
    ("parent missing", document(node("acme", None), node("db", "ghost")), "/nodes/1/parent_node_id",
     "not in the document"),
    ("own parent", document(node("acme", None), node("sre", "sre")), "/nodes/1/parent_node_id",
     "its own parent"),
    ("two-node cycle", document(node("acme", None), node("a", "b"), node("b", "a")), "/nodes/1/parent_node_id",
     "cycle: a → b → a"),
    ("three-node cycle", document(node("acme", None), node("a", "c"), node("b", "a"), node("c", "b")),
     "/nodes/1/parent_node_id", "cycle: a → c → b → a"),
]


@pytest.mark.parametrize(("label", "value", "path", "words"), TREE_PROBLEMS, ids=[p[0] for p in TREE_PROBLEMS])
def test_tree_problems(label: str, value: Any, path: str, words: str) -> None:
    error = refused(value)
    assert (error.code, error.extra["path"]) == ("invalid_request", path)
    assert words in error.detail


def chain(levels: int) -> dict[str, Any]:
    nodes = [node("acme", None)] + [node(f"n{i}", "acme" if i == 2 else f"n{i - 1}") for i in range(2, levels + 1)]
    return document(*nodes)


def test_depth_is_at_most_32_counting_the_root() -> None:
    assert len(validate_document(chain(MAX_TREE_DEPTH)).nodes) == 32
    error = refused(chain(MAX_TREE_DEPTH + 1))
    assert error.extra["path"] == f"/nodes/{MAX_TREE_DEPTH}/parent_node_id" and "depth 33" in error.detail


def test_node_count_is_bounded() -> None:
    many = document(node("acme", None), *(node(f"n{i}", "acme") for i in range(MAX_DOCUMENT_NODES)))
    error = refused(many)
    assert error.extra["path"] == "/nodes" and f"at most {MAX_DOCUMENT_NODES}" in error.detail


DEEP_CONFIG: dict[str, Any] = {}
_level = DEEP_CONFIG
for _ in range(32):
    _level["a"] = {}
    _level = _level["a"]

CONFIG_PROBLEMS = [
    ("nesting over 32", {"x": DEEP_CONFIG}, "/nodes/1/config/x" + "/a" * 31,
     "nesting deeper than 32"),
    ("key over 256 characters", {"k" * 257: 1}, "/nodes/1/config/" + "k" * 40 + "…", "longer than 256"),
    ("the whole config a secret", {"$secret": "x"}, "/nodes/1/config", "one of its members"),
    ("envelope", {"a": {"b": "$enc:v1:k:AAAA"}}, "/nodes/1/config/a/b", "reserved"),
    ("envelope in a list", {"a": ["$enc:v1:k:AAAA"]}, "/nodes/1/config/a/0", "reserved"),
    ("secret in a list", {"a": [{"$secret": "x"}]}, "/nodes/1/config/a/0", "lists cannot hold secrets"),
    ("secret with company", {"a": {"$secret": "x", "b": 1}}, "/nodes/1/config/a", "alone"),
    ("secret not a string", {"a": {"$secret": 1}}, "/nodes/1/config/a", "alone"),
    ("empty secret", {"a": {"$secret": ""}}, "/nodes/1/config/a", "cannot be empty"),
    ("secret looking like an envelope", {"a": {"$secret": "$enc:v1:x"}}, "/nodes/1/config/a", "reserved"),
    ("slack workspace bindings", {"routing": {"slack_workspace_ids": ["T1"]}},
     "/nodes/1/config/routing/slack_workspace_ids", "global admin"),
    ("slack workspace tombstone", {"routing": {"slack_workspace_ids": None}},
     "/nodes/1/config/routing/slack_workspace_ids", "global admin"),
]


@pytest.mark.parametrize(("label", "config", "path", "words"), CONFIG_PROBLEMS, ids=[p[0] for p in CONFIG_PROBLEMS])
def test_config_problems_are_invalid_config(label: str, config: dict[str, Any], path: str, words: str) -> None:
    error = refused(edited(nodes__1__config=config))
    assert (error.code, error.extra["path"]) == ("invalid_config", path)
    assert words in error.detail


def test_configs_hold_what_writes_accept() -> None:
    config = {
        "model": None,  # a tombstone
        "tools": {"deploy": None, "think": True},
        "integrations": {"coralogix": {"api_key": "********", "domain": "eu2"}},
        "custom": {"token": {"$secret": "plain"}, "other": {"$secret": "********"}},
        "list": ["********", None, {"a": None}],
        "routing": {"services": ["a"]},
        "x": DEEP_CONFIG["a"]["a"],  # 32 levels with the top: at the limit
    }
    result = validate_document(edited(nodes__1__config=config))
    assert result.nodes[1].config == config


LOCK_PROBLEMS = [
    ("not a pointer", ["model"], "/nodes/1/locked_paths/0", "JSON Pointer"),
    ("the whole document", [""], "/nodes/1/locked_paths/0", "JSON Pointer"),
    ("an empty segment", ["/a//b"], "/nodes/1/locked_paths/0", "empty segments"),
    ("a bad escape", ["/a", "/a~2"], "/nodes/1/locked_paths/1", "~"),
    ("too long", ["/" + "a" * 1024], "/nodes/1/locked_paths/0", "at most 1024"),
]


@pytest.mark.parametrize(("label", "paths", "path", "words"), LOCK_PROBLEMS, ids=[p[0] for p in LOCK_PROBLEMS])
def test_locked_path_problems(label: str, paths: list[str], path: str, words: str) -> None:
    error = refused(edited(nodes__1__locked_paths=paths))
    assert (error.code, error.extra["path"]) == ("invalid_request", path)
    assert words in error.detail


def test_locked_paths_are_sorted_without_repeats() -> None:
    result = validate_document(edited(nodes__1__locked_paths=["/b", "/a~1b", "/b", "/a"]))
    assert result.nodes[1].locked_paths == ["/a", "/a~1b", "/b"]


def test_validation_does_not_change_its_input() -> None:
    value = edited(nodes__1__locked_paths=["/b", "/a"])
    before = copy.deepcopy(value)
    validate_document(value)
    assert value == before
