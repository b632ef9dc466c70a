"""No tenant starves the others (issue 10, finding 1): each org holds at most its share of the
instance's watchers (SSE streams and long polls), the global admin's streams are capped, and
token issuing is rate-limited per org, with short-lived tokens (one per incoming webhook) on a
budget of their own. A server of its own runs with low caps so the tests can reach them."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support import ServerProcess, clean_env, unique_id, wait_for

LIMITS = {
    "WATCHERS_PER_INSTANCE": "100",
    "WATCHERS_PER_ORG": "3",
    "WATCHERS_PER_TOKEN": "10",
    "WATCHERS_PER_GLOBAL_ADMIN": "2",
    "TOKEN_ISSUE_PER_MINUTE": "1",
    "TOKEN_ISSUE_BURST": "4",
    "SHORT_LIVED_TOKEN_ISSUE_PER_MINUTE": "1",
    "SHORT_LIVED_TOKEN_ISSUE_BURST": "6",
}


@pytest.fixture(scope="module")
def limited(database_url, server_keys, tmp_path_factory) -> Iterator[ServerProcess]:
    env = clean_env() | server_keys | LIMITS | {"CONFIG_SERVICE_ENV": "production", "DATABASE_URL": database_url}
    proc = ServerProcess(env=env, log_path=tmp_path_factory.mktemp("limited") / "server.log").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def root(limited, server_keys) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server_keys['ADMIN_TOKEN']}"}
    with httpx.Client(base_url=limited.api, timeout=30, headers=headers) as client:
        yield client


@pytest.fixture(scope="module")
def internal_client(limited, server_keys) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server_keys['INTERNAL_SERVICE_TOKEN']}"}
    with httpx.Client(base_url=limited.api, timeout=30, headers=headers) as client:
        yield client


def new_org(root: httpx.Client, *nodes: str) -> str:
    org_id = unique_id("lim")
    assert root.post("/admin/orgs", json={"org_id": org_id}).status_code == 201
    for node in nodes:
        assert root.post(f"/admin/orgs/{org_id}/nodes", json={"node_id": node}).status_code == 201
    return org_id


def team_token(root: httpx.Client, org_id: str, node_id: str) -> str:
    response = root.post(f"/admin/orgs/{org_id}/teams/{node_id}/tokens", json={})
    assert response.status_code == 201, response.text
    return response.json()["token"]


@dataclass
class Opened:
    """A watch request whose response head has been read; `close()` ends the stream."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes
    conn: http.client.HTTPConnection

    def close(self) -> None:
        self.conn.close()


