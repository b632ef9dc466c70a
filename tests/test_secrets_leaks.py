"""Proof (issue #3): no plaintext secret is stored, logged, or shown outside the team's own
plaintext read — after writes at org and team level, patches, rollbacks both ways and reads of
every view. A dedicated server logs at DEBUG, so the check holds at the most talkative level."""

from __future__ import annotations

import json
import secrets as pysecrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from config_service.db.urls import libpq_url
from config_service.kit.secret_leaves import MASK
from tests.support import ServerProcess, clean_env, new_keys, unique_id


@pytest.fixture()
def debug_server(database_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    keys = new_keys()
    env = clean_env() | keys | {"DATABASE_URL": database_url, "LOG_LEVEL": "DEBUG", "CONFIG_SERVICE_ENV": "production"}
    server = ServerProcess(env=env, log_path=tmp_path / "server.log").start()
    yield server, keys
    server.stop()


def every_row_of_every_table(database_url: str) -> str:
    with psycopg.connect(libpq_url(database_url)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )]
        assert {"node_configurations", "node_config_versions", "audit_events", "org_keys"} <= set(tables)
        chunks = []
        for table in tables:
            query = sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(sql.Identifier(table))
            chunks.extend(row[0] for row in conn.execute(query))
    return "\n".join(chunks)


