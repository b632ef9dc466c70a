"""`config-service token issue|list|revoke` (admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from config_service.cli.client import output
from config_service.cli.client.common import Json, Org, Yes, confirm
from config_service.cli.client.errors import CliError
from config_service.cli.client.session import session
from config_service_client import Client
from config_service_client.models import TokenInfo

app = typer.Typer(help="Team and org-admin tokens.", no_args_is_help=True)
AdminFlag = Annotated[bool, typer.Option("--admin", help="Org-admin tokens instead of team tokens.")]


@app.command("issue")
def issue(
    ctx: typer.Context,
    node: Annotated[str | None, typer.Argument(help="The team node (not with --admin).", show_default=False)] = None,
    org: Org = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="A scope (repeat); default config:read "
                                                                   "secrets:read runs:write.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    expires_in_days: Annotated[int | None, typer.Option("--expires-in-days", min=1, max=3650)] = None,
    admin: AdminFlag = False,
    json_: Json = False,
) -> None:
    """Issue a token. It is shown once: alone on stdout (for `TOKEN=$(…)`), details on stderr."""
    s = session(ctx)
    org_id = s.org(org)
    client = s.client()
    if admin:
        if node or scope:
            raise CliError("org-admin tokens have no node and no scopes")
        issued = client.issue_admin_token(org_id, description=description, expires_in_days=expires_in_days)
    else:
        if not node:
            raise CliError("name the team node the token is for (or --admin)")
        issued = client.issue_token(org_id, node, scopes=scope, description=description,
                                    expires_in_days=expires_in_days)
    if json_:
        output.print_json(issued.api_json)
        return
    whom = f"{org_id}/{issued.team_node_id}" if issued.team_node_id else f"org admin of {org_id}"
    expires = issued.expires_at.isoformat() if issued.expires_at else "never"
    output.note(f"token {issued.id} for {whom}; scopes: {' '.join(issued.scopes) or '—'}; expires: {expires}")
    output.note("it is shown only now: store it safely")
    print(issued.token, flush=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    node: Annotated[str | None, typer.Argument(help="Only this node's tokens (default: the whole org).",
                                               show_default=False)] = None,
    org: Org = None,
    admin: AdminFlag = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=500)] = None,
    cursor: Annotated[str | None, typer.Option("--cursor")] = None,
    json_: Json = False,
) -> None:
    """Tokens (never the token itself), newest first, revoked ones included."""
    s = session(ctx)
    org_id = s.org(org)
    client = s.client()
    page = client.admin_tokens(org_id, limit=limit, cursor=cursor) if admin else client.tokens(
        org_id, node, limit=limit, cursor=cursor)
    if json_:
        output.print_json(page.api_json)
        return
    output.table(["id", "hint", "node", "scopes", "description", "created", "expires", "state"],
                 (_row(t) for t in page.items), title=f"tokens of {org_id}")
    if page.next_cursor:
        output.note(f"more: --cursor {page.next_cursor}")


def _row(token: TokenInfo) -> tuple[object, ...]:
    state = "revoked" if token.revoked_at else "active"
    return (token.id, token.token_hint, token.team_node_id or "(org admin)", " ".join(token.scopes),
            token.description, token.created_at.isoformat(), token.expires_at.isoformat() if token.expires_at else None,
            state)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id (from `token list`).")],
    node: Annotated[str | None, typer.Option("--node", help="Its team node (found in the org's listing if "
                                                            "left out).")] = None,
    org: Org = None,
    admin: AdminFlag = False,
    yes: Yes = False,
) -> None:
    """Revoke a token: every instance refuses it within a second and closes its watches."""
    s = session(ctx)
    org_id = s.org(org)
    client = s.client()
    if not admin and node is None:
        node = _find_node(client, org_id, token_id)
    confirm(f"Revoke token {token_id} of {org_id}{'/' + node if node else ' (org admin)'}?", yes)
    if admin:
        client.revoke_admin_token(org_id, token_id)
    else:
        assert node is not None
        client.revoke_token(org_id, node, token_id)
    output.out.print(f"revoked {token_id}")


def _find_node(client: Client, org_id: str, token_id: str) -> str:
    cursor: str | None = None
    while True:
        page = client.tokens(org_id, limit=500, cursor=cursor)
        for token in page.items:
            if token.id == token_id and token.team_node_id:
                return str(token.team_node_id)
        cursor = page.next_cursor
        if not cursor:
            raise CliError(f"no team token {token_id} in org {org_id} (an org-admin token? use --admin)",
                           exit_code=1)


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    root.add_typer(app, name="token")
