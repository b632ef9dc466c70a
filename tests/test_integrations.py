"""The integration catalog, validated integration writes, health, and credential redirection (DESIGN §8)."""

from __future__ import annotations

import json

import psycopg
import pytest

from config_service import bootstrap
from config_service.integrations.catalog import BUILT_IN
from tests.support import unique_id

REQUIRED_IDS = {
    "coralogix", "slack", "datadog", "grafana", "pagerduty", "github", "opsgenie", "incident_io", "sentry",
    "new_relic", "openai", "anthropic", "aws", "kubernetes", "jira", "confluence",
}


def test_catalog_is_public_and_complete(anon) -> None:
    response = anon.get("/integrations/schemas")
    assert response.status_code == 200, response.text
    items = {item["id"]: item for item in response.json()["items"]}
    assert REQUIRED_IDS <= set(items)
    coralogix = {f["name"]: f for f in items["coralogix"]["fields"]}
    assert coralogix["api_key"]["secret"] is True and coralogix["api_key"]["required"] is True
    assert coralogix["domain"]["required"] is True and coralogix["domain"]["secret"] is False
    for item in items.values():
        assert item["category"]
        for field in item["fields"]:
            assert set(field) >= {"name", "type", "required", "display_name", "description", "secret", "endpoint",
                "example"}

    llm = anon.get("/integrations/schemas", params={"category": "llm"}).json()["items"]
    assert {i["id"] for i in llm} >= {"openai", "anthropic"} and all(i["category"] == "llm" for i in llm)
    one = anon.get("/integrations/schemas/grafana")
    assert one.status_code == 200 and one.json()["id"] == "grafana"
    assert anon.get("/integrations/schemas/nope-not-here").status_code == 404
    assert anon.get("/integrations/schemas/bad.id").status_code == 422


def test_seed_is_idempotent_and_restores_built_ins(database_url: str, db: psycopg.Connection) -> None:
    before = dict(db.execute("SELECT id, updated_at FROM integration_schemas").fetchall())
    bootstrap.upgrade(database_url)
    after = dict(db.execute("SELECT id, updated_at FROM integration_schemas").fetchall())
    assert {i["id"] for i in BUILT_IN} <= set(after)
    assert all(after[i] == before[i] for i in before if i in {b["id"] for b in BUILT_IN})  # nothing rewritten
    db.execute("UPDATE integration_schemas SET fields = '[]'::jsonb WHERE id = 'sentry'")
    from config_service.integrations.seed import seed_catalog

    assert seed_catalog(database_url) == 1
    fields = db.execute("SELECT fields FROM integration_schemas WHERE id = 'sentry'").fetchone()[0]
    assert {f["name"] for f in fields} >= {"auth_token", "organization_slug"}


