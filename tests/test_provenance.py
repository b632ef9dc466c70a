"""PURE: explain's provenance (DESIGN §7): source node and version of every leaf, tombstones,
lists as leaves, overrides nearest first, lock rule 6 exactly as `configs.merge`, secrets masked.

No database, no server: table-driven cases, then a randomised check against `effective_config`.
"""

from __future__ import annotations

import copy
import random

import pytest

from config_service.configs.merge import Layer, effective_config
from config_service.insight.provenance import explain_paths, provenance_tree, secret_fingerprint, visible_shape
from config_service.kit.pointer import ABSENT, get_path, parse_pointer
from config_service.kit.secret_leaves import MASK

ENV_A = "$enc:v1:k1:AAAA"
ENV_B = "$enc:v1:k1:BBBB"


def fp(value):
    return f"fp({value!r})"


def L(node_id, config, locks=(), version=1):  # noqa: N802 — reads like a table row
    return Layer(node_id, config, list(locks), version)


def E(value, node_id, version=1, locked_by=None, overrides=(), secret=False, fingerprint=None):  # noqa: N802
    return {
        "value": value,
        "node_id": node_id,
        "version": version,
        "locked_by": locked_by,
        "secret": secret,
        "fingerprint": fingerprint,
        "overrides": [{"node_id": n, "value": v} for n, v in overrides],
    }


