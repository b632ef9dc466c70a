"""Master-key rotation with the service running (DESIGN §8): rewrap, then re-encrypt, under load."""

from __future__ import annotations

import base64
import secrets as pysecrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg

from config_service import bootstrap
from config_service.db.urls import libpq_url
from config_service.kit import crypto
from config_service.kit.secret_leaves import MASK
from tests.support import ROOT, ServerProcess, clean_env, new_keys


def rotate(database_url: str, new: str, old: str, *extra: str) -> subprocess.CompletedProcess:
    env = clean_env() | {"DATABASE_URL": database_url, "SECRETS_KEY": new, "SECRETS_KEY_PREVIOUS": old,
                         "CONFIG_SERVICE_ENV": "production"}
    return subprocess.run([sys.executable, "-m", "config_service", "secrets", "rotate-key", *extra],
                          env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=120)


def test_rotate_master_key_under_load(fresh_database: str, tmp_path: Path) -> None:
    bootstrap.upgrade(fresh_database)
    keys = new_keys()
    old_key, new_key = keys["SECRETS_KEY"], base64.b64encode(pysecrets.token_bytes(32)).decode()
    base_env = clean_env() | keys | {"DATABASE_URL": fresh_database, "CONFIG_SERVICE_ENV": "production"}
    first = ServerProcess(env=base_env, log_path=tmp_path / "first.log").start()
    admin_headers = {"Authorization": f"Bearer {keys['ADMIN_TOKEN']}"}
    org_secret, team_secret = "org-" + pysecrets.token_hex(8), "team-" + pysecrets.token_hex(8)
    with httpx.Client(base_url=first.api, headers=admin_headers, timeout=30) as admin:
        for org_id in ("rot-a", "rot-b"):
            assert admin.post("/admin/orgs", json={"org_id": org_id}).status_code == 201
            assert admin.post(f"/admin/orgs/{org_id}/nodes", json={"node_id": "sre"}).status_code == 201
            assert admin.patch(f"/admin/orgs/{org_id}/nodes/{org_id}/config", json={"config": {
                "integrations": {"openai": {"api_key": org_secret}}}}).status_code == 200
            assert admin.patch(f"/admin/orgs/{org_id}/nodes/sre/config", json={"config": {
                "deploy": {"token": {"$secret": team_secret}}}}).status_code == 200
        token = admin.post("/admin/orgs/rot-a/teams/sre/tokens",
                           json={"scopes": ["config:read", "config:write", "secrets:read"]}).json()["token"]
    # Rolling deploy: the new master key, the old one as previous; then the old instance goes.
    second = ServerProcess(
        env=base_env | {"SECRETS_KEY": new_key, "SECRETS_KEY_PREVIOUS": old_key, "CACHE_ENABLED": "false"},
        log_path=tmp_path / "second.log",
    ).start()
    first.stop()

    stop = threading.Event()
    problems: list[str] = []
    reads = [0]
    written: list[str] = []

    def reader() -> None:
        with httpx.Client(base_url=second.api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as team:
            while not stop.is_set():
                response = team.get("/config/me")
                if response.status_code != 200:
                    problems.append(f"read {response.status_code}")
                    continue
                effective = response.json()["effective_config"]
                integration_key = effective["integrations"]["openai"]["api_key"]
                if integration_key != org_secret or effective["deploy"]["token"] != team_secret:
                    problems.append("a read lost its plaintext")
                rolling = effective.get("rolling")
                if rolling is not None and not rolling.startswith("roll-"):
                    problems.append("a rolling secret did not open")
                reads[0] += 1

    def writer() -> None:
        with httpx.Client(base_url=second.api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as team:
            i = 0
            while not stop.is_set():
                value = f"roll-{i}-{pysecrets.token_hex(4)}"
                response = team.patch("/config/me", json={"config": {"rolling": {"$secret": value}, "n": i}})
                if response.status_code != 200:
                    problems.append(f"write {response.status_code}: {response.text[:200]}")
                else:
                    written.append(value)
                i += 1

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        result = rotate(fresh_database, new_key, old_key)
        assert result.returncode == 0, result.stderr
        assert "rewrapped 2 org keys" in result.stdout
        time.sleep(0.3)
        result = rotate(fresh_database, new_key, old_key, "--reencrypt")
        assert result.returncode == 0, result.stderr
        assert "0 already" not in result.stdout and "in 2 orgs" in result.stdout
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        second.stop()
    assert problems == []
    assert reads[0] > 20 and len(written) > 3

    new_master = crypto.MasterKey.from_b64(new_key)
    with psycopg.connect(libpq_url(fresh_database)) as conn:
        rows = conn.execute("SELECT org_id, key_id, wrapped_key FROM org_keys ORDER BY org_id").fetchall()
        assert [r[0] for r in rows] == ["rot-a", "rot-b"]  # re-encryption left one key per org
        assert all(crypto.wrapped_by(r[2]) == new_master.kid for r in rows)
        stored = conn.execute("SELECT config_json::text FROM node_configurations WHERE org_id = 'rot-a'").fetchall()
        key_a = rows[0][1]
        assert all(f"$enc:v1:{key_a}:" in text for (text,) in stored if "$enc:" in text)

    # The old master key is dropped: a fresh process with only the new one reads the same plaintext.
    third = ServerProcess(env=base_env | {"SECRETS_KEY": new_key}, log_path=tmp_path / "third.log").start()
    try:
        with httpx.Client(base_url=third.api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as team:
            effective = team.get("/config/me").json()["effective_config"]
            assert effective["integrations"]["openai"]["api_key"] == org_secret
            assert effective["deploy"]["token"] == team_secret
            assert effective["rolling"] == written[-1]
            # history survived re-encryption: restoring an old secret brings its plaintext back
            history = team.get("/config/me/history", params={"limit": 3}).json()["items"]
            response = team.post("/config/me/rollback", json={"version": history[-1]["version"],
                "restore_secrets": True})
            assert response.status_code == 200, response.text
            assert team.get("/config/me").json()["effective_config"]["rolling"] in written
    finally:
        third.stop()
    # …and a process with only the old master key can no longer open anything.
    stale = ServerProcess(env=base_env, log_path=tmp_path / "stale.log").start()
    try:
        with httpx.Client(base_url=stale.api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as team:
            response = team.get("/config/me")
            assert response.status_code == 200
            assert response.json()["effective_config"]["deploy"]["token"] == MASK
            assert team_secret not in response.text
    finally:
        stale.stop()


def test_reencryption_is_audited_and_refreshes_every_cached_etag(fresh_database: str, tmp_path: Path) -> None:
    """Etags are over envelopes (DESIGN §8, no oracle), so a re-encryption changes them: it writes
    a `secrets.reencrypted` event per org, which drops the running instances' cached views, so a
    client that re-reads gets a tag its `If-Match` write is accepted with."""
    bootstrap.upgrade(fresh_database)
    keys = new_keys()
    env = clean_env() | keys | {"DATABASE_URL": fresh_database, "CONFIG_SERVICE_ENV": "production"}
    server = ServerProcess(env=env, log_path=tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {keys['ADMIN_TOKEN']}"},
                          timeout=30) as admin:
            assert admin.post("/admin/orgs", json={"org_id": "re-a"}).status_code == 201
            assert admin.post("/admin/orgs/re-a/nodes", json={"node_id": "sre"}).status_code == 201
            assert admin.patch("/admin/orgs/re-a/nodes/re-a/config", json={"config": {
                "deploy": {"token": {"$secret": "s-" + pysecrets.token_hex(8)}}}}).status_code == 200
            token = admin.post("/admin/orgs/re-a/teams/sre/tokens",
                               json={"scopes": ["config:read", "config:write"]}).json()["token"]
            with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as team:
                before = team.get("/config/me").json()["etag"]
                assert team.get("/config/me").json()["etag"] == before  # cached now
                result = rotate(fresh_database, keys["SECRETS_KEY"], keys["SECRETS_KEY"], "--reencrypt")
                assert result.returncode == 0, result.stderr
                deadline = time.monotonic() + 5
                while (after := team.get("/config/me").json()["etag"]) == before and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert after != before, "the cached view was dropped"
                write = team.patch("/config/me", json={"config": {"n": 1}}, headers={"If-Match": f'"{after}"'})
                assert write.status_code == 200, write.text
            events = admin.get("/admin/orgs/re-a/audit", params={"action": "secrets.reencrypted"}).json()["items"]
            assert len(events) == 1 and events[0]["target_id"] == "re-a"
            assert events[0]["details"] == {"secrets": 1}
    finally:
        server.stop()
