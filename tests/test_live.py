"""Live config: caching coherent through the change feed, long poll and SSE, across two
instances on one database (DESIGN §10)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import psycopg
import pytest

from config_service.db.urls import libpq_url
from tests.live_support import SSEReader, statements, wait_until
from tests.support import ServerProcess, clean_env

ME = "/api/v1/config/me"


@pytest.fixture(scope="module")
def server_b(database_url, server_keys, tmp_path_factory):
    """A second instance on the same database."""
    env = clean_env() | server_keys | {"CONFIG_SERVICE_ENV": "production", "DATABASE_URL": database_url}
    proc = ServerProcess(env=env, log_path=tmp_path_factory.mktemp("server-b") / "server.log").start()
    yield proc
    proc.stop()


@pytest.fixture()
def team_setup(org):
    org.add_node("unit")
    org.add_node("sre", parent="unit")
    org.add_node("web", parent="unit")
    org.patch(org.org_id, {"model": "gpt-4o"})
    return org


def _get(server, token, **kwargs):
    return httpx.get(server.api + "/config/me", headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers",
        {})}, **kwargs)


def test_cached_read_runs_no_sql_and_writes_are_read_back_at_once(team_setup, server):
    org = team_setup
    token = org.token("sre")
    first = _get(server, token)
    assert first.status_code == 200
    before = statements(server, ME)
    again = _get(server, token)
    assert again.json() == first.json()
    assert statements(server, ME) - before == 0, "a cached read (token and config) runs no SQL"
    assert org.patch("sre", {"tools": {"deploy": True}}).status_code == 200
    after = _get(server, token).json()
    assert after["effective_config"]["tools"] == {"deploy": True} and after["etag"] != first.json()["etag"]


def test_a_write_below_cached_ancestors_runs_four_statements(team_setup, server):
    """Tree lock, own row and lineage (pipelined), then the version with its audit event: the
    ancestors' configs are not read again while their merged state is cached."""
    org = team_setup
    token = org.token("sre", ["config:read", "config:write"])
    headers = {"Authorization": f"Bearer {token}"}

    def write(n: int) -> httpx.Response:
        return httpx.patch(server.api + "/config/me", headers=headers, json={"config": {"counter": n}})

    assert write(0).status_code == 200  # warms the token and the ancestors' state
    before = statements(server, ME, "PATCH")
    for n in range(1, 4):
        response = write(n)
        assert response.status_code == 200 and response.json()["version"] >= n
    assert statements(server, ME, "PATCH") - before == 3 * 4
    assert _get(server, token).json()["effective_config"]["counter"] == 3


def test_invalidation_is_precise(team_setup, server):
    org = team_setup
    sre, web = org.token("sre"), org.token("web")
    for token in (sre, web):
        _get(server, token)
    org.patch("sre", {"x": 1})
    before = statements(server, ME)
    _get(server, web)
    assert statements(server, ME) - before == 0, "a sibling's write leaves this node cached"
    org.patch("unit", {"y": 2})
    before = statements(server, ME)
    assert _get(server, web).json()["effective_config"]["y"] == 2
    assert statements(server, ME) - before > 0, "a parent's write drops the subtree"
    org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]})
    before = statements(server, ME)
    _get(server, sre)
    assert statements(server, ME) - before > 0, "a lock change drops the locking node's subtree"


def test_write_on_a_is_served_by_b(team_setup, server, server_b):
    org = team_setup
    token = org.token("sre")
    old = _get(server_b, token).json()["etag"]
    assert org.patch(org.org_id, {"model": "claude"}).status_code == 200
    took = wait_until(lambda: _get(server_b, token).json()["etag"] != old, timeout=2)
    assert _get(server_b, token).json()["effective_config"]["model"] == "claude"
    print(f"B served A's write after {took * 1000:.1f} ms")


def test_revocation_through_a_is_honoured_by_b(team_setup, server_b):
    org = team_setup
    issued = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={}).json()
    assert _get(server_b, issued["token"]).status_code == 200  # now cached on B
    assert org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{issued['id']}/revoke").status_code == 204
    took = wait_until(lambda: _get(server_b, issued["token"]).status_code == 401, timeout=1)
    print(f"B refused the revoked token after {took * 1000:.1f} ms")


