"""`config-service login` and `whoami`."""

from __future__ import annotations

import sys

import typer

from config_service.cli.client import output, profiles
from config_service.cli.client.common import Json
from config_service.cli.client.errors import CliError
from config_service.cli.client.session import check_transport, session
from config_service_client import Client


def login(ctx: typer.Context) -> None:
    """Save a token in a profile (read from a hidden prompt, or from stdin when piped; never argv)."""
    s = session(ctx)
    if s.token_from_command_line:
        raise CliError("login reads the token from a prompt or standard input, never the command line")
    name = profiles.check_name(s.profile_name or "default")
    url = s.url().rstrip("/")
    check_transport(url, s.insecure)
    if sys.stdin.isatty():
        token = typer.prompt("Token", hide_input=True, err=True)
    else:
        token = sys.stdin.readline()
    token = token.strip()
    if not token or any(c.isspace() or not c.isprintable() for c in token):
        raise CliError("no token given (paste it at the prompt, or pipe it on standard input)")
    with Client(url, token, timeout=30.0, retries=2) as client:
        me = client.whoami()  # a wrong token stops here (401), before anything is written
    path = profiles.save(profiles.Profile(name, url, token))
    where = f"{me.org_id}/{me.team_node_id}" if me.team_node_id else (me.org_id or "every org")
    output.out.print(f"Logged in to {url} as {me.subject} ({me.role}, {where}); profile '{name}' saved in {path}")


def whoami(ctx: typer.Context, json_: Json = False) -> None:
    """Who the token is: role, org, node and scopes."""
    s = session(ctx)
    me = s.client().whoami()
    if json_:
        output.print_json(me.api_json)
        return
    output.fields([
        ("url", s.client().base_url), ("role", me.role), ("kind", me.auth_kind), ("org", me.org_id),
        ("node", me.team_node_id), ("subject", me.subject), ("can write", me.can_write),
        ("scopes", " ".join(me.scopes) or None),
    ])


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.command()(login)
    app.command()(whoami)
