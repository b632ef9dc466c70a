"""`config-service config set|edit|rollback`: writes, each shown and previewed where it matters."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from config_service.cli.client import output
from config_service.cli.client.common import Json, NodeArg, Org, Reason, Yes, confirm
from config_service.cli.client.configs import app
from config_service.cli.client.errors import REFUSED, CliError
from config_service.cli.client.session import Target, session
from config_service.cli.client.values import assignments, dump, json_patch, load_document, nest, split_path
from config_service_client import Client
from config_service_client.models import Preview, WriteResult

IfMatch = Annotated[str | None, typer.Option("--if-match", help="Only if the config is still at this etag/version.")]


@app.command("set")
def set_(
    ctx: typer.Context,
    args: Annotated[list[str] | None, typer.Argument(help="[NODE] key.path=value …, or - to read a document "
                                                         "from stdin.", metavar="[NODE] KEY.PATH=VALUE",
                                                    show_default=False)] = None,
    file: Annotated[str | None, typer.Option("--file", "-f", help="A JSON or YAML document to merge (- = stdin).")]
    = None,
    secret: Annotated[str | None, typer.Option("--secret", help="Store the value read from stdin as a secret "
                                                                "at this path.")] = None,
    org: Org = None,
    reason: Reason = None,
    if_match: IfMatch = None,
    json_: Json = False,
) -> None:
    """Merge values into the own config: `key.path=value` (JSON, else text; `null` removes), a file, or a secret."""
    items = list(args or [])
    node = items.pop(0) if items and "=" not in items[0] and items[0] != "-" else None
    given = sum(bool(x) for x in (items, file, secret))
    if given != 1:
        raise CliError("give one of: key.path=value pairs, - (stdin), -f FILE, or --secret PATH")
    patch: dict[str, Any]
    if secret:
        value = sys.stdin.read().rstrip("\r\n")
        if not value:
            raise CliError("--secret reads the value from standard input, and it was empty")
        patch = nest(split_path(secret), {"$secret": value})
    elif file:
        text = sys.stdin.read() if file == "-" else _read(file)
        patch = load_document(text, "standard input" if file == "-" else file)
    elif items == ["-"]:
        patch = load_document(sys.stdin.read(), "standard input")
    else:
        patch = assignments(items)
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    result = client.patch(patch, if_match=if_match, reason=reason) if target.is_me else client.node_patch(
        target.org_id or "", target.node_id or "", patch, if_match=if_match, reason=reason)
    _saved(result, json_)


def _read(file: str) -> str:
    try:
        return Path(file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {file}: {exc}") from None


def _saved(result: WriteResult, json_: bool) -> None:
    if json_:
        output.print_json(result.api_json)
    elif result.changed:
        output.out.print(f"saved {result.org_id}/{result.node_id} as version {result.version}")
    else:
        output.out.print(f"no change: {result.org_id}/{result.node_id} stays at version {result.version}")


@app.command("edit")
def edit(
    ctx: typer.Context,
    node: NodeArg = None,
    org: Org = None,
    fmt: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
    reason: Reason = None,
    yes: Yes = False,
) -> None:
    """Edit the own config in $EDITOR; shows the diff and the blast radius, asks, saves with If-Match."""
    if fmt not in ("yaml", "json"):
        raise CliError("--format is yaml or json")
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    own, if_match = _own_for_edit(client, target)
    before = dump(own, fmt)
    after_text = run_editor(before, suffix="." + fmt)
    edited = load_document(after_text, "the edited file")
    ops = json_patch(own, edited)
    if not ops:
        output.note("no changes; nothing saved")
        return
    output.text_diff(before, dump(edited, fmt), old_name=f"{target.label()} (current)", new_name="edited")
    preview = client.preview(ops) if target.is_me else client.node_preview(target.org_id or "", target.node_id or "",
                                                                          ops)
    show_preview(preview)
    if preview.errors:
        raise typer.Exit(REFUSED)
    confirm("Save these changes?", yes)
    # the edited document whole, conditioned on the version it was made from: the same result as
    # the previewed operations, and the reason travels in the body (any text, not only a header's ASCII)
    result = client.put(edited, if_match=if_match, reason=reason) if target.is_me else client.node_put(
        target.org_id or "", target.node_id or "", edited, if_match=if_match, reason=reason)
    _saved(result, False)


def _own_for_edit(client: Client, target: Target) -> tuple[dict[str, Any], str]:
    """The own config (masked) and the If-Match that saves over exactly that version."""
    if target.is_me:
        lineage = client.raw()
        mine = lineage.lineage[-1]
        return dict(lineage.configs.get(mine.node_id, {})), f"v{mine.version}"
    view = client.node_config(target.org_id or "", target.node_id or "")
    return dict(view.config), str(view.version)


def run_editor(text: str, *, suffix: str) -> str:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    handle, name = tempfile.mkstemp(prefix="config-service-", suffix=suffix)  # 0600: it may hold masked configs
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        try:
            status = subprocess.call([*shlex.split(command), name])
        except OSError as exc:
            raise CliError(f"cannot run the editor {command!r}: {exc}") from None
        if status != 0:
            raise CliError(f"the editor exited with status {status}; nothing saved", exit_code=REFUSED)
        return Path(name).read_text()
    finally:
        Path(name).unlink(missing_ok=True)


def show_preview(preview: Preview) -> None:
    """The blast radius: every node whose effective config would change, and every problem."""
    count = len(preview.affected)
    output.out.print(Text(f"Blast radius: {count} node{'s' if count != 1 else ''} would change, "
                          f"{preview.unaffected_count} would not", style="bold"))
    for node in preview.affected:
        output.out.print(Text(f"  {node.node_id}", style="bold"))
        output.patch(node.diff, indent="    ")
    for error in preview.errors:
        where = f" at {error.path}" if error.path else ""
        output.problem(f"{error.detail}{where}", error.code)


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(min=1, help="The version whose content to restore.")],
    node: Annotated[str | None, typer.Option("--node", help="The node (default: your token's own).")] = None,
    org: Org = None,
    restore_secrets: Annotated[bool, typer.Option("--restore-secrets", help="Also bring back that version's "
                                                                            "secret values.")] = False,
    reason: Reason = None,
    yes: Yes = False,
    json_: Json = False,
) -> None:
    """Make an earlier version's content current again (as a new version)."""
    s = session(ctx)
    target = s.target(node, org)
    client = s.client()
    preview = client.preview(rollback_to=version, restore_secrets=restore_secrets) if target.is_me else (
        client.node_preview(target.org_id or "", target.node_id or "", rollback_to=version,
                            restore_secrets=restore_secrets))
    if not json_:
        show_preview(preview)
    if preview.errors:
        raise typer.Exit(REFUSED)
    confirm(f"Roll {target.label()} back to version {version}?", yes)
    # conditioned on the etag the preview was computed from: what was shown is what is applied
    result = client.rollback(version, restore_secrets=restore_secrets, reason=reason, if_match=preview.based_on) if (
        target.is_me) else client.node_rollback(target.org_id or "", target.node_id or "", version,
                                                restore_secrets=restore_secrets, reason=reason,
                                                if_match=preview.based_on)
    _saved(result, json_)