def test_global_admin_manages_schemas(admin, org, anon) -> None:
    schema_id = unique_id("vendor")
    body = {
        "id": schema_id, "name": "Vendor", "category": "observability",
        "fields": [
            {"name": "token", "type": "string", "required": True, "secret": True, "example": "t-123"},
            {"name": "region", "type": "enum", "options": ["us", "eu"], "example": "eu", "endpoint": True},
        ],
    }
    org_admin = org.client(org.admin_token())
    assert org_admin.post("/integrations/schemas", json=body).status_code == 403
    assert anon.post("/integrations/schemas", json=body).status_code == 401
    created = admin.post("/integrations/schemas", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["fields"][0]["display_name"] == "token" and created.json()["built_in"] is False
    assert admin.post("/integrations/schemas", json=body).status_code == 409

    bad = {**body, "id": unique_id("bad"), "fields": [{"name": "u", "type": "url", "example": "not a url"}]}
    response = admin.post("/integrations/schemas", json=bad)
    assert response.status_code == 422 and response.json()["path"] == "/fields/0/example"
    bad["fields"] = [{"name": "e", "type": "enum", "example": "x"}]
    assert admin.post("/integrations/schemas", json=bad).json()["path"] == "/fields/0/options"
    bad["fields"] = [{"name": "n", "type": "integer", "example": 1, "secret": True}]
    assert admin.post("/integrations/schemas", json=bad).status_code == 422

    patched = admin.patch(f"/integrations/schemas/{schema_id}", json={"description": "d"})
    assert patched.status_code == 200 and patched.json()["description"] == "d" and patched.json()["name"] == "Vendor"
    assert org_admin.patch(f"/integrations/schemas/{schema_id}", json={"description": "x"}).status_code == 403

    # in use → 409; tombstoned or unused → deletable
    assert org.patch(org.org_id, {"integrations": {schema_id: {"token": "t-abc"}}}).status_code == 200
    response = admin.delete(f"/integrations/schemas/{schema_id}")
    assert response.status_code == 409 and response.json()["code"] == "schema_in_use"
    assert org.patch(org.org_id, {"integrations": {schema_id: None}}).status_code == 200
    assert admin.delete(f"/integrations/schemas/{schema_id}").status_code == 204
    assert anon.get(f"/integrations/schemas/{schema_id}").status_code == 404
    actions = [e["action"] for e in admin.get(f"/admin/orgs/{org.org_id}/audit").json()["items"]]
    assert "config.written" in actions


@pytest.mark.parametrize(
    "integration, path",
    [
        ({"grafana": {"url": "ftp://grafana"}}, "/integrations/grafana/url"),
        ({"grafana": {"org_id": "one"}}, "/integrations/grafana/org_id"),
        ({"grafana": {"unknown_field": 1}}, "/integrations/grafana/unknown_field"),
        ({"pagerduty": {"from_email": "not-an-email"}}, "/integrations/pagerduty/from_email"),
        ({"datadog": {"site": "datadoghq.moon"}}, "/integrations/datadog/site"),
        ({"confluence": {"space_keys": "SRE"}}, "/integrations/confluence/space_keys"),
        ({"kubernetes": {"insecure_skip_tls_verify": "yes"}}, "/integrations/kubernetes/insecure_skip_tls_verify"),
        ({"slack": {"bot_token": 12345}}, "/integrations/slack/bot_token"),
        ({"slack": "xoxb-not-an-object"}, "/integrations/slack"),
    ],
)
def test_invalid_integration_writes_are_422_with_the_path(org, db, integration, path) -> None:
    org.add_node("sre")
    for node in (org.org_id, "sre"):
        response = org.patch(node, {"integrations": integration, "other": 1})
        assert response.status_code == 422, response.text
        assert response.json()["path"] == path and response.json()["code"] == "invalid_config"
    rows = db.execute("SELECT config_json FROM node_configurations WHERE org_id = %s", (org.org_id,)).fetchall()
    assert all(r[0] == {} for r in rows)  # nothing written


def test_valid_writes_and_unknown_integrations_pass(org) -> None:
    org.add_node("sre")
    config = {
        "integrations": {
            "grafana": {"url": "https://acme.grafana.net", "org_id": 3, "service_account_token": "glsa_x"},
            "prometheus": {"url": "http://prom:9090", "timeout_seconds": 12.5},
            "confluence": {"space_keys": ["SRE"], "email": "a@b.co"},
            "my_inhouse_tool": {"anything": {"goes": [1, 2]}},
        }
    }
    response = org.patch(org.org_id, config)
    assert response.status_code == 200, response.text
    with org.team_client("sre", ["config:read", "config:write"]) as team:
        response = team.patch("/config/me", json={"config": {"integrations": {"grafana": {"org_id": "x"}}}})
        assert response.status_code == 422 and response.json()["path"] == "/integrations/grafana/org_id"
        response = team.patch("/config/me", json={"config": {"integrations": {"grafana": {"org_id": 9}}}})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("integration_id", ["my.tool", "bad id", "-lead", "x" * 65, ""])
def test_an_integration_id_under_integrations_is_an_identifier(org, integration_id) -> None:
    """DESIGN §2: integration ids are identifiers (no dots), anything else is 422 — in a config
    write as in the catalog's API; a tombstone may still clear one stored before."""
    org.add_node("sre")
    response = org.patch("sre", {"integrations": {integration_id: {"token": "t"}}})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_config"
    assert body["path"] == "/integrations/" + integration_id.replace("~", "~0").replace("/", "~1")
    assert org.own("sre")["version"] == 1
    assert org.patch("sre", {"integrations": {integration_id: None}}).status_code == 200


def test_health_reports_every_catalog_integration_with_sources(org, anon) -> None:
    org.add_node("sre")
    assert org.patch(org.org_id, {"integrations": {
        "coralogix": {"api_key": "cx-org-key", "domain": "cx498.coralogix.com"},
        "jira": {"base_url": "https://acme.atlassian.net"},
    }}).status_code == 200
    assert org.patch("sre", {"integrations": {"coralogix": {"domain": "eu2.coralogix.com",
        "api_key": "cx-team"}}}).status_code == 200
    catalog_ids = {i["id"] for i in anon.get("/integrations/schemas").json()["items"]}
    with org.team_client("sre", ["config:read"]) as team:
        response = team.get("/integrations/health")
    assert response.status_code == 200, response.text
    health = response.json()["integrations"]
    assert set(health) == catalog_ids
    assert health["coralogix"] == {
        "status": "configured", "fields_configured": ["api_key", "domain"], "missing_fields": [],
        "sources": {"api_key": "sre", "domain": "sre"},
    }
    assert health["jira"]["status"] == "incomplete"
    assert health["jira"]["missing_fields"] == ["email", "api_token"]
    assert health["jira"]["sources"] == {"base_url": org.org_id}
    assert health["slack"] == {"status": "not_configured", "fields_configured": [], "missing_fields": ["bot_token"],
        "sources": {}}

    admin_view = org.admin.get(org.node_path(org.org_id) + "/integrations/health").json()["integrations"]
    assert admin_view["coralogix"]["sources"] == {"api_key": org.org_id, "domain": org.org_id}
    with org.team_client("sre", ["runs:write"]) as no_read:
        assert no_read.get("/integrations/health").status_code == 403
    with org.team_client("sre") as team:
        assert team.get(org.node_path("sre") + "/integrations/health").status_code == 403
    assert anon.get("/integrations/health").status_code == 401


def test_endpoint_below_the_secret_needs_the_secret_rewritten(org) -> None:
    org.add_node("sre")
    assert org.patch(org.org_id, {"integrations": {"grafana": {
        "url": "https://acme.grafana.net", "service_account_token": "glsa_org"}}}).status_code == 200
    with org.team_client("sre", ["config:read", "config:write"]) as team:
        response = team.patch("/config/me", json={"config": {"integrations": {"grafana": {"url": "https://evil.example.com"}}}})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "secret_rebind_required"
        assert response.json()["path"] == "/integrations/grafana/url"
        assert "glsa_org" not in response.text
        # a non-endpoint field is fine
        assert team.patch("/config/me",
            json={"config": {"integrations": {"grafana": {"org_id": 2}}}}).status_code == 200
        # with its own secret in the same write, the team may point it elsewhere
        response = team.patch("/config/me", json={"config": {"integrations": {"grafana": {
            "url": "https://team.grafana.net", "service_account_token": "glsa_team"}}}})
        assert response.status_code == 200, response.text
        # now the team holds the secret: changing its endpoint again is its own business
        assert team.patch("/config/me",
            json={"config": {"integrations": {"grafana": {"url": "https://t2.grafana.net"}}}}).status_code == 200
    # the same rule binds admins writing below the org
    assert org.patch(org.org_id, {"integrations": {"datadog": {"api_key": "dd",
        "app_key": "ddapp"}}}).status_code == 200
    response = org.patch("sre", {"integrations": {"datadog": {"site": "datadoghq.eu"}}})
    assert response.status_code == 422 and response.json()["code"] == "secret_rebind_required"
    # at the node that holds the secret, an endpoint change is fine
    assert org.patch(org.org_id, {"integrations": {"datadog": {"site": "datadoghq.eu"}}}).status_code == 200


def test_dropping_its_own_secret_cannot_leave_the_teams_endpoint_on_the_orgs_secret(org, admin) -> None:
    """A team that pointed an integration at its own host with its own secret cannot then drop that
    secret so the org's shows through to its host (DESIGN §8: a team cannot point the org's API key
    at its own host) — whether by a merge-patch null, a PUT without it or a JSON Patch remove."""
    org.add_node("sre")
    assert org.patch(org.org_id, {"integrations": {"grafana": {
        "url": "https://acme.grafana.net", "service_account_token": "glsa_org"}}}).status_code == 200
    with org.team_client("sre", ["config:read", "config:write"]) as team:
        response = team.patch("/config/me", json={"config": {"integrations": {"grafana": {
            "url": "https://evil.example.com", "service_account_token": "glsa_team"}}}})
        assert response.status_code == 200, response.text
        version = response.json()["version"]
        attempts = [
            team.patch("/config/me", json={"config": {"integrations": {"grafana": {"service_account_token": None}}}}),
            team.put("/config/me", json={"config": {"integrations": {"grafana": {"url": "https://evil.example.com"}}}}),
            team.patch("/config/me", content=json.dumps(
                [{"op": "remove", "path": "/integrations/grafana/service_account_token"}]),
                headers={"Content-Type": "application/json-patch+json"}),
        ]
        for response in attempts:
            assert response.status_code == 422, response.text
            assert response.json()["code"] == "secret_rebind_required"
            assert response.json()["path"] == "/integrations/grafana/url"
            assert "glsa" not in response.text
        assert team.get("/config/me/raw").json()["lineage"][-1]["version"] == version
        # tombstoning the secret (nothing inherited is sent anywhere) or dropping the endpoint too is fine
        assert team.patch("/config/me", content=json.dumps(
            [{"op": "add", "path": "/integrations/grafana/service_account_token", "value": None}]),
            headers={"Content-Type": "application/json-patch+json"}).status_code == 200
        assert team.patch("/config/me", json={"config": {"integrations": {"grafana": {
            "service_account_token": "glsa_team2"}}}}).status_code == 200
        assert team.patch("/config/me", json={"config": {"integrations": {"grafana": {
            "url": None, "service_account_token": None}}}}).status_code == 200
    # an admin writing below the org is bound alike, rollback included
    assert org.patch("sre", {"integrations": {"grafana": {
        "url": "https://team.grafana.net", "service_account_token": "glsa_t"}}}).status_code == 200
    response = org.patch("sre", {"integrations": {"grafana": {"service_account_token": None}}})
    assert response.status_code == 422 and response.json()["code"] == "secret_rebind_required"
    response = admin.post(org.node_path("sre") + "/config/rollback", json={"version": version})
    assert response.status_code == 200, response.text  # that version holds the team's own secret
