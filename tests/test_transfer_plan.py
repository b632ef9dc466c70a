"""PURE: the import planner (DESIGN §12.4): actions and diffs, promotion, masks and
`needs_secret`, the import's lock rule, the tree after the import, prune, the apply's steps,
`based_on`, and the service's extra checks. No database, no server."""

from __future__ import annotations

from typing import Any

import pytest

from config_service.errors import InvalidConfig, RoutingConflict
from config_service.kit.jsondoc import MAX_OWN_CONFIG_BYTES
from config_service.kit.secret_leaves import MASK
from config_service.transfer.plan import NodeChange, PlanError, plan_import
from config_service.transfer.state import tree_state_hash
from config_service.transfer.tree import FinalTree
from tests.transfer_support import apply, cur, doc, entry, env


def actions(plan: Any) -> dict[str, str]:
    return {c.node_id: c.action for c in plan.changes}


def change_of(plan: Any, node_id: str) -> NodeChange:
    return next(c for c in plan.changes if c.node_id == node_id)


STATE = [
    cur("acme", None, {"model": "gpt-4o", "tools": {"think": True}}, ("/model",), version=3),
    cur("sre", "acme", {"tools": {"deploy": True}, "model": None}, version=2),
    cur("db", "sre", {"x": 1}),
    cur("web", "acme"),
]
SAME = doc(
    entry("acme", None, {"model": "gpt-4o", "tools": {"think": True}}, ["/model"], name="ACME"),
    entry("sre", "acme", {"tools": {"deploy": True}, "model": None}),
    entry("db", "sre", {"x": 1}),
    entry("web", "acme"),
)


def test_the_same_state_plans_all_unchanged() -> None:
    plan = plan_import(STATE, SAME)
    assert actions(plan) == dict.fromkeys(["acme", "sre", "db", "web"], "unchanged")
    assert (plan.steps, plan.errors, plan.needs_secret, plan.kept) == ((), (), (), ())
    assert all(c.diff == [] and not c.locks.added and not c.locks.removed for c in plan.changes)


ACTION_CASES = [
    # (label, document entries replacing SAME's, node, action, diff, locks added, removed, step kinds)
    ("config edited", {"db": entry("db", "sre", {"x": 2, "y": None})}, "db", "update",
     [{"op": "add", "path": "/y", "value": None}, {"op": "replace", "path": "/x", "value": 2}], [], [], ["write"]),
    ("renamed only", {"web": entry("web", "acme", name="Web team")}, "web", "update", [], [], [], ["rename"]),
    ("lock added", {"db": entry("db", "sre", {"x": 1}, ["/x"])}, "db", "update", [], ["/x"], [], ["lock"]),
    ("lock removed", {"acme": entry("acme", None, {"model": "gpt-4o", "tools": {"think": True}})}, "acme", "update",
     [], [], ["/model"], ["unlock"]),
    ("moved only", {"db": entry("db", "acme", {"x": 1})}, "db", "move", [], [], [], ["move"]),
    ("moved and edited", {"db": entry("db", "acme", {"x": 3})}, "db", "move",
     [{"op": "replace", "path": "/x", "value": 3}], [], [], ["move", "write"]),
    ("moved, renamed, edited, locked", {"db": entry("db", "acme", {}, ["/a"], name="D")}, "db", "move",
     [{"op": "remove", "path": "/x"}], ["/a"], [], ["move", "rename", "write", "lock"]),
    ("true is not 1", {"db": entry("db", "sre", {"x": True})}, "db", "update",
     [{"op": "replace", "path": "/x", "value": True}], [], [], ["write"]),
    ("a tombstone removed", {"sre": entry("sre", "acme", {"tools": {"deploy": True}})}, "sre", "update",
     [{"op": "remove", "path": "/model"}], [], [], ["write"]),
]


@pytest.mark.parametrize(("label", "replaced", "node_id", "action", "diff", "added", "removed", "kinds"), ACTION_CASES,
                         ids=[c[0] for c in ACTION_CASES])
