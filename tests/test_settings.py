"""Settings and environments (DESIGN §11), through real `config-service serve` processes."""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from config_service import bootstrap
from config_service.db import migrate
from config_service.db.engine import make_engine
from config_service.db.urls import libpq_url
from config_service.settings import REQUIRED_IN_PRODUCTION, Settings
from tests.support import (
    ServerProcess,
    TcpToUnixProxy,
    clean_env,
    copy_package,
    free_port,
    new_keys,
    socket_and_tcp_forms,
)

VARIABLES = ("DATABASE_URL", "ADMIN_TOKEN", "TOKEN_PEPPER", "SECRETS_KEY")


def serve(env: dict[str, str], cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """A `serve` expected to stop by itself (refusal); a server that starts instead fails by timeout."""
    return subprocess.run(
        [sys.executable, "-m", "config_service", "serve", *args], env=env, cwd=str(cwd),
        capture_output=True, text=True, timeout=timeout,
    )


def tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").fetchall()
    return {r[0] for r in rows}


# --- production requires its settings -------------------------------------------------------------------------


def test_production_is_the_default_and_names_everything_missing(tmp_path: Path) -> None:
    assert Settings(_env_file=None).config_service_env == "production"  # type: ignore[call-arg]
    result = serve(clean_env(), tmp_path)
    assert result.returncode != 0
    for name in VARIABLES:
        assert name in result.stderr, result.stderr
    assert "production" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".config-service").exists()  # no development fallback happened


@pytest.mark.parametrize("missing", VARIABLES)
def test_production_names_the_one_missing_variable(missing: str, database_url: str, tmp_path: Path) -> None:
    env = clean_env() | new_keys() | {"DATABASE_URL": database_url, "CONFIG_SERVICE_ENV": "production"}
    del env[missing]
    result = serve(env, tmp_path)
    assert result.returncode != 0
    named = [name for name in REQUIRED_IN_PRODUCTION if name in result.stderr]
    assert named == [missing], result.stderr


def test_bad_values_are_refused_without_echoing_them(database_url: str, tmp_path: Path) -> None:
    keys = new_keys()
    env = clean_env() | keys | {"DATABASE_URL": database_url, "ADMIN_TOKEN": "has.a.dot-" + secrets.token_hex(8)}
    result = serve(env, tmp_path)
    assert result.returncode != 0 and "ADMIN_TOKEN" in result.stderr
    assert env["ADMIN_TOKEN"] not in result.stdout + result.stderr

    short_key = base64.b64encode(b"too short").decode()
    env = clean_env() | keys | {"DATABASE_URL": database_url, "SECRETS_KEY": short_key}
    result = serve(env, tmp_path)
    assert result.returncode != 0 and "SECRETS_KEY" in result.stderr and "32" in result.stderr

    password = "pw-" + secrets.token_hex(6)
    env = clean_env() | keys | {"DATABASE_URL": f"mysql://u:{password}@127.0.0.1/x"}
    result = serve(env, tmp_path)
    assert result.returncode != 0 and "postgresql://" in result.stderr
    assert password not in result.stderr


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("LISTEN_DATABASE_URL", "mysql://u:{secret}@127.0.0.1/x", "postgresql://"),
    ("LISTEN_DATABASE_URL", "not a url {secret}", "postgresql://"),
    ("SECRETS_KEY_PREVIOUS", "{secret}", "32"),
    ("SECRETS_KEY_PREVIOUS", base64.b64encode(b"sixteen bytes!!!").decode(), "32"),
    ("LOG_LEVEL", "loud", "DEBUG"),
    ("MAX_BODY_BYTES", "0", "MAX_BODY_BYTES"),
    ("IMPORT_MAX_BYTES", "0", "IMPORT_MAX_BYTES"),
])
def test_every_bad_setting_stops_the_start_naming_itself(variable: str, value: str, says: str, database_url: str,
                                                         tmp_path: Path) -> None:
    """A malformed optional setting is a refusal at start naming the variable (exit 2, no traceback,
    the value never echoed), not a server that starts and fails later (a LISTEN connection retried
    for ever, a request refused for ever) or a traceback from deep inside the start."""
    secret = "pw-" + secrets.token_hex(6)
    env = clean_env() | new_keys() | {"DATABASE_URL": database_url, variable: value.format(secret=secret)}
    result = serve(env, tmp_path, "--port", str(free_port()), timeout=30)
    assert result.returncode == 2, result.stderr[-2000:]
    assert variable in result.stderr and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "File \"" not in result.stderr, result.stderr
    assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [["db", "check"], ["db", "upgrade"], ["secrets", "rotate-key"],
                                     ["runs", "prune", "--older-than", "90d"]])
