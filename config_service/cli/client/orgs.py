"""`config-service org create|list|delete`."""

from __future__ import annotations

from typing import Annotated

import typer

from config_service.cli.client import output
from config_service.cli.client.common import Json, Yes, cascade_hint, confirm
from config_service.cli.client.session import session

app = typer.Typer(help="Orgs (tenants).", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    org_id: Annotated[str, typer.Argument(help="The new org's id.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    json_: Json = False,
) -> None:
    """Create an org (global admin)."""
    org = session(ctx).client().create_org(org_id, name=name)
    if json_:
        output.print_json(org.api_json)
    else:
        output.out.print(f"created org {org.org_id} ({org.name})")


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=500)] = None,
    cursor: Annotated[str | None, typer.Option("--cursor", help="Continue a listing.")] = None,
    json_: Json = False,
) -> None:
    """Orgs you can see, newest first."""
    page = session(ctx).client().orgs(limit=limit, cursor=cursor)
    if json_:
        output.print_json(page.api_json)
        return
    output.table(["org", "name", "created"], ((o.org_id, o.name, o.created_at.isoformat()) for o in page.items),
                 title="orgs")
    if page.next_cursor:
        output.note(f"more: --cursor {page.next_cursor}")


@app.command("delete")
def delete(
    ctx: typer.Context,
    org_id: Annotated[str, typer.Argument(help="The org to delete.")],
    cascade: Annotated[bool, typer.Option("--cascade", help="Also delete its teams.")] = False,
    yes: Yes = False,
) -> None:
    """Delete an org, its nodes and configs; revokes its tokens, destroys its data key (global admin)."""
    confirm(f"Delete org {org_id}{' and all its teams' if cascade else ''}? This cannot be undone", yes)
    with cascade_hint():
        session(ctx).client().delete_org(org_id, cascade=cascade)
    output.out.print(f"deleted org {org_id}")


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    root.add_typer(app, name="org")