def test_actions(label: str, replaced: dict[str, Any], node_id: str, action: str, diff: list[Any], added: list[str],
                 removed: list[str], kinds: list[str]) -> None:
    entries = [replaced.get(n.node_id, n.model_dump()) for n in SAME.nodes]
    plan = plan_import(STATE, doc(*entries))
    change = change_of(plan, node_id)
    assert (change.action, change.diff, list(change.locks.added), list(change.locks.removed)) == (
        action, diff, added, removed)
    assert [s.kind for s in plan.steps] == kinds and {s.node_id for s in plan.steps} == {node_id}
    assert all(c.action == "unchanged" for c in plan.changes if c.node_id != node_id)
    after = apply(STATE, plan)
    assert actions(plan_import(after, doc(*entries))) == dict.fromkeys(["acme", "sre", "db", "web"], "unchanged")


def test_lock_order_and_repeats_are_not_a_change() -> None:
    state = [cur("acme", None, {}, ("/b", "/a", "/a"))]
    assert actions(plan_import(state, doc(entry("acme", None, {}, ["/a", "/b"])))) == {"acme": "unchanged"}


def test_created_nodes() -> None:
    plan = plan_import(STATE, doc(*(n.model_dump() for n in SAME.nodes), entry("new", "db", {"a": {"b": 1}}, ["/a"]),
                                  entry("empty", "new")))
    new = change_of(plan, "new")
    assert (new.action, new.diff, new.locks.added, new.parent_node_id) == (
        "create", [{"op": "add", "path": "/a", "value": {"b": 1}}], ("/a",), "db")
    assert change_of(plan, "empty").diff == []
    assert [(s.kind, s.node_id) for s in plan.steps] == [
        ("create", "new"), ("create", "empty"), ("write", "new"), ("lock", "new")]


# ---- nodes the document lacks: kept, or deleted with prune (children first) --------------------

PARTIAL = doc(entry("acme", None, {"model": "gpt-4o", "tools": {"think": True}}, ["/model"]))


def test_absent_nodes_are_kept_without_prune() -> None:
    plan = plan_import(STATE, PARTIAL)
    assert actions(plan) == {"acme": "unchanged"} and plan.steps == ()
    assert plan.kept == ("sre", "db", "web")  # parents before children
    assert set(plan.tree.nodes) == {"acme", "sre", "db", "web"}


def test_prune_deletes_children_first() -> None:
    state = [*STATE, cur("cache", "db", {"k": env("c")}, ("/k",)), cur("api", "web")]
    plan = plan_import(state, PARTIAL, prune=True)
    deletes = [c.node_id for c in plan.changes if c.action == "delete"]
    assert deletes == ["api", "web", "cache", "db", "sre"]  # the tree depth first, reversed
    assert [s.node_id for s in plan.steps] == deletes and plan.kept == ()
    cache = change_of(plan, "cache")
    assert cache.diff == [{"op": "remove", "path": "/k"}] and cache.locks.removed == ("/k",)
    assert [n.node_id for n in apply(state, plan)] == ["acme"]


def test_a_node_leaving_a_pruned_parent_moves_before_the_parent_goes() -> None:
    plan = plan_import(STATE, doc(entry("acme", None, {"model": "gpt-4o", "tools": {"think": True}}, ["/model"]),
                                  entry("db", "acme", {"x": 1})), prune=True)
    assert actions(plan) == {"acme": "unchanged", "db": "move", "sre": "delete", "web": "delete"}
    kinds = [(s.kind, s.node_id) for s in plan.steps]
    assert kinds.index(("move", "db")) < kinds.index(("delete", "sre"))
    assert {n.node_id: n.parent_node_id for n in apply(STATE, plan)} == {"acme": None, "db": "acme"}


def test_swapping_parent_and_child_never_makes_a_transient_cycle() -> None:
    state = [cur("acme", None), cur("a", "acme"), cur("b", "a"), cur("c", "b")]
    target = doc(entry("acme", None), entry("c", "acme"), entry("b", "c"), entry("a", "b"))
    plan = plan_import(state, target)
    assert actions(plan) == {"acme": "unchanged", "c": "move", "b": "move", "a": "move"}
    after = apply(state, plan)  # each move refused if it would put a node under its own subtree
    assert {n.node_id: n.parent_node_id for n in after} == {"acme": None, "c": "acme", "b": "c", "a": "b"}


