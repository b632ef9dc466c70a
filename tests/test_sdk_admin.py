"""The SDK's admin calls against the real server: orgs, nodes, node configs, locks, tokens,
audit, routing claims; the same calls through `AsyncClient`."""

from __future__ import annotations

import csv
import io
import json

import pytest

import config_service_client as sdk
from tests.support import unique_id


@pytest.fixture()
def admin_sdk(server, server_keys):
    with sdk.Client(server.url, server_keys["ADMIN_TOKEN"]) as client:
        yield client


def test_orgs_and_nodes(admin_sdk):
    org_id = unique_id("sdk")
    org = admin_sdk.create_org(org_id, name="SDK org")
    assert (org.org_id, org.name) == (org_id, "SDK org")
    assert admin_sdk.org(org_id).node_uid == org.node_uid
    assert org_id in {o.org_id for o in admin_sdk.orgs(limit=500).items}
    sre = admin_sdk.create_node(org_id, "sre", name="SRE")
    admin_sdk.create_node(org_id, "oncall", parent_node_id="sre")
    admin_sdk.create_node(org_id, "payments")
    assert sre.parent_node_id == org_id and admin_sdk.node(org_id, "sre").name == "SRE"
    assert [n.node_id for n in admin_sdk.nodes(org_id).items][0] == org_id
    moved = admin_sdk.update_node(org_id, "oncall", parent_node_id="payments")
    assert moved.parent_node_id == "payments"
    tree = admin_sdk.tree(org_id)
    assert {c.node_id: [g.node_id for g in c.children] for c in tree.root.children} == {
        "sre": [], "payments": ["oncall"]}
    with pytest.raises(sdk.Cycle):
        admin_sdk.update_node(org_id, "payments", parent_node_id="oncall")
    with pytest.raises(sdk.HasChildren):
        admin_sdk.delete_node(org_id, "payments")
    assert admin_sdk.delete_node(org_id, "payments", cascade=True) is None
    with pytest.raises(sdk.NotFound):
        admin_sdk.node(org_id, "oncall")
    admin_sdk.delete_org(org_id, cascade=True)
    with pytest.raises(sdk.NotFound):
        admin_sdk.org(org_id)


def test_node_config_calls(admin_sdk, org):
    org.add_node("sre")
    o = org.org_id
    first = admin_sdk.node_patch(o, o, {"model": "gpt-4o"}, reason="defaults")
    assert first.changed
    own = admin_sdk.node_config(o, o)
    assert own.config == {"model": "gpt-4o"} and own.version == first.version
    put = admin_sdk.node_put(o, "sre", {"model": "claude"}, if_match="1")
    assert put.version == 2
    with pytest.raises(sdk.PreconditionFailed):
        admin_sdk.node_put(o, "sre", {"model": "x"}, if_match="1")
    patched = admin_sdk.node_patch(o, "sre", [{"op": "add", "path": "/tools", "value": {"a": True}}])
    assert patched.config == {"model": "claude", "tools": {"a": True}}
    assert admin_sdk.node_effective(o, "sre").effective_config == {"model": "claude", "tools": {"a": True}}
    assert set(admin_sdk.node_raw(o, "sre").configs) == {o, "sre"}
    assert admin_sdk.node_explain(o, "sre").paths["/model"].node_id == "sre"
    assert [i.version for i in admin_sdk.node_history(o, "sre").items] == [3, 2, 1]
    assert admin_sdk.node_version(o, "sre", 2).config == {"model": "claude"}
    assert admin_sdk.node_diff(o, "sre", 2, 3).diff == [{"op": "add", "path": "/tools", "value": {"a": True}}]
    preview = admin_sdk.node_preview(o, o, {"model": "o3"})
    assert preview.affected[0].node_id == o and preview.unaffected_count == 1  # sre overrides the model
    assert admin_sdk.node_preview(o, "sre", rollback_to=1).affected[0].node_id == "sre"
    back = admin_sdk.node_rollback(o, "sre", 1, if_match="3")
    assert back.config == {} and back.version == 4
    health = admin_sdk.node_integration_health(o, "sre")
    assert health.integrations["coralogix"].status == "not_configured"


def test_locks(admin_sdk, org):
    org.add_node("sre")
    o = org.org_id
    assert admin_sdk.locks(o, o).locked_paths == []
    assert admin_sdk.set_locks(o, o, ["/model"], reason="policy").locked_paths == ["/model"]
    assert admin_sdk.locks(o, o).locked_paths == ["/model"]
    with pytest.raises(sdk.LockedPath):
        admin_sdk.node_patch(o, "sre", {"model": "x"})


