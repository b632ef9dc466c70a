"""Concurrent writes to one node never lose an update (DESIGN §6: writes to one node are serialised)."""

from __future__ import annotations

import asyncio

import httpx

N = 40


async def _fire(server, headers: dict, url: str, bodies: list[dict]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx.AsyncClient(base_url=server.api, headers=headers, timeout=60, limits=limits) as client:
        start = asyncio.Event()

        async def one(body: dict) -> httpx.Response:
            await start.wait()
            return await client.patch(url, json=body)

        tasks = [asyncio.create_task(one(body)) for body in bodies]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.gather(*tasks)


def test_forty_concurrent_patches_of_distinct_keys_all_land(org, db, server):
    org.add_node("sre")
    org.patch("sre", {"base": True})  # v2
    bodies = [{"config": {f"key{i:02d}": i, "nested": {f"k{i:02d}": True}}, "reason": f"writer {i}"} for i in range(N)]
    responses = asyncio.run(_fire(server, dict(org.admin.headers), org.node_path("sre") + "/config", bodies))

    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses if r.status_code != 200][:3]
    assert all(r.json()["changed"] is True for r in responses)
    versions = sorted(r.json()["version"] for r in responses)
    assert versions == list(range(3, 3 + N))  # each write got its own version, none shared

    own = org.own("sre")
    assert own["version"] == 2 + N
    assert own["config"] == {
        "base": True,
        **{f"key{i:02d}": i for i in range(N)},
        "nested": {f"k{i:02d}": True for i in range(N)},
    }
    history = db.execute(
        "SELECT version, reason FROM node_config_versions "
        "WHERE org_id = %s AND node_id = 'sre' AND version > 2 ORDER BY version",
        (org.org_id,),
    ).fetchall()
    assert [v for v, _ in history] == list(range(3, 3 + N))
    assert sorted(reason for _, reason in history) == sorted(f"writer {i}" for i in range(N))
    events = db.execute(
        "SELECT count(*), count(DISTINCT details->>'version') FROM audit_events "
        "WHERE org_id = %s AND target_id = 'sre' AND action = 'config.written'",
        (org.org_id,),
    ).fetchone()
    assert events == (N + 1, N + 1)
    page = org.admin.get(org.node_path("sre") + "/history", params={"limit": 500}).json()
    assert len(page["items"]) == N + 2

    # each version row is exactly its predecessor plus one key: the diffs chain without gaps
    rows = db.execute(
        "SELECT version, config_json FROM node_config_versions WHERE org_id = %s AND node_id = 'sre' ORDER BY version",
        (org.org_id,),
    ).fetchall()
    for (_, before), (_, after) in zip(rows[1:], rows[2:], strict=False):
        assert len(after) - len(before) in (0, 1, 2)
        assert set(before) <= set(after)
        assert len(after["nested"]) == len(before.get("nested", {})) + 1


def test_concurrent_team_and_admin_writes_with_json_patch(org, db, server):
    org.add_node("sre")
    token = org.token("sre", scopes=["config:read", "config:write"])
    ops = [[{"op": "add", "path": f"/t{i}", "value": i}] for i in range(10)]

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.api, timeout=60) as client:
            team = [
                client.patch("/config/me", content=httpx.Request("PATCH", "/", json=op).content,
                             headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/json-patch+json"})
                for op in ops
            ]
            admin = [
                client.patch(org.node_path("sre") + "/config", json={"config": {f"a{i}": i}},
                    headers=dict(org.admin.headers))
                for i in range(10)
            ]
            return await asyncio.gather(*team, *admin)

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 20
    own = org.own("sre")
    assert own["version"] == 21
    assert own["config"] == {**{f"t{i}": i for i in range(10)}, **{f"a{i}": i for i in range(10)}}