# ---- promotion: another org's document, its root mapped to this org's root ---------------------

def test_promotion_maps_the_root() -> None:
    staging = doc(entry("staging", None, {"model": "o3"}, ["/model"], name="Staging"),
                  entry("sre", "staging", {"a": 1}), entry("db", "sre"))
    production = [cur("prod", None, {"model": "gpt-4o"}, name="Production"), cur("sre", "prod", {"a": 1})]
    plan = plan_import(production, staging)
    assert actions(plan) == {"prod": "update", "sre": "unchanged", "db": "create"}
    root = change_of(plan, "prod")
    assert root.diff == [{"op": "replace", "path": "/model", "value": "o3"}] and root.locks.added == ("/model",)
    assert root.name == "Production" and not root.renamed and root.parent_node_id is None
    assert change_of(plan, "db").parent_node_id == "sre"
    after = apply(production, plan)
    assert actions(plan_import(after, staging)) == {"prod": "unchanged", "sre": "unchanged", "db": "unchanged"}


def test_a_promoted_child_of_the_root_lands_under_this_root() -> None:
    plan = plan_import([cur("prod", None)], doc(entry("staging", None), entry("team", "staging")))
    assert change_of(plan, "team").parent_node_id == "prod"


def test_a_document_node_with_this_roots_id_is_a_conflict() -> None:
    plan = plan_import([cur("prod", None)], doc(entry("staging", None), entry("prod", "staging", {"a": 1})))
    assert [(e.node_id, e.code) for e in plan.errors] == [("prod", "conflict")]
    assert actions(plan) == {"prod": "unchanged"}


# ---- masks: keep the target's secret, or leave the path unset and say so ------------------------

MASK_CASES = [
    # (label, current own config or None (a new node), document config, new own config, needs_secret paths)
    ("kept", {"i": {"key": env("a"), "url": "u"}}, {"i": {"key": MASK, "url": "u"}},
     {"i": {"key": env("a"), "url": "u"}}, []),
    ("secret object mask kept", {"i": {"key": env("a")}}, {"i": {"key": {"$secret": MASK}}}, {"i": {"key": env("a")}},
     []),
    ("missing in the target", {"i": {"url": "u"}}, {"i": {"key": MASK, "url": "u"}}, {"i": {"url": "u"}}, ["/i/key"]),
    ("plain value in the target", {"i": {"key": "plain"}}, {"i": {"key": MASK}}, {"i": {}}, ["/i/key"]),
    ("secret at another path", {"i": {"other": env("a")}}, {"i": {"key": MASK}}, {"i": {}}, ["/i/key"]),
    ("under a scalar in the target", {"i": "x"}, {"i": {"key": MASK}}, {"i": {}}, ["/i/key"]),
    ("a new node", None, {"a": MASK, "b": {"c": {"$secret": MASK}}}, {"b": {}}, ["/a", "/b/c"]),
    ("in a list: a string", {"l": ["x"]}, {"l": [MASK]}, {"l": [MASK]}, []),
    ("escaped keys", {"a/b": {"~": env("a")}}, {"a/b": {"~": MASK, "x": MASK}}, {"a/b": {"~": env("a")}},
     ["/a~1b/x"]),
    ("a new secret request", {"k": env("a")}, {"k": {"$secret": "new"}}, {"k": {"$secret": "new"}}, []),
]


@pytest.mark.parametrize(("label", "held", "config", "stored", "needed"), MASK_CASES, ids=[c[0] for c in MASK_CASES])
def test_masks(label: str, held: dict[str, Any] | None, config: dict[str, Any], stored: dict[str, Any],
               needed: list[str]) -> None:
    state = [cur("acme", None)] + ([cur("t", "acme", held)] if held is not None else [])
    plan = plan_import(state, doc(entry("acme", None), entry("t", "acme", config)))
    change = change_of(plan, "t")
    assert change.config == stored
    assert [(s.node_id, s.path) for s in plan.needs_secret] == [("t", p) for p in needed]
    assert plan.errors == ()
    assert "$enc:" not in str(change.diff)