def test_operator_commands_refuse_a_bad_setting_in_one_line(command: list[str], database_url: str,
                                                             tmp_path: Path) -> None:
    """The server commands besides `serve` read the same settings: a malformed one is exit 2 naming
    the variable, without a traceback or its value."""
    secret = "loud-" + secrets.token_hex(6)
    env = clean_env() | new_keys() | {"DATABASE_URL": database_url, "LOG_LEVEL": secret}
    result = subprocess.run([sys.executable, "-m", "config_service", *command], env=env, cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr[-2000:]
    assert "LOG_LEVEL" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and secret not in result.stdout + result.stderr, result.stderr


def test_log_level_is_read_in_any_case(database_url: str, tmp_path: Path) -> None:
    env = clean_env() | new_keys() | {"DATABASE_URL": database_url, "LOG_LEVEL": "warning"}
    server = ServerProcess(env=env, log_path=tmp_path / "serve.log").start()
    try:
        assert httpx.get(server.url + "/health").status_code == 200
    finally:
        server.stop()
    assert '"logger":"config_service.access"' not in server.log_text()  # info lines are below WARNING


# --- production and the schema --------------------------------------------------------------------------------


def test_production_does_not_migrate_an_empty_database(fresh_database: str, tmp_path: Path) -> None:
    env = clean_env() | new_keys() | {"DATABASE_URL": fresh_database}
    result = serve(env, tmp_path, "--port", str(free_port()))
    assert result.returncode != 0
    assert "config-service db upgrade" in result.stderr, result.stderr
    assert tables(fresh_database) == set()  # nothing was created


def test_serve_migrate_upgrades_then_serves(fresh_database: str, tmp_path: Path) -> None:
    # The settings come from a .env file in the working directory this time.
    keys = new_keys()
    lines = [f"{k}={v}" for k, v in (keys | {"DATABASE_URL": fresh_database}).items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    server = ServerProcess(env=clean_env(), log_path=tmp_path / "serve.log", args=["--migrate"])
    server.start(cwd=tmp_path)
    try:
        ready = httpx.get(server.url + "/ready").json()
        assert ready == {"status": "ok", "database": "ok", "schema": migrate.head_revision()}
        me = httpx.get(server.api + "/auth/me", headers={"Authorization": f"Bearer {keys['ADMIN_TOKEN']}"})
        assert me.status_code == 200, me.text
    finally:
        assert server.stop() == 0
    assert migrate.current_revision(fresh_database) == migrate.head_revision()


def test_a_newer_release_refuses_an_older_schema(fresh_database: str, tmp_path: Path) -> None:
    """Release N+1 (a copy of this package plus one migration) on a database of release N.

    Honest simulation: this tree has one migration, so "a schema older than supported" needs a
    release that knows a later one. The copy adds a real (empty) migration after head.
    """
    bootstrap.upgrade(fresh_database)  # release N's schema
    head = migrate.head_revision()
    package = copy_package(tmp_path)
    (package / "alembic" / "versions" / "29990101_9999_next_release.py").write_text(
        f'"""next release"""\nrevision = "9999"\ndown_revision = "{head}"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n"
    )
    env = clean_env() | new_keys() | {"DATABASE_URL": fresh_database}
    result = serve(env, tmp_path, "--port", str(free_port()))
    assert result.returncode != 0
    assert head in result.stderr and "older" in result.stderr and "config-service db upgrade" in result.stderr
    assert migrate.current_revision(fresh_database) == head  # untouched

    # And `serve --migrate` of that release brings the schema forward and serves.
    server = ServerProcess(env=env, log_path=tmp_path / "next.log", args=["--migrate"]).start(cwd=tmp_path)
    try:
        assert httpx.get(server.url + "/ready").json()["schema"] == "9999"
    finally:
        server.stop()
    assert migrate.current_revision(fresh_database) == "9999"


def test_this_release_runs_on_a_newer_schema(fresh_database: str, tmp_path: Path) -> None:
    """Expand/contract: a revision this release does not know belongs to a newer release; run on it."""
    bootstrap.upgrade(fresh_database)
    with psycopg.connect(libpq_url(fresh_database), autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff_future'")
    env = clean_env() | new_keys() | {"DATABASE_URL": fresh_database}
    server = ServerProcess(env=env, log_path=tmp_path / "serve.log").start(cwd=tmp_path)
    try:
        assert httpx.get(server.url + "/ready").json() == {"status": "ok", "database": "ok", "schema": "ffff_future"}
    finally:
        server.stop()


def test_schema_problem_rules(tmp_path: Path) -> None:
    package = copy_package(tmp_path)
    head = migrate.head_revision()
    (package / "alembic" / "versions" / "29990101_9999_next.py").write_text(
        f'revision = "9999"\ndown_revision = "{head}"\nbranch_labels = None\ndepends_on = None\n'
        "def upgrade():\n    pass\ndef downgrade():\n    pass\n"
    )
    script = ScriptDirectory(str(package / "alembic"))
    assert script.get_current_head() == "9999"
    assert migrate.schema_problem("9999", script) is None
    assert migrate.schema_problem("not-known-newer", script) is None
    problem = migrate.schema_problem(head, script)
    assert problem is not None and "older" in problem and "config-service db upgrade" in problem
    assert "config-service db upgrade" in (migrate.schema_problem(None, script) or "")
    assert migrate.schema_problem(head) is None  # this tree: head is fine


# --- DATABASE_URL forms ---------------------------------------------------------------------------------------


@pytest.fixture()
def tcp_proxy(pg_admin_url: str):
    proxy = TcpToUnixProxy(*socket_and_tcp_forms(pg_admin_url))
    yield proxy
    proxy.close()


def url_forms(database_url: str, proxy: TcpToUnixProxy, pg_admin_url: str) -> dict[str, str]:
    url = make_url(database_url)
    socket_dir, port = socket_and_tcp_forms(pg_admin_url)
    return {
        "tcp": f"postgresql://{url.username}@127.0.0.1:{proxy.port}/{url.database}",
        # The documented form, `postgresql://user@/db?host=/socket/dir` (a port only when not the default).
        "socket": f"postgresql://{url.username}@/{url.database}?host={socket_dir}"
        + ("" if port == 5432 else f"&port={port}"),
    }


@pytest.mark.parametrize("form", ["tcp", "socket"])
def test_serve_on_plain_urls(form: str, database_url: str, pg_admin_url: str, tcp_proxy, tmp_path: Path) -> None:
    url = url_forms(database_url, tcp_proxy, pg_admin_url)[form]
    if form == "tcp":
        url += "?sslmode=disable"
    keys = new_keys()
    server = ServerProcess(env=clean_env() | keys | {"DATABASE_URL": url}, log_path=tmp_path / "s.log").start()
    try:
        assert httpx.get(server.url + "/ready").json()["database"] == "ok"
        response = httpx.get(server.api + "/admin/orgs", headers={"Authorization": f"Bearer {keys['ADMIN_TOKEN']}"})
        assert response.status_code == 200, response.text
    finally:
        server.stop()


def test_sslmode_require_is_honoured(database_url: str, pg_admin_url: str, tcp_proxy, tmp_path: Path) -> None:
    """A server without SSL and `sslmode=require`: an SSL error, never a silent plain connection."""
    url = url_forms(database_url, tcp_proxy, pg_admin_url)["tcp"]
    with psycopg.connect(libpq_url(url + "?sslmode=disable")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="SSL"):
        psycopg.connect(libpq_url(url + "?sslmode=require"))

    import asyncio

    import sqlalchemy

    async def engine_connects(target: str) -> None:
        engine = make_engine(target)
        try:
            async with engine.connect() as conn:
                await conn.execute(sqlalchemy.text("SELECT 1"))
        finally:
            await engine.dispose()

    asyncio.run(engine_connects(url + "?sslmode=disable"))
    with pytest.raises(sqlalchemy.exc.OperationalError, match="SSL"):
        asyncio.run(engine_connects(url + "?sslmode=require"))

    env = clean_env() | new_keys() | {"DATABASE_URL": url + "?sslmode=require"}
    result = serve(env, tmp_path, "--port", str(free_port()))
    assert result.returncode != 0
    assert "SSL" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_unreachable_database_is_a_clear_refusal(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    password = "pw-" + secrets.token_hex(6)
    env = clean_env() | new_keys() | {"DATABASE_URL": f"postgresql://u:{password}@127.0.0.1:{port}/x?connect_timeout=3"}
    result = serve(env, tmp_path, "--port", str(free_port()))
    assert result.returncode != 0
    assert "cannot use the database" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert password not in result.stderr


# --- host and port --------------------------------------------------------------------------------------------


def test_host_and_port_options_win_over_the_environment(database_url: str, tmp_path: Path) -> None:
    env_port, flag_port = free_port(), free_port()
    env = clean_env() | new_keys() | {"DATABASE_URL": database_url, "PORT": str(env_port), "HOST": "127.0.0.1"}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "config_service", "serve", "--host", "127.0.0.2", "--port", str(flag_port)],
            env=env, cwd=str(tmp_path), stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            deadline_ok = False
            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.2:{flag_port}/health", timeout=1).status_code == 200:
                        deadline_ok = True
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, log.read_text()
                import time

                time.sleep(0.1)
            assert deadline_ok, log.read_text()
            for host, port in (("127.0.0.1", flag_port), ("127.0.0.1", env_port), ("127.0.0.2", env_port)):
                with pytest.raises(httpx.ConnectError):
                    httpx.get(f"http://{host}:{port}/health", timeout=1)
        finally:
            proc.terminate()
            proc.wait(15)


def test_host_and_port_from_the_environment(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env() | new_keys() | {"DATABASE_URL": database_url, "PORT": str(port), "HOST": "127.0.0.1"}
    server = ServerProcess(env=env, log_path=tmp_path / "serve.log", port=port)
    # No --host/--port on the command line: start it by hand.
    server._log = open(server.log_path, "ab")  # noqa: SIM115 - closed by stop()
    server.proc = subprocess.Popen(
        [sys.executable, "-m", "config_service", "serve"], env=env, cwd=str(tmp_path),
        stdout=server._log, stderr=subprocess.STDOUT,
    )
    try:
        server.wait_ready(60)
    finally:
        server.stop()


# --- development with a DATABASE_URL --------------------------------------------------------------------------


def test_development_uses_a_given_database_and_migrates_it(fresh_database: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = clean_env() | {"CONFIG_SERVICE_ENV": "development", "DATABASE_URL": fresh_database,
                         "CONFIG_SERVICE_DATA_DIR": str(data_dir)}
    server = ServerProcess(env=env, log_path=tmp_path / "serve.log").start(cwd=tmp_path)
    try:
        assert httpx.get(server.url + "/ready").status_code == 200
    finally:
        server.stop()
    assert migrate.current_revision(fresh_database) == migrate.head_revision()
    assert not (data_dir / "pgdata").exists()  # no embedded server was started
    assert (data_dir / "dev-secrets.json").exists()
