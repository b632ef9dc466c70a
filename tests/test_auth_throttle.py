"""Failed authentication is throttled per client address (issue 10, finding 9): past its budget an
address gets 429 before any token is looked up, a token that cannot be ours costs no query, and
X-Forwarded-For counts only from TRUSTED_PROXIES, for throttling only. A server of its own runs
with a budget of 5 failures a minute; each test speaks from loopback addresses of its own
(127.0.0.0/8 is all loopback), so they do not share a budget."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.live_support import statements
from tests.support import ServerProcess, clean_env, unique_id

BUDGET = 5
PROXY = "127.0.0.3"


@pytest.fixture(scope="module")
def throttled(database_url, server_keys, tmp_path_factory) -> Iterator[ServerProcess]:
    env = clean_env() | server_keys | {
        "CONFIG_SERVICE_ENV": "production",
        "DATABASE_URL": database_url,
        "AUTH_FAILURE_LIMIT": str(BUDGET),
        "AUTH_FAILURE_WINDOW_SECONDS": "60",
        "TRUSTED_PROXIES": f"{PROXY}/32, 10.200.0.0/16",
    }
    proc = ServerProcess(env=env, log_path=tmp_path_factory.mktemp("throttled") / "server.log").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def team(throttled, server_keys) -> dict[str, str]:
    """An org with a node and a valid team token, made from an address no test throttles."""
    admin = {"Authorization": f"Bearer {server_keys['ADMIN_TOKEN']}"}
    org_id = unique_id("thr")
    with from_address(throttled, "127.0.0.99", admin) as client:
        assert client.post("/admin/orgs", json={"org_id": org_id}).status_code == 201
        assert client.post(f"/admin/orgs/{org_id}/nodes", json={"node_id": "sre"}).status_code == 201
        token = client.post(f"/admin/orgs/{org_id}/teams/sre/tokens", json={}).json()["token"]
    return {"org_id": org_id, "token": token}


def from_address(server: ServerProcess, address: str, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=server.api, headers=headers or {}, timeout=10,
        transport=httpx.HTTPTransport(local_address=address),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unknown_token(org_id: str) -> str:
    return f"{org_id}.sre.{secrets.token_urlsafe(24)}"


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


def test_an_address_past_its_budget_gets_429_and_others_are_unaffected(throttled, team, server_keys):
    with from_address(throttled, "127.0.0.11") as attacker:
        for _ in range(BUDGET):
            assert attacker.get("/config/me", headers=bearer(unknown_token(team["org_id"]))).status_code == 401
        # past the budget: 429 for a guess of any kind, before it is looked at
        assert_throttled(attacker.get("/config/me", headers=bearer(unknown_token(team["org_id"]))))
        assert_throttled(attacker.get("/auth/me", headers=bearer("no-dots-guess")))
        assert_throttled(attacker.get("/auth/me", headers={"X-Internal-Service": "guess"}))
        assert_throttled(attacker.get("/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}))
        # … and for credentials that would need verifying, even right ones: the address is throttled
        assert_throttled(attacker.get("/auth/me", headers=bearer(server_keys["ADMIN_TOKEN"])))
        # a request without credentials is not a failed authentication: still the plain 401
        assert attacker.get("/config/me").status_code == 401
    # legitimate clients elsewhere are unaffected, and a failure there is a 401, not a 429
    with from_address(throttled, "127.0.0.12") as other:
        assert other.get("/config/me", headers=bearer(team["token"])).status_code == 200
        assert other.get("/auth/me", headers=bearer(server_keys["ADMIN_TOKEN"])).status_code == 200
        assert other.get("/config/me", headers=bearer(unknown_token(team["org_id"]))).status_code == 401


def test_a_token_already_verified_is_served_from_a_throttled_address(throttled, team):
    """A token this instance has verified (and still holds in its token cache) costs no work and
    reveals nothing: clients behind the same address as a guesser keep working."""
    with from_address(throttled, "127.0.0.21") as shared:
        assert shared.get("/config/me", headers=bearer(team["token"])).status_code == 200
        for _ in range(BUDGET):
            assert shared.get("/config/me", headers=bearer(unknown_token(team["org_id"]))).status_code == 401
        assert_throttled(shared.get("/config/me", headers=bearer(unknown_token(team["org_id"]))))
        assert shared.get("/config/me", headers=bearer(team["token"])).status_code == 200
        assert shared.get("/config/me/raw", headers=bearer(team["token"])).status_code == 200


def test_a_token_that_cannot_be_ours_costs_no_query(throttled, team):
    route = "/api/v1/auth/me"
    shapes = [
        f"{team['org_id']}.sre.short",  # random part too short
        f"{team['org_id']}.sre.{'a' * 300}",  # too long
        f"{team['org_id']}.sre.{secrets.token_urlsafe(24)[:-2]}+/",  # not URL-safe base64
        f"{team['org_id']}.{'x' * 31}!",
        f"a.b.c.{secrets.token_urlsafe(24)}",  # four parts
        f"-bad.sre.{secrets.token_urlsafe(24)}",  # org id that is not an identifier
    ]
    for index, token in enumerate(shapes):
        # each from an address of its own: the point here is the query, not the budget
        with from_address(throttled, f"127.0.1.{index + 1}") as client:
            before = statements(throttled, route)
            assert client.get("/auth/me", headers=bearer(token)).status_code == 401
            assert statements(throttled, route) == before, token


def test_a_failed_token_is_looked_up_once(throttled, team):
    """A well-formed token that failed is remembered for a while: repeating it costs no query."""
    route = "/api/v1/auth/me"
    token = unknown_token(team["org_id"])
    for index in range(3):
        with from_address(throttled, f"127.0.2.{index + 1}") as client:
            before = statements(throttled, route)
            assert client.get("/auth/me", headers=bearer(token)).status_code == 401
            assert statements(throttled, route) - before == (1 if index == 0 else 0)


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(throttled, team):
    # behind the trusted proxy, each client is throttled under its own address
    with from_address(throttled, PROXY) as proxy:
        for _ in range(BUDGET):
            response = proxy.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                        "X-Forwarded-For": "203.0.113.7"})
            assert response.status_code == 401
        assert_throttled(proxy.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                          "X-Forwarded-For": "203.0.113.7"}))
        # the right-most address that is not a trusted proxy is the client: what a client writes to
        # the left of it changes nothing, and trusted hops to the right of it are skipped
        for forwarded in ("198.51.100.1, 203.0.113.7", "203.0.113.7, 10.200.3.4", "203.0.113.7,10.200.0.9"):
            assert_throttled(proxy.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                              "X-Forwarded-For": forwarded}))
        # another client behind the same proxy is unaffected
        response = proxy.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                    "X-Forwarded-For": "203.0.113.8"})
        assert response.status_code == 401
        ok = proxy.get("/config/me", headers={**bearer(team["token"]), "X-Forwarded-For": "203.0.113.9"})
        assert ok.status_code == 200
    # from an untrusted peer the header is ignored: it is throttled as itself, and cannot borrow
    # (or spend) the budget of the address it names
    with from_address(throttled, "127.0.0.31") as direct:
        for _ in range(BUDGET):
            response = direct.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                         "X-Forwarded-For": "203.0.113.50"})
            assert response.status_code == 401
        assert_throttled(direct.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                           "X-Forwarded-For": "203.0.113.51"}))
    with from_address(throttled, PROXY) as proxy:
        response = proxy.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                    "X-Forwarded-For": "203.0.113.50"})
        assert response.status_code == 401


def test_the_refusal_is_logged_without_the_token(throttled, team):
    tokens = [unknown_token(team["org_id"]) for _ in range(BUDGET + 2)]
    with from_address(throttled, "127.0.0.41") as client:
        for token in tokens:
            client.get("/config/me", headers=bearer(token))
    time.sleep(0.3)
    log = throttled.log_text()
    assert "authentication throttled" in log and "127.0.0.41" in log
    for token in tokens:
        assert token.rsplit(".", 1)[1] not in log


def test_trusting_every_address_is_refused_at_start(database_url, server_keys, tmp_path):
    env = clean_env() | server_keys | {
        "CONFIG_SERVICE_ENV": "production", "DATABASE_URL": database_url, "TRUSTED_PROXIES": "10.0.0.0/8,0.0.0.0/0",
    }
    server = ServerProcess(env=env, log_path=tmp_path / "server.log")
    with pytest.raises(RuntimeError):
        server.start(timeout=30)
    server.stop()
    assert "TRUSTED_PROXIES" in server.log_text() and "every address" in server.log_text()


def test_the_server_never_takes_x_forwarded_for_as_the_client_address(throttled, team):
    """uvicorn's proxy-header handling is off: a client on 127.0.0.1 (uvicorn's default trusted
    proxy) that names another address in each request is still throttled as 127.0.0.1, so the
    address the application sees is the TCP peer's whatever a request's headers say."""
    with from_address(throttled, "127.0.0.1") as client:
        for index in range(BUDGET):
            response = client.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                          "X-Forwarded-For": f"198.51.100.{index + 1}"})
            assert response.status_code == 401
        assert_throttled(client.get("/config/me", headers={**bearer(unknown_token(team["org_id"])),
                                                           "X-Forwarded-For": "198.51.100.200"}))