def test_a_kept_secret_is_unchanged_and_a_missing_one_stays_needed_after_apply() -> None:
    state = [cur("acme", None), cur("t", "acme", {"i": {"key": env("a"), "token": "old-plain"}})]
    target = doc(entry("acme", None), entry("t", "acme", {"i": {"key": MASK, "token": MASK}}))
    plan = plan_import(state, target)
    assert change_of(plan, "t").diff == [{"op": "remove", "path": "/i/token"}]
    replan = plan_import(apply(state, plan), target)
    assert actions(replan) == {"acme": "unchanged", "t": "unchanged"}
    assert [(s.node_id, s.path) for s in replan.needs_secret] == [("t", "/i/token")]


def test_a_secret_request_is_always_an_update_and_its_diff_is_masked() -> None:
    state = [cur("acme", None), cur("t", "acme", {"k": env("a")})]
    target = doc(entry("acme", None), entry("t", "acme", {"k": {"$secret": "hunter2"}}))
    plan = plan_import(state, target)
    change = change_of(plan, "t")
    assert (change.action, change.diff) == ("update", [{"op": "replace", "path": "/k", "value": MASK}])
    assert "hunter2" not in str(plan.view())
    # sealing anew is a change (no oracle on the plaintext): the re-plan shows it again
    assert actions(plan_import(apply(state, plan), target))["t"] == "update"


# ---- Slack workspace bindings stay the target's -----------------------------------------------

def test_the_roots_workspace_bindings_are_carried() -> None:
    state = [cur("prod", None, {"routing": {"slack_workspace_ids": ["T9"], "services": ["a"]}})]
    for document, expected in [
        (doc(entry("staging", None, {"routing": {"services": ["a"]}})), "unchanged"),
        (doc(entry("staging", None, {})), "update"),
        (doc(entry("staging", None, {"routing": {"services": ["b"]}})), "update"),
    ]:
        plan = plan_import(state, document)
        root = change_of(plan, "prod")
        assert root.action == expected and plan.errors == ()
        assert root.config is not None and root.config["routing"]["slack_workspace_ids"] == ["T9"]
        assert "slack_workspace_ids" not in str(root.diff)


def test_a_root_routing_that_cannot_hold_the_bindings_is_an_error() -> None:
    state = [cur("prod", None, {"routing": {"slack_workspace_ids": ["T9"]}})]
    plan = plan_import(state, doc(entry("staging", None, {"routing": None})))
    assert [(e.node_id, e.code, e.path) for e in plan.errors] == [("prod", "forbidden", "/routing/slack_workspace_ids")]


# ---- the import's lock rule: a lock the same ancestor holds before and after binds -----------

