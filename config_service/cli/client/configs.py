"""`config-service config get|history|diff|explain|watch` (reads; writes are in config_edit.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.text import Text

from config_service.cli.client import output
from config_service.cli.client.common import Json, NodeArg, Org, Reveal
from config_service.cli.client.errors import CliError
from config_service.cli.client.session import Target, session
from config_service.cli.client.values import json_patch, pointer, split_path
from config_service_client import Client
from config_service_client.models import EffectiveConfig

app = typer.Typer(help="A node's config: read, change, history, live changes.", no_args_is_help=True)


def reveal_note(target: Target, reveal: bool) -> None:
    if reveal and not target.is_me:
        output.note("admin reads always mask secrets; --reveal applies to a team's own config")


@app.command("get")
def get(
    ctx: typer.Context,
    node: NodeArg = None,
    org: Org = None,
    effective: Annotated[bool, typer.Option("--effective", help="The merged config (the default).")] = False,
    own: Annotated[bool, typer.Option("--own", help="Only the node's own overrides.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Every own config along the lineage.")] = False,
    reveal: Reveal = False,
    json_: Json = False,
) -> None:
    """Show the effective config (or `--own`, `--raw`)."""
    if effective + own + raw > 1:
        raise CliError("choose one of --effective, --own, --raw")
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    if raw:
        lineage = client.raw() if target.is_me else client.node_raw(target.org_id or "", target.node_id or "")
        if json_:
            output.print_json(lineage.api_json)
            return
        for entry in lineage.lineage:
            output.out.print(Text(f"# {entry.node_id} ({entry.node_type}) version {entry.version}", style="bold"))
            output.document(lineage.configs.get(entry.node_id, {}))
        return
    if own:
        _print_own(client, target, json_)
        return
    reveal_note(target, reveal)
    view = client.effective(masked=not reveal) if target.is_me else client.node_effective(
        target.org_id or "", target.node_id or "")
    if json_:
        output.print_json(view.api_json)
        return
    _header(view)
    output.document(view.effective_config)


def _print_own(client: Client, target: Target, json_: bool) -> None:
    if target.is_me:
        lineage = client.raw()
        mine = lineage.lineage[-1]
        config = lineage.configs.get(mine.node_id, {})
        if json_:
            output.print_json(config)
            return
        output.out.print(Text(f"{mine.node_id}  own config, version {mine.version}", style="dim"))
        output.document(config)
        return
    view = client.node_config(target.org_id or "", target.node_id or "")
    if json_:
        output.print_json(view.api_json)
        return
    output.out.print(Text(f"{view.org_id}/{view.node_id}  own config, version {view.version}  "
                          f"updated {view.updated_at.isoformat()} by {view.updated_by or '—'}", style="dim"))
    if view.locked_paths:
        output.out.print(Text("locked here: " + ", ".join(view.locked_paths), style="dim"))
    output.document(view.config)


def _header(view: EffectiveConfig) -> None:
    stale = "  (stale)" if view.stale else ""
    output.out.print(Text(f"{view.org_id}/{view.node_id}  version {view.version}  etag {view.etag}  "
                          f"lineage {' > '.join(view.hierarchy)}{stale}", style="dim"))


@app.command("history")
def history(
    ctx: typer.Context,
    node: NodeArg = None,
    org: Org = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=500)] = None,
    cursor: Annotated[str | None, typer.Option("--cursor", help="Continue below this version.")] = None,
    json_: Json = False,
) -> None:
    """Versions of the own config, newest first."""
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    page = client.history(limit=limit, cursor=cursor) if target.is_me else client.node_history(
        target.org_id or "", target.node_id or "", limit=limit, cursor=cursor)
    if json_:
        output.print_json(page.api_json)
        return
    output.table(
        ["version", "changed at", "by", "reason", "changes"],
        ((i.version, _when(i.changed_at), i.changed_by, i.reason, len(i.diff)) for i in page.items),
        title=f"history of {target.label()}",
    )
    if page.next_cursor:
        output.note(f"more: --cursor {page.next_cursor}")


@app.command("diff")
def diff(
    ctx: typer.Context,
    from_version: Annotated[int, typer.Argument(min=1, help="The version to compare from.")],
    to_version: Annotated[int | None, typer.Argument(min=1, help="The version to compare to (default: current).")]
    = None,
    node: Annotated[str | None, typer.Option("--node", help="The node (default: your token's own).")] = None,
    org: Org = None,
    json_: Json = False,
) -> None:
    """What changed in the own config between two versions (secrets masked)."""
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    result = client.diff(from_version, to_version) if target.is_me else client.node_diff(
        target.org_id or "", target.node_id or "", from_version, to_version)
    if json_:
        output.print_json(result.api_json)
        return
    output.out.print(Text(f"{result.org_id}/{result.node_id}: version {result.from_version} → {result.to_version}",
                          style="bold"))
    output.patch(result.diff)


@app.command("explain")
def explain(
    ctx: typer.Context,
    path: Annotated[str | None, typer.Argument(help="Only this path and below (a.b.c or /a/b/c).")] = None,
    node: Annotated[str | None, typer.Option("--node", help="The node (default: your token's own).")] = None,
    org: Org = None,
    json_: Json = False,
) -> None:
    """Where each effective value comes from: the node that set it, locks, overridden values."""
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    result = client.explain() if target.is_me else client.node_explain(target.org_id or "", target.node_id or "")
    paths: dict[str, Any] = dict(result.api_json.get("paths", {}))
    if path:
        prefix = pointer(split_path(path)) if not path.startswith("/") else path.rstrip("/")
        paths = {p: e for p, e in paths.items() if p == prefix or p.startswith(prefix + "/")}
    if json_:
        output.print_json({"paths": paths})
        return
    rows = []
    for where, entry in paths.items():
        value = "(removed)" if entry.get("value") is None else output.value_text(entry.get("value"))
        source = f"{entry.get('node_id')}@v{entry.get('version')}" if entry.get("version") else entry.get("node_id")
        overrides = "; ".join(f"{o['node_id']}={output.value_text(o.get('value'))}" for o in entry.get("overrides", []))
        rows.append((where, value, source, entry.get("locked_by"), overrides or None))
    output.table(["path", "value", "set by", "locked by", "overrides"], rows, title=f"explain {target.label()}")


@app.command("watch")
def watch(
    ctx: typer.Context,
    node: NodeArg = None,
    org: Org = None,
    reveal: Reveal = False,
    json_: Annotated[bool, typer.Option("--json", help="One line of the API's JSON per change.")] = False,
) -> None:
    """Print the effective config, then each change as it arrives (Ctrl-C to stop)."""
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    reveal_note(target, reveal)
    stream = client.watch(masked=not reveal) if target.is_me else client.node_watch(
        target.org_id or "", target.node_id or "")
    previous: EffectiveConfig | None = None
    try:
        for view in stream:
            if json_:
                print(json.dumps(view.api_json, ensure_ascii=False), flush=True)
            elif previous is None:
                _header(view)
                output.document(view.effective_config)
            else:
                output.out.print(Text(f"{_when(datetime.now().astimezone())}  version {view.version}  "
                                      f"etag {view.etag}", style="bold"))
                output.patch(json_patch(previous.effective_config, view.effective_config), indent="  ")
            previous = view
    except KeyboardInterrupt:
        return


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    from config_service.cli.client import config_edit  # noqa: F401 - adds set, edit, rollback to `app`

    root.add_typer(app, name="config")
