"""`make bench`: the benchmark of issue 5 (see docs/PERFORMANCE.md).

Creates a bench database (on DATABASE_URL's server, else the embedded PostgreSQL of the tests),
seeds the workload, starts the service as single processes (cached, uncached, and a second
cached instance for the watchers) and the bare-ASGI control, drives them with wrk, prints a
table and writes bench/results.json. The database is dropped at the end.

Environment: BENCH_SECONDS (per scenario, default 15), BENCH_WARMUP (default 2),
BENCH_THREADS (wrk threads, default 2), BENCH_UNCACHED_CONNECTIONS (default 1),
BENCH_WATCH_WRITES (default 200; the watch stops writing after 6 × BENCH_SECONDS),
BENCH_SCALE_TEAMS (default 10000), BENCH_LOG_LEVEL (service LOG_LEVEL, default INFO),
BENCH_STRICT=1 (exit 1 when a target is missed), BENCH_KEEP_LOGS=1 (keep the server logs),
BENCH_ONLY (a comma list of reads, write, watch, scale, transfer: run only these groups),
BENCH_TRANSFER_RUNS (timed runs of each transfer scenario, default 5).
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from bench import transfer, watch, workload, wrk
from bench.report import TARGETS, Row, judge, table, write_json
from config_service import bootstrap
from config_service.db.urls import libpq_url
from tests.support import (
    ROOT,
    ServerProcess,
    admin_database_url,
    clean_env,
    create_database,
    drop_database,
    free_port,
    new_keys,
)

RESULTS = ROOT / "bench" / "results.json"
TEAMS = 100  # the teams of the org, and the tokens the load rotates over
READ_CONNECTIONS = 32
WRITE_CONNECTIONS = 16
GROUPS = ("reads", "write", "watch", "scale", "transfer")


def env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


class Bench:
    def __init__(self) -> None:
        self.seconds = env_number("BENCH_SECONDS", 15)
        self.warmup = env_number("BENCH_WARMUP", 2)
        self.threads = int(env_number("BENCH_THREADS", 2))
        self.uncached_connections = int(env_number("BENCH_UNCACHED_CONNECTIONS", 1))
        self.watch_writes = int(env_number("BENCH_WATCH_WRITES", 200))
        self.watch_cap = max(10.0, 6 * self.seconds)  # seconds of writes at most
        self.scale_teams = int(env_number("BENCH_SCALE_TEAMS", 10_000))
        self.transfer_runs = max(1, int(env_number("BENCH_TRANSFER_RUNS", 5)))
        self.log_level = os.environ.get("BENCH_LOG_LEVEL", "INFO")
        only = {g.strip() for g in os.environ.get("BENCH_ONLY", "").split(",") if g.strip()}
        unknown = only - set(GROUPS)
        if unknown:
            raise SystemExit(f"bench: BENCH_ONLY names unknown groups {sorted(unknown)}; known: {', '.join(GROUPS)}")
        self.groups = only or set(GROUPS)
        self.workdir = Path(tempfile.mkdtemp(prefix="cs-bench-"))
        self.rows: list[Row] = []
        self.results: dict[str, dict] = {}
        self.rss: dict[str, dict] = {}
        self.failed = False
        self.servers: list[ServerProcess] = []
        self.control: subprocess.Popen | None = None
        self.started = time.monotonic()
        self.load_before = 0.0

    # ---- processes ---------------------------------------------------------------------

    def server(self, name: str, env: dict[str, str]) -> ServerProcess:
        proc = ServerProcess(env=env, log_path=self.workdir / f"{name}.log").start(timeout=60)
        self.servers.append(proc)
        self.log(f"{name} server on {proc.url} (pid {proc.proc.pid})")
        return proc

    def start_control(self, body: bytes, etag: str | None) -> str:
        body_file = self.workdir / "control-body.json"
        body_file.write_bytes(body)
        port = free_port()
        command = [sys.executable, "-m", "bench.control_app", "--port", str(port), "--body-file", str(body_file)]
        if etag:
            command.append(f"--etag={etag}")  # an etag may start with "-"
        log = open(self.workdir / "control.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.control = subprocess.Popen(command, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.control.poll() is not None:
                raise RuntimeError(f"control app exited with {self.control.returncode}")
            try:
                if httpx.get(url + "/", timeout=2).content == body:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("control app did not start")

    def stop_all(self) -> None:
        if self.control is not None and self.control.poll() is None:
            self.control.terminate()
            self.control.wait(10)
        for proc in self.servers:
            proc.stop()

    def record_rss(self, label: str, proc: ServerProcess) -> None:
        status = Path(f"/proc/{proc.proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        mb = {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}
        self.rss[label] = {"rss_mb": mb["VmRSS"], "peak_rss_mb": mb["VmHWM"]}

    def log(self, message: str) -> None:
        print(f"[bench {time.monotonic() - self.started:6.1f}s] {message}", flush=True)

    # ---- scenarios ---------------------------------------------------------------------

    def scenario(self, name: str, body: Callable[[], Row]) -> Row | None:
        """Run one scenario; an exception becomes an `error` row and the run goes on."""
        self.log(f"scenario {name} …")
        try:
            row = body()
        except Exception as exc:  # noqa: BLE001 - reported, and the run fails at the end
            self.failed = True
            row = Row(name, verdict="error", note=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            print(str(exc)[-3000:], file=sys.stderr)
        self.rows.append(row)
        self.results[name] = {"verdict": row.verdict, "target": row.target, "note": row.note, **row.data}
        self.log(f"scenario {name}: {row.verdict} rps={row.rps} p50={row.p50} p99={row.p99} {row.note}")
        return row

    def load(self, url: str, tokens: Path, *, connections: int, script: str = "read.lua",
        extra: list[str] | None = None,
             warm: bool = True) -> wrk.WrkResult:
        args = [str(tokens), *(extra or [])]
        if warm and self.warmup > 0:
            wrk.run(url, script, args, seconds=self.warmup, connections=connections, threads=self.threads)
        return wrk.run(url, script, args, seconds=self.seconds, connections=connections, threads=self.threads)

    def wrk_row(self, name: str, result: wrk.WrkResult, connections: int, target: str, checks: list[bool]) -> Row:
        verdict = judge(checks) if checks else "info"
        note = ""
        if result.error_count:
            verdict, note = "fail", f"{result.error_count} errors"
        data = {"connections": connections, **result.as_dict()}
        return Row(name, result.rps, result.ms("p50"), result.ms("p99"), target, verdict, note, data)

    # ---- the run -----------------------------------------------------------------------

    def run(self) -> int:
        if self.groups & {"reads", "write", "scale"} and not wrk.available():
            print("bench: wrk is not installed (apt-get install -y wrk; `make bench` does it)", file=sys.stderr)
            return 2
        load = os.getloadavg()[0]
        if load > 0.5:
            self.log(f"warning: load average {load:.2f} before the run: other work on this machine skews the figures")
        self.load_before = load
        admin_url = admin_database_url()
        database_url = create_database(admin_url, prefix="cs_bench")
        self.log(f"bench database created; work dir {self.workdir}")
        try:
            return self._run(database_url)
        except BaseException:
            self.failed = True
            raise
        finally:
            self.stop_all()
            drop_database(admin_url, database_url)
            self.log("bench database dropped")
            if not self.failed and not os.environ.get("BENCH_KEEP_LOGS"):
                shutil.rmtree(self.workdir, ignore_errors=True)
            else:
                self.log(f"server logs kept in {self.workdir}")

    def _run(self, database_url: str) -> int:
        bootstrap.upgrade(database_url)
        keys = new_keys()
        base_env = clean_env() | keys | {
            "CONFIG_SERVICE_ENV": "production", "DATABASE_URL": database_url, "LOG_LEVEL": self.log_level,
            "TOKEN_ISSUE_BURST": str(4 * TEAMS),  # the set-up issues 2 × TEAMS tokens in one org at once
            "MAX_CONNECTIONS_PER_CLIENT": "10000",  # every load generator here is one client address
        }
        cached = self.server("cached", base_env | {"CACHE_ENABLED": "true"})
        admin = httpx.Client(base_url=cached.api, timeout=30,
            headers={"Authorization": f"Bearer {keys['ADMIN_TOKEN']}"})
        body_bytes = 0
        if self.groups - {"transfer"}:
            body_bytes = self._load_groups(database_url, base_env, cached, admin, keys)
        if "transfer" in self.groups:
            self._transfer(admin)
        self.record_rss("cached_end", cached)
        admin.close()
        return self._finish(database_url, body_bytes)

    def _load_groups(self, database_url: str, base_env: dict[str, str], cached: ServerProcess, admin: httpx.Client,
                     keys: dict[str, str]) -> int:
        """The groups of issue 5 (reads, write, watch, scale) on the seeded workload; the size of a read."""
        # workload
        t0 = time.monotonic()
        workload.create_org(admin)
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            workload.seed_tree(conn, TEAMS)
        team_tokens = workload.issue_tokens(admin, [workload.team_id(n) for n in range(1, TEAMS + 1)])
        chain_tokens = workload.issue_tokens(admin, [workload.chain_leaf()] * TEAMS)
        teams_file, chain_file = self.workdir / "team-tokens.txt", self.workdir / "chain-tokens.txt"
        teams_file.write_text("\n".join(team_tokens) + "\n")
        chain_file.write_text("\n".join(chain_tokens) + "\n")
        elapsed = time.monotonic() - t0
        self.log(f"seeded {TEAMS} teams, {workload.UNITS} units, a chain of {workload.CHAIN_DEPTH} in {elapsed:.1f}s")

        uncached = self.server("uncached", base_env | {"CACHE_ENABLED": "false"})
        sample = httpx.get(cached.api + "/config/me", headers={"Authorization": f"Bearer {team_tokens[0]}"}, timeout=30)
        if sample.status_code != 200:
            raise RuntimeError(f"GET /config/me answered {sample.status_code}: {sample.text[:300]}")
        control_url = self.start_control(sample.content, sample.headers.get("etag", "").strip('"') or None)
        self.record_rss("cached_start", cached)

        if "reads" in self.groups:
            self._reads(control_url, cached, uncached, teams_file, chain_file)
        if "write" in self.groups:
            self._write(cached, teams_file)
        if "watch" in self.groups:
            self._watch(base_env, cached, keys["ADMIN_TOKEN"], team_tokens)
        if "scale" in self.groups:
            self._scale(database_url, cached, uncached, teams_file)
        self.record_rss("uncached_end", uncached)
        return len(sample.content)

    def _reads(self, control_url: str, cached: ServerProcess, uncached: ServerProcess, teams: Path,
        chain: Path) -> None:
        n = READ_CONNECTIONS
        control = self.scenario("control", lambda: self.wrk_row(
            "control", self.load(control_url, teams, connections=n), n, "—", []))

        def read_cached() -> Row:
            result = self.load(cached.url, teams, connections=n)
            target = TARGETS["read_cached"]
            control_rps = control.rps if control and control.rps else None
            ratio = result.rps / control_rps if control_rps else None
            row = self.wrk_row("read_cached", result, n,
                f"ratio ≥ {target['ratio_min']}, p99 ≤ {target['p99_ms_max']:g} ms",
                               [ratio is not None and ratio >= target["ratio_min"],
                                   result.ms("p99") <= target["p99_ms_max"]])
            row.data["ratio"] = round(ratio, 4) if ratio is not None else None
            ratio_note = f"ratio {ratio:.3f}" if ratio is not None else "no control"
            row.note = (row.note + "; " if row.note else "") + ratio_note
            return row

        self.scenario("read_cached", read_cached)
        self.record_rss("cached_after_reads", cached)
        u = self.uncached_connections
        self.scenario("read_uncached", lambda: self.wrk_row(
            "read_uncached", self.load(uncached.url, teams, connections=u), u, "— (scale baseline)", []))

        def depth8() -> Row:
            result = self.load(uncached.url, chain, connections=u)
            limit = TARGETS["read_uncached_depth8"]["p50_ms_max"]
            return self.wrk_row("read_uncached_depth8", result, u, f"p50 ≤ {limit:g} ms", [result.ms("p50") <= limit])

        self.scenario("read_uncached_depth8", depth8)

    def _write(self, cached: ServerProcess, teams: Path) -> None:
        def write() -> Row:
            n = WRITE_CONNECTIONS
            run_id = uuid.uuid4().hex[:8]
            result = self.load(cached.url, teams, connections=n, script="patch.lua", extra=[run_id])
            target = TARGETS["write"]
            return self.wrk_row("write", result, n, f"≥ {target['rps_min']:g}/s, p99 ≤ {target['p99_ms_max']:g} ms",
                                [result.rps >= target["rps_min"], result.ms("p99") <= target["p99_ms_max"]])

        self.scenario("write", write)

    def _watch(self, base_env: dict[str, str], cached: ServerProcess, admin_token: str, tokens: list[str]) -> None:
        limit = TARGETS["watch"]["p99_ms_max"]
        target = f"p99 ≤ {limit:g} ms"

        def measure() -> Row:
            second = self.server("watch", base_env | {"CACHE_ENABLED": "true"})
            try:
                data = asyncio.run(watch.measure(
                    second.url, cached.url, admin_token, workload.ORG, tokens, self.watch_writes, self.watch_cap))
            except watch.Unavailable as exc:
                return Row("watch", target=target, verdict="unavailable", note=str(exc))
            finally:
                self.record_rss("watch_instance", second)
                second.stop()
                self.servers.remove(second)
            lat = data["latency_ms"]
            checks = [lat["p99"] <= limit, data["missed"] == 0]
            note = f"{data['writes']} writes × {data['watchers']} watchers"
            note += f", {data['missed']} missed" if data["missed"] else ""
            if data["writes"] < data["writes_planned"]:
                note += f"; time cap {self.watch_cap:g}s"
            return Row("watch", data["events_per_second"], lat["p50"], lat["p99"], target, judge(checks), note, data)

        self.scenario("watch", measure)

    def _scale(self, database_url: str, cached: ServerProcess, uncached: ServerProcess, teams: Path) -> None:
        t0 = time.monotonic()
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn, conn.transaction():
            workload.add_teams(conn, TEAMS + 1, self.scale_teams, analyze=False)
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            conn.execute("ANALYZE")
        seeded = time.monotonic() - t0
        self.log(f"org grown to {self.scale_teams} teams in {seeded:.1f}s")
        growth = TARGETS["scale"]["p99_growth_max"]
        for name, server, baseline, connections in (
            ("scale_cached_10k", cached, "read_cached", READ_CONNECTIONS),
            ("scale_uncached_10k", uncached, "read_uncached", self.uncached_connections),
        ):
            base_p99 = self.results.get(baseline, {}).get("latency_ms", {}).get("p99")

            def scaled(name=name, server=server, baseline=baseline, connections=connections, base_p99=base_p99) -> Row:
                result = self.load(server.url, teams, connections=connections)
                ok = base_p99 is not None and result.ms("p99") <= growth * base_p99
                row = self.wrk_row(name, result, connections, f"p99 ≤ {growth:g} × {baseline} p99", [ok])
                row.data |= {"teams": self.scale_teams, "baseline": baseline, "baseline_p99_ms": base_p99,
                             "seed_seconds": round(seeded, 2)}
                if base_p99:
                    row.data["p99_growth"] = round(result.ms("p99") / base_p99, 3)
                    row.note = (row.note + "; " if row.note else "") + f"×{row.data['p99_growth']:.2f}"
                return row

            self.scenario(name, scaled)

    def _transfer(self, admin: httpx.Client) -> None:
        bench = transfer.TransferBench(admin, self.transfer_runs, self.log)
        self.scenario("transfer_export", bench.export)
        self.scenario("transfer_export_yaml", bench.export_yaml)
        self.scenario("transfer_plan_unchanged", bench.plan_unchanged)
        self.scenario("transfer_plan_create", bench.plan_create)

    def _finish(self, database_url: str, body_bytes: int) -> int:
        with psycopg.connect(libpq_url(database_url)) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
        elapsed = time.monotonic() - self.started
        print()
        print(table(self.rows))
        rss = self.rss
        print("\nRSS (MB): " + ", ".join(f"{k} {v['rss_mb']} (peak {v['peak_rss_mb']})" for k, v in rss.items()))
        print(f"total {elapsed:.0f}s; results in {RESULTS.relative_to(ROOT)}")
        write_json(RESULTS, {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_seconds": round(elapsed, 1),
            "settings": {
                "seconds": self.seconds, "warmup": self.warmup, "wrk_threads": self.threads,
                "read_connections": READ_CONNECTIONS, "uncached_connections": self.uncached_connections,
                "write_connections": WRITE_CONNECTIONS, "watch_writes": self.watch_writes,
                "watch_time_cap": self.watch_cap,
                "teams": TEAMS, "scale_teams": self.scale_teams, "log_level": self.log_level,
                "groups": sorted(self.groups), "transfer_runs": self.transfer_runs,
            },
            "machine": machine(pg_version) | {"loadavg_1m_before": round(self.load_before, 2)},
            "workload": workload.describe() | {"read_response_bytes": body_bytes},
            "targets": TARGETS,
            "scenarios": self.results,
            "rss": rss,
        })
        missed = any(r.verdict in ("fail", "error") for r in self.rows)
        if self.failed:
            return 1
        return 1 if missed and os.environ.get("BENCH_STRICT") == "1" else 0


def machine(pg_version: str) -> dict:
    import importlib.util

    import uvicorn

    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "uvicorn": uvicorn.__version__,
        "uvloop": importlib.util.find_spec("uvloop") is not None,
        "httptools": importlib.util.find_spec("httptools") is not None,
        "wrk": wrk_version[0] if wrk_version else None,
        "postgresql": pg_version,
        "database": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded",
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    sys.exit(Bench().run())


if __name__ == "__main__":
    main()