CASES = [
    ("a value inherited from the root", [L("root", {"a": 1}, version=4), L("t", {})], {"/a": E(1, "root", 4)}),
    (
        "overrides are listed nearest ancestor first",
        [L("root", {"x": 1}), L("mid", {"x": 2}, version=3), L("t", {"x": 3}, version=7)],
        {"/x": E(3, "t", 7, overrides=[("mid", 2), ("root", 1)])},
    ),
    (
        "an ancestor's tombstone is an override too",
        [L("root", {"x": 1}), L("mid", {"x": None}), L("t", {"x": 3})],
        {"/x": E(3, "t", overrides=[("mid", None), ("root", 1)])},
    ),
    (
        "a tombstone is a path with value null, naming who hid what",
        [L("root", {"model": "gpt-4o", "k": 1}), L("t", {"model": None}, version=2)],
        {"/model": E(None, "t", 2, overrides=[("root", "gpt-4o")]), "/k": E(1, "root")},
    ),
    (
        "a tombstone of a whole object is one path",
        [L("root", {"a": {"b": 1, "c": 2}}), L("t", {"a": None})],
        {"/a": E(None, "t", overrides=[("root", {"b": 1, "c": 2})])},
    ),
    ("a tombstone hiding nothing is shown too", [L("root", {}), L("t", {"x": None})], {"/x": E(None, "t")}),
    (
        "a tombstone below: the emptied object is a leaf, the hidden key a tombstone",
        [L("root", {"a": {"b": 1}}), L("t", {"a": {"b": None}})],
        {"/a": E({}, "t", overrides=[("root", {"b": 1})]), "/a/b": E(None, "t", overrides=[("root", 1)])},
    ),
    (
        "a value set again below a tombstone",
        [L("root", {"a": 1}), L("mid", {"a": None}), L("t", {"a": 2})],
        {"/a": E(2, "t", overrides=[("mid", None), ("root", 1)])},
    ),
    (
        "lists are leaves, not merged",
        [L("root", {"routing": {"services": ["a", "b"]}}), L("t", {"routing": {"services": ["c", {"x": 1}]}})],
        {"/routing/services": E(["c", {"x": 1}], "t", overrides=[("root", ["a", "b"])])},
    ),
    ("an empty object is a leaf", [L("root", {"a": {}})], {"/a": E({}, "root")}),
    (
        "objects merge: siblings keep their own sources",
        [L("root", {"tools": {"think": True, "web": True}}), L("t", {"tools": {"web": False, "deploy": True}})],
        {
            "/tools/think": E(True, "root"),
            "/tools/web": E(False, "t", overrides=[("root", True)]),
            "/tools/deploy": E(True, "t"),
        },
    ),
    (
        "an object replacing a scalar: the new leaves are the team's",
        [L("root", {"a": 1}), L("t", {"a": {"b": 2}})],
        {"/a/b": E(2, "t")},
    ),
    (
        "a scalar replacing an object overrides the whole object",
        [L("root", {"a": {"b": 1}}), L("t", {"a": 5})],
        {"/a": E(5, "t", overrides=[("root", {"b": 1})])},
    ),
    (
        "keys are escaped as JSON Pointer tokens",
        [L("root", {"a/b": {"c~d": 1}})],
        {"/a~1b/c~0d": E(1, "root")},
    ),
    # rule 6: locks
    (
        "a locked value ignores what was set below before the lock",
        [L("root", {"m": "gpt-4o"}, ["/m"], version=2), L("t", {"m": "o3"}, version=5)],
        {"/m": E("gpt-4o", "root", 2, locked_by="root")},
    ),
    (
        "a lock at a middle node on an inherited value names the lock, not the source",
        [L("root", {"m": "gpt-4o"}), L("mid", {}, ["/m"]), L("t", {"m": "o3"})],
        {"/m": E("gpt-4o", "root", locked_by="mid")},
    ),
    (
        "a value set at the locking node overrides its ancestors",
        [L("root", {"m": "a"}), L("mid", {"m": "b"}, ["/m"]), L("t", {"m": "c"})],
        {"/m": E("b", "mid", locked_by="mid", overrides=[("root", "a")])},
    ),
    ("a locked absence shows nothing", [L("root", {}, ["/x"]), L("t", {"x": 1, "y": 2})], {"/y": E(2, "t")}),
    (
        "a locked tombstone stays a tombstone",
        [L("root", {"x": None}, ["/x"]), L("t", {"x": 1})],
        {"/x": E(None, "root", locked_by="root")},
    ),
    (
        "a lower layer's tombstone of a locked value is ignored",
        [L("root", {"x": 1}, ["/x"]), L("t", {"x": None})],
        {"/x": E(1, "root", locked_by="root")},
    ),
    (
        "a lock covers everything under its path",
        [L("root", {"a": {"b": 1, "c": 2}}, ["/a"]), L("t", {"a": {"b": 9, "d": 3}})],
        {"/a/b": E(1, "root", locked_by="root"), "/a/c": E(2, "root", locked_by="root")},
    ),
    (
        "a lower scalar at a prefix of a lock: the locking node's object comes back whole",
        [L("root", {"a": {"b": 1, "c": 2}}, ["/a/b"]), L("t", {"a": 5})],
        {"/a/b": E(1, "root", locked_by="root"), "/a/c": E(2, "root")},
    ),
    (
        "a lock below a scalar keeps the scalar whole",
        [L("root", {"a": 5}, ["/a/b"]), L("t", {"a": 7})],
        {"/a": E(5, "root", locked_by="root")},
    ),
    (
        "siblings of a locked path stay overridable",
        [L("root", {"a": {"b": 1, "c": 2}}, ["/a/b"]), L("t", {"a": {"b": 7, "c": 8}})],
        {"/a/b": E(1, "root", locked_by="root"), "/a/c": E(8, "t", overrides=[("root", 2)])},
    ),
    (
        "the highest covering lock is named",
        [L("root", {"a": {"b": 1}}, ["/a"]), L("mid", {}, ["/a/b"]), L("t", {})],
        {"/a/b": E(1, "root", locked_by="root")},
    ),
    (
        "a node's own locks are named at the node itself",
        [L("root", {"m": "x"}, ["/m"])],
        {"/m": E("x", "root", locked_by="root")},
    ),
    (
        "a lock on a list element locks the list (lists are leaves)",
        [L("root", {"l": [1, 2]}, ["/l/0"]), L("t", {"l": [3]})],
        {"/l": E([1, 2], "root", locked_by="root")},
    ),
    # secrets: masked, fingerprinted, never shown — also not in overrides
    (
        "a secret is masked with a fingerprint",
        [L("root", {"creds": {"key": ENV_A, "user": "u"}})],
        {"/creds/key": E(MASK, "root", secret=True, fingerprint=fp(ENV_A)), "/creds/user": E("u", "root")},
    ),
    (
        "a secret overriding a secret: both masked",
        [L("root", {"key": ENV_A}), L("t", {"key": ENV_B})],
        {"/key": E(MASK, "t", secret=True, fingerprint=fp(ENV_B), overrides=[("root", MASK)])},
    ),
    (
        "a tombstoned secret: no value, no fingerprint, masked override",
        [L("root", {"key": ENV_A}), L("t", {"key": None})],
        {"/key": E(None, "t", overrides=[("root", MASK)])},
    ),
    (
        "a secret inside a list leaf",
        [L("root", {"keys": ["plain", ENV_A]})],
        {"/keys": E(["plain", MASK], "root", secret=True, fingerprint=fp(["plain", ENV_A]))},
    ),
    (
        "an object override holding a secret is masked inside",
        [L("root", {"c": {"key": ENV_A}}), L("t", {"c": "off"})],
        {"/c": E("off", "t", overrides=[("root", {"key": MASK})])},
    ),
]


