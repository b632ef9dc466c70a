"""Routing keys follow config writes; lookups and token exchange (DESIGN §9)."""

from __future__ import annotations

import time

import httpx
import pytest


def _lookup(client, **body):
    response = client.post("/internal/routing/lookup", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _keys(db, org_id):
    rows = db.execute(
        "SELECT node_id, key_type, key_value FROM routing_keys WHERE org_id = %s ORDER BY 1, 2, 3", (org_id,)
    ).fetchall()
    return [tuple(r) for r in rows]


def test_keys_follow_patch_put_json_patch_rollback_and_delete(org, db, admin):
    org.add_node("sre")
    path = org.node_path("sre") + "/config"
    assert org.patch("sre", {"routing": {"slack_channel_ids": ["C1"], "services": ["Checkout"]}}).status_code == 200
    assert _keys(db, org.org_id) == [("sre", "services", "Checkout"), ("sre", "slack_channel_ids", "C1")]
    assert org.put("sre", {"routing": {"services": ["checkout", "cart"]}}).status_code == 200
    assert _keys(db, org.org_id) == [("sre", "services", "cart"), ("sre", "services", "checkout")]
    patch = [{"op": "add", "path": "/routing/github_repos", "value": ["Acme/API"]}]
    assert admin.patch(path, content=httpx.Request("PATCH", "/", json=patch).content,
                       headers={"Content-Type": "application/json-patch+json"}).status_code == 200
    assert ("sre", "github_repos", "Acme/API") in _keys(db, org.org_id)
    assert admin.post(path + "/rollback", json={"version": 2}).status_code == 200
    assert _keys(db, org.org_id) == [("sre", "services", "Checkout"), ("sre", "slack_channel_ids", "C1")]
    assert admin.delete(org.node_path("sre")).status_code == 204
    assert _keys(db, org.org_id) == []


def test_conflict_names_the_holder_and_changes_nothing(org, db):
    org.add_node("a")
    org.add_node("b")
    org.patch("a", {"routing": {"services": ["Checkout"]}})
    before_b = org.own("b")
    response = org.patch("b", {"routing": {"services": ["CHECKOUT"]}, "other": 1})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "routing_conflict" and body["holder"]["node_id"] == "a"
    assert org.own("b")["version"] == before_b["version"] and org.own("b")["config"] == {}
    assert _keys(db, org.org_id) == [("a", "services", "Checkout")]


def test_rollback_to_a_claim_now_held_elsewhere_is_409(org, admin):
    org.add_node("a")
    org.add_node("b")
    org.patch("a", {"routing": {"slack_channel_ids": ["C7"]}})
    org.patch("a", {"routing": None})
    org.patch("b", {"routing": {"slack_channel_ids": ["C7"]}})
    response = admin.post(org.node_path("a") + "/config/rollback", json={"version": 2})
    assert response.status_code == 409 and response.json()["code"] == "routing_conflict"


def test_two_orgs_may_claim_the_same_identifier(make_org):
    one, two = make_org(), make_org()
    for org in (one, two):
        org.add_node("t")
        assert org.patch("t", {"routing": {"slack_channel_ids": ["CSHARED"]}}).status_code == 200


def test_precedence_across_all_seven_identifiers(org, internal):
    kinds = [
        ("incidentio_team_id", "incidentio_team_ids"),
        ("pagerduty_service_id", "pagerduty_service_ids"),
        ("slack_channel_id", "slack_channel_ids"),
        ("github_repo", "github_repos"),
        ("coralogix_team_name", "coralogix_team_names"),
        ("incidentio_alert_source_id", "incidentio_alert_source_ids"),
        ("service", "services"),
    ]
    identifiers = {}
    for index, (singular, plural) in enumerate(kinds):
        node = f"n{index}"
        org.add_node(node)
        value = f"{singular}-value"
        assert org.patch(node, {"routing": {plural: [value]}}).status_code == 200
        identifiers[singular] = value
    for index, (singular, _) in enumerate(kinds):
        result = _lookup(internal, identifiers=identifiers, org_id=org.org_id)
        assert result["found"] and result["matched_by"] == singular and result["team_node_id"] == f"n{index}"
        assert result["tried"] == [singular]
        identifiers.pop(singular)
    misses = {k: "no-such-value" for k, _ in kinds[:-1]}
    result = _lookup(internal, identifiers={**misses, "service": "service-value"}, org_id=org.org_id)
    assert result["found"] and result["matched_by"] == "service" and result["matched_value"] == "service-value"
    assert result["tried"] == [k for k, _ in kinds]


def test_case_insensitive_kinds(org, internal):
    org.add_node("t")
    org.patch("t", {"routing": {"github_repos": ["Acme/API"], "slack_channel_ids": ["Cabc"]}})
    assert _lookup(internal, identifiers={"github_repo": "acme/api"}, org_id=org.org_id)["found"]
    assert not _lookup(internal, identifiers={"slack_channel_id": "CABC"}, org_id=org.org_id)["found"]


def test_unscoped_ambiguous_and_workspace_scoped(make_org, admin, internal):
    one, two = make_org(), make_org()
    for org in (one, two):
        org.add_node("t")
        org.patch("t", {"routing": {"slack_channel_ids": ["CDUP"]}})
    result = _lookup(internal, identifiers={"slack_channel_id": "CDUP"})
    assert not result["found"] and sorted(result["ambiguous"]) == sorted([one.org_id, two.org_id])
    workspace = f"T-{one.org_id}"
    assert one.patch(one.org_id, {"routing": {"slack_workspace_ids": [workspace]}}).status_code == 200
    scoped = _lookup(internal, identifiers={"slack_channel_id": "CDUP", "slack_workspace_id": workspace})
    assert scoped["found"] and scoped["org_id"] == one.org_id and scoped["team_node_id"] == "t"
    # the workspace is bound to one org only
    clash = two.patch(two.org_id, {"routing": {"slack_workspace_ids": [workspace]}})
    assert clash.status_code == 409 and clash.json()["code"] == "routing_conflict"


def test_only_the_global_admin_binds_workspaces(org):
    with org.client(org.admin_token()) as org_admin:
        response = org_admin.patch(org.node_path(org.org_id) + "/config",
                                   json={"config": {"routing": {"slack_workspace_ids": ["TX"]}}})
        assert response.status_code == 403
    org.add_node("t")
    assert org.patch("t", {"routing": {"slack_workspace_ids": ["TY"]}}).status_code == 422


def test_lookup_callers(org, make_org, server, server_keys):
    org.add_node("t")
    org.patch("t", {"routing": {"services": ["svc"]}})
    body = {"identifiers": {"service": "svc"}}
    header = httpx.post(server.api + "/internal/routing/lookup", json=body,
                        headers={"X-Internal-Service": server_keys["INTERNAL_SERVICE_TOKEN"]})
    assert header.status_code == 200 and header.json()["found"]
    wrong = httpx.post(server.api + "/internal/routing/lookup", json=body, headers={"X-Internal-Service": "nope"})
    assert wrong.status_code == 401
    with org.client(org.admin_token()) as org_admin:
        own = org_admin.post("/internal/routing/lookup", json=body)
        assert own.status_code == 200 and own.json()["org_id"] == org.org_id
        other = make_org()
        assert org_admin.post("/internal/routing/lookup", json={**body, "org_id": other.org_id}).status_code == 403
    with org.team_client("t") as team:
        assert team.post("/internal/routing/lookup", json=body).status_code == 403


def test_issue_token_is_short_lived_and_audited(org, internal, admin, db):
    org.add_node("t")
    org.patch("t", {"routing": {"services": ["svc2"]}, "model": "m"})
    result = _lookup(internal, identifiers={"service": "svc2"}, org_id=org.org_id, issue_token=True)
    token = result["team_token"]
    assert token and token.startswith(f"{org.org_id}.t.")
    with org.client(token) as team:
        assert team.get("/config/me").json()["effective_config"]["model"] == "m"
    row = db.execute(
        "SELECT expires_at - created_at, scopes FROM team_tokens WHERE org_id = %s AND team_node_id = 't'",
        (org.org_id,),
    ).fetchone()
    assert row[0].total_seconds() <= 15 * 60 and sorted(row[1]) == ["config:read", "runs:write", "secrets:read"]
    audit = admin.get(f"/admin/orgs/{org.org_id}/audit", params={"action": "token.issued"}).json()["items"]
    assert audit and token not in str(audit)
    short = internal.post("/internal/tokens/exchange", json={"org_id": org.org_id, "team_node_id": "t",
        "ttl_seconds": 1})
    with org.client(short.json()["token"]) as team:
        assert team.get("/config/me").status_code == 200
        time.sleep(1.1)
        assert team.get("/config/me").status_code == 401


def test_exchange(org, internal):
    org.add_node("t")
    response = internal.post("/internal/tokens/exchange", json={"org_id": org.org_id, "team_node_id": "t",
        "ttl_seconds": 60})
    assert response.status_code == 201, response.text
    assert internal.post("/internal/tokens/exchange",
                         json={"org_id": org.org_id, "team_node_id": "t", "ttl_seconds": 3600}).status_code == 422
    assert internal.post("/internal/tokens/exchange",
                         json={"org_id": org.org_id, "team_node_id": "nope", "ttl_seconds": 60}).status_code == 404


def _statements(server) -> tuple[float, float]:
    """(count, sum) of the per-request SQL statement histogram for the lookup route."""
    text = httpx.get(server.url + "/metrics").text
    count = total = 0.0
    for line in text.splitlines():
        if 'route="/api/v1/internal/routing/lookup"' not in line or 'method="POST"' not in line:
            continue
        if line.startswith("config_service_db_statements_per_request_count"):
            count = float(line.rsplit(" ", 1)[1])
        elif line.startswith("config_service_db_statements_per_request_sum"):
            total = float(line.rsplit(" ", 1)[1])
    return count, total


@pytest.mark.parametrize("teams", [5000])
def test_lookup_is_one_query_with_many_teams(org, db, internal, server, teams):
    """5,000 teams claim services; a lookup (with every identifier kind given) runs one SQL statement."""
    db.execute(
        "INSERT INTO org_nodes (org_id, node_id, parent_node_id, node_type, name, node_uid) "
        "SELECT %s, 'team-' || g, %s, 'team', 'team-' || g, gen_random_uuid() FROM generate_series(1, %s) g",
        (org.org_id, org.org_id, teams),
    )
    db.execute(
        "INSERT INTO routing_keys (org_id, key_type, key_norm, key_value, node_id) "
        "SELECT %s, 'services', 'svc-' || g, 'svc-' || g, 'team-' || g FROM generate_series(1, %s) g",
        (org.org_id, teams),
    )
    db.execute("ANALYZE routing_keys")
    identifiers = {
        "incidentio_team_id": "x", "pagerduty_service_id": "x", "slack_channel_id": "x", "github_repo": "x",
        "coralogix_team_name": "x", "incidentio_alert_source_id": "x", "service": "SVC-4321",
        "slack_workspace_id": "T-none",
    }
    for scoped in (org.org_id, None):
        before = _statements(server)
        body = {"identifiers": identifiers} | ({"org_id": scoped} if scoped else {})
        result = _lookup(internal, **body)
        after = _statements(server)
        assert result["found"] and result["team_node_id"] == "team-4321"
        assert after[0] - before[0] == 1, "one request observed"
        assert after[1] - before[1] == 1, "exactly one SQL statement for the lookup"
    plan = db.execute(
        "EXPLAIN SELECT * FROM routing_keys "
        "WHERE (key_type, key_norm) IN (('services','svc-4321'),('slack_channel_ids','x'))",
    ).fetchall()
    assert "Seq Scan" not in "\n".join(r[0] for r in plan)


def test_exchange_never_grants_config_write(org, internal, admin, db):
    """DESIGN §4, §9: the exchange grants read, `secrets:read` and runs, never `config:write`:
    422 naming the scope (as Vault refuses a token asking for more than its role allows), and
    nothing is issued."""
    org.add_node("t")
    for client in (internal, admin):
        for scopes in (["config:write"], ["config:read", "config:write", "secrets:read"]):
            response = client.post("/internal/tokens/exchange",
                                   json={"org_id": org.org_id, "team_node_id": "t", "scopes": scopes})
            assert response.status_code == 422, response.text
            problem = response.json()
            assert problem["code"] == "invalid_request" and problem["path"] == "/scopes"
            assert "config:write" in problem["detail"]
    issued = db.execute("SELECT count(*) FROM team_tokens WHERE org_id = %s", (org.org_id,)).fetchone()[0]
    assert issued == 0
    assert admin.get(f"/admin/orgs/{org.org_id}/audit", params={"action": "token.issued"}).json()["items"] == []
    # what it may grant, it grants exactly
    response = internal.post("/internal/tokens/exchange",
                             json={"org_id": org.org_id, "team_node_id": "t", "scopes": ["config:read"]})
    assert response.status_code == 201 and response.json()["scopes"] == ["config:read"]
    with org.client(response.json()["token"]) as team:
        assert team.patch("/config/me", json={"config": {"x": 1}}).status_code == 403


@pytest.mark.parametrize(
    "identifiers, path",
    [
        ({"slack_channel": "C1"}, "/identifiers/slack_channel"),
        ({"service": "svc", "slack_channel_ids": ["C1"]}, "/identifiers/slack_channel_ids"),
        ({"service": 5}, "/identifiers/service"),
        ({"github_repo": ["acme/api"]}, "/identifiers/github_repo"),
    ],
)
def test_lookup_refuses_unknown_identifier_kinds_and_non_string_values(org, internal, identifiers, path):
    response = internal.post("/internal/routing/lookup", json={"identifiers": identifiers, "org_id": org.org_id})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_request" and problem["path"] == path
    if "must be" not in problem["detail"]:
        for kind in ("slack_channel_id", "slack_workspace_id", "service", "github_repo", "pagerduty_service_id",
                     "incidentio_team_id", "incidentio_alert_source_id", "coralogix_team_name"):
            assert kind in problem["detail"]


def test_lookup_reads_null_and_empty_identifiers_as_not_given(org, internal):
    org.add_node("t")
    org.patch("t", {"routing": {"services": ["svc-n"]}})
    result = _lookup(internal, identifiers={"slack_channel_id": None, "github_repo": "", "service": "svc-n"},
                     org_id=org.org_id)
    assert result["found"] and result["tried"] == ["service"]
