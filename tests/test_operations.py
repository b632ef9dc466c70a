"""Operations (DESIGN §13): /health, /ready, /metrics, JSON logs with a request id."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import psycopg

from config_service.db import migrate
from config_service.db.urls import libpq_url
from tests.support import ServerProcess, clean_env, drop_database, new_keys, unique_id


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when absent), labels matched exactly."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        sample, value = line.rsplit(" ", 1)
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', sample))
        if sample.split("{")[0] == name and found == labels:
            return float(value)
    return 0.0


def scrape(server: ServerProcess) -> str:
    response = httpx.get(server.url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def log_lines(server: ServerProcess) -> list[dict]:
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a log line that is not JSON: {line!r}") from None
    return parsed


def wait_for_log(server: ServerProcess, predicate, timeout: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        matches = [entry for entry in log_lines(server) if predicate(entry)]
        if matches or time.monotonic() > deadline:
            return matches
        time.sleep(0.05)


# --- health and readiness -------------------------------------------------------------------------------------


def test_health_and_ready(server: ServerProcess) -> None:
    health = httpx.get(server.url + "/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = httpx.get(server.url + "/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "schema": migrate.head_revision()}


def test_health_ready_and_metrics_answer_head_without_a_token(server: ServerProcess) -> None:
    """Probes that send HEAD (`curl -I`, some load balancers) get the GET's status and headers, no
    body; a credential, even a malformed one, changes nothing on these three."""
    for path in ("/health", "/ready", "/metrics"):
        get = httpx.get(server.url + path, headers={"Authorization": "Bearer not-a-token"})
        head = httpx.head(server.url + path)
        assert get.status_code == head.status_code == 200, (path, head.status_code)
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]


def test_ready_fails_when_the_schema_or_the_database_goes_away(pg_admin_url: str, fresh_database: str,
                                                               tmp_path: Path) -> None:
    env = clean_env() | new_keys() | {"DATABASE_URL": fresh_database}
    server = ServerProcess(env=env, log_path=tmp_path / "serve.log", args=["--migrate"]).start()
    try:
        assert httpx.get(server.url + "/ready").status_code == 200
        # a new instance's metrics already name what DESIGN §13 counts, at 0 before it happens
        fresh = scrape(server)
        for sample in ('config_service_cache_total{result="hit"} 0.0', 'config_service_cache_total{result="miss"} 0.0',
                       'config_service_auth_failures_total{code="unauthenticated",status="401"} 0.0',
                       'config_service_auth_failures_total{code="forbidden",status="403"} 0.0',
                       'config_service_auth_failures_total{code="insufficient_scope",status="403"} 0.0',
                       "config_service_watchers 0.0"):
            assert sample in fresh.splitlines(), sample

        # Schema not compatible (its version row is gone): the database answers, the schema does not fit.
        with psycopg.connect(libpq_url(fresh_database), autocommit=True) as conn:
            conn.execute("DELETE FROM alembic_version")
        not_ready = httpx.get(server.url + "/ready")
        assert not_ready.status_code == 503
        assert not_ready.json()["database"] == "ok" and not_ready.json()["status"] == "unavailable"
        with psycopg.connect(libpq_url(fresh_database), autocommit=True) as conn:
            conn.execute("INSERT INTO alembic_version VALUES (%s)", (migrate.head_revision(),))
        assert httpx.get(server.url + "/ready").status_code == 200

        # Database gone: /ready is 503, /health (the process) is still fine, no API call is a 500 HTML page.
        drop_database(pg_admin_url, fresh_database)
        started = time.monotonic()
        gone = httpx.get(server.url + "/ready", timeout=30)
        assert time.monotonic() - started < 20
        assert gone.status_code == 503
        assert gone.json() == {"status": "unavailable", "database": "unreachable", "schema": None}
        assert httpx.get(server.url + "/health").status_code == 200
        api = httpx.get(server.api + "/admin/orgs", headers={"Authorization": f"Bearer {env['ADMIN_TOKEN']}"})
        assert api.status_code == 503 and api.headers["content-type"] == "application/problem+json"
        assert api.json()["code"] == "unavailable" and "retry-after" in api.headers
        assert fresh_database.split("/")[-1].split("?")[0] not in api.text  # no connection detail in the body
    finally:
        server.stop()


# --- metrics --------------------------------------------------------------------------------------------------


def test_metrics_by_route_template(server: ServerProcess, org, admin: httpx.Client) -> None:
    route = "/api/v1/admin/orgs/{org_id}/nodes"
    before = scrape(server)
    for _ in range(3):
        assert admin.get(f"/admin/orgs/{org.org_id}/nodes").status_code == 200
    missing = admin.get(f"/admin/orgs/{unique_id('nope')}/nodes")
    assert missing.status_code == 404
    after = scrape(server)

    ok = metric(after, "config_service_http_requests_total", method="GET", route=route, status="200")
    assert ok - metric(before, "config_service_http_requests_total", method="GET", route=route, status="200") == 3
    not_found = metric(after, "config_service_http_requests_total", method="GET", route=route, status="404")
    assert not_found - metric(before, "config_service_http_requests_total", method="GET", route=route,
                              status="404") == 1
    count = "config_service_http_request_duration_seconds_count"
    assert metric(after, count, method="GET", route=route) - metric(before, count, method="GET", route=route) == 4
    assert metric(after, "config_service_http_request_duration_seconds_bucket", method="GET", route=route,
                  le="+Inf") >= 4
    assert org.org_id not in after  # labels are templates, never ids

    # Unknown paths share one label.
    stray = "/api/v1/" + unique_id("stray")
    assert httpx.get(server.url + stray).status_code == 404
    text = scrape(server)
    assert stray not in text
    assert metric(text, "config_service_http_requests_total", method="GET", route="unmatched", status="404") >= 1


def test_auth_failures_are_counted(server: ServerProcess, org) -> None:
    org.add_node("team-a")
    team_token = org.token("team-a")
    before = scrape(server)
    assert httpx.get(server.api + "/admin/orgs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(server.api + "/admin/orgs").status_code == 401
    assert httpx.get(server.api + f"/admin/orgs/{org.org_id}/nodes",
                     headers={"Authorization": f"Bearer {team_token}"}).status_code == 403
    after = scrape(server)
    name = "config_service_auth_failures_total"
    assert metric(after, name, status="401", code="unauthenticated") - metric(
        before, name, status="401", code="unauthenticated") == 2
    forbidden = sum(
        metric(after, name, status="403", code=code) - metric(before, name, status="403", code=code)
        for code in ("forbidden", "insufficient_scope")
    )
    assert forbidden == 1


def test_cache_hits_and_misses_are_counted_once_per_read(server: ServerProcess, org) -> None:
    """One effective read is one cache lookup: a miss the first time (and after a write), then hits
    — whether the cached-read fast path or the route answers."""
    org.add_node("cached")
    team = org.team_client("cached")
    name = "config_service_cache_total"

    def counts() -> tuple[float, float]:
        text = scrape(server)
        return metric(text, name, result="hit"), metric(text, name, result="miss")

    for query, writes in (({}, True), ({"secrets": "masked"}, False)):
        hits, misses = counts()
        assert team.get("/config/me", params=query).status_code == 200
        assert counts() == (hits, misses + 1), "the first read is one miss"
        for _ in range(3):
            assert team.get("/config/me", params=query).status_code == 200
        assert counts() == (hits + 3, misses + 1), "then every read is one hit"
        if writes:
            assert org.patch("cached", {"k": 1}).status_code == 200
            hits, misses = counts()
            assert team.get("/config/me", params=query).status_code == 200
            assert counts() == (hits, misses + 1), "a write makes the next read a miss"


def test_watchers_gauge_counts_open_streams(server: ServerProcess, org) -> None:
    org.add_node("watched")
    token = org.token("watched")
    before = metric(scrape(server), "config_service_watchers")
    with httpx.stream("GET", server.api + "/config/me/watch", headers={"Authorization": f"Bearer {token}"},
                      timeout=10) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()  # kept: a dropped iterator closes the stream
        assert next(lines).startswith("id: ")
        assert metric(scrape(server), "config_service_watchers") == before + 1
    deadline = time.monotonic() + 5
    while metric(scrape(server), "config_service_watchers") != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(scrape(server), "config_service_watchers") == before


def test_db_pool_gauges(server: ServerProcess) -> None:
    text = scrape(server)
    assert "# TYPE config_service_db_pool_connections gauge" in text
    assert metric(text, "config_service_db_pool_connections", state="size") == 20  # the default pool size
    assert metric(text, "config_service_db_pool_connections", state="checked_out") >= 0
    assert 'config_service_db_pool_connections{state="idle"}' in text


# --- logs -----------------------------------------------------------------------------------------------------


def test_request_id_is_echoed_and_logged(server: ServerProcess, admin: httpx.Client) -> None:
    rid = "req-" + unique_id()
    response = admin.get("/admin/orgs", headers={"X-Request-ID": rid})
    assert response.status_code == 200 and response.headers["x-request-id"] == rid
    entries = wait_for_log(server, lambda e: e.get("request_id") == rid)
    assert entries, "no log line carries the request id"
    access = [e for e in entries if e.get("msg") == "request"]
    assert access and access[0]["route"] == "/api/v1/admin/orgs" and access[0]["status"] == 200
    assert {"ts", "level", "logger", "msg"} <= set(access[0])

    # Problems carry it too; a missing or unprintable id is replaced by a fresh one.
    problem = httpx.get(server.api + "/admin/orgs", headers={"X-Request-ID": "with\x7fcontrol"})
    # httptools refuses a control character in a header at the protocol level (400, before the
    # app); the pure-Python parser lets it through and the app replaces the id.
    assert problem.status_code in (400, 401)
    if problem.status_code == 401:
        assert re.fullmatch(r"[0-9a-f]{32}", problem.headers["x-request-id"])
    generated = httpx.get(server.url + "/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert wait_for_log(server, lambda e: e.get("request_id") == generated)
    too_long = httpx.get(server.url + "/health", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"]
    assert too_long != "x" * 500


def test_every_log_line_is_json(server: ServerProcess, admin: httpx.Client) -> None:
    admin.get("/admin/orgs")
    httpx.get(server.api + "/admin/orgs", headers={"Authorization": "Bearer wrong"})
    entries = log_lines(server)
    assert entries
    assert all({"ts", "level", "logger", "msg"} <= set(entry) for entry in entries)
    refused = [e for e in entries if e.get("msg") == "access refused"]
    assert refused and all("code" in e and "status" in e for e in refused)
