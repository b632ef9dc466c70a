"""The SDK's config-as-code calls against the real server (DESIGN §12.3, §12.4): `export_org`,
`plan_import`, `apply_import` — typed plans, promotion between orgs, 412 / `ImportRefused`,
and the same calls through `AsyncClient`."""

from __future__ import annotations

import asyncio

import pytest

import config_service_client as sdk
from tests.conftest import Org
from tests.transfer_http import MASK, document, export, node, promoted


@pytest.fixture()
def admin_sdk(server, server_keys):
    with sdk.Client(server.url, server_keys["ADMIN_TOKEN"]) as client:
        yield client


def build(org: Org) -> None:
    org.add_node("sre", name="SRE")
    org.add_node("oncall", "sre")
    assert org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}}).status_code == 200
    assert org.put("sre", {"token": {"$secret": "sre-secret"}, "tools": {"think": None}}).status_code == 200
    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]}).status_code == 200


def test_export_in_both_forms_is_the_servers_bytes(admin_sdk, org):
    build(org)
    as_json = admin_sdk.export_org(org.org_id)
    assert isinstance(as_json, sdk.OrgExport) and as_json.format == "json"
    assert as_json.content == export(org).content  # byte for byte what the server sends
    doc = as_json.document
    assert [n["node_id"] for n in doc["nodes"]] == [org.org_id, "sre", "oncall"]
    sre = doc["nodes"][1]
    assert sre["config"] == {"token": MASK, "tools": {"think": None}} and sre["name"] == "SRE"
    assert b"sre-secret" not in as_json.content
    as_yaml = admin_sdk.export_org(org.org_id, format="yaml")
    assert as_yaml.content == export(org, "application/yaml").content
    assert as_yaml.text.startswith("format: config-service/v1\n") and as_yaml.media_type == "application/yaml"
    with pytest.raises(ValueError, match="YAML export is text"):
        _ = as_yaml.document
    with pytest.raises(ValueError):
        admin_sdk.export_org(org.org_id, format="toml")  # type: ignore[arg-type]
    with pytest.raises(sdk.NotFound):
        admin_sdk.export_org(org.org_id + "-missing")


def test_promotion_plan_and_apply_are_typed(admin_sdk, org, make_org):
    build(org)
    staging = admin_sdk.export_org(org.org_id)
    production = make_org("prod")
    plan = admin_sdk.plan_import(production.org_id, staging)  # an OrgExport is sent as it came
    assert isinstance(plan, sdk.ImportPlan)
    assert {c.node_id: c.action for c in plan.changes} == {production.org_id: "update", "sre": "create",
                                                           "oncall": "create"}
    assert [c.node_id for c in plan.pending] == [production.org_id, "sre", "oncall"]
    assert (plan.count("create"), plan.count("unchanged")) == (2, 0)
    root = plan.changes[0]
    assert root.locks.added == ["/model"] and {"op": "add", "path": "/model", "value": "gpt-4o"} in root.diff
    assert [(s.node_id, s.path) for s in plan.needs_secret] == [("sre", "/token")]
    assert plan.errors == [] and plan.kept == []
    assert production.own(production.org_id)["config"] == {}, "a plan writes nothing"

    applied = admin_sdk.apply_import(production.org_id, staging, if_match=plan.based_on, reason="promote v1")
    assert isinstance(applied, sdk.AppliedImport)
    assert applied.based_on == plan.based_on and applied.new_based_on != plan.based_on
    assert [c.action for c in applied.changes] == [c.action for c in plan.changes]
    assert admin_sdk.node_history(production.org_id, "sre").items[0].reason == "promote v1"
    assert admin_sdk.export_org(production.org_id).document == promoted(
        staging.document, production.org_id, production.org_id, [{"node_id": "sre", "path": "/token"}])

    again = admin_sdk.plan_import(production.org_id, staging.document)  # a mapping is sent as JSON
    assert again.pending == [] and again.based_on == applied.new_based_on
    yaml_text = admin_sdk.export_org(org.org_id, format="yaml").text
    assert admin_sdk.plan_import(production.org_id, yaml_text).pending == []  # text: YAML, by its first character


def test_a_stale_plan_is_412_and_a_plan_with_errors_is_refused(admin_sdk, org):
    org.add_node("sre")
    doc = document(org.org_id, node(org.org_id, None, {"model": "a"}), node("sre", org.org_id, {"x": 1}))
    plan = admin_sdk.plan_import(org.org_id, doc)
    assert org.patch("sre", {"meanwhile": True}).status_code == 200
    with pytest.raises(sdk.PreconditionFailed) as stale:
        admin_sdk.apply_import(org.org_id, doc, if_match=plan.based_on)
    assert stale.value.current and stale.value.current != plan.based_on
    assert org.own("sre")["config"] == {"meanwhile": True}

    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]}).status_code == 200
    bad = document(org.org_id, node(org.org_id, None, {"model": "a"}, ["/model"]),
                   node("sre", org.org_id, {"model": "mine"}))
    plan = admin_sdk.plan_import(org.org_id, bad)
    assert [(e.node_id, e.code, e.path) for e in plan.errors] == [("sre", "locked_path", "/model")]
    with pytest.raises(sdk.ImportRefused) as refused:
        admin_sdk.apply_import(org.org_id, bad, if_match=plan.based_on)
    assert isinstance(refused.value, sdk.Unprocessable) and refused.value.code == "import_refused"
    assert [(e.node_id, e.code, e.path) for e in refused.value.errors] == [("sre", "locked_path", "/model")]
    assert refused.value.based_on == plan.based_on
    assert org.own("sre")["config"] == {"meanwhile": True} and org.own(org.org_id)["config"] == {}

    blind = admin_sdk.apply_import(org.org_id, doc, if_match="*", prune=True)  # `*`: no plan needed
    assert org.own("sre")["config"] == {"x": 1} and blind.new_based_on


def test_yaml_problems_and_reasons_are_refused_typed(admin_sdk, org):
    with pytest.raises(sdk.InvalidJson) as malformed:
        admin_sdk.plan_import(org.org_id, "format: [unclosed\n")
    assert malformed.value.problem.get("line") is not None
    with pytest.raises(sdk.InvalidRequest):
        admin_sdk.plan_import(org.org_id, "format: &a config-service/v1\norg: *a\nnodes: []\n")
    with pytest.raises(sdk.UnsupportedMediaType):
        admin_sdk.plan_import(org.org_id, b"format: x", content_type="text/plain")
    with pytest.raises(ValueError, match="printable ASCII"):
        admin_sdk.apply_import(org.org_id, {}, if_match="*", reason="déploiement\n")
    with pytest.raises(ValueError, match="sent as JSON"):
        admin_sdk.plan_import(org.org_id, {}, content_type="application/yaml")


def test_async_client_has_the_same_calls(server, server_keys, org, make_org):
    build(org)
    target = make_org("async")

    async def run() -> tuple[sdk.ImportPlan, sdk.AppliedImport, bytes]:
        async with sdk.AsyncClient(server.url, server_keys["ADMIN_TOKEN"]) as client:
            source = await client.export_org(org.org_id, format="yaml")
            plan = await client.plan_import(target.org_id, source)
            applied = await client.apply_import(target.org_id, source, if_match=plan.based_on)
            return plan, applied, (await client.export_org(target.org_id, format="yaml")).content

    plan, applied, exported_yaml = asyncio.run(run())
    assert plan.count("create") == 2 and applied.new_based_on != plan.based_on
    assert exported_yaml == export(target, "application/yaml").content
    assert {n["node_id"] for n in export(target).json()["nodes"]} == {target.org_id, "sre", "oncall"}