LOCK_RULE = [
    # (label, current [(id, parent, config, locks)], document [(id, parent, config, locks)], errors)
    ("held before and after",
     [("acme", None, {}, ("/m",)), ("t", "acme", {"m": 1}, ())],
     [("acme", None, {}, ["/m"]), ("t", "acme", {"m": 2}, [])], [("t", "/m", "acme")]),
    ("held two levels up",
     [("acme", None, {}, ("/a/b",)), ("mid", "acme", {}, ()), ("t", "mid", {}, ())],
     [("acme", None, {}, ["/a/b"]), ("mid", "acme", {}, []), ("t", "mid", {"a": {"b": 1}}, [])],
     [("t", "/a/b", "acme")]),
    ("a tombstone over the locked path's parent",
     [("acme", None, {}, ("/a/b",)), ("t", "acme", {"a": {"c": 1}}, ())],
     [("acme", None, {}, ["/a/b"]), ("t", "acme", {"a": None}, [])], [("t", "/a/b", "acme")]),
    ("every broken lock is listed",
     [("acme", None, {}, ("/x", "/y")), ("t", "acme", {}, ())],
     [("acme", None, {}, ["/x", "/y"]), ("t", "acme", {"x": 1, "y": 2}, [])],
     [("t", "/x", "acme"), ("t", "/y", "acme")]),
    ("a lock the document adds does not bind",
     [("acme", None, {}, ()), ("t", "acme", {"m": 1}, ())],
     [("acme", None, {}, ["/m"]), ("t", "acme", {"m": 2}, [])], []),
    ("a lock the document removes does not bind",
     [("acme", None, {}, ("/m",)), ("t", "acme", {"m": 1}, ())],
     [("acme", None, {}, []), ("t", "acme", {"m": 2}, [])], []),
    ("moved under a standing lock",
     [("acme", None, {}, ()), ("h", "acme", {}, ("/m",)), ("t", "acme", {}, ())],
     [("acme", None, {}, []), ("h", "acme", {}, ["/m"]), ("t", "h", {"m": 1}, [])], [("t", "/m", "h")]),
    ("created under a standing lock",
     [("acme", None, {}, ("/m",))],
     [("acme", None, {}, ["/m"]), ("t", "acme", {"m": 5}, [])], [("t", "/m", "acme")]),
    ("moved away from the holder",
     [("acme", None, {}, ()), ("h", "acme", {}, ("/m",)), ("t", "h", {}, ())],
     [("acme", None, {}, []), ("h", "acme", {}, ["/m"]), ("t", "acme", {"m": 1}, [])], []),
    ("a change elsewhere", [("acme", None, {}, ("/m",)), ("t", "acme", {"m": 1}, ())],
     [("acme", None, {}, ["/m"]), ("t", "acme", {"m": 1, "n": 2}, [])], []),
    ("the node's own lock", [("acme", None, {}, ()), ("t", "acme", {"m": 1}, ("/m",))],
     [("acme", None, {}, []), ("t", "acme", {"m": 2}, ["/m"])], []),
    ("a value below a lock set later imports as it was (into an org without that lock)",
     [("acme", None, {}, ())],
     [("acme", None, {}, ["/m"]), ("t", "acme", {"m": 5}, [])], []),
    ("unchanged below a lock set later", [("acme", None, {}, ("/m",)), ("t", "acme", {"m": 5}, ())],
     [("acme", None, {}, ["/m"]), ("t", "acme", {"m": 5}, [])], []),
]


@pytest.mark.parametrize(("label", "state", "target", "expected"), LOCK_RULE, ids=[c[0] for c in LOCK_RULE])
def test_lock_rule(label: str, state: list[Any], target: list[Any], expected: list[tuple[str, str, str]]) -> None:
    current = [cur(i, p, c, locks) for i, p, c, locks in state]
    plan = plan_import(current, doc(*(entry(i, p, c, locks) for i, p, c, locks in target)))
    assert [(e.node_id, e.path, e.code) for e in plan.errors] == [(n, p, "locked_path") for n, p, _ in expected]
    for error, (_, path, holder) in zip(plan.errors, expected, strict=True):
        assert error.detail == f"'{path}' is locked at '{holder}'" and error.holder is None
    if not expected:
        # in the steps' order (moves, unlock, write, lock) the write path's own lock check agrees
        apply(current, plan, normal_lock_check=True)
    else:
        with pytest.raises(AssertionError, match="locked"):
            apply(current, plan, normal_lock_check=True)


# ---- the tree after the import ----------------------------------------------------------------

def test_kept_nodes_that_would_end_too_deep_are_reported_once() -> None:
    chain = [entry("acme", None)] + [entry(f"n{i}", "acme" if i == 2 else f"n{i - 1}") for i in range(2, 32)]
    state = [cur("acme", None), cur("k1", "acme"), cur("k2", "k1"), cur("k3", "k2")]
    moved_under_chain = [*chain, entry("k1", "n31")]  # k1 at 32: its kept k2 at 33, k3 at 34
    plan = plan_import(state, doc(*moved_under_chain))
    assert [(e.node_id, e.code) for e in plan.errors] == [("k2", "invalid_request")]
    assert "depth 33" in plan.errors[0].detail and "at 34" in plan.errors[0].detail
    assert plan_import(state, doc(*moved_under_chain), prune=True).errors == ()