def open_watch(server: ServerProcess, path: str, token: str, query: str = "", **headers: str) -> Opened:
    """Open `GET /api/v1{path}` and read the head (and the body of a refusal): an SSE stream stays open."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/api/v1" + path + query, headers={"Authorization": f"Bearer {token}", **headers})
    response = conn.getresponse()
    body = b""
    if response.status == 200 and response.headers.get("content-type", "").startswith("text/event-stream"):
        body = response.readline()  # the first line of the first event: the stream is live
    else:
        body = response.read()
    return Opened(response.status, response.headers, body, conn)


def assert_rate_limited(opened_or_response, fragment: str) -> None:
    status = getattr(opened_or_response, "status", None) or opened_or_response.status_code
    headers = opened_or_response.headers
    body = getattr(opened_or_response, "body", None) or opened_or_response.content
    assert status == 429, body
    assert headers["content-type"].startswith("application/problem+json")
    assert int(headers["retry-after"]) >= 1
    problem = httpx.Response(429, content=body).json()
    assert problem["code"] == "rate_limited" and fragment in problem["detail"], problem


def test_an_org_at_its_watcher_share_gets_429_and_other_orgs_still_watch(limited, root):
    noisy = new_org(root, "sre")
    quiet = new_org(root, "sre")
    noisy_token = team_token(root, noisy, "sre")
    opened = [open_watch(limited, "/config/me/watch", noisy_token) for _ in range(3)]
    try:
        assert [o.status for o in opened] == [200, 200, 200]
        # the org's share (WATCHERS_PER_ORG=3) is full: another stream and a long poll are 429,
        # although the token (10) and the instance (100) have room
        over = open_watch(limited, "/config/me/watch", team_token(root, noisy, "sre"))
        assert_rate_limited(over, "org")
        etag = httpx.get(limited.api + "/config/me", headers={"Authorization": f"Bearer {noisy_token}"}).json()["etag"]
        poll = open_watch(limited, "/config/me", noisy_token, "?wait=5", **{"If-None-Match": f'"{etag}"'})
        assert_rate_limited(poll, "org")
        # an admin's node watch counts towards the same share
        admin_watch = open_watch(limited, f"/admin/orgs/{noisy}/nodes/sre/watch", root.headers["authorization"][7:])
        assert_rate_limited(admin_watch, "org")

        # another tenant is unaffected: its stream, its long poll
        quiet_token = team_token(root, quiet, "sre")
        other = open_watch(limited, "/config/me/watch", quiet_token)
        assert other.status == 200 and other.body.startswith(b"id: ")
        other.close()
        etag = httpx.get(limited.api + "/config/me", headers={"Authorization": f"Bearer {quiet_token}"}).json()["etag"]
        polled = httpx.get(limited.api + "/config/me", params={"wait": 1}, timeout=10,
                           headers={"Authorization": f"Bearer {quiet_token}", "If-None-Match": f'"{etag}"'})
        assert polled.status_code == 304
    finally:
        for o in opened:
            o.close()

    # a closed stream gives its place back
    def reopened() -> bool:
        attempt = open_watch(limited, "/config/me/watch", noisy_token)
        attempt.close()
        return attempt.status == 200

    assert wait_for(reopened, timeout=10)


def test_the_global_admins_streams_are_capped(limited, root):
    admin_token = root.headers["authorization"][7:]
    first, second = new_org(root, "a"), new_org(root, "b")
    opened = [open_watch(limited, f"/admin/orgs/{first}/nodes/a/watch", admin_token),
              open_watch(limited, f"/admin/orgs/{second}/nodes/b/watch", admin_token)]
    try:
        assert [o.status for o in opened] == [200, 200]
        # a third org with room of its own: the global admin's cap (2) refuses
        third = new_org(root, "c")
        over = open_watch(limited, f"/admin/orgs/{third}/nodes/c/watch", admin_token)
        assert_rate_limited(over, "global admin")
        etag = root.get(f"/admin/orgs/{third}/nodes/c/effective").json()["etag"]
        poll = open_watch(limited, f"/admin/orgs/{third}/nodes/c/effective", admin_token, "?wait=5",
                          **{"If-None-Match": f'"{etag}"'})
        assert_rate_limited(poll, "global admin")
        # a team of that org still watches
        team = open_watch(limited, "/config/me/watch", team_token(root, third, "c"))
        assert team.status == 200
        team.close()
    finally:
        for o in opened:
            o.close()


def test_token_issuing_is_rate_limited_per_org(limited, root):
    busy, calm = new_org(root, "t"), new_org(root, "t")
    # TOKEN_ISSUE_BURST=4 long-lived tokens per org: team tokens and org-admin tokens together
    for _ in range(3):
        team_token(root, busy, "t")
    assert root.post(f"/admin/orgs/{busy}/admin-tokens", json={}).status_code == 201
    over = root.post(f"/admin/orgs/{busy}/teams/t/tokens", json={})
    assert_rate_limited(over, busy)
    assert_rate_limited(root.post(f"/admin/orgs/{busy}/admin-tokens", json={}), busy)
    # another org is unaffected
    team_token(root, calm, "t")
    assert root.post(f"/admin/orgs/{calm}/admin-tokens", json={}).status_code == 201
    # nothing was issued by the refused calls
    listed = root.get(f"/admin/orgs/{busy}/tokens").json()["items"]
    assert len(listed) == 3


def test_short_lived_tokens_have_a_budget_of_their_own(limited, root, internal_client):
    org_id = new_org(root, "t")
    assert root.patch(f"/admin/orgs/{org_id}/nodes/t/config",
                      json={"config": {"routing": {"services": [f"svc-{org_id}"]}}}).status_code == 200
    # use up the long-lived budget first
    for _ in range(4):
        team_token(root, org_id, "t")
    assert_rate_limited(root.post(f"/admin/orgs/{org_id}/teams/t/tokens", json={}), org_id)
    # an incident storm still gets its short-lived tokens (SHORT_LIVED_TOKEN_ISSUE_BURST=6):
    # the exchange and the routing lookup with `issue_token`
    for _ in range(3):
        response = internal_client.post("/internal/tokens/exchange", json={"org_id": org_id, "team_node_id": "t"})
        assert response.status_code == 201, response.text
    lookup = {"identifiers": {"service": f"svc-{org_id}"}, "org_id": org_id, "issue_token": True}
    for _ in range(3):
        response = internal_client.post("/internal/routing/lookup", json=lookup)
        assert response.status_code == 200 and response.json()["team_token"], response.text
    # … until that budget is spent too
    assert_rate_limited(
        internal_client.post("/internal/tokens/exchange", json={"org_id": org_id, "team_node_id": "t"}), org_id
    )
    refused = internal_client.post("/internal/routing/lookup", json=lookup)
    assert_rate_limited(refused, org_id)
    # an admin's impersonation token draws on the same budget
    assert_rate_limited(root.post(f"/admin/orgs/{org_id}/teams/t/impersonation-token"), org_id)
    # a lookup that issues nothing is not limited
    plain = internal_client.post("/internal/routing/lookup", json={**lookup, "issue_token": False})
    assert plain.status_code == 200 and plain.json()["found"]


def test_a_full_instance_answers_503_with_retry_after(database_url, server_keys, tmp_path):
    """DESIGN §10: watchers per instance are capped — 503 with `Retry-After` (the caller can only
    try again, or another instance), for a watch and a long poll alike; a slot freed is reusable."""
    env = clean_env() | server_keys | {"CONFIG_SERVICE_ENV": "production", "DATABASE_URL": database_url,
                                       "WATCHERS_PER_INSTANCE": "2", "WATCHERS_PER_ORG": "10"}
    server = ServerProcess(env=env, log_path=tmp_path / "full.log").start()
    opened: list[Opened] = []
    try:
        with httpx.Client(base_url=server.api, timeout=30,
                          headers={"Authorization": f"Bearer {server_keys['ADMIN_TOKEN']}"}) as admin:
            org_id = new_org(admin, "sre")
            token = team_token(admin, org_id, "sre")
        opened += [open_watch(server, "/config/me/watch", token) for _ in range(2)]
        assert [o.status for o in opened] == [200, 200]
        full = open_watch(server, "/config/me/watch", token)
        opened.append(full)
        assert full.status == 503 and int(full.headers["retry-after"]) >= 1, full.body
        assert httpx.Response(503, content=full.body).json()["code"] == "unavailable"
        etag = httpx.get(server.api + "/config/me", headers={"Authorization": f"Bearer {token}"}).json()["etag"]
        poll = httpx.get(server.api + "/config/me", params={"wait": 5},
                         headers={"Authorization": f"Bearer {token}", "If-None-Match": f'"{etag}"'})
        assert poll.status_code == 503 and "retry-after" in poll.headers
        opened.pop(0).close()

        def reopened() -> bool:
            opened.append(open_watch(server, "/config/me/watch", token))
            return opened[-1].status == 200

        assert wait_for(reopened, timeout=5)
    finally:
        for o in opened:
            o.close()
        server.stop()
