"""`config-service` command line (DESIGN §12)."""

from __future__ import annotations

import sys

import typer

from config_service.cli import db as db_commands
from config_service.settings import Settings, SettingsError

app = typer.Typer(help="Config Service: hierarchical configuration for AI agent platforms.", no_args_is_help=True)
app.add_typer(db_commands.app, name="db")


def resolve_database(settings: Settings) -> None:
    """Development without DATABASE_URL: start (or join) the embedded PostgreSQL."""
    if settings.database_url or not settings.is_development:
        return
    from config_service.db import embedded

    typer.echo(f"starting embedded PostgreSQL in {settings.config_service_data_dir}/pgdata …", err=True)
    settings.database_url = embedded.start(settings.config_service_data_dir)


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to bind (default: HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="Port (default: PORT or 8080)"),
    migrate: bool = typer.Option(False, "--migrate", help="Apply pending migrations first (always in development)"),
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from config_service.app import create_app
    from config_service.db import migrate as migrations
    from config_service.ops.logging import configure

    settings = Settings()
    configure(settings.log_level)
    try:
        settings.fill_development_secrets()
        resolve_database(settings)
        settings.check()
    except SettingsError as exc:
        typer.echo(f"config-service: {exc}", err=True)
        raise typer.Exit(2) from None
    assert settings.database_url is not None
    if settings.is_development or migrate:
        migrations.upgrade(settings.database_url)
    else:
        problem = migrations.schema_problem(migrations.current_revision(settings.database_url))
        if problem:
            typer.echo(f"config-service: refusing to start: {problem}", err=True)
            raise typer.Exit(3)
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
    uvicorn.run(
        create_app(settings),
        host=bind_host,
        port=bind_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    app()