def test_long_poll_on_b_wakes_on_a_write(team_setup, server, server_b):
    org = team_setup
    token = org.token("sre")
    etag = _get(server_b, token).json()["etag"]
    result: dict = {}

    def poll():
        started = time.monotonic()
        response = _get(server_b, token, headers={"If-None-Match": f'"{etag}"'}, params={"wait": 20}, timeout=30)
        result.update(status=response.status_code, body=response.json(), at=time.monotonic(), started=started)

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)
    written = time.monotonic()
    assert org.patch("sre", {"woke": True}).status_code == 200
    thread.join(10)
    assert result["status"] == 200 and result["body"]["effective_config"]["woke"] is True
    assert result["at"] - written < 1.0


def test_long_poll_times_out_with_304_and_limits(team_setup, server):
    org = team_setup
    token = org.token("sre")
    etag = _get(server, token).json()["etag"]
    started = time.monotonic()
    response = _get(server, token, headers={"If-None-Match": f'"{etag}"'}, params={"wait": 1})
    assert response.status_code == 304 and 0.9 <= time.monotonic() - started < 5
    assert _get(server, token, params={"wait": 61}).status_code == 422
    # an old etag answers at once
    fresh = _get(server, token, headers={"If-None-Match": '"old"'}, params={"wait": 30}, timeout=5)
    assert fresh.status_code == 200


def test_admin_long_poll(team_setup, server, admin):
    org = team_setup
    etag = admin.get(org.node_path("sre") + "/effective").json()["etag"]
    response = admin.get(org.node_path("sre") + "/effective", params={"wait": 1},
        headers={"If-None-Match": f'"{etag}"'})
    assert response.status_code == 304


def test_sse_watch_on_b(team_setup, server, server_b):
    org = team_setup
    token = org.token("sre")
    reader = SSEReader(server_b.api + "/config/me/watch", {"Authorization": f"Bearer {token}"}).start()
    first = reader.next()
    assert reader.status == 200 and first["event"] == "config"
    data = json.loads(first["data"])
    assert set(data) == {"etag", "version", "effective_config"} and first["id"] == data["etag"]
    written = time.monotonic()
    assert org.patch("sre", {"watched": 1}).status_code == 200
    change = reader.next()
    assert change["event"] == "config" and json.loads(change["data"])["effective_config"]["watched"] == 1
    assert change["received"] - written < 1.0
    print(f"SSE on B got A's write after {(change['received'] - written) * 1000:.1f} ms")


def test_sse_last_event_id_and_revocation_closes(team_setup, server, server_b):
    org = team_setup
    issued = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={}).json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    etag = _get(server, issued["token"]).json()["etag"]
    reader = SSEReader(server_b.api + "/config/me/watch", {**headers, "Last-Event-ID": etag}).start()
    time.sleep(0.5)
    assert reader.events.empty(), "Last-Event-ID = current etag sends nothing until the next change"
    org.patch("sre", {"n": 1})
    assert reader.next()["event"] == "config"
    revoked_at = time.monotonic()
    assert org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{issued['id']}/revoke").status_code == 204
    event = reader.next()
    assert event["event"] == "revoked" and json.loads(event["data"]) == {"reason": "revoked"}
    assert reader.done.wait(5), "the stream is closed after `revoked`"
    assert event["received"] - revoked_at < 1.0, "a revocation closes the token's streams within 1 s (DESIGN §4)"


def test_sse_follows_the_lineage_and_keeps_alive(team_setup, server):
    """An ancestor's write that changes the node's effective config is an event; one the node
    overrides is not (nothing changed for it); a quiet stream carries a keep-alive comment every 15 s."""
    org = team_setup
    assert org.patch("sre", {"model": "own"}).status_code == 200
    reader = SSEReader(server.api + "/config/me/watch", {"Authorization": f"Bearer {org.token('sre')}"}).start()
    first = reader.next()
    opened = time.monotonic()
    assert org.patch("unit", {"from_unit": 1}).status_code == 200
    change = reader.next()
    assert json.loads(change["data"])["effective_config"] == {"model": "own", "from_unit": 1}
    assert change["id"] != first["id"]
    assert org.patch(org.org_id, {"model": "gpt-5"}).status_code == 200  # overridden below: no change for sre
    wait_until(lambda: reader.comments >= 1, timeout=18)
    assert 14 <= time.monotonic() - opened <= 18, "the first keep-alive comes after about 15 s"
    assert reader.events.empty(), "no event without a change of the node's effective config"


