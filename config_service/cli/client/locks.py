"""`config-service locks get|set` (admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from config_service.cli.client import output
from config_service.cli.client.common import Json, Org, Reason
from config_service.cli.client.errors import CliError
from config_service.cli.client.session import session
from config_service.cli.client.values import pointer, split_path

app = typer.Typer(help="Locked paths: values nodes below cannot change.", no_args_is_help=True)
NodeId = Annotated[str | None, typer.Argument(help="The node (default: the org root).", show_default=False)]


@app.command("get")
def get(ctx: typer.Context, node: NodeId = None, org: Org = None, json_: Json = False) -> None:
    """The paths locked at a node."""
    s = session(ctx)
    org_id = s.org(org)
    result = s.client().locks(org_id, node or org_id)
    if json_:
        output.print_json(result.api_json)
        return
    output.table(["locked path"], ([p] for p in result.locked_paths), title=f"locks of {org_id}/{result.node_id}")


@app.command("set")
def set_(
    ctx: typer.Context,
    paths: Annotated[list[str] | None, typer.Argument(
        help="[NODE] then JSON Pointers (or a.b.c) to lock; none clears.", metavar="[NODE] PATH...",
        show_default=False)] = None,
    node: Annotated[str | None, typer.Option("--node", help="The node (default: the org root).")] = None,
    org: Org = None,
    reason: Reason = None,
    json_: Json = False,
) -> None:
    """Replace the locks of a node: values nodes below it cannot change.

    `locks set sre /model /limits` names the node first, as `locks get sre` does: a first word
    that is not a JSON Pointer is the node when every path after it is one. Otherwise every
    argument is a path (`model`, `tools.deploy`) at `--node` (default: the org root).
    """
    args = list(paths or [])
    if len(args) >= 2 and not args[0].startswith("/") and all(a.startswith("/") for a in args[1:]):
        if node is not None:
            raise CliError(f"the node is named twice ({args[0]!r} and --node {node!r})", exit_code=2)
        node, args = args[0], args[1:]
    s = session(ctx)
    org_id = s.org(org)
    locked = [p if p.startswith("/") else pointer(split_path(p)) for p in args]
    result = s.client().set_locks(org_id, node or org_id, locked, reason=reason)
    if json_:
        output.print_json(result.api_json)
    else:
        output.out.print(f"{org_id}/{result.node_id} locks: {', '.join(result.locked_paths) or '(none)'}")


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    root.add_typer(app, name="locks")