def test_tokens(admin_sdk, org):
    org.add_node("sre")
    o = org.org_id
    issued = admin_sdk.issue_token(o, "sre", scopes=["config:read"], description="reader", expires_in_days=7)
    assert issued.token.startswith(f"{o}.sre.") and issued.scopes == ["config:read"] and issued.expires_at
    assert sdk.Client(admin_sdk.base_url, issued.token).whoami().team_node_id == "sre"
    assert [t.id for t in admin_sdk.tokens(o, "sre").items] == [issued.id]
    assert issued.id in {t.id for t in admin_sdk.tokens(o).items}
    admin_sdk.revoke_token(o, "sre", issued.id)
    assert admin_sdk.tokens(o, "sre").items[0].revoked_at is not None
    with pytest.raises(sdk.Unauthenticated):
        sdk.Client(admin_sdk.base_url, issued.token).effective()
    org_admin = admin_sdk.issue_admin_token(o, description="ops")
    assert org_admin.team_node_id is None
    scoped = sdk.Client(admin_sdk.base_url, org_admin.token)
    assert scoped.whoami().role == "admin"
    assert [t.id for t in scoped.admin_tokens(o).items] == [org_admin.id]
    with pytest.raises(sdk.Forbidden):
        scoped.create_org(unique_id("nope"))
    admin_sdk.revoke_admin_token(o, org_admin.id)
    with pytest.raises(sdk.Unauthenticated):
        scoped.whoami()


def test_audit_and_export(admin_sdk, org):
    o = org.org_id
    admin_sdk.node_patch(o, o, {"model": "gpt-4o"}, reason="audited")
    page = admin_sdk.audit(o, action="config.written", limit=10)
    assert page.items and all(e.action == "config.written" for e in page.items)
    as_json = json.loads(admin_sdk.export_audit(o, format="json"))
    assert any(e["action"] == "config.written" for e in as_json)
    rows = list(csv.DictReader(io.StringIO(admin_sdk.export_audit(o, format="csv", action="config.written"))))
    assert rows and {r["action"] for r in rows} == {"config.written"}


def test_routing_claims_lookup_and_exchange(admin_sdk, org, server, server_keys):
    org.add_node("sre")
    o = org.org_id
    admin_sdk.node_patch(o, "sre", {"routing": {"slack_channel_ids": ["C0SRE"], "services": ["Checkout"]}})
    claims = admin_sdk.routing_claims(o)
    assert {(c.kind, c.value, c.node_id) for c in claims.items} == {
        ("slack_channel_ids", "C0SRE", "sre"), ("services", "Checkout", "sre")}
    assert [c.value for c in admin_sdk.routing_claims(o, kind="services").items] == ["Checkout"]
    found = admin_sdk.lookup(slack_channel_id="C0SRE", org_id=o)
    assert (found.found, found.team_node_id, found.matched_by) == (True, "sre", "slack_channel_id")
    with_token = admin_sdk.lookup({"service": "checkout"}, org_id=o, issue_token=True)
    assert with_token.team_token and with_token.team_token.startswith(f"{o}.sre.")
    internal = sdk.Client(server.url, server_keys["INTERNAL_SERVICE_TOKEN"])
    exchanged = internal.exchange_token(o, "sre", ttl_seconds=60, scopes=["config:read"])
    assert sdk.Client(server.url, exchanged.token).effective().node_id == "sre"


async def test_async_client_admin_and_team_calls(org, server, server_keys):
    org.add_node("sre")
    async with sdk.AsyncClient(server.url, server_keys["ADMIN_TOKEN"]) as admin:
        written = await admin.node_patch(org.org_id, "sre", {"model": "async"})
        assert written.changed
        assert (await admin.tree(org.org_id)).root.children[0].node_id == "sre"
        issued = await admin.issue_token(org.org_id, "sre", scopes=["config:read", "config:write"])
    async with sdk.AsyncClient(server.url, issued.token) as team:
        view = await team.effective()
        assert view.effective_config == {"model": "async"}
        patched = await team.patch({"model": None}, if_match=view.etag)
        assert patched.config == {}
        with pytest.raises(sdk.NotFound):
            await team.version(42)