def test_sse_last_event_id_may_be_the_etag_header(team_setup, server):
    """The `ETag` header's quoted form of the current tag (what a client holding the header sends)
    counts as the current tag too: nothing until the next change."""
    org = team_setup
    token = org.token("sre")
    for weak in ("", "W/"):
        header = _get(server, token).headers["etag"]
        assert header.startswith('"')
        last = weak + header
        reader = SSEReader(server.api + "/config/me/watch",
                           {"Authorization": f"Bearer {token}", "Last-Event-ID": last}).start()
        time.sleep(0.5)
        assert reader.status == 200 and reader.events.empty(), f"Last-Event-ID {last} is the current etag"
        assert org.patch("sre", {"n": last}).status_code == 200
        event = reader.next()
        assert event["event"] == "config" and json.loads(event["data"])["effective_config"]["n"] == last


def test_a_long_poll_of_a_revoked_token_is_401(team_setup, server):
    """A revocation ends a held long poll with the 401 of a revoked token, not a 304 as if the
    wait had simply ended."""
    org = team_setup
    issued = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={}).json()
    etag = _get(server, issued["token"]).json()["etag"]
    result: dict = {}

    def poll():
        response = _get(server, issued["token"], headers={"If-None-Match": f'"{etag}"'}, params={"wait": 20},
                        timeout=30)
        result.update(status=response.status_code, body=response.json() if response.content else None,
                      at=time.monotonic())

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)
    revoked_at = time.monotonic()
    assert org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{issued['id']}/revoke").status_code == 204
    thread.join(10)
    assert result["status"] == 401 and result["body"]["code"] == "unauthenticated", result
    assert result["at"] - revoked_at < 1.0


def test_sse_gone_on_delete_and_move(team_setup, server_b, admin):
    org = team_setup
    readers = {}
    for node in ("sre", "web"):
        readers[node] = SSEReader(server_b.api + "/config/me/watch",
            {"Authorization": f"Bearer {org.token(node)}"}).start()
        assert readers[node].next()["event"] == "config"
    assert admin.patch(org.node_path("web"), json={"parent_node_id": org.org_id}).status_code == 200
    assert readers["web"].next()["event"] == "gone"
    assert admin.delete(org.node_path("sre")).status_code == 204
    assert readers["sre"].next()["event"] in ("gone", "revoked")
    assert readers["sre"].done.wait(5) and readers["web"].done.wait(5)


def test_sse_expiry_closes(team_setup, server, internal):
    org = team_setup
    short = internal.post("/internal/tokens/exchange", json={"org_id": org.org_id, "team_node_id": "sre",
        "ttl_seconds": 1}).json()
    reader = SSEReader(server.api + "/config/me/watch", {"Authorization": f"Bearer {short['token']}"}).start()
    assert reader.next()["event"] == "config"
    assert reader.next(timeout=5)["event"] == "revoked"


def test_a_long_poll_ends_when_its_token_expires(team_setup, server, internal):
    org = team_setup
    short = internal.post("/internal/tokens/exchange", json={"org_id": org.org_id, "team_node_id": "sre",
        "ttl_seconds": 1}).json()
    etag = _get(server, short["token"]).json()["etag"]
    started = time.monotonic()
    response = _get(server, short["token"], headers={"If-None-Match": f'"{etag}"'}, params={"wait": 30}, timeout=40)
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    assert time.monotonic() - started < 3, "answered when the token expired, not when the wait ended"


def test_watchers_per_token_are_capped(team_setup, server):
    org = team_setup
    token = org.token("sre")
    readers = [SSEReader(server.api + "/config/me/watch",
        {"Authorization": f"Bearer {token}"}).start() for _ in range(10)]
    for reader in readers:
        reader.next()
    over = httpx.get(server.api + "/config/me/watch", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert over.status_code == 429 and "retry-after" in over.headers
    org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/" +
                   org.admin.get(f"/admin/orgs/{org.org_id}/teams/sre/tokens").json()["items"][0]["id"] + "/revoke")


