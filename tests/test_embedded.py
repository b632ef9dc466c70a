"""Development with the embedded PostgreSQL (DESIGN §3, §11), through real `serve` processes.

Each test has its own data dir and working directory, so it starts (and must stop) its own
private PostgreSQL server; the assertions look at the real postmaster processes.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, clean_env, postmasters, unique_id, wait_for


def dev_env(data_dir: Path | None) -> dict[str, str]:
    env = clean_env() | {"CONFIG_SERVICE_ENV": "development", "LOG_LEVEL": "INFO"}
    if data_dir is not None:
        env["CONFIG_SERVICE_DATA_DIR"] = str(data_dir)
    return env


def start(tmp: Path, name: str, data_dir: Path | None, cwd: Path, *, wait: bool = True) -> ServerProcess:
    proc = ServerProcess(env=dev_env(data_dir), log_path=tmp / f"{name}.log")
    return proc.start(wait=wait, cwd=cwd, timeout=90)


def printed_admin_token(server: ServerProcess) -> str:
    match = re.search(r"Admin token:\s*(\S+)", server.log_text())
    assert match, server.log_text()
    return match.group(1)


def signal_and_wait(server: ServerProcess, sig: int) -> int:
    assert server.proc is not None
    server.proc.send_signal(sig)
    try:
        return server.proc.wait(30)
    finally:
        server._log.close()


def create_org(server: ServerProcess, token: str) -> str:
    org_id = unique_id("emb")
    response = httpx.post(
        server.api + "/admin/orgs", json={"org_id": org_id}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 201, response.text
    return org_id


def org_exists(server: ServerProcess, token: str, org_id: str) -> bool:
    response = httpx.get(server.api + f"/admin/orgs/{org_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


@pytest.fixture()
def kill_leftovers():
    """Whatever a failing test leaves running on its data dirs is stopped afterwards."""
    dirs: list[Path] = []
    yield dirs
    for pgdata in dirs:
        for pid in postmasters(pgdata):
            subprocess.run(["kill", "-TERM", str(pid)], check=False)


def test_lifecycle_secrets_reuse_stop_and_recovery(tmp_path: Path, kill_leftovers) -> None:
    data_dir = tmp_path / "data"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    pgdata = data_dir / "pgdata"
    kill_leftovers.append(pgdata)

    # Run 1: a private server in the data dir, secrets generated once, admin token printed.
    run1 = start(tmp_path, "run1", data_dir, cwd)
    assert (pgdata / "PG_VERSION").exists()
    assert len(postmasters(pgdata)) == 1
    secrets_file = data_dir / "dev-secrets.json"
    stored = json.loads(secrets_file.read_text())
    assert set(stored) == {"admin_token", "token_pepper", "secrets_key"}
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
    token = printed_admin_token(run1)
    assert token == stored["admin_token"]
    assert not (cwd / ".config-service").exists()  # CONFIG_SERVICE_DATA_DIR was honoured
    ready = httpx.get(run1.url + "/ready").json()
    assert ready["database"] == "ok" and ready["status"] == "ok"  # migrated by serve itself
    org_id = create_org(run1, token)

    # SIGTERM: the service stops, and so does its PostgreSQL.
    assert signal_and_wait(run1, signal.SIGTERM) == 0, run1.log_text()[-3000:]
    assert wait_for(lambda: not postmasters(pgdata)), "postmaster still running after SIGTERM"

    # Run 2: the same secrets (not regenerated), the same data; SIGINT stops everything too.
    run2 = start(tmp_path, "run2", data_dir, cwd)
    assert printed_admin_token(run2) == token
    assert json.loads(secrets_file.read_text()) == stored
    assert org_exists(run2, token, org_id)
    assert not org_exists(run2, token, "no-such-org-" + org_id)
    assert signal_and_wait(run2, signal.SIGINT) == 0, run2.log_text()[-3000:]
    assert wait_for(lambda: not postmasters(pgdata)), "postmaster still running after SIGINT"

    # Run 3 is killed outright: its PostgreSQL is left behind with a stale handle.
    run3 = start(tmp_path, "run3", data_dir, cwd)
    org_3 = create_org(run3, token)
    assert run3.proc is not None
    run3.proc.kill()
    run3.proc.wait(10)
    run3._log.close()
    assert len(postmasters(pgdata)) == 1

    # Run 4 recovers: it works, the data is there, and a normal exit stops the server.
    run4 = start(tmp_path, "run4", data_dir, cwd)
    assert len(postmasters(pgdata)) == 1
    assert org_exists(run4, token, org_id) and org_exists(run4, token, org_3)
    assert run4.stop() == 0, run4.log_text()[-3000:]
    assert wait_for(lambda: not postmasters(pgdata)), "postmaster still running after recovery run exited"


def test_two_processes_share_one_server(tmp_path: Path, kill_leftovers) -> None:
    # No CONFIG_SERVICE_DATA_DIR: the default ./.config-service of the working directory.
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    pgdata = cwd / ".config-service" / "pgdata"
    kill_leftovers.append(pgdata)

    first = start(tmp_path, "a", None, cwd, wait=False)
    second = start(tmp_path, "b", None, cwd, wait=False)
    try:
        first.wait_ready(90)
        second.wait_ready(90)
        assert first.port != second.port
        assert len(postmasters(pgdata)) == 1
        token = printed_admin_token(first)
        assert printed_admin_token(second) == token
        org_id = create_org(first, token)
        assert org_exists(second, token, org_id)

        # The first to leave must not stop the server under the other.
        assert first.stop() == 0
        assert len(postmasters(pgdata)) == 1
        assert httpx.get(second.url + "/ready").status_code == 200
        assert org_exists(second, token, create_org(second, token))
    finally:
        first.stop()
        second.stop()
    assert wait_for(lambda: not postmasters(pgdata)), "postmaster still running after both processes exited"
