"""One rulebook for writes and previews (`configs.checks`).

A rule added to `checks.RULES` is met by the write and shown by the preview, in process against
the test database; and over HTTP, for every kind of problem, the write's refusal is the
preview's first error, word for word (and changes nothing).
"""

from __future__ import annotations

import json

import pytest

from config_service.auth.principal import Kind, Principal
from config_service.configs import checks
from config_service.configs import service as configs
from config_service.configs.changes import (
    ChangeError,
    JsonPatch,
    MergePatch,
    ShapeError,
    TestFailed,
    TooLarge,
)
from config_service.configs.states import PrefixCache
from config_service.db.engine import Database, make_engine
from config_service.errors import AppError, Conflict, InvalidConfig
from config_service.keys import ConfigKeys
from config_service.kit.etag import etag_key
from config_service.secrets.service import Vault

# ---- change_error: one mapping for both --------------------------------------------------------

CHANGE_ERRORS = [
    (TestFailed("test operation 0 failed", "/0"), 412, "precondition_failed", "/0"),
    (ShapeError("/a: nesting deeper than 32 levels", "/a"), 422, "invalid_config", "/a"),
    (TooLarge("operation 2 makes the own config too big", "/2"), 413, "payload_too_large", "/2"),
    (ChangeError("operation 1 cannot be applied", "/1"), 422, "invalid_request", "/1"),
    (ChangeError("the config must stay a JSON object"), 422, "invalid_request", ""),
]


@pytest.mark.parametrize(("exc", "status", "code", "path"), CHANGE_ERRORS, ids=lambda v: getattr(v, "__name__", None))
def test_change_error_maps_each_kind_of_change_error(exc, status, code, path):
    problem = checks.change_error(exc)
    assert (problem.status, problem.code, problem.extra["path"], problem.detail) == (status, code, path, str(exc))


def test_rules_run_in_one_order_and_stop_where_nothing_is_left_to_check():
    names = [rule.check.__name__ for rule in checks.RULES]
    assert names == [
        "change_applies", "own_shape", "own_size", "secrets_sealed", "sealed_size", "locks_kept",
        "credentials_stay", "routing_claims", "subtree_size",
    ]
    assert {r.check.__name__ for r in checks.RULES if r.stops} == {
        "change_applies", "own_shape", "secrets_sealed", "credentials_stay",
    }
    assert {r.check.__name__ for r in checks.RULES if r.if_changed} == {"routing_claims", "subtree_size"}


# ---- a rule added in one place shows in both -----------------------------------------------------


@pytest.fixture()
async def database(database_url):
    db = Database(make_engine(database_url, pool_size=2))
    yield db
    await db.dispose()


def _keys(server_keys: dict[str, str]) -> ConfigKeys:
    secret = server_keys["SECRETS_KEY"]
    return ConfigKeys(etag_key=etag_key(secret), vault=Vault.from_settings(secret), prefixes=PrefixCache(enabled=True))


async def test_a_rule_added_to_the_rulebook_is_met_by_the_write_and_shown_by_the_preview(
    org, database, server_keys, monkeypatch
):
    org.add_node("team")
    assert org.patch("team", {"model": "gpt-4o"}).status_code == 200
    seen: list[bool] = []

    async def no_banana(draft: checks.Draft) -> checks.Problems:
        seen.append(draft.dry_run)
        if "banana" in json.dumps(draft.new_own):
            return [Conflict("bananas are not allowed", path="/fruit")]
        return []

    monkeypatch.setattr(checks, "RULES", (*checks.RULES, checks.Rule(no_banana)))
    keys, admin = _keys(server_keys), Principal(Kind.GLOBAL_ADMIN)
    change = MergePatch({"fruit": "banana"})

    async with database.transaction() as session:
        view = await configs.preview(session, keys, admin, org.org_id, "team", change)
    assert [(e.code, e.detail, e.path) for e in view.errors] == [("conflict", "bananas are not allowed", "/fruit")]
    assert [a.node_id for a in view.affected] == ["team"], "a problem that stops nothing: the blast radius is shown"

    with pytest.raises(AppError) as refused:
        async with database.transaction() as session:
            await configs.write(session, keys, admin, org.org_id, "team", change)
    assert (refused.value.code, refused.value.detail) == ("conflict", "bananas are not allowed")
    assert org.own("team")["config"] == {"model": "gpt-4o"}, "the refused write changed nothing"

    async with database.transaction() as session:  # and a change the rule allows goes through
        result = await configs.write(session, keys, admin, org.org_id, "team", MergePatch({"fruit": "apple"}))
    assert result.changed and org.own("team")["config"] == {"model": "gpt-4o", "fruit": "apple"}
    assert seen == [True, False, False], "the preview ran it as a dry run, each write for real"


