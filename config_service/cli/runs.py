"""`config-service runs prune|cleanup-stale`."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import typer
from rich.progress import Progress

app = typer.Typer(help="Agent runs: list, show, stats (client); prune, cleanup-stale (server).", no_args_is_help=True)

_AGE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    match = _AGE.match(text.strip())
    if not match:
        raise typer.BadParameter("use a number and a unit: 90d, 12h, 30m, 2w, 45s")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _database():
    from config_service.cli.db import _database_url
    from config_service.db.engine import Database, make_engine

    return Database(make_engine(_database_url(), pool_size=2))


@app.command()
def prune(
    older_than: str = typer.Option(..., "--older-than",
        help="Delete runs created before now minus this age (e.g. 90d)"),
    batch_size: int = typer.Option(5000, min=1, help="Rows deleted per transaction"),
) -> None:
    """Delete old runs in batches (each batch its own transaction), with a progress bar."""
    from config_service.runs import service

    cutoff = datetime.now(UTC) - parse_age(older_than)

    async def run() -> int:
        db = _database()
        deleted = 0
        try:
            async with db.transaction() as session:
                total = await service.count_older(session, cutoff)
            with Progress() as progress:
                task = progress.add_task(f"pruning runs before {cutoff:%Y-%m-%d %H:%M}", total=total or 1)
                while True:
                    async with db.transaction() as session:
                        n = await service.prune_batch(session, cutoff, batch_size)
                    deleted += n
                    progress.update(task, advance=n)
                    if n < batch_size:
                        break
                progress.update(task, completed=total or 1)
        finally:
            await db.dispose()
        return deleted

    deleted = asyncio.run(run())
    typer.echo(f"deleted {deleted} runs created before {cutoff.isoformat()}")


@app.command("cleanup-stale")
def cleanup_stale(
    max_age: str = typer.Option("1h", "--max-age", help="Runs still running after this age become timeout"),
) -> None:
    """Mark runs left `running` too long as `timeout`."""
    from config_service.runs import service

    seconds = int(parse_age(max_age).total_seconds())

    async def run() -> int:
        db = _database()
        try:
            async with db.transaction() as session:
                return await service.cleanup_stale(session, "cli", seconds)  # the audit actor
        finally:
            await db.dispose()

    typer.echo(f"timed out {asyncio.run(run())} runs")
