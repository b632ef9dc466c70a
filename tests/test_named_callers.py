"""Named internal callers (DESIGN §4, issue 11): opt-in, from trusted networks only, never behind a
proxy header, and only for routing lookups, run and tool-call recording and stale-run cleanup."""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from config_service.auth.named import NamedCallers, has_proxy_header
from config_service.settings import Settings, SettingsError
from tests.support import ServerProcess, clean_env, new_keys, unique_id

NAMES = ("agent", "orchestrator", "slack-bot", "cleanup-job")


def client_for(server: ServerProcess, name: str = "agent", **headers: str) -> httpx.Client:
    return httpx.Client(base_url=server.api, timeout=30, headers={"X-Internal-Service": name, **headers})


@pytest.fixture()
def team(org):
    org.add_node("sre")
    return org


def _create(client: httpx.Client, org, run_id: str) -> httpx.Response:
    return client.post("/internal/agent-runs", json={
        "run_id": run_id, "org_id": org.org_id, "team_node_id": "sre", "agent_name": "planner",
    })


# ---- what a name may do ---------------------------------------------------------------------------------


def test_a_name_records_runs_and_tool_calls_and_looks_up_routes(named_server, team) -> None:
    service = unique_id("checkout")  # other tests' orgs claim services too: unscoped, a shared one is ambiguous
    team.patch("sre", {"routing": {"services": [service]}})
    with client_for(named_server, "agent") as agent:
        found = agent.post("/internal/routing/lookup", json={"identifiers": {"service": service}})
        assert found.status_code == 200 and found.json()["team_node_id"] == "sre", found.text
        run_id = unique_id("r")
        assert _create(agent, team, run_id).status_code == 201
        calls = agent.post(f"/internal/agent-runs/{run_id}/tool-calls",
                           json={"tool_calls": [{"name": "get_logs", "id": "c1"}]})
        assert calls.status_code == 201, calls.text
        done = agent.patch(f"/internal/agent-runs/{run_id}", json={"status": "completed", "duration_seconds": 1.5})
        assert done.status_code == 200 and done.json()["reported_duration_seconds"] == 1.5
    with client_for(named_server, "cleanup-job") as cron:
        response = cron.post("/internal/agent-runs/cleanup-stale", json={"max_age_seconds": 600})
        assert response.status_code == 200, response.text


EVERYTHING_ELSE = [
    ("GET", "/auth/me", None),
    ("GET", "/config/me", None),
    ("PATCH", "/config/me", {"config": {}}),
    ("GET", "/admin/orgs", None),
    ("GET", "/admin/orgs/{org}/nodes", None),
    ("POST", "/admin/orgs/{org}/teams/sre/tokens", {}),
    ("POST", "/admin/orgs/{org}/teams/sre/impersonation-token", None),
    ("GET", "/config/orgs/{org}/nodes/sre/effective", None),
    ("POST", "/internal/tokens/exchange", {"org_id": "{org}", "team_node_id": "sre"}),
    ("GET", "/agent-runs", None),
    ("GET", "/agent-runs/stats", None),
    ("GET", "/agent-runs/{run}", None),
    ("GET", "/agent-runs/{run}/config", None),
    ("GET", "/agent-runs/{run}/tool-calls", None),
    ("GET", "/internal/agent-runs/{run}/tool-calls", None),
    ("GET", "/internal/agent-runs/list?org_id={org}", None),
    ("GET", "/integrations/health", None),
    ("GET", "/config/me/watch", None),
]


@pytest.mark.parametrize("mount", ["/api/v1", "/compat/incidentfox/api/v1"])
def test_a_name_may_do_nothing_else(named_server, team, mount: str) -> None:
    """Every other route refuses it (403) — at the root and on the mount alike."""
    run_id = unique_id("r")
    with client_for(named_server, "orchestrator") as name:
        assert _create(name, team, run_id).status_code == 201
        refused = []
        for method, path, body in EVERYTHING_ELSE:
            url = named_server.url + mount + path.replace("{org}", team.org_id).replace("{run}", run_id)
            filled = {k: v.replace("{org}", team.org_id) if isinstance(v, str) else v for k, v in (body or {}).items()}
            response = name.request(method, url, json=filled if body is not None else None)
            if response.status_code != 403:
                refused.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
        lookup = name.post(named_server.url + mount + "/internal/routing/lookup",
                           json={"identifiers": {"service": "x"}, "issue_token": True})
        assert lookup.status_code in (403, 422)  # the mount refuses the field, the root the token
    assert refused == []


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-For": "127.0.0.1"}, {"Forwarded": "for=127.0.0.1"}, {"X-Real-IP": "127.0.0.1"},
    {"Via": "1.1 proxy"}, {"X-Forwarded-Proto": "https"},
], ids=lambda h: next(iter(h)))
def test_a_proxy_header_voids_the_name(named_server, team, headers: dict[str, str]) -> None:
    with client_for(named_server, "agent", **headers) as agent:
        response = agent.post("/internal/routing/lookup", json={"identifiers": {"service": "x"}})
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
        assert _create(agent, team, unique_id("r")).status_code == 401


