"""How `config-service import` shows a plan to people: per node its action, the RFC 6902 diff
of its own config coloured, its lock changes; then the secrets to write and the errors.

Where a node lands (the parent of a create or a move, the name of a rename) is not part of the
API's plan; it is read from the document itself when the CLI can read it, for display only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml
from rich.console import Console
from rich.text import Text

from config_service.cli.client import output
from config_service_client import AppliedImport, ImportPlan
from config_service_client.models import PlanChange

_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when there: large documents
ACTIONS = ("create", "update", "move", "delete")
_MARKS = {"create": ("+", "green"), "update": ("~", "yellow"), "move": (">", "cyan"), "delete": ("-", "red"),
          "unchanged": ("=", "dim")}


def placements(content: bytes, org_id: str) -> dict[str, tuple[str | None, str | None]]:
    """`node_id -> (parent_node_id, name)` as the document writes them (its root read as the
    org's root), or nothing when the document cannot be read here — the server judges it."""
    try:
        data = yaml.load(content, Loader=_LOADER)  # JSON is YAML too; the server judges the document
    except (yaml.YAMLError, ValueError):
        return {}
    nodes = data.get("nodes") if isinstance(data, Mapping) else None
    if not isinstance(nodes, list) or not nodes or not isinstance(nodes[0], Mapping):
        return {}
    root = nodes[0].get("node_id")
    found: dict[str, tuple[str | None, str | None]] = {}
    for entry in nodes:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("node_id"), str):
            continue
        parent = entry.get("parent_node_id")
        name = entry.get("name")
        node_id = org_id if entry["node_id"] == root else entry["node_id"]
        found[node_id] = (org_id if parent == root else parent if isinstance(parent, str) else None,
                          name if isinstance(name, str) else None)
    return found


def summary(plan: ImportPlan) -> str:
    counts = ", ".join(f"{plan.count(action)} to {action}" for action in ACTIONS)
    return f"{counts}, {plan.count('unchanged')} unchanged"


def show_plan(plan: ImportPlan, org_id: str, console: Console,
              places: Mapping[str, tuple[str | None, str | None]] | None = None) -> None:
    """The plan for people: only what would change, then `kept`, `needs_secret` and `errors`."""
    places = places or {}
    console.print(Text(f"Import plan for org {org_id}: {summary(plan)}", style="bold"))
    console.print(Text(f"based on {plan.based_on}", style="dim"))
    for change in plan.pending:
        _change(change, console, places.get(change.node_id))
    if plan.kept:
        console.print(Text(f"Kept (not in the document; --prune deletes them): {', '.join(plan.kept)}", style="dim"))
    if plan.needs_secret:
        console.print(Text("Secrets this org lacks (masked in the document; they stay unset until written):",
                           style="bold yellow"))
        for item in plan.needs_secret:
            console.print(Text(f"  {item.node_id} {item.path}", style="yellow"))
    if plan.errors:
        count = len(plan.errors)
        console.print(Text(f"{count} error{'s' if count != 1 else ''}: the import would be refused as a whole",
                           style="bold red"))
        for error in plan.errors:
            where = f" at {error.path}" if error.path else ""
            console.print(Text(f"  {error.node_id}: {error.detail}{where} ({error.code})", style="red"))
    elif not plan.pending:
        console.print(Text("No changes: the org already matches the document.", style="green"))


def _change(change: PlanChange, console: Console, place: tuple[str | None, str | None] | None) -> None:
    mark, style = _MARKS.get(change.action, ("?", "bold"))
    line = Text(f"{mark} {change.action:<7} ", style=f"bold {style}") + Text(change.node_id, style="bold")
    parent, name = place or (None, None)
    if change.action in ("create", "move") and parent:
        line += Text(f"  under {parent}", style="dim")
    renamed_only = change.action == "update" and not (change.diff or change.locks.added or change.locks.removed)
    if name and ((change.action == "create" and name != change.node_id) or renamed_only):
        line += Text(f"  name {json.dumps(name, ensure_ascii=False)}", style="dim")
    console.print(line)
    for diff_line in output.patch_lines(change.diff):
        console.print(Text("    ") + diff_line)
    for path in change.locks.added:
        console.print(Text(f"    lock + {path}", style="green"))
    for path in change.locks.removed:
        console.print(Text(f"    lock - {path}", style="red"))


def show_applied(result: AppliedImport, org_id: str, console: Console) -> None:
    done = ", ".join(f"{result.count(action)} {past}" for action, past in
                     (("create", "created"), ("update", "updated"), ("move", "moved"), ("delete", "deleted")))
    console.print(Text(f"Applied to {org_id}: {done}; the org is now at {result.new_based_on}", style="bold green"))
    if result.needs_secret:
        console.print(Text("Write the secrets it lacks (each reads its value from standard input):", style="yellow"))
        for item in result.needs_secret:
            console.print(Text(f"  config-service config set {item.node_id} --org {org_id} --secret {item.path}"))
