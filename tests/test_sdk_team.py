"""The SDK's team calls against the real server: reads, writes, history, preview, typed errors."""

from __future__ import annotations

import inspect

import pytest

import config_service_client as sdk
from config_service_client import admin_operations, operations
from config_service_client.models import EffectiveConfig, WriteResult


@pytest.fixture()
def team(org):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}})
    token = org.token("sre", ["config:read", "config:write", "secrets:read", "runs:write"])
    with sdk.Client(org.server.url, token) as client:
        yield client


def test_both_clients_expose_every_operation():
    built = {name for module in (operations, admin_operations) for name, fn in vars(module).items()
             if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not name.startswith("_")}
    for cls in (sdk.Client, sdk.AsyncClient):
        missing = {name for name in built if getattr(cls, name, None) is None}
        assert not missing, (cls.__name__, missing)
    assert inspect.iscoroutinefunction(sdk.AsyncClient.effective)
    assert not inspect.iscoroutinefunction(sdk.Client.effective)


def test_whoami_and_effective(team, org):
    me = team.whoami()
    assert (me.role, me.org_id, me.team_node_id) == ("team", org.org_id, "sre")
    assert "config:write" in me.scopes
    view = team.effective()
    assert isinstance(view, EffectiveConfig) and view.stale is False
    assert view.effective_config == {"model": "gpt-4o", "tools": {"think": True}}
    assert view.hierarchy == [org.org_id, "sre"]
    assert view.api_json["etag"] == view.etag


def test_secrets_plain_or_masked(team, org):
    team.patch({"webhook": {"$secret": "s3cret-value"}})
    assert team.effective().effective_config["webhook"] == "s3cret-value"
    assert team.effective(masked=True).effective_config["webhook"] == "********"


def test_merge_patch_json_patch_and_put(team, org):
    first = team.patch({"tools": {"deploy": True}}, reason="more tools")
    assert isinstance(first, WriteResult) and first.changed and first.config == {"tools": {"deploy": True}}
    second = team.patch([{"op": "add", "path": "/limits", "value": {"steps": 5}}], reason="json patch")
    assert second.version == first.version + 1 and second.config["limits"] == {"steps": 5}
    replaced = team.put({"model": None}, reason="hide the org model")
    assert replaced.config == {"model": None}
    assert "model" not in team.effective().effective_config
    again = team.put({"model": None})
    assert again.changed is False and again.version == replaced.version


def test_if_match_and_precondition_failed(team):
    view = team.effective()
    written = team.patch({"a": 1}, if_match=view.etag)
    assert written.changed
    with pytest.raises(sdk.PreconditionFailed) as caught:
        team.patch({"a": 2}, if_match=view.etag)  # the etag it read is gone now
    error = caught.value
    assert error.status == 412 and error.code == "precondition_failed" and "If-Match" in error.detail
    assert team.patch({"a": 2}, if_match=f"v{written.version}").changed


def test_raw_explain_history_version_diff_rollback(team, org):
    v2 = team.patch({"model": "claude"}, reason="try").version
    v3 = team.patch({"model": "o3"}, reason="again").version
    raw = team.raw()
    assert [e.node_id for e in raw.lineage] == [org.org_id, "sre"]
    assert raw.configs["sre"] == {"model": "o3"}
    explained = team.explain()
    entry = explained.paths["/model"]
    assert (entry.value, entry.node_id, entry.version) == ("o3", "sre", v3)
    assert entry.overrides[0].node_id == org.org_id
    page = team.history(limit=2)
    assert [i.version for i in page.items] == [v3, v2] and page.next_cursor
    older = team.history(cursor=page.next_cursor)
    assert [i.version for i in older.items] == [1]
    one = team.version(v2)
    assert one.config == {"model": "claude"} and one.reason == "try"
    delta = team.diff(v2, v3)
    assert delta.diff == [{"op": "replace", "path": "/model", "value": "o3"}]
    assert team.diff(v2).to_version == v3
    back = team.rollback(v2, reason="back")
    assert back.version == v3 + 1 and back.config == {"model": "claude"}


def test_preview_shows_the_blast_radius_and_problems(team, org):
    org.add_node("sre-oncall", parent="sre")
    preview = team.preview({"model": "mistral"})
    assert {a.node_id for a in preview.affected} == {"sre", "sre-oncall"}
    assert preview.errors == [] and preview.based_on == team.effective().etag
    org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]})
    blocked = team.preview([{"op": "add", "path": "/model", "value": "x"}])
    assert blocked.errors and blocked.errors[0].code == "locked_path"
    assert team.preview(rollback_to=1).based_on
    with pytest.raises(ValueError):
        team.preview()


def test_typed_errors(team, org):
    org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]})
    with pytest.raises(sdk.LockedPath) as locked:
        team.patch({"model": "other"})
    assert locked.value.path == "/model" and isinstance(locked.value, sdk.Forbidden)
    with pytest.raises(sdk.NotFound):
        team.version(999)
    with pytest.raises(sdk.Unprocessable) as invalid:
        team.patch({"x": "$enc:v1:forged"})
    assert invalid.value.status == 422 and invalid.value.path == "/x"
    reader = sdk.Client(org.server.url, org.token("sre", ["config:read"]))
    with pytest.raises(sdk.InsufficientScope):
        reader.patch({"a": 1})
    with pytest.raises(sdk.Unauthenticated):
        sdk.Client(org.server.url, "nope.nope.nope").effective()
    org.add_node("payments")
    org.patch("payments", {"routing": {"services": ["checkout"]}})
    with pytest.raises(sdk.RoutingConflict) as conflict:
        team.patch({"routing": {"services": ["Checkout"]}})
    assert conflict.value.holder and isinstance(conflict.value, sdk.Conflict)


def test_integrations_catalog_and_health(team):
    catalog = team.integrations(category="observability")
    assert any(i.id == "coralogix" for i in catalog.items)
    coralogix = team.integration("coralogix")
    assert {f.name for f in coralogix.fields if f.secret} == {"api_key"}
    team.patch({"integrations": {"coralogix": {"api_key": "k", "domain": "cx498.coralogix.com"}}})
    health = team.integration_health()
    assert health.integrations["coralogix"].status == "configured"
    assert health.integrations["coralogix"].sources["api_key"] == "sre"
    anonymous = sdk.Client(team.base_url)
    assert anonymous.integrations().items