@pytest.mark.parametrize("value", ["Agent", "agent-x", "unknown-service", "agent,orchestrator", ""])
def test_only_the_listed_names_count(named_server, value: str) -> None:
    with client_for(named_server, value) as client:
        assert client.post("/internal/routing/lookup", json={"identifiers": {}}).status_code == 401


def test_a_bearer_is_never_replaced_by_a_name(named_server) -> None:
    """A bad bearer next to a good name is still refused: one credential never rescues another."""
    with client_for(named_server, "agent", Authorization="Bearer not-a-token") as client:
        assert client.post("/internal/routing/lookup", json={"identifiers": {}}).status_code == 401


def test_without_the_settings_a_name_is_no_credential(server, team) -> None:
    with client_for(server, "agent") as agent:
        assert agent.post("/internal/routing/lookup", json={"identifiers": {"service": "x"}}).status_code == 401
        assert _create(agent, team, unique_id("r")).status_code == 401
        assert agent.post("/internal/agent-runs/cleanup-stale", json={}).status_code == 401
    assert "named internal callers" not in server.log_text()


def test_the_name_is_the_actor_in_the_audit_log(named_server, team, db: psycopg.Connection) -> None:
    run_id = unique_id("r")
    with client_for(named_server, "agent") as agent:
        assert _create(agent, team, run_id).status_code == 201
    db.execute("UPDATE agent_runs SET created_at = now() - interval '1 hour' WHERE client_run_id = %s", (run_id,))
    with client_for(named_server, "cleanup-job") as cron:
        response = cron.post("/internal/agent-runs/cleanup-stale", json={"max_age_seconds": 600})
        assert response.status_code == 200 and response.json()["timed_out"] >= 1
    rows = db.execute(
        "SELECT actor, details FROM audit_events WHERE org_id = %s AND action = 'runs.timed_out'", (team.org_id,)
    ).fetchall()
    assert rows == [("cleanup-job", {"count": 1, "max_age_seconds": 600})]
    status = db.execute("SELECT status FROM agent_runs WHERE client_run_id = %s", (run_id,)).fetchone()
    assert status == ("timeout",)


def test_a_warning_at_start_while_the_mode_is_on(named_server) -> None:
    lines = [line for line in named_server.log_text().splitlines() if "named internal callers enabled" in line]
    assert lines and '"level":"warning"' in lines[0]
    for name in NAMES:
        assert name in lines[0]
    assert "127.0.0.0/8" in lines[0]


