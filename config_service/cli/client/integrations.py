"""`config-service integrations list|health`."""

from __future__ import annotations

from typing import Annotated

import typer

from config_service.cli.client import output
from config_service.cli.client.common import Json, NodeArg, Org
from config_service.cli.client.session import session

app = typer.Typer(help="The integration catalog and a node's integration health.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option("--category", help="e.g. observability.")] = None,
    json_: Json = False,
) -> None:
    """The catalog: each integration and the fields it needs (no token needed)."""
    catalog = session(ctx).client().integrations(category=category)
    if json_:
        output.print_json(catalog.api_json)
        return
    output.table(
        ["id", "name", "category", "required", "secret fields"],
        ((i.id, i.name, i.category, " ".join(f.name for f in i.fields if f.required) or None,
          " ".join(f.name for f in i.fields if f.secret) or None) for i in catalog.items),
        title="integrations",
    )


@app.command("health")
def health(ctx: typer.Context, node: NodeArg = None, org: Org = None, json_: Json = False) -> None:
    """configured / incomplete / not_configured for each integration, and which node supplies each field."""
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    report = client.integration_health() if target.is_me else client.node_integration_health(
        target.org_id or "", target.node_id or "")
    if json_:
        output.print_json(report.api_json)
        return
    order = {"configured": 0, "incomplete": 1, "not_configured": 2}
    items = sorted(report.integrations.items(), key=lambda kv: (order.get(kv[1].status, 3), kv[0]))
    output.table(
        ["integration", "status", "missing", "sources"],
        ((name, h.status, " ".join(h.missing_fields) or None,
          " ".join(f"{f}←{n}" for f, n in h.sources.items()) or None) for name, h in items),
        title=f"integration health of {target.label()}",
    )


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    root.add_typer(app, name="integrations")
