"""`config-service` command line (DESIGN §12)."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from config_service.cli import client as client_commands
from config_service.cli import db as db_commands
from config_service.cli import runs as runs_commands
from config_service.cli import secrets as secrets_commands
from config_service.cli.client import output
from config_service.cli.client.errors import REFUSED, UNREACHABLE, CliError
from config_service.cli.client.session import DEFAULT_URL, hoist, make_session
from config_service.cli.db import load_settings
from config_service.settings import Settings, SettingsError
from config_service_client import ApiError, ConnectionFailed, UnexpectedResponse, WatchClosed

# no locals in tracebacks: a client command's locals hold its token
app = typer.Typer(
    help="Config Service: hierarchical configuration for AI agent platforms.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(runs_commands.app, name="runs")
app.add_typer(secrets_commands.app, name="secrets")
client_commands.register(app, {"runs": runs_commands.app})


@app.callback()
def root(
    ctx: typer.Context,
    url: str | None = typer.Option(None, "--url", envvar="CONFIG_SERVICE_URL", show_envvar=True,
                                   help=f"Service root URL for client commands [default: {DEFAULT_URL}]"),
    token: str | None = typer.Option(None, "--token", envvar="CONFIG_SERVICE_TOKEN", show_envvar=True,
                                     help="Bearer token (else the profile's)"),
    profile: str | None = typer.Option(None, "--profile", envvar="CONFIG_SERVICE_PROFILE", show_envvar=True,
                                       help="Profile of ~/.config/config-service/config.toml [default: default]"),
    insecure: bool = typer.Option(False, "--insecure", help="Allow a token over plain http to another host"),
) -> None:
    """Server commands (serve, db, secrets, runs prune) and client commands (everything else).
    Global options may appear anywhere on the command line."""
    ctx.obj = make_session(ctx, url, token, profile, insecure)


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
    import psycopg
    import sqlalchemy.exc

    from config_service import bootstrap
    from config_service.app import create_app
    from config_service.db import migrate as migrations
    from config_service.db.urls import DatabaseUrlError
    from config_service.ops import server
    from config_service.ops.logging import configure

    exit_normally_on_termination()
    settings = load_settings()  # a malformed variable: exit 2 naming it, its value never echoed
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
            bootstrap.upgrade(settings.database_url)
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
        typer.echo(f"  Console:     http://{bind_host}:{bind_port}/ui/")
        typer.echo(f"  API:         http://{bind_host}:{bind_port}/api/v1   docs: http://{bind_host}:{bind_port}/docs")
        typer.echo(f"  Admin token: {settings.secret('admin_token')}")
        typer.echo(f"  Data dir:    {settings.config_service_data_dir.resolve()}")
        typer.echo("")
        sys.stdout.flush()
    # uvicorn, guarded (ops/server.py): the client address is always the raw TCP peer (proxy_headers
    # off), which named internal callers and the auth throttle are judged by
    server.run(create_app(settings), settings, host=bind_host, port=bind_port)


def main(argv: list[str] | None = None) -> None:
    """The `config-service` entry point: client failures become DESIGN §12.2's exit codes
    (1 refused, 2 usage, 3 unreachable or 5xx) with the problem on stderr, never a traceback."""
    args = hoist(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, prog_name="config-service")
    except ApiError as exc:
        where = f" at {exc.path}" if exc.path else ""
        current = f" (current: {exc.current})" if exc.current else ""
        output.problem(f"{exc.detail}{where}{current}", exc.code)
        sys.exit(UNREACHABLE if exc.status >= 500 else REFUSED)
    except ConnectionFailed as exc:
        output.problem(str(exc), "unreachable")
        sys.exit(UNREACHABLE)
    except UnexpectedResponse as exc:  # --url names another web server: the service is not there
        output.problem(str(exc), "unexpected_response")
        sys.exit(UNREACHABLE)
    except WatchClosed as exc:
        output.problem(str(exc), exc.event)
        sys.exit(REFUSED)
    except CliError as exc:
        output.problem(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # Ctrl-C: stop quietly, as a shell expects (128 + SIGINT)
        sys.exit(130)


if __name__ == "__main__":
    main()