# ---- outside the trusted networks --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def elsewhere_server(database_url: str, server_keys: dict[str, str],
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Names on, but the trusted network is not the one the tests connect from."""
    env = clean_env() | server_keys | {
        "DATABASE_URL": database_url, "INTERNAL_SERVICE_NAMES": "agent",
        "INTERNAL_SERVICE_TRUSTED_NETWORKS": "10.0.0.0/8",
    }
    proc = ServerProcess(env=env, log_path=tmp_path_factory.mktemp("elsewhere") / "server.log").start()
    yield proc
    proc.stop()


def test_a_name_from_outside_the_networks_is_refused(elsewhere_server, team) -> None:
    with client_for(elsewhere_server, "agent") as agent:
        assert agent.post("/internal/routing/lookup", json={"identifiers": {}}).status_code == 401
        assert _create(agent, team, unique_id("r")).status_code == 401
    with client_for(elsewhere_server, "agent", **{"X-Forwarded-For": "10.1.2.3"}) as posing:
        assert posing.post("/internal/routing/lookup", json={"identifiers": {}}).status_code == 401


# ---- the settings ------------------------------------------------------------------------------------------------


def settings(**values: object) -> Settings:
    """Settings from these values alone (development: nothing else is required)."""
    return Settings(_env_file=None, config_service_env="development", **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("networks", ["0.0.0.0/0", "::/0", "1.2.3.4/0", "10.0.0.0/8,0.0.0.0/0", "not-a-network"])
def test_networks_covering_everything_or_malformed_are_refused(networks: str) -> None:
    with pytest.raises(SettingsError, match="INTERNAL_SERVICE_TRUSTED_NETWORKS"):
        settings(internal_service_names="agent", internal_service_trusted_networks=networks).check()


@pytest.mark.parametrize("values", [
    {"internal_service_names": "agent"},
    {"internal_service_trusted_networks": "10.0.0.0/8"},
    {"internal_service_names": "Agent", "internal_service_trusted_networks": "10.0.0.0/8"},
    {"internal_service_names": "admin", "internal_service_trusted_networks": "10.0.0.0/8"},
    {"internal_service_names": "internal", "internal_service_trusted_networks": "10.0.0.0/8"},
    {"internal_service_names": "has space", "internal_service_trusted_networks": "10.0.0.0/8"},
])
def test_names_are_checked(values: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="INTERNAL_SERVICE"):
        settings(**values).check()


def test_the_settings_parse_comma_separated_lists() -> None:
    parsed = settings(internal_service_names=" agent, slack-bot ,",
                      internal_service_trusted_networks="10.0.0.0/8, fd00::/8")
    parsed.check()
    assert parsed.internal_service_names == ["agent", "slack-bot"]
    assert parsed.trusted_networks() == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))
    empty = settings()
    empty.check()
    assert not empty.named_callers_enabled


def test_the_internal_token_is_never_a_name_and_never_echoed() -> None:
    token = new_keys()["INTERNAL_SERVICE_TOKEN"]
    with pytest.raises(SettingsError) as refused:
        settings(internal_service_token=token, internal_service_names=f"agent,{token}",
                 internal_service_trusted_networks="10.0.0.0/8").check()
    assert token not in str(refused.value)


def test_serve_refuses_every_address_before_starting(database_url: str, tmp_path: Path) -> None:
    for networks in ("0.0.0.0/0", "::/0"):
        env = clean_env() | new_keys() | {"DATABASE_URL": database_url, "INTERNAL_SERVICE_NAMES": "agent",
                                          "INTERNAL_SERVICE_TRUSTED_NETWORKS": networks}
        result = subprocess.run([sys.executable, "-m", "config_service", "serve", "--port", "1"], env=env,
                                cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "INTERNAL_SERVICE_TRUSTED_NETWORKS" in result.stderr and "Traceback" not in result.stderr


def test_serve_never_lets_uvicorn_take_the_client_address_from_a_header(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's default trusts X-Forwarded-For from localhost, which would let a local process
    pose as any network: `serve` turns that off."""
    import logging

    import uvicorn
    from typer.testing import CliRunner

    from config_service.cli.main import app

    captured: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **kwargs: captured.update(kwargs))
    handlers = logging.getLogger().handlers[:]
    level = logging.getLogger().level
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    env = clean_env() | new_keys() | {"DATABASE_URL": database_url, "CONFIG_SERVICE_ENV": "production"}
    try:
        result = CliRunner().invoke(app, ["serve", "--port", "1"], env=env)
    finally:
        logging.getLogger().handlers[:] = handlers
        logging.getLogger().setLevel(level)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert result.exit_code == 0, result.output
    assert captured["proxy_headers"] is False


# ---- the pure matcher ------------------------------------------------------------------------------------------

CALLERS = NamedCallers(frozenset({"agent"}), (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")))


@pytest.mark.parametrize(("value", "client", "proxied", "expected"), [
    ("agent", ("10.1.2.3", 5000), False, "agent"),
    ("agent", ("::ffff:10.1.2.3", 5000), False, "agent"),  # an IPv4-mapped peer is its IPv4 address
    ("agent", ("fd00::1", 5000), False, "agent"),
    ("agent", ("10.1.2.3", 5000), True, None),
    ("agent", ("11.1.2.3", 5000), False, None),
    ("agent", ("::ffff:11.1.2.3", 5000), False, None),
    ("agent", None, False, None),
    ("agent", ("unix-socket", 0), False, None),
    ("orchestrator", ("10.1.2.3", 5000), False, None),
    ("AGENT", ("10.1.2.3", 5000), False, None),
])
def test_named_callers_match(value: str, client, proxied: bool, expected: str | None) -> None:
    assert CALLERS.match(value, client, proxied=proxied) == expected


def test_proxy_headers_are_recognised_in_any_case() -> None:
    assert has_proxy_header(["Host", "X-Forwarded-For"]) and has_proxy_header(["forwarded"])
    assert not has_proxy_header(["host", "authorization", "x-internal-service"])
