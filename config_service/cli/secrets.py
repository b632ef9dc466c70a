"""`config-service secrets rotate-key [--reencrypt]` (DESIGN §8)."""

from __future__ import annotations

import asyncio

import typer

app = typer.Typer(help="Secrets: master-key rotation.", no_args_is_help=True)


@app.command("rotate-key")
def rotate_key(
    reencrypt: bool = typer.Option(False, "--reencrypt",
        help="Also re-encrypt every secret under a new data key per org"),
) -> None:
    """Rewrap every org data key under SECRETS_KEY (the old master key given as SECRETS_KEY_PREVIOUS).

    Run it after every instance has the new SECRETS_KEY and the old one as SECRETS_KEY_PREVIOUS;
    then drop SECRETS_KEY_PREVIOUS. The service keeps running throughout."""
    from config_service.cli.db import _database_url, load_settings
    from config_service.db.engine import Database, make_engine
    from config_service.kit.crypto import CryptoError
    from config_service.secrets.rotation import rotate
    from config_service.secrets.service import Vault

    settings = load_settings()
    current = settings.secret("secrets_key")
    if not current:
        typer.echo("config-service: SECRETS_KEY (the new master key) is not set", err=True)
        raise typer.Exit(2)
    try:
        vault = Vault.from_settings(current, settings.secret("secrets_key_previous"))
    except CryptoError as exc:
        typer.echo(f"config-service: {exc}", err=True)
        raise typer.Exit(2) from None

    async def run():
        db = Database(make_engine(_database_url(), pool_size=2))
        try:
            return await rotate(db, vault, reencrypt=reencrypt)
        finally:
            await db.dispose()

    report = asyncio.run(run())
    typer.echo(f"rewrapped {report.rewrapped} org keys ({report.already_current} already under the current master key)")
    if reencrypt:
        typer.echo(f"re-encrypted {report.secrets_reencrypted} secrets in {report.orgs_reencrypted} orgs")
    for problem in report.problems:
        typer.echo(f"config-service: {problem}", err=True)
    if report.problems:
        raise typer.Exit(1)
