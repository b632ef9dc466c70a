"""PURE: merge rules of DESIGN §5 (1–6), lock violations, write kinds and validators.

No database, no server: table-driven tests of configs.merge, configs.changes and
configs.preconditions.
"""

from __future__ import annotations

import copy

import pytest

from config_service.configs.changes import ChangeError, JsonPatch, MergePatch, Replace, Rollback, TestFailed
from config_service.configs.merge import (
    Layer,
    MergeState,
    effective_chain,
    effective_config,
    inherited_locks,
    lock_violation,
    merge,
)
from config_service.configs.preconditions import Precondition, none_match, parse_tags

# ---- rules 1–5: merge(base, layer) is RFC 7396 ------------------------------------------------

MERGE_CASES = [
    # rule 1: objects merge key by key, recursively
    ("objects merge by key", {"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
    ("objects merge recursively", {"t": {"x": 1, "y": {"p": 1}}}, {"t": {"y": {"q": 2}}}, {"t": {"x": 1, "y": {"p": 1,
        "q": 2}}}),
    ("deep recursion keeps siblings at every level", {"a": {"b": {"c": {"d": 1, "e": 2}}}},
        {"a": {"b": {"c": {"e": 3}}}}, {"a": {"b": {"c": {"d": 1, "e": 3}}}}),
    ("an empty object layer changes nothing", {"a": {"b": 1}}, {"a": {}}, {"a": {"b": 1}}),
    ("an empty object value over absence adds it", {}, {"a": {}}, {"a": {}}),
    # rule 2: lists replace entirely
    ("lists replace, no concatenation", {"l": [1, 2, 3]}, {"l": [4]}, {"l": [4]}),
    ("an empty list replaces", {"l": [1, 2]}, {"l": []}, {"l": []}),
    ("lists of objects replace, not merged by index", {"l": [{"a": 1}]}, {"l": [{"b": 2}]}, {"l": [{"b": 2}]}),
    ("nulls inside a list are kept", {}, {"l": [None, 1]}, {"l": [None, 1]}),
    # rule 3: scalars replace; a change of type replaces
    ("scalar replaces scalar", {"m": "gpt-4o"}, {"m": "o3"}, {"m": "o3"}),
    ("false replaces true", {"f": True}, {"f": False}, {"f": False}),
    ("number replaces string", {"v": "1"}, {"v": 1}, {"v": 1}),
    ("object over scalar replaces", {"a": 1}, {"a": {"b": 2}}, {"a": {"b": 2}}),
    ("object over list replaces", {"a": [1]}, {"a": {"b": 2}}, {"a": {"b": 2}}),
    ("scalar over object replaces", {"a": {"b": 2}}, {"a": 1}, {"a": 1}),
    ("list over object replaces", {"a": {"b": 2}}, {"a": [1]}, {"a": [1]}),
    ("object over scalar drops the layer's nulls", {"a": 1}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}),
    # rule 4: null removes the key (a tombstone)
    ("null removes an inherited key", {"a": 1, "b": 2}, {"a": None}, {"b": 2}),
    ("null removes a whole inherited object", {"a": {"b": 1}}, {"a": None}, {}),
    ("null removes a nested key only", {"a": {"b": 1, "c": 2}}, {"a": {"b": None}}, {"a": {"c": 2}}),
    ("null for an absent key is a no-op", {"a": 1}, {"z": None}, {"a": 1}),
    ("null under an absent object leaves an empty object", {}, {"a": {"b": None}}, {"a": {}}),
    # rule 5: keys the layer does not mention are inherited unchanged
    ("unmentioned keys are inherited", {"a": {"x": [1]}, "b": "s"}, {"c": 3}, {"a": {"x": [1]}, "b": "s", "c": 3}),
    ("an empty layer inherits everything", {"a": {"b": [1, {"c": None}]}}, {}, {"a": {"b": [1, {"c": None}]}}),
    # the example of §5, exactly
    (
        "DESIGN §5 example",
        {"tools": {"think": True, "web_search": True}, "model": "gpt-4o", "routing": {"services": ["a", "b"]}},
        {"tools": {"web_search": False, "deploy": True}, "model": None, "routing": {"services": ["c"]}},
        {"tools": {"think": True, "web_search": False, "deploy": True}, "routing": {"services": ["c"]}},
    ),
]


@pytest.mark.parametrize(("base", "layer", "expected"), [c[1:] for c in MERGE_CASES], ids=[c[0] for c in MERGE_CASES])
def test_merge_rules(base, layer, expected):
    base_before, layer_before = copy.deepcopy(base), copy.deepcopy(layer)
    result = merge(base, layer)
    assert result == expected
    # exact JSON types: `True == 1` in Python, so compare the repr too
    assert repr(result) == repr(expected)
    assert base == base_before and layer == layer_before, "merge must not touch its inputs"


def test_merge_never_mutates_its_inputs_and_locks_copy_on_write():
    """Results share unchanged subtrees with their inputs (copy-on-write), so neither merge nor
    the lock restoration of a later level may change an input or an earlier level's result."""
    import copy as _copy

    base = {"a": {"b": [1, 2]}, "k": {"x": 1, "deep": {"y": 1}}}
    layer = {"c": {"d": [3]}, "k": {"deep": {"z": 2}}}
    frozen_base, frozen_layer = _copy.deepcopy(base), _copy.deepcopy(layer)
    result = merge(base, layer)
    assert result == {"a": {"b": [1, 2]}, "c": {"d": [3]}, "k": {"x": 1, "deep": {"y": 1, "z": 2}}}
    assert base == frozen_base and layer == frozen_layer
    root = Layer("root", {"k": {"deep": {"y": 1}}, "o": {"p": 1}}, ["/k/deep/y"])
    team = Layer("team", {"k": {"deep": {"y": 9, "w": 1}}})
    frozen_team = _copy.deepcopy(team.config)
    chain = effective_chain([root, team])
    assert chain[1]["k"]["deep"] == {"y": 1, "w": 1}
    assert chain[0] == {"k": {"deep": {"y": 1}}, "o": {"p": 1}}
    assert team.config == frozen_team


def test_root_effective_is_merge_onto_empty_object():
    # effective(root) = merge({}, own(root)): a tombstone at the root is simply absent
    assert effective_config([Layer("root", {"a": None, "b": {"c": None, "d": 1}})]) == {"b": {"d": 1}}
    assert effective_config([]) == {}


def test_design_example_through_a_lineage():
    layers = [
        Layer("org", {"tools": {"think": True, "web_search": True}, "model": "gpt-4o", "routing": {"services": ["a",
            "b"]}}),
        Layer("team", {"tools": {"web_search": False, "deploy": True}, "model": None, "routing": {"services": ["c"]}}),
    ]
    assert effective_config(layers) == {
        "tools": {"think": True, "web_search": False, "deploy": True},
        "routing": {"services": ["c"]},
    }


def test_chain_is_root_first_and_each_level_merges_its_parent():
    layers = [
        Layer("org", {"model": "gpt-4o", "tools": {"a": True}}),
        Layer("team", {"tools": {"b": True}}),
        Layer("sub", {"model": None, "tools": {"a": False}}),
        Layer("leaf", {"model": "o3"}),
    ]
    assert effective_chain(layers) == [
        {"model": "gpt-4o", "tools": {"a": True}},
        {"model": "gpt-4o", "tools": {"a": True, "b": True}},
        {"tools": {"a": False, "b": True}},
        {"model": "o3", "tools": {"a": False, "b": True}},  # a tombstone above does not stop a lower value
    ]


# ---- rule 6: locked paths -----------------------------------------------------------------------

LOCK_CASES = [
    (
        "a locked value survives a lower override",
        [Layer("org", {"model": "gpt-4o"}, ["/model"]), Layer("team", {"model": "o3"})],
        {"model": "gpt-4o"},
    ),
    (
        "a locked value survives a lower tombstone",
        [Layer("org", {"model": "gpt-4o"}, ["/model"]), Layer("team", {"model": None})],
        {"model": "gpt-4o"},
    ),
    (
        "a locked absence stays absent",
        [Layer("org", {"a": 1}, ["/model"]), Layer("team", {"model": "o3", "b": 2})],
        {"a": 1, "b": 2},
    ),
    (
        "a locked absence stays absent under a new parent object",
        [Layer("org", {}, ["/agents/planner/model"]), Layer("team", {"agents": {"planner": {"model": "x",
            "temp": 1}}})],
        {"agents": {"planner": {"temp": 1}}},
    ),
    (
        "a locked object keeps its exact content (no keys added below)",
        [Layer("org", {"tools": {"think": True}}, ["/tools"]), Layer("team", {"tools": {"deploy": True,
            "think": False}})],
        {"tools": {"think": True}},
    ),
    (
        "siblings of a locked path stay overridable",
        [
            Layer("org", {"agents": {"planner": {"model": "m1", "temp": 0.1}}}, ["/agents/planner/model"]),
            Layer("team", {"agents": {"planner": {"model": "m2", "temp": 0.9}}}),
        ],
        {"agents": {"planner": {"model": "m1", "temp": 0.9}}},
    ),
    (
        "a scalar put at a prefix of a locked path cannot erase it",
        [Layer("org", {"agents": {"planner": {"model": "m1", "x": 1}}}, ["/agents/planner/model"]), Layer("team",
            {"agents": 5})],
        {"agents": {"planner": {"model": "m1", "x": 1}}},
    ),
    (
        "a tombstone at a prefix of a locked path cannot erase it",
        [Layer("org", {"agents": {"planner": {"model": "m1"}}, "k": 1}, ["/agents/planner/model"]), Layer("team",
            {"agents": None})],
        {"agents": {"planner": {"model": "m1"}}, "k": 1},
    ),
    (
        "a lock reaches every level below, through intermediate nodes",
        [
            Layer("org", {"model": "gpt-4o"}, ["/model"]),
            Layer("team", {"model": "team-model"}),
            Layer("sub", {"model": "sub-model"}),
        ],
        {"model": "gpt-4o"},
    ),
    (
        "a lock below the root freezes the value it has at the locking node",
        [
            Layer("org", {"model": "gpt-4o"}),
            Layer("team", {"model": "team-model"}, ["/model"]),
            Layer("sub", {"model": "sub-model"}),
        ],
        {"model": "team-model"},
    ),
    (
        "the locking node takes an inherited value into its lock",
        [Layer("org", {"model": "gpt-4o"}), Layer("team", {}, ["/model"]), Layer("sub", {"model": None})],
        {"model": "gpt-4o"},
    ),
    (
        "a higher lock wins over a lower node's value at the locking node itself",
        [
            Layer("org", {"a": {"b": 1}}, ["/a"]),
            Layer("team", {"a": {"b": 2, "c": 3}}, ["/a/b"]),
            Layer("sub", {"a": {"b": 4}}),
        ],
        {"a": {"b": 1}},
    ),
    (
        "an element pointer into a list locks the whole list (lists are leaves)",
        [Layer("org", {"routing": {"services": ["a", "b"]}}, ["/routing/services/0"]), Layer("team",
            {"routing": {"services": ["c"]}})],
        {"routing": {"services": ["a", "b"]}},
    ),
    (
        "escaped pointer tokens (~1 for '/', ~0 for '~')",
        [Layer("org", {"a/b": {"c~d": 1, "e": 1}}, ["/a~1b/c~0d"]), Layer("team", {"a/b": {"c~d": 2, "e": 2}})],
        {"a/b": {"c~d": 1, "e": 2}},
    ),
    (
        "values set below before the lock existed are ignored (the same data, locked later)",
        [Layer("org", {"model": "gpt-4o"}, ["/model"]), Layer("team", {"model": "set-before-the-lock", "other": 1})],
        {"model": "gpt-4o", "other": 1},
    ),
    (
        "two locks from two levels both hold",
        [
            Layer("org", {"a": 1}, ["/a"]),
            Layer("team", {"b": 2}, ["/b"]),
            Layer("sub", {"a": 10, "b": 20, "c": 30}),
        ],
        {"a": 1, "b": 2, "c": 30},
    ),
]


@pytest.mark.parametrize(("layers", "expected"), [c[1:] for c in LOCK_CASES], ids=[c[0] for c in LOCK_CASES])
def test_lock_rule_6(layers, expected):
    assert effective_config(layers) == expected


def test_lock_does_not_constrain_the_locking_node_itself():
    layers = [Layer("org", {"model": "gpt-4o"}), Layer("team", {"model": "team-model"}, ["/model"])]
    assert effective_chain(layers) == [{"model": "gpt-4o"}, {"model": "team-model"}]


def test_lock_without_lower_layers_changes_nothing():
    assert effective_config([Layer("org", {"a": {"b": 1}}, ["/a/b", "/z"])]) == {"a": {"b": 1}}


def test_unlocked_effective_equals_plain_merge():
    layers = [Layer("org", {"a": {"b": 1}}), Layer("team", {"a": {"b": 2}}), Layer("sub", {"a": None})]
    assert effective_config(layers) == merge(merge(merge({}, layers[0].config), layers[1].config), layers[2].config)


def test_merge_state_push_matches_chain_and_is_not_mutated():
    layers = [Layer("org", {"m": 1, "x": {"y": 1}}, ["/m"]), Layer("team", {"m": 2, "x": {"z": 2}}), Layer("sub",
        {"x": None})]
    root = MergeState().push(layers[0])
    team = root.push(layers[1])
    sibling = root.push(Layer("other", {"m": 3, "k": 1}))
    assert team.effective == {"m": 1, "x": {"y": 1, "z": 2}}
    assert sibling.effective == {"m": 1, "x": {"y": 1}, "k": 1}
    assert root.effective == {"m": 1, "x": {"y": 1}}
    assert team.push(layers[2]).effective == effective_chain(layers)[-1] == {"m": 1}


def test_inherited_locks_lists_every_ancestor_lock_with_its_node():
    ancestors = [Layer("org", {}, ["/a", "/b/c"]), Layer("team", {}, []), Layer("sub", {}, ["/d"])]
    assert inherited_locks(ancestors) == [("/a", "org"), ("/b/c", "org"), ("/d", "sub")]
    assert inherited_locks([]) == []


# ---- lock_violation: which writes below a lock are refused ------------------------------------

LOCK = [("/agents/planner/model", "org")]

VIOLATION_CASES = [
    ("set a value at the locked path", {}, {"agents": {"planner": {"model": "x"}}}, LOCK, "/agents/planner/model"),
    ("change a value at the locked path", {"agents": {"planner": {"model": "x"}}},
        {"agents": {"planner": {"model": "y"}}}, LOCK, "/agents/planner/model"),
    ("remove an own value at the locked path", {"agents": {"planner": {"model": "x"}}}, {"agents": {"planner": {}}},
        LOCK, "/agents/planner/model"),
    ("tombstone the locked path", {}, {"agents": {"planner": {"model": None}}}, LOCK, "/agents/planner/model"),
    ("write under the locked path", {}, {"agents": {"planner": {"model": {"name": "x"}}}}, LOCK,
        "/agents/planner/model"),
    ("change under the locked path", {"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 2}}}, [("/a/b", "org")], "/a/b"),
    ("add a key under a locked object", {"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 1, "d": 2}}}, [("/a/b", "org")],
        "/a/b"),
    ("null at a prefix", {}, {"agents": {"planner": None}}, LOCK, "/agents/planner/model"),
    ("null at the top prefix", {}, {"agents": None}, LOCK, "/agents/planner/model"),
    ("a scalar at a prefix", {}, {"agents": {"planner": "off"}}, LOCK, "/agents/planner/model"),
    ("a list at a prefix", {}, {"agents": []}, LOCK, "/agents/planner/model"),
    ("false at a prefix", {}, {"agents": False}, LOCK, "/agents/planner/model"),
    ("true becomes 1 at the locked path (JSON types differ)", {"a": True}, {"a": 1}, [("/a", "org")], "/a"),
    ("1 becomes 1.0 at the locked path", {"a": {"b": 1}}, {"a": {"b": 1.0}}, [("/a/b", "org")], "/a/b"),
    ("false becomes 0 at a prefix", {"a": False}, {"a": 0}, [("/a/b", "org")], "/a/b"),
    ("the first broken lock is named", {}, {"x": 1, "y": 2}, [("/w", "org"), ("/y", "org"), ("/x", "org")], "/y"),
    ("a lock on an element pointer: changing the list", {"l": [1]}, {"l": [2]}, [("/l/0", "org")], "/l/0"),
    # allowed
    ("no change at all", {"agents": {"planner": {"model": "x"}}}, {"agents": {"planner": {"model": "x"}}}, LOCK, None),
    ("a sibling of the locked path", {}, {"agents": {"planner": {"temp": 1}}}, LOCK, None),
    ("a sibling of a prefix", {}, {"agents": {"coder": {"model": "x"}}, "tools": None}, LOCK, None),
    ("an object at a prefix", {}, {"agents": {"planner": {}}}, LOCK, None),
    ("removing an own prefix object that did not hold the path", {"agents": {"coder": {"m": 1}}}, {}, LOCK, None),
    ("a non-object at a prefix that was already there (set before the lock)", {"agents": 5, "k": 1}, {"agents": 5,
        "k": 2}, LOCK, None),
    ("removing an own non-object at a prefix", {"agents": 5}, {}, LOCK, None),
    ("unrelated writes with no locks", {"a": 1}, {"a": None}, [], None),
]


@pytest.mark.parametrize(
    ("old", "new", "locks", "expected"), [c[1:] for c in VIOLATION_CASES], ids=[c[0] for c in VIOLATION_CASES]
)
def test_lock_violation(old, new, locks, expected):
    assert lock_violation(old, new, locks) == expected


# ---- changes: the write kinds -------------------------------------------------------------------

MERGE_PATCH_CASES = [
    ("adds keys", {"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
    ("null deletes an own key (the inherited value shows again)", {"a": 1, "b": 2}, {"a": None}, {"b": 2}),
    ("null deletes an own tombstone", {"model": None}, {"model": None}, {}),
    ("null deletes nested own keys only", {"t": {"x": 1, "y": 2}}, {"t": {"x": None}}, {"t": {"y": 2}}),
    ("lists replace", {"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
    ("an empty patch keeps the config", {"a": {"b": 1}}, {}, {"a": {"b": 1}}),
]


@pytest.mark.parametrize(("own", "patch", "expected"), [c[1:] for c in MERGE_PATCH_CASES],
    ids=[c[0] for c in MERGE_PATCH_CASES])
def test_merge_patch_change(own, patch, expected):
    before = copy.deepcopy(own)
    change = MergePatch(patch)
    assert change.apply(own) == expected
    assert own == before
    assert change.action == "config.written"


JSON_PATCH_CASES = [
    ("add with null stores a tombstone", {"a": 1}, [{"op": "add", "path": "/model", "value": None}], {"a": 1,
        "model": None}),
    ("add a nested value", {"t": {}}, [{"op": "add", "path": "/t/x", "value": [1]}], {"t": {"x": [1]}}),
    ("replace", {"m": "a"}, [{"op": "replace", "path": "/m", "value": "b"}], {"m": "b"}),
    ("remove", {"m": "a", "k": 1}, [{"op": "remove", "path": "/m"}], {"k": 1}),
    ("append to a list", {"l": [1]}, [{"op": "add", "path": "/l/-", "value": 2}], {"l": [1, 2]}),
    ("move", {"a": 1}, [{"op": "move", "from": "/a", "path": "/b"}], {"b": 1}),
    ("copy", {"a": {"x": 1}}, [{"op": "copy", "from": "/a", "path": "/b"}], {"a": {"x": 1}, "b": {"x": 1}}),
    ("a passing test then a write", {"m": "a"}, [{"op": "test", "path": "/m", "value": "a"}, {"op": "replace",
        "path": "/m", "value": "b"}], {"m": "b"}),
    ("test of a null tombstone", {"m": None}, [{"op": "test", "path": "/m", "value": None}, {"op": "remove",
        "path": "/m"}], {}),
    ("replace the whole document with an object", {"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}],
        {"b": 2}),
    ("an empty patch", {"a": 1}, [], {"a": 1}),
]


@pytest.mark.parametrize(("own", "ops", "expected"), [c[1:] for c in JSON_PATCH_CASES],
    ids=[c[0] for c in JSON_PATCH_CASES])
def test_json_patch_change(own, ops, expected):
    before = copy.deepcopy(own)
    assert JsonPatch(ops).apply(own) == expected
    assert own == before


def test_json_patch_failing_test_raises_test_failed_and_leaves_input():
    own = {"m": "a"}
    with pytest.raises(TestFailed):
        JsonPatch([{"op": "replace", "path": "/m", "value": "b"}, {"op": "test", "path": "/m",
            "value": "a"}]).apply(own)
    assert own == {"m": "a"}
    with pytest.raises(TestFailed):
        JsonPatch([{"op": "test", "path": "/m", "value": "zzz"}]).apply(own)


BAD_JSON_PATCHES = [
    ("not an object", ["add"], "/0"),
    ("no op", [{"path": "/a", "value": 1}], "/0"),
    ("path not a string", [{"op": "add", "path": 3, "value": 1}], "/0"),
    ("second op bad", [{"op": "add", "path": "/a", "value": 1}, {"op": "add"}], "/1"),
    ("unknown op", [{"op": "frobnicate", "path": "/a"}], None),
    ("add without value", [{"op": "add", "path": "/a"}], None),
    ("remove a missing key", [{"op": "remove", "path": "/missing"}], None),
    ("add under a missing parent", [{"op": "add", "path": "/x/y", "value": 1}], None),
    ("replace a missing key", [{"op": "replace", "path": "/missing", "value": 1}], None),
    ("a pointer without a leading slash", [{"op": "add", "path": "a", "value": 1}], None),
    ("move without from", [{"op": "move", "path": "/b"}], None),
    ("the document becomes a list", [{"op": "replace", "path": "", "value": [1]}], ""),
    ("the document becomes null", [{"op": "replace", "path": "", "value": None}], ""),
]


@pytest.mark.parametrize(("ops", "path"), [c[1:] for c in BAD_JSON_PATCHES], ids=[c[0] for c in BAD_JSON_PATCHES])
def test_json_patch_that_cannot_apply_is_a_change_error(ops, path):
    with pytest.raises(ChangeError) as info:
        JsonPatch(ops).apply({"a": 1})
    assert not isinstance(info.value, TestFailed)
    if path is not None:
        assert info.value.path == path


def _deep(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [33, 500, 1000])
def test_too_deep_inputs_are_refused_before_any_recursion(depth):
    # the parser accepts up to 1024 levels; merge and deepcopy must never see them
    from config_service.configs.changes import ShapeError

    for change in (
        MergePatch(_deep(depth)),
        Replace(_deep(depth)),
        JsonPatch([{"op": "add", "path": "/x", "value": _deep(depth)}]),
        JsonPatch([{"op": "test", "path": "/x", "value": _deep(depth)}]),
    ):
        with pytest.raises(ShapeError) as info:
            change.apply({})
        assert info.value.path.startswith("/") or info.value.path == ""


def test_json_patch_value_depth_counts_its_path():
    from config_service.configs.changes import ShapeError

    own = _deep(30)  # 31 levels of objects
    # a 1-level object placed 30 tokens down ends at level 32: allowed
    JsonPatch([{"op": "add", "path": "/a" * 30 + "/b", "value": {}}]).apply(own)
    with pytest.raises(ShapeError) as info:
        JsonPatch([{"op": "add", "path": "/a" * 30 + "/b", "value": {"c": {}}}]).apply(own)
    assert info.value.path == "/a" * 30 + "/b/c"


def test_json_patch_copies_of_the_root_cannot_nest_without_bound():
    from config_service.configs.changes import ShapeError

    ops = [{"op": "copy", "from": "", "path": "/a"}] * 2000
    with pytest.raises(ShapeError):
        JsonPatch(ops).apply({"x": 1})
    # a move deeper is checked the same way: {"k": {}} moved 32 tokens down would end at level 34
    own = {"m": {"k": {}}, "b": _deep(30)}
    with pytest.raises(ShapeError):
        JsonPatch([{"op": "move", "from": "/m", "path": "/b" + "/a" * 30 + "/m"}]).apply(own)
    assert JsonPatch([{"op": "move", "from": "/m/k", "path": "/b" + "/a" * 29 + "/m"}]).apply(own)["b"] != own["b"]


def test_json_patch_copies_of_the_root_cannot_grow_without_bound():
    from config_service.configs.changes import TooLarge

    ops = []
    for i in range(30):  # each pair roughly doubles the document: 2^15 × 10 KB if unchecked
        ops += [{"op": "copy", "from": "", "path": f"/a{i}"}]
    with pytest.raises(TooLarge) as info:
        JsonPatch(ops).apply({"blob": "x" * 10_000})
    assert info.value.path.startswith("/")


def test_json_patch_may_pass_through_a_larger_intermediate_document():
    # add the new value, then remove the old one: the result is what is limited
    own = {"old": "x" * 200_000}
    result = JsonPatch([{"op": "add", "path": "/new", "value": "y" * 200_000}, {"op": "remove",
        "path": "/old"}]).apply(own)
    assert set(result) == {"new"}


def test_replace_keeps_null_tombstones_and_copies():
    config = {"model": None, "tools": {"x": None, "y": [1]}}
    result = Replace(config).apply({"old": 1})
    assert result == {"model": None, "tools": {"x": None, "y": [1]}}
    result["tools"]["y"].append(2)
    assert config["tools"]["y"] == [1]


def test_rollback_change_is_audited_as_a_rollback():
    assert Rollback(3).action == "config.rolled_back"
    assert Rollback(3).restore_secrets is False
    assert MergePatch({}).action == JsonPatch([]).action == Replace({}).action == "config.written"


# ---- validators --------------------------------------------------------------------------------

TAG_CASES = [
    (None, None),
    ('"7"', ["7"]),
    ('"7", "v3"', ["7", "v3"]),
    ('W/"abc"', ["abc"]),
    ("*", ["*"]),
    ("bare", ["bare"]),
    ('"a" ,  "b"', ["a", "b"]),
]


@pytest.mark.parametrize(("header", "tags"), TAG_CASES)
def test_parse_tags(header, tags):
    assert parse_tags(header) == tags


def test_if_match_is_a_strong_comparison():
    # a weak tag never satisfies If-Match, and does not vanish (which would make the write unconditional)
    tags = parse_tags('W/"7"', weak=False)
    assert tags == ['W/7']
    assert Precondition(tags, own_resource=True).holds(7, "E") is False
    assert Precondition(parse_tags('W/"E"', weak=False), own_resource=False).holds(7, "E") is False
    assert Precondition(parse_tags('W/"1", "7"', weak=False), own_resource=True).holds(7, "E") is True
    # an empty header is a precondition with nothing to match
    assert parse_tags("", weak=False) == []
    assert Precondition([], own_resource=True).holds(7, "E") is False


PRECONDITION_CASES = [
    # own resource …/nodes/{n}/config: the bare version, and as every write the etag and v<version>
    ("own: version matches", ["7"], True, 7, "ETAG", True),
    ("own: version differs", ["6"], True, 7, "ETAG", False),
    ("own: the effective etag matches", ["ETAG"], True, 7, "ETAG", True),
    ("own: an old effective etag", ["OLD"], True, 7, "ETAG", False),
    ("own: v<version> matches", ["v7"], True, 7, "ETAG", True),
    ("own: v<version> differs", ["v6"], True, 7, "ETAG", False),
    ("own: any of several", ["5", "7"], True, 7, "ETAG", True),
    ("own: star", ["*"], True, 7, "ETAG", True),
    # /config/me: the effective etag, or v<version>
    ("me: effective etag matches", ["ETAG"], False, 7, "ETAG", True),
    ("me: old effective etag", ["OLD"], False, 7, "ETAG", False),
    ("me: v<version> matches", ["v7"], False, 7, "ETAG", True),
    ("me: v<version> differs", ["v6"], False, 7, "ETAG", False),
    ("me: a bare version is not accepted", ["7"], False, 7, "ETAG", False),
    ("me: star", ["*"], False, 7, "ETAG", True),
    ("me: v with garbage", ["vx7"], False, 7, "ETAG", False),
]


@pytest.mark.parametrize(
    ("tags", "own", "version", "etag", "holds"), [c[1:] for c in PRECONDITION_CASES],
    ids=[c[0] for c in PRECONDITION_CASES]
)
def test_precondition(tags, own, version, etag, holds):
    assert Precondition(tags, own_resource=own).holds(version, etag) is holds


def test_no_if_match_holds_and_a_412_names_the_routes_validator():
    assert Precondition(None, own_resource=True).holds(7, "ETAG") is True
    assert Precondition(["x"], own_resource=True).current(7, "ETAG") == "7"
    assert Precondition(["x"], own_resource=False).current(7, "ETAG") == "ETAG"


@pytest.mark.parametrize(
    ("header", "etag", "expected"),
    [
        (None, "E", False),
        ('"E"', "E", True),
        ('"X", "E"', "E", True),
        ('"X"', "E", False),
        ("*", "E", True),
        ("", "E", False),
        ('W/"E"', "E", True),
    ],
)
def test_none_match(header, etag, expected):
    assert none_match(header, etag) is expected


# ---- kit.jsondoc: the shape limits every write is checked against ------------------------------


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


SHAPE_CASES = [
    ("flat", {"a": 1}, None),
    ("32 levels", _nested(32), None),
    ("33 levels", _nested(33), "/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n"),
    ("a list at level 33", {"l": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
        "/l/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0"),
    ("a scalar at level 33 is fine", {"l": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}, None),
    ("key of 256", {"k" * 256: 1}, None),
    ("key of 257", {"a": {"k" * 257: 1}}, "/a/" + "k" * 40 + "…"),
    ("NUL in a value", {"a": ["x", "y\x00"]}, "/a/1"),
    ("NUL in a key", {"a": {"b\x00": 1}}, "/a/b"),
    ("escaped pointer in the path", {"a/b": {"c~d": "\x00"}}, "/a~1b/c~0d"),
]


@pytest.mark.parametrize(("value", "path"), [c[1:] for c in SHAPE_CASES], ids=[c[0] for c in SHAPE_CASES])
def test_shape_problems(value, path):
    from config_service.kit.jsondoc import find_shape_problem

    problem = find_shape_problem(value)
    assert (problem[0] if problem else None) == path