def test_an_own_config_over_the_limit_is_reported() -> None:
    big = {"blob": "x" * MAX_OWN_CONFIG_BYTES}
    plan = plan_import([cur("acme", None)], doc(entry("acme", None), entry("t", "acme", big)))
    assert [(e.node_id, e.code) for e in plan.errors] == [("t", "payload_too_large")]


# ---- extra checks from the service -------------------------------------------------------------

def test_extra_checks_see_every_write_and_the_tree_after_it() -> None:
    seen: list[tuple[str, str, list[str]]] = []

    def record(change: NodeChange, tree: FinalTree) -> list[PlanError]:
        seen.append((change.node_id, change.action, [n.node_id for n in tree.lineage(change.node_id)]))
        effective_layers = tree.layers(change.node_id)
        assert effective_layers[-1].config == change.config
        return [PlanError(change.node_id, "invalid_config", "nope", "/x")] if change.node_id == "db" else []

    def routing(change: NodeChange, tree: FinalTree) -> list[PlanError]:
        if change.node_id == "new":
            raise RoutingConflict("taken", path="/routing/services", holder={"node_id": "other"})
        if change.node_id == "web":
            raise InvalidConfig("bad", path="/y")
        return []

    target = doc(entry("acme", None, {"model": "o3"}, ["/model"]), entry("sre", "acme", {"tools": {"deploy": True},
                 "model": None}), entry("web", "acme", name="W"), entry("db", "web", {"x": 1}), entry("new", "db"))
    plan = plan_import(STATE, target, checks=[record, routing])
    assert seen == [("acme", "update", ["acme"]), ("web", "update", ["acme", "web"]),
                    ("db", "move", ["acme", "web", "db"]), ("new", "create", ["acme", "web", "db", "new"])]
    assert [(e.node_id, e.code, e.path, e.holder) for e in plan.errors] == [
        ("web", "invalid_config", "/y", None), ("db", "invalid_config", "/x", None),
        ("new", "routing_conflict", "/routing/services", {"node_id": "other"})]
    view = plan.view()
    assert set(view) == {"based_on", "changes", "needs_secret", "errors"}
    assert view["errors"][1] == {"node_id": "db", "code": "invalid_config", "detail": "nope", "path": "/x",
                                 "holder": None}
    assert plan.with_errors([PlanError("acme", "x", "y")]).errors[-1].node_id == "acme"


# ---- based_on ----------------------------------------------------------------------------------

def test_based_on_is_stable_and_order_independent() -> None:
    assert tree_state_hash(STATE) == tree_state_hash(list(reversed(STATE))) == plan_import(STATE, SAME).based_on
    reordered_locks = [cur("acme", None, {}, ("/b", "/a"))]
    assert tree_state_hash(reordered_locks) == tree_state_hash([cur("acme", None, {}, ("/a", "/b", "/a"))])


@pytest.mark.parametrize("changed", [
    cur("db", "sre", {"x": 1}, version=2),
    cur("db", "acme", {"x": 1}),
    cur("db", "sre", {"x": 1}, name="Database"),
    cur("db", "sre", {"x": 1}, ("/x",)),
    cur("db", "sre", {"x": 1}, uid="b1e2"),
], ids=["version", "parent", "name", "locks", "uid"])
def test_based_on_changes_with_the_tree_state(changed: Any) -> None:
    state = [changed if n.node_id == "db" else n for n in STATE]
    assert tree_state_hash(state) != tree_state_hash(STATE)


def test_based_on_is_not_about_content_at_the_same_version() -> None:
    # a re-encryption rewrites envelopes without a new version: a plan is not stale for it
    state = [cur("db", None, {"k": env("a")})]
    assert tree_state_hash(state) == tree_state_hash([cur("db", None, {"k": env("b")})])
