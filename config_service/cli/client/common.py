"""Options shared by the client commands, and the confirmation of destructive ones (and their
`--cascade` hint)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from config_service.cli.client import output
from config_service.cli.client.errors import REFUSED
from config_service_client import HasChildren

Json = Annotated[bool, typer.Option("--json", help="Print the API's JSON, unchanged, on stdout.")]
Reveal = Annotated[bool, typer.Option("--reveal", help="Show plaintext secrets (secrets:read); masked otherwise.")]
Org = Annotated[str | None, typer.Option("--org", help="The org (admins; default: an org-admin token's own).")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
Reason = Annotated[str | None, typer.Option("--reason", "-m", help="Why (kept in history and audit).")]
NodeArg = Annotated[str | None, typer.Argument(help="The node (default: your token's own node).", show_default=False)]


def confirm(question: str, yes: bool) -> None:
    """Ask before destroying or rewriting; a refusal changes nothing and exits 1."""
    if yes:
        return
    if not typer.confirm(question, default=False, err=True):
        output.note("cancelled; nothing changed")
        raise typer.Exit(REFUSED)


@contextmanager
def cascade_hint() -> Iterator[None]:
    """A delete refused with `has_children`: the API's detail says `?cascade=true`; on the command
    line that is `--cascade`. Exits 1 with the problem's code, like any refusal."""
    try:
        yield
    except HasChildren as exc:
        found = (exc.detail or "it has children").split(";")[0]
        output.problem(f"{found}; add --cascade to delete them too", exc.code)
        raise typer.Exit(REFUSED) from None
