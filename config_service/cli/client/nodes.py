"""`config-service node add|move|rm|tree|list`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text
from rich.tree import Tree

from config_service.cli.client import output
from config_service.cli.client.common import Json, Org, Reason, Yes, cascade_hint, confirm
from config_service.cli.client.session import session
from config_service_client.models import TreeNode

app = typer.Typer(help="Nodes of an org's tree (admins).", no_args_is_help=True)
NodeId = Annotated[str, typer.Argument(help="The node id.")]


def _org(ctx: typer.Context, org: str | None) -> str:
    return session(ctx).org(org)


@app.command("add")
def add(
    ctx: typer.Context,
    node_id: NodeId,
    org: Org = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Parent node (default: the org root).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    reason: Reason = None,
    json_: Json = False,
) -> None:
    """Add a team."""
    node = session(ctx).client().create_node(_org(ctx, org), node_id, parent_node_id=parent, name=name, reason=reason)
    if json_:
        output.print_json(node.api_json)
    else:
        output.out.print(f"added {node.org_id}/{node.node_id} under {node.parent_node_id}")


@app.command("move")
def move(
    ctx: typer.Context,
    node_id: NodeId,
    to: Annotated[str, typer.Option("--to", "--parent", help="The new parent.")],
    org: Org = None,
    reason: Reason = None,
    json_: Json = False,
) -> None:
    """Move a node (with its subtree) under another parent."""
    node = session(ctx).client().update_node(_org(ctx, org), node_id, parent_node_id=to, reason=reason)
    if json_:
        output.print_json(node.api_json)
    else:
        output.out.print(f"moved {node.org_id}/{node.node_id} under {node.parent_node_id}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    node_id: NodeId,
    org: Org = None,
    cascade: Annotated[bool, typer.Option("--cascade", help="Also delete its descendants.")] = False,
    yes: Yes = False,
) -> None:
    """Delete a node (its tokens are revoked, its routing claims freed)."""
    org_id = _org(ctx, org)
    confirm(f"Delete {org_id}/{node_id}{' and everything below it' if cascade else ''}?", yes)
    with cascade_hint():
        session(ctx).client().delete_node(org_id, node_id, cascade=cascade)
    output.out.print(f"deleted {org_id}/{node_id}")


@app.command("list")
def list_(ctx: typer.Context, org: Org = None, json_: Json = False) -> None:
    """Every node of the org (the root first)."""
    page = session(ctx).client().nodes(_org(ctx, org), limit=500)
    if json_:
        output.print_json(page.api_json)
        return
    output.table(["node", "name", "type", "parent"],
                 ((n.node_id, n.name, n.node_type, n.parent_node_id) for n in page.items), title="nodes")


@app.command("tree")
def tree(ctx: typer.Context, org: Org = None, json_: Json = False) -> None:
    """Draw the org as a tree."""
    result = session(ctx).client().tree(_org(ctx, org))
    if json_:
        output.print_json(result.api_json)
        return
    drawn = Tree(_label(result.root))
    _grow(drawn, result.root)
    output.out.print(drawn)


def _label(node: TreeNode) -> Text:
    label = Text(node.node_id, style="bold")
    if node.name and node.name != node.node_id:
        label.append(f"  {node.name}", style="dim")
    return label


def _grow(branch: Tree, node: TreeNode) -> None:
    for child in node.children:
        _grow(branch.add(_label(child)), child)


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    root.add_typer(app, name="node")
