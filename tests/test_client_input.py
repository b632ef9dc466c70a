"""What a client sends is refused with a 422 naming where, or stored exactly (DESIGN §6 I-JSON, §7).

Text the database cannot hold (`\\u0000`, lone surrogates), integers a browser would round
(beyond ±(2^53−1)), `NaN` and `Infinity` are 422 problem+json naming the JSON path (or the query or
path parameter) on every route — configs, locks, runs and every other body — and nothing is
written. A client that disconnects mid-body is a client abort (499), never a server error.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

import httpx
import pytest

from tests.support import wait_for

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
NUL = "x\u0000y"
UNSAFE_NUMBERS = [
    "123456789012345678901234567",
    "18446744073709551616",
    "9007199254740992",
    "-9007199254740992",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "1e16",  # a double, but PostgreSQL stores and serves it as the integer 10000000000000000
]
UNSTORABLE_TEXT = ['"x\\u0000y"', '"\\ud800"', '"a\\udc00b"']


def refused(response: httpx.Response, path: str, code: str = "invalid_request") -> dict:
    assert response.status_code == 422, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_FIELDS <= set(body) and body["code"] == code, body
    assert body.get("path") == path, body
    return body


def fill(template: str, *values: str) -> str:
    """`template` with each `@` replaced by the next value (JSON text holds braces)."""
    for value in values:
        template = template.replace("@", value, 1)
    return template


def send(
    client: httpx.Client, method: str, url: str, raw: str, content_type: str = "application/json"
) -> httpx.Response:
    return client.request(method, url, content=raw.encode(), headers={"Content-Type": content_type})


def config_rows(db, org_id: str) -> tuple[list, int, int]:
    configs = db.execute(
        "SELECT node_id, config_json, version, locked_paths FROM node_configurations WHERE org_id = %s"
        " ORDER BY node_id",
        (org_id,),
    ).fetchall()
    versions = db.execute("SELECT count(*) FROM node_config_versions WHERE org_id = %s", (org_id,)).fetchone()[0]
    events = db.execute("SELECT count(*) FROM audit_events WHERE org_id = %s", (org_id,)).fetchone()[0]
    return configs, versions, events


def run_rows(db, org_id: str) -> list:
    return db.execute(
        "SELECT id, status, metadata, output FROM agent_runs WHERE org_id = %s ORDER BY id", (org_id,)
    ).fetchall()


# ---- NUL in any text --------------------------------------------------------------------------


def text_targets(org) -> list[tuple[str, str, str, dict, str]]:
    """(label, method, url, JSON body holding NUL, the path the problem must name)."""
    node = org.node_path("sre")
    return [
        ("patch reason", "PATCH", node + "/config", {"config": {"a": 2}, "reason": NUL}, "/reason"),
        ("put reason", "PUT", node + "/config", {"config": {"a": 2}, "reason": NUL}, "/reason"),
        ("rollback reason", "POST", node + "/config/rollback", {"version": 1, "reason": NUL}, "/reason"),
        ("locks reason", "PUT", node + "/locks", {"locked_paths": ["/b"], "reason": NUL}, "/reason"),
        ("node name", "POST", f"/admin/orgs/{org.org_id}/nodes", {"node_id": "n2", "parent_node_id": org.org_id,
                                                                   "name": NUL}, "/name"),
        ("node rename", "PATCH", node, {"name": NUL}, "/name"),
        ("node reason", "PATCH", node, {"name": "ok", "reason": NUL}, "/reason"),
        ("org name", "POST", "/admin/orgs", {"org_id": "o-" + uuid.uuid4().hex[:8], "name": NUL}, "/name"),
        ("token description", "POST", f"/admin/orgs/{org.org_id}/teams/sre/tokens", {"description": NUL},
         "/description"),
        ("admin token description", "POST", f"/admin/orgs/{org.org_id}/admin-tokens", {"description": NUL},
         "/description"),
        ("routing identifier", "POST", "/internal/routing/lookup", {"identifiers": {"service": NUL},
                                                                    "org_id": org.org_id}, "/identifiers/service"),
        ("NUL in a key", "POST", "/internal/routing/lookup", {"identifiers": {NUL: "a"}, "org_id": org.org_id},
         "/identifiers/xy"),
    ]


def test_nul_in_any_body_text_is_422_naming_the_field(org, db) -> None:
    org.add_node("sre")
    assert org.patch("sre", {"a": 1}).status_code == 200
    assert org.put("sre", {"a": 1}).status_code == 200  # two versions: a rollback to 1 would change something
    assert org.patch("sre", {"b": 1}).status_code == 200
    before = config_rows(db, org.org_id)
    orgs_before = db.execute("SELECT count(*) FROM org_nodes").fetchone()[0]
    for label, method, url, body, path in text_targets(org):
        response = org.admin.request(method, url, json=body)
        assert response.status_code == 422, (label, response.text[:300])
        refused(response, path)
    assert config_rows(db, org.org_id) == before
    assert db.execute("SELECT count(*) FROM org_nodes").fetchone()[0] == orgs_before


def test_nul_in_team_writes_and_runs_is_422(org, db) -> None:
    org.add_node("sre")
    team = org.team_client("sre", scopes=["config:read", "config:write", "runs:write"])
    before = config_rows(db, org.org_id)
    refused(team.patch("/config/me", json={"config": {"a": 1}, "reason": NUL}), "/reason")
    refused(team.put("/config/me", json={"config": {"a": 1}, "reason": NUL}), "/reason")
    refused(team.post("/config/me/rollback", json={"version": 1, "reason": NUL}), "/reason")
    for field in ("agent_name", "input_message", "correlation_id", "trigger_source", "config_version"):
        refused(team.post("/agent-runs", json={"agent_name": "a", field: NUL}), f"/{field}")
    run = team.post("/agent-runs", json={"agent_name": "a"})
    assert run.status_code == 201, run.text
    for field in ("output", "output_summary", "error_message"):
        refused(team.patch(f"/agent-runs/{run.json()['id']}", json={"status": "success", field: NUL}), f"/{field}")
    assert config_rows(db, org.org_id) == before
    assert [(r[1], r[3]) for r in run_rows(db, org.org_id)] == [("running", None)]


def test_nul_in_query_and_path_parameters_is_422_naming_the_parameter(org) -> None:
    org.add_node("sre")
    team = org.team_client("sre", scopes=["config:read", "runs:write"])
    audit = f"/admin/orgs/{org.org_id}/audit"
    for name in ("actor", "action", "target_id"):
        refused(org.admin.get(audit, params={name: NUL}), name)
    for name in ("agent_name", "config_version"):
        refused(team.get("/agent-runs", params={name: NUL}), name)
    refused(org.admin.get(f"/admin/orgs/{org.org_id}/agent-runs", params={"agent_name": NUL}), "agent_name")
    refused(org.admin.get("/admin/orgs/a%00b"), "org_id")
    refused(org.admin.get(f"/admin/orgs/{org.org_id}/nodes/a%00b/config"), "node_id")


# ---- numbers and text in configs and locks ----------------------------------------------------


@pytest.mark.parametrize("literal", UNSAFE_NUMBERS + UNSTORABLE_TEXT)
def test_config_values_beyond_i_json_are_422_with_their_path(org, db, literal: str) -> None:
    org.add_node("sre")
    assert org.patch("sre", {"keep": 1}).status_code == 200
    team = org.team_client("sre", scopes=["config:read", "config:write"])
    before = config_rows(db, org.org_id)
    url = org.node_path("sre") + "/config"
    refused(send(org.admin, "PATCH", url, fill('{"config": {"a": {"b": [1, @]}}}', literal)), "/a/b/1",
            "invalid_config")
    refused(send(org.admin, "PUT", url, fill('{"config": {"v": @}}', literal)), "/v", "invalid_config")
    refused(send(org.admin, "PUT", url, fill('{"patch": {"v": @}}', literal)), "/v", "invalid_config")
    ops = fill('[{"op": "add", "path": "/v", "value": {"w": @}}]', literal)
    refused(send(org.admin, "PATCH", url, ops, "application/json-patch+json"), "/0/value/w")
    refused(send(team, "PATCH", "/config/me", fill('{"config": {"v": @}}', literal)), "/v", "invalid_config")
    refused(send(org.admin, "PUT", org.node_path("sre") + "/locks", fill('{"locked_paths": ["/a", @]}', literal)),
            "/locked_paths/1")
    assert config_rows(db, org.org_id) == before


@pytest.mark.parametrize("key", ['"\\ud800"', '"k\\u0000"'])
def test_config_keys_that_cannot_be_stored_are_422(org, db, key: str) -> None:
    org.add_node("sre")
    before = config_rows(db, org.org_id)
    response = send(org.admin, "PATCH", org.node_path("sre") + "/config", fill('{"config": {"a": {@: 1}}}', key))
    body = refused(response, response.json().get("path", "?"), "invalid_config")
    assert body["path"].startswith("/a/")
    assert config_rows(db, org.org_id) == before


def test_numbers_and_text_within_i_json_are_stored_exactly(org, db) -> None:
    org.add_node("sre")
    raw = ('{"config": {"max": 9007199254740991, "min": -9007199254740991, "float": 0.25, "tiny": 5e-324,'
           ' "emoji": "\\ud83d\\ude80", "large": 1.5e15}}')
    response = send(org.admin, "PUT", org.node_path("sre") + "/config", raw)
    assert response.status_code == 200, response.text
    expected = {"max": 2**53 - 1, "min": -(2**53 - 1), "float": 0.25, "tiny": 5e-324, "emoji": "🚀", "large": 1.5e15}
    assert response.json()["config"] == expected
    stored = db.execute(
        "SELECT config_json FROM node_configurations WHERE org_id = %s AND node_id = 'sre'", (org.org_id,)
    ).fetchone()[0]
    assert stored == expected
    assert isinstance(stored["max"], int)


# ---- run metadata on every run route ----------------------------------------------------------


@pytest.mark.parametrize("literal", UNSAFE_NUMBERS + UNSTORABLE_TEXT)
def test_run_metadata_beyond_i_json_is_422_on_every_run_route(org, internal, db, literal: str) -> None:
    org.add_node("sre")
    team = org.team_client("sre", scopes=["config:read", "runs:write"])
    created = team.post("/agent-runs", json={"agent_name": "a", "metadata": {"k": 1}})
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    before = run_rows(db, org.org_id)
    metadata = fill('"metadata": {"k": {"deep": [@]}}', literal)
    owner = f'"org_id": "{org.org_id}", "team_node_id": "sre"'
    refused(send(team, "POST", "/agent-runs", fill('{"agent_name": "a", @}', metadata)), "/metadata/k/deep/0")
    refused(send(internal, "POST", "/internal/agent-runs", fill('{"agent_name": "a", @, @}', owner, metadata)),
            "/metadata/k/deep/0")
    refused(send(team, "PATCH", f"/agent-runs/{run_id}", fill('{"status": "success", @}', metadata)),
            "/metadata/k/deep/0")
    refused(send(internal, "PATCH", f"/internal/agent-runs/{run_id}", fill('{"status": "error", @}', metadata)),
            "/metadata/k/deep/0")
    assert run_rows(db, org.org_id) == before


def test_run_metadata_within_i_json_is_stored_exactly(org, db) -> None:
    org.add_node("sre")
    team = org.team_client("sre", scopes=["config:read", "runs:write"])
    raw = '{"agent_name": "a", "metadata": {"n": 9007199254740991, "f": 0.1, "s": "\\ud83d\\ude80"}}'
    response = send(team, "POST", "/agent-runs", raw)
    assert response.status_code == 201, response.text
    assert run_rows(db, org.org_id)[0][2] == {"n": 2**53 - 1, "f": 0.1, "s": "🚀"}


def test_every_json_body_goes_through_the_same_parser(org, admin) -> None:
    # a body no field of which is free JSON: the number is refused before any field is looked at
    refused(send(admin, "POST", "/admin/orgs", '{"org_id": "o-x", "extra": NaN}'), "/extra")
    refused(send(admin, "POST", f"/admin/orgs/{org.org_id}/admin-tokens", '{"description": "\\ud800"}'), "/description")


# ---- values PostgreSQL would refuse are refused first, naming where -------------------------------


def test_a_stale_run_age_beyond_a_century_is_422_naming_it(org, internal, db) -> None:
    # found by the fuzzer: `now() - 2^53 seconds` is no timestamp, and the 422 PostgreSQL's refusal
    # gave named nothing
    from config_service.runs.schemas import MAX_STALE_AGE_SECONDS

    org.add_node("sre")
    team = org.team_client("sre", scopes=["config:read", "runs:write"])
    assert team.post("/agent-runs", json={"agent_name": "a"}).status_code == 201
    for age in (MAX_STALE_AGE_SECONDS + 1, 2**53 - 1):
        body = {"max_age_seconds": age, "org_id": org.org_id}
        refused(internal.post("/internal/agent-runs/cleanup-stale", json=body), "/max_age_seconds")
    assert [row[1] for row in run_rows(db, org.org_id)] == ["running"]
    response = internal.post(
        "/internal/agent-runs/cleanup-stale", json={"max_age_seconds": MAX_STALE_AGE_SECONDS, "org_id": org.org_id}
    )
    assert response.status_code == 200 and response.json()["timed_out"] == 0, response.text


def test_a_run_listing_offset_beyond_i_json_is_422_naming_it(org, admin) -> None:
    # found probing what the fuzzer rarely draws: an OFFSET beyond a bigint was PostgreSQL's 422
    org.add_node("sre")
    team = org.team_client("sre", scopes=["config:read", "runs:write"])
    for offset in (2**53, 2**63, 10**30):
        refused(team.get("/agent-runs", params={"offset": offset}), "offset")
        refused(admin.get(f"/admin/orgs/{org.org_id}/agent-runs", params={"offset": offset}), "offset")
    response = team.get("/agent-runs", params={"offset": 2**53 - 1})
    assert response.status_code == 200 and response.json()["offset"] == 2**53 - 1, response.text


# ---- a client that goes away mid-body ---------------------------------------------------------


def half_a_body(port: int, method: str, path: str, token: str, request_id: str) -> None:
    body = json.dumps({"config": {"a": "x" * 2000}, "reason": "half"}).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)  # the server is reading the body when the client leaves


def access_lines(server, request_id: str) -> list[dict]:
    lines = []
    for line in server.log_text().splitlines():
        if request_id in line:
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"raw": line})
    return lines


def metric(anon: httpx.Client, server, method: str, route: str, status: str) -> float:
    text = httpx.get(server.url + "/metrics", timeout=30).text
    needle = f'config_service_http_requests_total{{method="{method}",route="{route}",status="{status}"}} '
    for line in text.splitlines():
        if line.startswith(needle):
            return float(line[len(needle):])
    return 0.0


def test_a_client_leaving_mid_body_is_a_client_abort_not_a_server_error(org, server, anon, server_keys, db) -> None:
    org.add_node("sre")
    before = config_rows(db, org.org_id)
    token = server_keys["ADMIN_TOKEN"]
    cases = [
        ("PATCH", org.node_path("sre") + "/config", "/api/v1/admin/orgs/{org_id}/nodes/{node_id}/config"),
        ("POST", "/admin/orgs", "/api/v1/admin/orgs"),
    ]
    for method, path, route in cases:
        served_500 = metric(anon, server, method, route, "500")
        aborted = metric(anon, server, method, route, "499")
        request_id = "abort-" + uuid.uuid4().hex
        half_a_body(server.port, method, "/api/v1" + path, token, request_id)
        assert wait_for(lambda rid=request_id: any(e.get("status") == 499 for e in access_lines(server, rid))), (
            access_lines(server, request_id)
        )
        lines = access_lines(server, request_id)
        assert all(e.get("level") != "error" and "exc" not in e for e in lines), lines
        assert metric(anon, server, method, route, "499") == aborted + 1
        assert metric(anon, server, method, route, "500") == served_500
    assert config_rows(db, org.org_id) == before


# ---- keep it so: every route, every documented error ------------------------------------------


def test_every_route_checks_its_client_input(server_keys) -> None:
    from fastapi.routing import APIRoute

    from config_service.app import create_app
    from config_service.http import ClientInputRoute
    from config_service.settings import Settings

    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none", admin_token=server_keys["ADMIN_TOKEN"],
        token_pepper=server_keys["TOKEN_PEPPER"], secrets_key=server_keys["SECRETS_KEY"],
        internal_service_token=server_keys["INTERNAL_SERVICE_TOKEN"],
    )
    routes = []
    for route in create_app(settings).routes:  # FastAPI keeps each included router whole
        router = getattr(route, "original_router", None)
        routes.extend(router.routes if router is not None else [route])
    api_routes = [route for route in routes if isinstance(route, APIRoute)]
    assert len(api_routes) > 60
    assert [route.path for route in api_routes if not isinstance(route, ClientInputRoute)] == []


def test_openapi_documents_problem_answers_and_write_bodies(server) -> None:
    document = httpx.get(server.url + "/openapi.json", timeout=30).json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["Problem"]["required"]) == PROBLEM_FIELDS
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in item.items():
            for status in ("400", "401", "403", "404", "409", "412", "413", "415", "422", "428", "429", "503"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
    patch = document["paths"]["/api/v1/admin/orgs/{org_id}/nodes/{node_id}/config"]["patch"]
    assert set(patch["requestBody"]["content"]) == {
        "application/json", "application/merge-patch+json", "application/json-patch+json"
    }
    assert "requestBody" in document["paths"]["/api/v1/config/me/rollback"]["post"]
    export = document["paths"]["/api/v1/admin/orgs/{org_id}/audit/export"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]