def test_no_plaintext_secret_anywhere(debug_server, database_url: str) -> None:
    server, keys = debug_server
    secret = {name: f"{name}-{pysecrets.token_hex(12)}" for name in (
        "org_coralogix", "org_grafana", "org_custom", "team_slack", "team_custom", "org_coralogix_v2",
        "team_slack_v2", "preview_only", "refused_write", "runs_input")}
    org_id = unique_id("proof")
    admin = httpx.Client(base_url=server.api, timeout=30, headers={"Authorization": f"Bearer {keys['ADMIN_TOKEN']}"})
    bodies: list[str] = []

    def call(client: httpx.Client, method: str, path: str, expected: int = 200, **kwargs) -> httpx.Response:
        response = client.request(method, path, **kwargs)
        assert response.status_code == expected, (path, response.text)
        bodies.append(response.text)
        bodies.append(json.dumps(dict(response.headers)))
        return response

    node = f"/admin/orgs/{org_id}/nodes"
    call(admin, "POST", "/admin/orgs", 201, json={"org_id": org_id})
    call(admin, "POST", node, 201, json={"node_id": "sre"})
    issued = call(admin, "POST", f"/admin/orgs/{org_id}/teams/sre/tokens", 201,
                  json={"description": "agent", "scopes": ["config:read", "config:write", "secrets:read",
                      "runs:write"]})
    team = httpx.Client(base_url=server.api, timeout=30, headers={"Authorization": f"Bearer {issued.json()['token']}"})

    # Writes at org level (catalog fields and a $secret) and team level, then patches.
    call(admin, "PATCH", f"{node}/{org_id}/config", json={"config": {"integrations": {
        "coralogix": {"api_key": secret["org_coralogix"], "domain": "cx498.coralogix.com"},
        "grafana": {"url": "https://acme.grafana.net", "service_account_token": {"$secret": secret["org_grafana"]}},
    }, "vault": {"pager_webhook": {"$secret": secret["org_custom"]}}, "model": "gpt-4o"}, "reason": "org secrets"})
    v_team_1 = call(team, "PATCH", "/config/me", json={"config": {
        "integrations": {"slack": {"bot_token": secret["team_slack"], "default_channel_id": "C1"}},
        "tools": {"deploy": {"token": {"$secret": secret["team_custom"]}}}}}).json()["version"]
    call(admin, "PATCH", f"{node}/{org_id}/config", json={"config": {"integrations": {
        "coralogix": {"api_key": secret["org_coralogix_v2"]}}, "model": "gpt-4.1"}})
    call(team, "PATCH", "/config/me",
        json={"config": {"integrations": {"slack": {"bot_token": secret["team_slack_v2"]}}}})
    call(team, "PATCH", "/config/me", content=json.dumps([{"op": "replace",
        "path": "/integrations/slack/default_channel_id",
                                                           "value": "C2"}]),
         headers={"Content-Type": "application/json-patch+json"})
    # Rollback both ways.
    call(team, "POST", "/config/me/rollback", json={"version": v_team_1})
    call(team, "POST", "/config/me/rollback", json={"version": v_team_1, "restore_secrets": True})

    # The team's own plaintext view has the plaintext (and nothing else does).
    me = team.get("/config/me")
    assert me.headers["cache-control"] == "no-store"
    effective = me.json()["effective_config"]
    assert effective["integrations"]["slack"]["bot_token"] == secret["team_slack"]
    assert effective["integrations"]["coralogix"]["api_key"] == secret["org_coralogix_v2"]
    assert effective["integrations"]["grafana"]["service_account_token"] == secret["org_grafana"]
    assert effective["vault"]["pager_webhook"] == secret["org_custom"]
    assert effective["tools"]["deploy"]["token"] == secret["team_custom"]

    # Every other view.
    for path in ("/config/me/raw", "/config/me/explain", "/config/me/history?include_full=true",
                 "/integrations/health", "/auth/me"):
        call(team, "GET", path)
    for target in (org_id, "sre"):
        for suffix in ("config", "effective", "raw", "explain", "history?include_full=true", "integrations/health"):
            text = call(admin, "GET", f"{node}/{target}/{suffix}").text
            if suffix in ("config", "effective", "raw", "explain"):
                assert MASK in text, suffix
    call(admin, "POST", f"{node}/{org_id}/config/preview", json={"config": {"integrations": {
        "coralogix": {"api_key": secret["preview_only"]}}, "extra": {"$secret": secret["preview_only"]}}})
    call(admin, "POST", f"{node}/sre/config/preview", json={"rollback_to": v_team_1, "restore_secrets": True})
    call(admin, "GET", f"/admin/orgs/{org_id}/audit")
    call(admin, "GET", f"/admin/orgs/{org_id}/audit/export", params={"format": "csv"})
    call(admin, "GET", f"/admin/orgs/{org_id}/audit/export", params={"format": "json"})
    # A refused write: its 422 body does not echo the secret it carried.
    refused = call(team, "PATCH", "/config/me", 422, json={"config": {"integrations": {
        "slack": {"bot_token": secret["refused_write"], "no_such_field": 1}}}})
    assert refused.json()["path"] == "/integrations/slack/no_such_field"
    call(team, "PATCH", "/config/me", 422, json={"config": {"integrations": {"grafana": {
        "url": "https://elsewhere.example.com"}}}})
    # A run records the config it read; its config view is masked.
    run = call(team, "POST", "/agent-runs", 201, json={"agent_name": "investigator", "input_message": "hi"}).json()
    assert run["config_version"] == me.json()["etag"]
    call(team, "GET", f"/agent-runs/{run['id']}/config")

    team.close()
    admin.close()
    server.stop()
    log = server.log_text()
    stored = every_row_of_every_table(database_url)
    assert "$enc:v1:" in stored
    for name, value in secret.items():
        assert value not in stored, f"{name} is stored in plain text"
        assert value not in log, f"{name} is in the service log"
        for body in bodies:
            assert value not in body, f"{name} is in a response: {body[:300]}"


def test_preview_masks_catalog_secret_fields(org) -> None:
    value = f"preview-{pysecrets.token_hex(12)}"
    response = org.admin.post(org.node_path(org.org_id) + "/config/preview", json={"config": {"integrations": {
        "coralogix": {"api_key": value, "domain": "cx498.coralogix.com"}}}})
    assert response.status_code == 200, response.text
    assert value not in response.text and MASK in response.text
def test_json_patch_errors_never_quote_the_config(org, admin):
    org.add_node("sre")
    org.patch("sre", {"k": {"$secret": "zzsecretzz"}, "plain": "visible-content"})
    import json
    path = org.node_path("sre") + "/config"
    for ops in ([{"op": "remove", "path": "/nope"}], [{"op": "replace", "path": "/k/x", "value": 1}],
                [{"op": "move", "from": "/missing", "path": "/a"}], [{"op": "bogus", "path": "/a"}]):
        r = admin.patch(path, content=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"})
        assert r.status_code == 422, r.text
        assert "$enc:" not in r.text and "zzsecretzz" not in r.text and "visible-content" not in r.text