@pytest.mark.parametrize(("layers", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_explain(layers, expected):
    before = copy.deepcopy(layers)
    paths = explain_paths(layers, fp)
    assert paths == expected
    assert repr(paths) == repr(expected), "exact JSON types (True is not 1)"
    assert layers == before, "explain must not touch its input"


def test_paths_are_in_document_order():
    paths = explain_paths([L("root", {"b": 1, "a": {"z": 1, "y": 2}}), L("t", {"c": 3, "a": {"x": 0}})], fp)
    assert list(paths) == ["/b", "/a/z", "/a/y", "/a/x", "/c"]


def test_no_layers_explain_nothing():
    assert explain_paths([], fp) == {}


def test_no_secret_value_in_any_entry():
    layers = [L("root", {"a": ENV_A, "l": [ENV_B], "o": {"k": ENV_B}}, ["/a"]), L("t", {"a": ENV_B, "o": None})]
    text = repr(explain_paths(layers, lambda value: "fingerprint"))
    assert "$enc:" not in text


# ---- the fingerprint -------------------------------------------------------------------------


def test_secret_fingerprint_is_keyed_stable_and_opaque():
    key, other_key = b"k" * 32, b"o" * 32
    first = secret_fingerprint(key, ENV_A)
    assert first == secret_fingerprint(key, ENV_A)
    assert first != secret_fingerprint(key, ENV_B)
    assert first != secret_fingerprint(other_key, ENV_A)
    assert first.startswith("hmac-sha256:") and "AAAA" not in first and len(first) < 40


# ---- the provenance tree has the effective config's shape, always -----------------------------

KEYS = ["a", "b", "c"]


def _random_value(rng: random.Random, depth: int):
    roll = rng.random()
    if depth < 3 and roll < 0.35:
        return {k: _random_value(rng, depth + 1) for k in rng.sample(KEYS, rng.randint(0, 3))}
    if roll < 0.5:
        return None
    if roll < 0.6:
        return [rng.randint(0, 2)]
    if roll < 0.7:
        return rng.choice([True, False, 1, 1.0, "1"])
    return rng.randint(0, 3)


def _random_lock(rng: random.Random) -> str:
    return "/" + "/".join(rng.choice(KEYS) for _ in range(rng.randint(1, 3)))


def _leaves(value, tokens=()):
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaves(child, (*tokens, key))
    elif tokens:
        yield tokens, value


def _pointer(tokens) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


@pytest.mark.parametrize("seed", range(400))
def test_random_lineages_agree_with_the_merge(seed):
    rng = random.Random(seed)
    layers = []
    for index in range(rng.randint(1, 5)):
        config = _random_value(rng, 0)
        config = config if isinstance(config, dict) else {}
        locks = [_random_lock(rng) for _ in range(rng.choice([0, 0, 1, 2]))]
        layers.append(L(f"n{index}", config, locks, version=index + 10))
    effective = effective_config(layers)
    tree, _ = provenance_tree(layers)

    assert _shape(visible_shape(tree)) == _shape(effective), "the tree has the effective config's shape"

    paths = explain_paths(layers, fp)
    leaves = {_pointer(tokens): value for tokens, value in _leaves(effective)}
    shown = {p: e for p, e in paths.items() if not (e["value"] is None and e["secret"] is False and p not in leaves)}
    assert set(shown) == set(leaves), "every effective leaf, and nothing else but tombstones"
    by_id = {layer.node_id: layer for layer in layers}
    for pointer, entry in paths.items():
        tokens = parse_pointer(pointer)
        if pointer in leaves:
            assert repr(entry["value"]) == repr(leaves[pointer])
            own = get_path(by_id[entry["node_id"]].config, tokens)
            if not isinstance(own, dict):
                assert repr(own) == repr(leaves[pointer]), "the source's own config holds the value"
        else:
            assert entry["value"] is None
            assert get_path(effective, tokens) is ABSENT, "a tombstone is absent from the effective config"
            assert get_path(by_id[entry["node_id"]].config, tokens) is None, "the source's own config holds the null"
        assert entry["version"] == by_id[entry["node_id"]].version


def _shape(value):
    return {k: _shape(v) for k, v in value.items()} if isinstance(value, dict) else "leaf"
