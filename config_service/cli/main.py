"""`config-service` command line (DESIGN §12)."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from config_service.cli import db as db_commands
from config_service.cli import runs as runs_commands
from config_service.cli import secrets as secrets_commands
from config_service.settings import Settings, SettingsError, settings_errors

app = typer.Typer(help="Config Service: hierarchical configuration for AI agent platforms.", no_args_is_help=True)
app.add_typer(db_commands.app, name="db")
app.add_typer(runs_commands.app, name="runs")
app.add_typer(secrets_commands.app, name="secrets")


def resolve_database(settings: Settings) -> None:
    """Development without DATABASE_URL: start (or join) the embedded PostgreSQL."""
    if settings.database_url or not settings.is_development:
        return
    from config_service.db import embedded

    typer.echo(f"starting embedded PostgreSQL in {settings.config_service_data_dir}/pgdata …", err=True)
    settings.database_url = embedded.start(settings.config_service_data_dir)


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def exit_normally_on_termination() -> None:
    """Make SIGTERM and SIGHUP a normal interpreter exit, so `atexit` hooks run.

    The embedded PostgreSQL is stopped from an `atexit` hook. Uvicorn handles SIGTERM while it
    serves, but re-raises it once it has shut down, with the handler found at start: the
    default one would kill the process there and skip that hook, leaving the server running.
    """
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_normally)


def _database_unreachable(settings: Settings, exc: Exception) -> typer.Exit:
    from config_service.db.urls import redacted

    assert settings.database_url is not None
    reason = " ".join(str(exc).split()) or type(exc).__name__
    typer.echo(f"config-service: cannot use the database at {redacted(settings.database_url)}: {reason}", err=True)
    return typer.Exit(4)


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to bind (default: HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="Port (default: PORT or 8080)"),
    migrate: bool = typer.Option(False, "--migrate", help="Apply pending migrations first (always in development)"),
) -> None:
    """Serve the HTTP API."""
    from config_service.app import create_app
    from config_service.db import migrate as migrations
    from config_service.ops import server
    from config_service.ops.logging import configure

    import psycopg
    import sqlalchemy.exc

    from pydantic import ValidationError

    from config_service.db.urls import DatabaseUrlError

    exit_normally_on_termination()
    try:
        settings = Settings()
    except ValidationError as exc:  # a malformed variable; its value is never echoed (it may be a secret)
        typer.echo(f"config-service: invalid settings: {settings_errors(exc)}", err=True)
        raise typer.Exit(2) from None
    configure(settings.log_level)
    try:
        settings.check()
        settings.fill_development_secrets()
        resolve_database(settings)
        settings.check()
    except (SettingsError, DatabaseUrlError) as exc:
        typer.echo(f"config-service: {exc}", err=True)
        raise typer.Exit(2) from None
    assert settings.database_url is not None
    try:
        if settings.is_development or migrate:
            migrations.upgrade(settings.database_url)
        else:
            problem = migrations.schema_problem(migrations.current_revision(settings.database_url))
            if problem:
                typer.echo(f"config-service: refusing to start: {problem}", err=True)
                raise typer.Exit(3)
    except (psycopg.Error, sqlalchemy.exc.DBAPIError, sqlalchemy.exc.OperationalError) as exc:
        raise _database_unreachable(settings, exc) from None
    bind_host = host or settings.host
    bind_port = port or settings.port
    if settings.is_development:
        typer.echo("")
        typer.echo("  Config Service (development)")
        typer.echo(f"  API:         http://{bind_host}:{bind_port}/api/v1   docs: http://{bind_host}:{bind_port}/docs")
        typer.echo(f"  Admin token: {settings.secret('admin_token')}")
        typer.echo(f"  Data dir:    {settings.config_service_data_dir.resolve()}")
        typer.echo("")
        sys.stdout.flush()
    server.run(create_app(settings), settings, host=bind_host, port=bind_port)  # uvicorn, guarded: ops/server.py


if __name__ == "__main__":
    app()
