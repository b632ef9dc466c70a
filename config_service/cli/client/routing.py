"""`config-service routing lookup|claims`."""

from __future__ import annotations

from typing import Annotated

import typer

from config_service.cli.client import output
from config_service.cli.client.common import Json, Org
from config_service.cli.client.errors import CliError
from config_service.cli.client.session import session

app = typer.Typer(help="Which team owns a Slack channel, service, repo, …", no_args_is_help=True)


@app.command("lookup")
def lookup(
    ctx: typer.Context,
    identifiers: Annotated[list[str], typer.Argument(help="key=value, e.g. slack_channel_id=C0SRE service=checkout")],
    org: Annotated[str | None, typer.Option("--org", help="Only in this org.")] = None,
    issue_token: Annotated[bool, typer.Option("--issue-token", help="Also mint a short-lived team token "
                                                                    "(internal token or global admin).")] = False,
    json_: Json = False,
) -> None:
    """Find the team that owns an identifier (the first match in precedence order decides)."""
    pairs: dict[str, str] = {}
    for item in identifiers:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise CliError(f"expected key=value, got {item!r}")
        pairs[key] = value
    result = session(ctx).client().lookup(pairs, org_id=org, issue_token=issue_token)
    if json_:
        output.print_json(result.api_json)
        return
    if result.found:
        output.fields([("team", f"{result.org_id}/{result.team_node_id}"),
                       ("matched", f"{result.matched_by}={result.matched_value}"), ("tried", " ".join(result.tried))])
        if result.team_token:
            output.note(f"team token (expires {result.team_token_expires_at}):")
            print(result.team_token, flush=True)
    else:
        ambiguous = f"; claimed in several orgs: {', '.join(result.ambiguous)}" if result.ambiguous else ""
        output.out.print(f"no team found (tried {' '.join(result.tried) or 'nothing'}){ambiguous}")


@app.command("claims")
def claims(
    ctx: typer.Context,
    org: Org = None,
    node: Annotated[str | None, typer.Option("--node", help="Only this node's claims.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this list, e.g. slack_channel_ids.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=500)] = None,
    cursor: Annotated[str | None, typer.Option("--cursor")] = None,
    json_: Json = False,
) -> None:
    """Every routing claim of an org (admins)."""
    s = session(ctx)
    page = s.client().routing_claims(s.org(org), node_id=node, kind=kind, limit=limit, cursor=cursor)
    if json_:
        output.print_json(page.api_json)
        return
    output.table(["kind", "value", "node"], ((c.kind, c.value, c.node_id) for c in page.items), title="routing claims")
    if page.next_cursor:
        output.note(f"more: --cursor {page.next_cursor}")


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    root.add_typer(app, name="routing")