async def test_write_and_preview_fail_alike_when_a_rule_stops(org, database, server_keys):
    org.add_node("team")
    keys, admin = _keys(server_keys), Principal(Kind.GLOBAL_ADMIN)
    change = JsonPatch([{"op": "remove", "path": "/missing"}])
    async with database.transaction() as session:
        view = await configs.preview(session, keys, admin, org.org_id, "team", change)
    with pytest.raises(AppError) as refused:
        async with database.transaction() as session:
            await configs.write(session, keys, admin, org.org_id, "team", change)
    assert [(e.code, e.detail, e.path) for e in view.errors] == [
        (refused.value.code, refused.value.detail, refused.value.extra["path"])
    ]
    assert view.affected == [] and view.unaffected_count == 1


# ---- over HTTP: the write's refusal is the preview's first error ------------------------------------


def _preview(org, node_id: str, body: object, content_type: str = "application/json") -> dict:
    response = org.admin.post(
        org.node_path(node_id) + "/config/preview", content=json.dumps(body), headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _write(org, node_id: str, body: object, content_type: str = "application/json"):
    return org.admin.patch(
        org.node_path(node_id) + "/config", content=json.dumps(body), headers={"Content-Type": content_type}
    )


def _deep(levels: int) -> dict:
    root: dict = {}
    node = root
    for _ in range(levels):
        node["d"] = {}
        node = node["d"]
    return root


CASES = [
    ("locked path", "team", {"config": {"model": "mine", "tools": {"think": False}}}, None),
    ("malformed routing list", "team", {"config": {"routing": {"services": "checkout"}}}, None),
    ("routing claimed by another node", "other", {"config": {"routing": {"services": ["CHECKOUT"]}}}, None),
    ("workspace below the root", "team", {"config": {"routing": {"slack_workspace_ids": ["T1"]}}}, None),
    ("mask of a secret the node does not hold", "team", {"config": {"a": "********"}}, None),
    ("forged envelope", "team", {"config": {"a": "$enc:v1:k:AAAA"}}, None),
    ("nested too deep", "team", {"config": _deep(40)}, None),
    ("own config too large", "team", {"config": {"blob": "x" * (300 * 1024)}}, None),
    ("unknown integration field", "team", {"config": {"integrations": {"coralogix": {"no_such_field": 1}}}}, None),
    ("JSON Patch test fails", "team", [{"op": "test", "path": "/model", "value": "x"}], "application/json-patch+json"),
    ("JSON Patch path missing", "team", [{"op": "remove", "path": "/nope"}], "application/json-patch+json"),
]


@pytest.mark.parametrize(("node", "body", "content_type"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_write_is_refused_with_the_previews_first_error(org, db, node, body, content_type):
    org.add_node("team")
    org.add_node("other")
    assert org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}}).status_code == 200
    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model", "/tools/think"]}
                         ).status_code == 200
    assert org.patch("team", {"routing": {"services": ["checkout"]}}).status_code == 200
    before = org.own(node)

    previewed = _preview(org, node, body, content_type or "application/json")
    refused = _write(org, node, body, content_type or "application/json")

    assert refused.status_code >= 400, refused.text
    problem = refused.json()
    first = previewed["errors"][0]
    assert (first["code"], first["detail"], first["path"], first["holder"]) == (
        problem["code"], problem["detail"], problem.get("path"), problem.get("holder")
    )
    assert org.own(node) == before


def test_every_broken_lock_is_listed_and_the_write_names_the_first(org):
    org.add_node("team")
    assert org.patch(org.org_id, {"a": 1, "b": 2}).status_code == 200
    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/a", "/b"]}).status_code == 200
    previewed = _preview(org, "team", {"config": {"a": 9, "b": 9}})
    assert [(e["code"], e["path"]) for e in previewed["errors"]] == [("locked_path", "/a"), ("locked_path", "/b")]
    refused = _write(org, "team", {"config": {"a": 9, "b": 9}})
    assert refused.status_code == 403 and refused.json()["detail"] == previewed["errors"][0]["detail"]
    assert org.org_id in refused.json()["detail"], "the lock's holder is named"


def test_the_check_functions_return_problems_rather_than_raise():
    assert checks.shape_problem([1]) is not None and checks.shape_problem({"a": 1}) is None
    assert isinstance(checks.shape_problem(_deep(40)), InvalidConfig)
    assert checks.size_problem({"blob": "x" * (300 * 1024)}).status == 413
    assert checks.size_problem({}) is None