def test_event_committing_after_a_later_one_is_not_skipped(team_setup, server, database_url):
    """A transaction writes an event (lower id), another commits a later event first; the
    instance must still apply the first one when it commits."""
    org = team_setup
    token = org.token("sre")
    old = _get(server, token).json()
    with psycopg.connect(libpq_url(database_url)) as slow:
        slow.execute(
            "UPDATE node_configurations "
            "SET config_json = config_json || '{\"late\": true}'::jsonb, version = version + 1 "
            "WHERE org_id = %s AND node_id = 'sre'", (org.org_id,)
        )
        slow.execute(
            "WITH e AS (INSERT INTO audit_events (org_id, actor, action, target_type, target_id, details) "
            "VALUES (%s, 'test', 'config.written', 'node', 'sre', '{}') RETURNING id) "
            "SELECT pg_notify('config_service_changes', id::text) FROM e", (org.org_id,)
        )
        # a later event commits first and is read by the instance
        assert org.patch("web", {"later": True}).status_code == 200
        assert _get(server, token).json()["etag"] == old["etag"]  # still cached, the slow one is not committed
        slow.commit()
    wait_until(lambda: _get(server, token).json()["effective_config"].get("late") is True, timeout=3)


def test_feed_reconnects_and_replays(team_setup, server, server_b, db):
    org = team_setup
    token = org.token("sre")
    old = _get(server_b, token).json()["etag"]
    killed = db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE 'LISTEN config_service_changes%%' "
        "AND datname = current_database()"
    ).fetchall()
    assert killed, "the listeners are visible in pg_stat_activity"
    assert org.patch("sre", {"after_reconnect": 1}).status_code == 200
    wait_until(lambda: _get(server_b, token).json()["etag"] != old, timeout=5)


def test_cache_disabled_reads_the_database(database_url, server_keys, tmp_path, team_setup, db):
    env = clean_env() | server_keys | {"CONFIG_SERVICE_ENV": "production", "DATABASE_URL": database_url,
        "CACHE_ENABLED": "false"}
    uncached = ServerProcess(env=env, log_path=tmp_path / "uncached.log").start()
    try:
        org = team_setup
        token = org.token("sre")
        _get(uncached, token)
        db.execute(
            "UPDATE node_configurations SET config_json = '{\"direct\": 1}'::jsonb "
            "WHERE org_id = %s AND node_id = 'sre'",
            (org.org_id,),
        )
        assert _get(uncached, token).json()["effective_config"]["direct"] == 1
        # so does a write (the ancestors read in full, nothing kept): its etag is the one read back
        db.execute(
            "UPDATE node_configurations SET config_json = config_json || '{\"root_direct\": 2}'::jsonb "
            "WHERE org_id = %s AND node_id = %s",
            (org.org_id, org.org_id),
        )
        writer = org.token("sre", ["config:read", "config:write"])
        written = httpx.patch(uncached.api + "/config/me", headers={"Authorization": f"Bearer {writer}"},
                              json={"config": {"after": True}})
        assert written.status_code == 200, written.text
        read = _get(uncached, writer).json()
        assert read["etag"] == written.json()["etag"]
        assert read["effective_config"]["root_direct"] == 2 and read["effective_config"]["after"] is True
    finally:
        uncached.stop()


def test_fast_path_answers_exactly_like_the_route(team_setup, server):
    """The cached-read fast path and the framework route give the same answer."""
    org = team_setup
    org.patch("sre", {"cred": {"$secret": "fast-path-secret"}})
    for scopes in (None, ["config:read"]):
        token = org.token("sre", scopes=scopes)
        warm = _get(server, token)  # fills the caches (framework route)
        fast = _get(server, token)  # cache hit: the fast path
        routed = _get(server, token, params={"wait": 0})  # a query string always takes the route
        for response in (warm, fast, routed):
            assert response.status_code == 200
        assert fast.content == routed.content == warm.content
        for header in ("etag", "cache-control", "content-type"):
            assert fast.headers.get(header) == routed.headers.get(header), header
        etag = fast.headers["etag"]
        assert _get(server, token, headers={"If-None-Match": etag}).status_code == 304
    masked = _get(server, token).json()["effective_config"]["cred"]
    assert masked == "********"
    # a token without config:read never gets the body, cached or not
    no_read = org.token("sre", scopes=["runs:write"])
    for _ in range(2):
        assert _get(server, no_read).status_code == 403
    assert _get(server, "garbage.token.value").status_code == 401
    metrics = httpx.get(server.url + "/metrics").text
    assert 'route="/api/v1/config/me"' in metrics
