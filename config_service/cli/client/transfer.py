"""`config-service export` and `config-service import FILE --plan | --apply` (DESIGN §12.4):
config as code, the way `terraform plan` / `terraform apply` work — the plan shows what would
change, the apply applies exactly that plan (its `based_on` as `If-Match`) or nothing."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from config_service.cli.client import output
from config_service.cli.client.common import Json, Org, Reason, Yes, confirm
from config_service.cli.client.errors import REFUSED, CliError
from config_service.cli.client.session import Session, session
from config_service.cli.client.transfer_view import placements, show_applied, show_plan
from config_service_client import ImportRefused, PreconditionFailed
from config_service_client.calls import reason_header

JSON_MEDIA = "application/json"
YAML_MEDIA = "application/yaml"

EXPORT_HELP = "\n\n".join([
    "Write an org as one document (config as code).",
    "Every node, parents first, with its own config and locked paths. YAML by default (to a file or the "
    "terminal), JSON with --format json; the same state always gives the same bytes, so exports diff well in git.",
    "An export is NOT a backup of secrets: secrets leave only as masks (\"********\"), and deleting an org "
    "destroys its data key, so its secrets cannot come back from a file. Keep credentials in your secret manager.",
])

IMPORT_HELP = "\n\n".join([
    "Import a document: --plan shows what it would change, --apply applies it.",
    "The document comes from `export`, of this org or another (promotion): its root maps to this org's root. "
    "Nodes it lacks are kept unless --prune.",
    "--plan writes nothing: per node its action and diff, lock changes, the secrets this org lacks "
    "(needs_secret) and the errors. It exits 1 when the plan has errors, so CI can gate on it.",
    "--apply plans, shows the plan, asks (unless --yes), then applies exactly that plan in one transaction "
    "(If-Match: its based_on): all or nothing. If the org changed since the plan, nothing is written: plan again.",
])


def resolve_org(s: Session, org: str | None) -> str:
    """`--org`, else the org of the token (`/auth/me`): an org admin's own. The global admin
    reaches every org, so it names one."""
    if org:
        return org
    me = s.client().whoami()
    if me.org_id is None:
        raise CliError("name the org with --org ORG (the global admin's token is not tied to one)")
    return me.org_id


def export(
    ctx: typer.Context,
    org: Org = None,
    out_file: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (- or none: stdout).")]
    = None,
    fmt: Annotated[str | None, typer.Option("--format", help="yaml (default) or json.")] = None,
    json_: Json = False,
) -> None:
    if fmt not in (None, "yaml", "json"):
        raise CliError("--format is yaml or json")
    if json_ and fmt == "yaml":
        raise CliError("--json and --format yaml contradict each other")
    kind = "json" if json_ or fmt == "json" else "yaml"
    s = session(ctx)
    org_id = resolve_org(s, org)
    with output.err.status(f"exporting org {org_id} …"):
        exported = s.client().export_org(org_id, format="json" if kind == "json" else "yaml")
    if out_file and out_file != "-":
        _write(Path(out_file), exported.content)
        output.note(f"wrote {out_file} ({kind}); secrets in it are masks, not values")
    else:
        sys.stdout.buffer.write(exported.content)
        sys.stdout.flush()


def _write(path: Path, content: bytes) -> None:
    """Whole or not at all: a failed export never leaves half a file over the last good one."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(content)
            os.chmod(temp, 0o666 & ~_umask())  # a normal file: an export holds masks, never secrets
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The document, YAML or JSON (- reads standard input).",
                                        show_default=False)],
    plan: Annotated[bool, typer.Option("--plan", help="Show what the import would change; write nothing.")]
    = False,
    apply: Annotated[bool, typer.Option("--apply", help="Plan, show, ask, then apply that plan.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete the nodes the document lacks.")] = False,
    org: Org = None,
    reason: Reason = None,
    yes: Yes = False,
    json_: Json = False,
) -> None:
    if plan == apply:
        raise CliError("give --plan (show what the import would change) or --apply (apply it)")
    if apply and file == "-" and not yes:
        raise CliError("the document comes from standard input, so the confirmation cannot: add --yes")
    if reason is not None:
        try:
            reason_header(reason)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    content = _read(file)
    media = _media_type(file, content)
    s = session(ctx)
    org_id = resolve_org(s, org)
    client = s.client()
    with output.err.status(f"planning the import into org {org_id} …"):
        planned = client.plan_import(org_id, content, prune=prune, content_type=media)
    places = placements(content, org_id) if not (plan and json_) else {}
    if plan:
        if json_:
            output.print_json(planned.api_json)
        else:
            show_plan(planned, org_id, output.out, places)
        if planned.errors:
            raise typer.Exit(REFUSED)
        return
    shown_on = output.err if json_ else output.out  # with --json, stdout carries the API's answer alone
    show_plan(planned, org_id, shown_on, places)
    if planned.errors:
        output.problem("the plan has errors; nothing was applied", "import_refused")
        raise typer.Exit(REFUSED)
    pending = len(planned.pending)
    if not pending:
        if json_:
            output.print_json(planned.api_json)
        return
    changes = "this change" if pending == 1 else f"these {pending} changes"
    confirm(f"Apply {changes} to org {org_id}?", yes)
    try:
        with output.err.status(f"applying {changes} to org {org_id} …"):
            result = client.apply_import(org_id, content, if_match=planned.based_on, prune=prune, reason=reason,
                                         content_type=media)
    except PreconditionFailed as exc:
        now = f" (now {exc.current})" if exc.current else ""
        output.problem(f"the org changed since the plan{now}; nothing was written: plan again", exc.code)
        raise typer.Exit(REFUSED) from None
    except ImportRefused as exc:
        for error in exc.errors:
            where = f" at {error.path}" if error.path else ""
            output.err.print(Text(f"  {error.node_id}: {error.detail}{where} ({error.code})", style="red"))
        output.problem(exc.detail, exc.code)
        raise typer.Exit(REFUSED) from None
    if json_:
        output.print_json(result.api_json)
    else:
        show_applied(result, org_id, output.out)


def _read(file: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc}") from None


def _media_type(file: str, content: bytes) -> str:
    """By the file's extension; else (stdin, other names) JSON when it starts with `{`, else YAML."""
    suffix = Path(file).suffix.lower()
    if suffix == ".json":
        return JSON_MEDIA
    if suffix in (".yaml", ".yml"):
        return YAML_MEDIA
    start = content.removeprefix(b"\xef\xbb\xbf").lstrip()
    return JSON_MEDIA if start.startswith(b"{") else YAML_MEDIA


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    root.command("export", help=EXPORT_HELP)(export)
    root.command("import", help=IMPORT_HELP)(import_)
