"""`config-service audit [filters] [--export csv|json]` (admins)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer

from config_service.cli.client import output
from config_service.cli.client.common import Json, Org
from config_service.cli.client.errors import CliError
from config_service.cli.client.session import session


def audit(
    ctx: typer.Context,
    org: Org = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who acted (a token id, admin, …).")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. config.written, token.issued.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="The node or object acted on.")] = None,
    since: Annotated[datetime | None, typer.Option("--since", help="From this time (inclusive, UTC if no zone).")]
    = None,
    until: Annotated[datetime | None, typer.Option("--until", help="Up to this time (exclusive).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=500)] = None,
    cursor: Annotated[str | None, typer.Option("--cursor", help="Continue a listing.")] = None,
    export: Annotated[str | None, typer.Option("--export", help="The whole filtered log as csv or json.")] = None,
    out_file: Annotated[str | None, typer.Option("--output", "-o", help="Write the export to this file.")] = None,
    json_: Json = False,
) -> None:
    """The org's audit log, newest first."""
    s = session(ctx)
    org_id = s.org(org)
    client = s.client()
    if export is not None:
        if export not in ("csv", "json"):
            raise CliError("--export is csv or json")
        with output.err.status(f"exporting the audit log of {org_id} …"):
            text = client.export_audit(org_id, format="csv" if export == "csv" else "json", actor=actor,
                                       action=action, target_id=target, since=since, until=until)
        if out_file:
            with open(out_file, "w") as handle:
                handle.write(text)
            output.note(f"wrote {out_file}")
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    page = client.audit(org_id, actor=actor, action=action, target_id=target, since=since, until=until, limit=limit,
                        cursor=cursor)
    if json_:
        output.print_json(page.api_json)
        return
    output.table(
        ["at", "actor", "action", "target", "details"],
        ((e.at.isoformat(timespec="seconds"), e.actor, e.action, e.target_id,
          json.dumps(e.details, ensure_ascii=False) if e.details else None) for e in page.items),
        title=f"audit of {org_id}",
    )
    if page.next_cursor:
        output.note(f"more: --cursor {page.next_cursor}")


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    root.command("audit")(audit)
