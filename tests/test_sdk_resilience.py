"""Retries, ETag caching and the last-known-good file, over real sockets: the real server, a
scripted local server (503 then 200, …), and a closed port."""

from __future__ import annotations

import json
import os
import stat

import pytest

import config_service_client as sdk
from tests.sdk_support import LocalServer, Reply, Seen, proxy
from tests.support import free_port

ME = {"role": "team", "auth_kind": "team", "org_id": "o", "team_node_id": "n", "subject": "t", "can_write": False,
      "scopes": ["config:read"], "permissions": [], "added_later": "ignored"}
RUN = {"id": "7b0d4c36-4f7e-4b7e-9d3e-1a2b3c4d5e6f", "org_id": "o", "team_node_id": "n", "agent_name": "a",
       "status": "running", "input_message": None, "output": None, "duration_seconds": None,
       "created_at": "2026-01-01T00:00:00Z", "completed_at": None, "correlation_id": None, "trigger_source": None,
       "idempotency_key": "k", "config_version": "e", "config_versions": None, "metadata": None}
WRITE = {"org_id": "o", "node_id": "n", "version": 2, "etag": "e2", "changed": True, "config": {"a": 1}}


def scripted(*replies: Reply) -> LocalServer:
    """Answers with `replies` in order, then repeats the last one."""
    queue = list(replies)

    def respond(seen: Seen) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return LocalServer(respond)


def fast(url: str, **extra) -> sdk.Client:
    return sdk.Client(url, "o.n.token", backoff=0.01, **extra)


def test_503_then_200_is_retried_honouring_retry_after():
    with scripted(Reply(503, {"code": "unavailable", "detail": "busy"}, {"Retry-After": "0"}),
                  Reply(429, {"code": "rate_limited", "detail": "slow"}, {"Retry-After": "0"}), Reply(200, ME)) as s:
        me = fast(s.url).whoami()
    assert me.team_node_id == "n" and not hasattr(me, "added_later")  # unknown fields ignored
    assert s.replies == [503, 429, 200]


def test_a_retry_after_beyond_the_limit_is_not_waited_for():
    with scripted(Reply(503, {"code": "unavailable", "detail": "busy"}, {"Retry-After": "120"}), Reply(200, ME)) as s:
        with pytest.raises(sdk.ServiceUnavailable) as caught:
            fast(s.url, max_retry_after=60).whoami()
    assert caught.value.retry_after == 120 and s.replies == [503]


def test_retries_end_with_the_typed_error():
    with scripted(Reply(503, {"code": "unavailable", "detail": "busy"})) as s:
        with pytest.raises(sdk.ServiceUnavailable):
            fast(s.url, retries=2).whoami()
    assert s.replies == [503, 503, 503]  # the first attempt and two retries, with jittered backoff


def test_a_write_is_retried_only_when_safe():
    busy = Reply(503, {"code": "unavailable", "detail": "busy"}, {"Retry-After": "0"})
    with scripted(busy, Reply(200, WRITE)) as s:
        with pytest.raises(sdk.ServiceUnavailable):
            fast(s.url).patch({"a": 1})  # no If-Match: sending it twice could apply it twice
    assert s.replies == [503]
    with scripted(busy, Reply(200, WRITE)) as s:
        assert fast(s.url).patch({"a": 1}, if_match="v1").version == 2
    assert s.replies == [503, 200] and s.seen[1].headers["if-match"] == '"v1"'
    with scripted(busy, Reply(201, RUN)) as s:
        run = fast(s.url).start_run("a")
    assert run.status == "running" and s.replies == [503, 201]
    keys = {seen.headers["idempotency-key"] for seen in s.seen}
    assert len(keys) == 1 and keys != {""}  # the retry is the same create


def test_an_unknown_problem_code_maps_to_its_status_class():
    with scripted(Reply(409, {"code": "brand_new_conflict", "detail": "newer server"})) as s:
        with pytest.raises(sdk.Conflict) as caught:
            fast(s.url).whoami()
    assert type(caught.value) is sdk.Conflict and caught.value.code == "brand_new_conflict"
    with scripted(Reply(502, b"<html>bad gateway</html>", {"Content-Type": "text/html"})) as s:
        with pytest.raises(sdk.ServerError) as gateway:
            fast(s.url).whoami()
    assert gateway.value.status == 502 and "bad gateway" in gateway.value.detail


def test_an_unreachable_service_is_a_connection_error():
    client = fast(f"http://127.0.0.1:{free_port()}", retries=1)
    with pytest.raises(sdk.ConnectionFailed):
        client.whoami()


def test_reads_are_cached_by_etag(org):
    org.add_node("sre")
    token = org.token("sre")
    with proxy(org.server.url) as p:
        client = sdk.Client(p.url, token)
        first = client.effective()
        second = client.effective()
        assert second == first and second is not first
        assert p.replies == [200, 304]
        assert p.seen[1].headers["if-none-match"] == f'"{first.etag}"'
        org.patch("sre", {"model": "new"})
        third = client.effective()
        assert p.replies[-1] == 200 and third.effective_config == {"model": "new"}
        client.effective(masked=True)  # another URL, another cache entry: a full answer
        assert p.replies[-1] == 200 and "if-none-match" not in p.seen[-1].headers


def test_last_known_good_file(org, tmp_path):
    org.add_node("sre")
    org.patch("sre", {"model": "gpt-4o", "key": {"$secret": "plain-secret"}})
    token = org.token("sre")
    path = tmp_path / "state" / "lkg.json"
    view = sdk.Client(org.server.url, token, last_known_good=path).effective()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert saved["view"]["effective_config"] == {"model": "gpt-4o", "key": "plain-secret"}  # what the token reads
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temp file left behind

    offline = sdk.Client(f"http://127.0.0.1:{free_port()}", token, last_known_good=path, retries=0)
    stale = offline.effective()
    assert stale.stale is True and stale.saved_at is not None
    assert stale.effective_config == view.effective_config and stale.etag == view.etag

    with pytest.raises(sdk.ConnectionFailed):  # another node's token never gets this node's config
        sdk.Client(offline.base_url, org.token(org.org_id), last_known_good=path, retries=0).effective()
    with pytest.raises(sdk.ConnectionFailed):
        sdk.Client(offline.base_url, token, retries=0).effective()


def test_last_known_good_is_never_widened_and_follows_changes(org, tmp_path):
    org.add_node("sre")
    token = org.token("sre")
    path = tmp_path / "lkg.json"
    client = sdk.Client(org.server.url, token, last_known_good=path)
    client.effective()
    os.chmod(path, 0o400)
    org.patch("sre", {"model": "v2"})
    client.effective()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
    assert json.loads(path.read_text())["view"]["effective_config"] == {"model": "v2"}
    with scripted(Reply(503, {"code": "unavailable", "detail": "down"})) as s:
        stale = sdk.Client(s.url, token, last_known_good=path, retries=0).effective()
    assert stale.stale and stale.effective_config == {"model": "v2"}
