"""`watch()` against the real server: SSE, the long-poll fallback behind a proxy that refuses
SSE, `revoked` / `gone`, the async iterator; and the run context managers."""

from __future__ import annotations

import asyncio
import queue
import threading

import pytest

import config_service_client as sdk
from tests.sdk_support import proxy


def watch_in_thread(stream, out: queue.Queue) -> threading.Thread:
    def pump() -> None:
        try:
            for view in stream:
                out.put(view)
        except Exception as exc:  # noqa: BLE001 - handed to the test
            out.put(exc)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def test_watch_yields_now_then_each_change_over_sse(org):
    org.add_node("sre")
    org.patch("sre", {"model": "a"})
    with proxy(org.server.url) as p:
        client = sdk.Client(p.url, org.token("sre"))
        out: queue.Queue = queue.Queue()
        watch_in_thread(client.watch(), out)
        first = out.get(timeout=15)
        assert first.effective_config == {"model": "a"} and first.hierarchy == [org.org_id, "sre"]
        org.patch("sre", {"model": "b"})
        second = out.get(timeout=15)
        assert second.effective_config == {"model": "b"} and second.version == first.version + 1
        assert second.node_id == "sre" and second.api_json["etag"] == second.etag
        watches = [s for s in p.seen if s.path.startswith("/api/v1/config/me/watch")]
        assert watches and watches[0].headers["last-event-id"] == first.etag  # it resumes from what it read
        assert all(not s.path.startswith("/api/v1/config/me?") for s in p.seen)  # no long poll needed


@pytest.mark.parametrize("refusal", [405, 501])
def test_watch_falls_back_to_long_poll_when_sse_is_refused(org, refusal):
    org.add_node("sre")
    with proxy(org.server.url, refuse_sse=refusal) as p:
        client = sdk.Client(p.url, org.token("sre"))
        out: queue.Queue = queue.Queue()
        watch_in_thread(client.watch(), out)
        first = out.get(timeout=15)
        org.patch("sre", {"model": "polled"})
        second = out.get(timeout=20)
        assert second.effective_config == {"model": "polled"} and second.etag != first.etag
        polls = [s for s in p.seen if s.path.startswith("/api/v1/config/me?")]
        assert polls and "wait=" in polls[0].path and polls[0].headers["if-none-match"] == f'"{first.etag}"'
        assert refusal in p.replies


def test_watch_long_polls_when_a_proxy_buffers_the_stream(org):
    org.add_node("sre")
    with proxy(org.server.url, buffer_sse=True) as p:
        client = sdk.Client(p.url, org.token("sre"))
        out: queue.Queue = queue.Queue()
        watch_in_thread(client.watch(stream_timeout=1.0), out)
        first = out.get(timeout=15)
        org.patch("sre", {"model": "through the poll"})
        assert out.get(timeout=20).effective_config == {"model": "through the poll"}
        assert any(s.path.startswith("/api/v1/config/me?") and "wait=" in s.path for s in p.seen)
        assert first.etag


def test_watch_stops_with_a_typed_error_when_revoked_or_gone(org):
    org.add_node("sre")
    issued = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={}).json()
    out: queue.Queue = queue.Queue()
    thread = watch_in_thread(sdk.Client(org.server.url, issued["token"]).watch(), out)
    out.get(timeout=15)
    org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{issued['id']}/revoke")
    assert isinstance(out.get(timeout=15), sdk.WatchRevoked)
    thread.join(5)

    org.add_node("tmp")
    out = queue.Queue()
    watch_in_thread(sdk.Client(org.server.url, org.token("tmp")).watch(), out)
    out.get(timeout=15)
    org.admin.delete(org.node_path("tmp"))
    closed = out.get(timeout=15)
    assert isinstance(closed, sdk.WatchClosed)  # deleting revokes the token too: `revoked` or `gone`


def test_admin_node_watch(org, server_keys):
    org.add_node("sre")
    out: queue.Queue = queue.Queue()
    watch_in_thread(sdk.Client(org.server.url, server_keys["ADMIN_TOKEN"]).node_watch(org.org_id, "sre"), out)
    assert out.get(timeout=15).effective_config == {}
    org.patch(org.org_id, {"inherited": True})
    assert out.get(timeout=15).effective_config == {"inherited": True}


async def test_async_watch(org):
    org.add_node("sre")
    async with sdk.AsyncClient(org.server.url, org.token("sre")) as client:
        stream = client.watch(masked=True)
        first = await asyncio.wait_for(stream.__anext__(), 15)
        await asyncio.to_thread(org.patch, "sre", {"secret": {"$secret": "hidden"}})
        second = await asyncio.wait_for(stream.__anext__(), 15)
        assert first.etag != second.etag and second.effective_config == {"secret": "********"}
        await stream.aclose()


def test_run_context_manager_success_and_error(org):
    org.add_node("sre")
    org.patch("sre", {"model": "m"})
    client = sdk.Client(org.server.url, org.token("sre"))
    with client.run("planner", input_message="triage INC-1") as run:
        assert run.config is not None and run.config.effective_config == {"model": "m"}
        run.output = "rolled back"
    done = client.get_run(run.id)
    assert (done.status, done.output, done.agent_name) == ("success", "rolled back", "planner")
    assert done.config_version == run.config.etag
    with pytest.raises(RuntimeError, match="tool exploded"):
        with client.run("planner") as failing:
            raise RuntimeError("tool exploded")
    failed = client.get_run(failing.id)
    assert failed.status == "error" and failed.output == "tool exploded"
    assert client.run_config(run.id).effective_config == {"model": "m"}
    listed = client.runs(agent_name="planner")
    assert listed.total == 2 and {r.id for r in listed.runs} == {run.id, failing.id}
    stats = client.run_stats()
    assert stats.by_status.get("success") == 1 and stats.by_status.get("error") == 1
    assert stats.agents["planner"].by_status.get("error") == 1


def test_start_and_finish_run_explicitly(org):
    org.add_node("sre")
    client = sdk.Client(org.server.url, org.token("sre"))
    started = client.start_run("triage", idempotency_key="inc-42", trigger_source="slack")
    again = client.start_run("triage", idempotency_key="inc-42", trigger_source="slack")
    assert again.id == started.id
    finished = client.finish_run(started.id, "timeout", output="gave up")
    assert finished.status == "timeout"
    with pytest.raises(sdk.RunFinished):
        client.finish_run(started.id)


async def test_async_run_context_manager(org):
    org.add_node("sre")
    async with sdk.AsyncClient(org.server.url, org.token("sre")) as client:
        async with client.run("async-agent") as run:
            run.output = "ok"
        with pytest.raises(ValueError):
            async with client.run("async-agent") as failing:
                raise ValueError("bad input")
        assert (await client.get_run(run.id)).status == "success"
        assert (await client.get_run(failing.id)).output == "bad input"
