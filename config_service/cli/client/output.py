"""How client commands print: the API's JSON for `--json`, rich tables, trees and coloured
diffs for people, problems on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """The API's JSON unchanged (content and key order), for jq and friends."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    grid = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    count = 0
    for row in rows:
        grid.add_row(*(Text("—" if cell is None else value_text(cell)) for cell in row))
        count += 1
    if count:
        out.print(grid)
    else:
        out.print(Text(f"({title or 'nothing'}: none)", style="dim"))


def fields(pairs: Iterable[tuple[str, Any]]) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for name, value in pairs:
        grid.add_row(name, Text("—" if value is None else value_text(value)))
    out.print(grid)


def document(data: Any) -> None:
    """A config document for people: indented JSON, keys and values as text (never markup)."""
    out.print(Text(json.dumps(data, indent=2, ensure_ascii=False)))


def patch_lines(ops: list[dict[str, Any]]) -> list[Text]:
    """An RFC 6902 patch as coloured lines: + added, - removed, ~ replaced."""
    lines: list[Text] = []
    for op in ops:
        kind = op.get("op")
        where = op.get("path", "")
        if kind == "add":
            lines.append(Text(f"+ {where}: {value_text(op.get('value'))}", style="green"))
        elif kind == "remove":
            lines.append(Text(f"- {where}", style="red"))
        elif kind == "replace":
            lines.append(Text(f"~ {where}: {value_text(op.get('value'))}", style="yellow"))
        elif kind in ("move", "copy"):
            lines.append(Text(f"{kind} {op.get('from')} → {where}", style="cyan"))
        else:
            lines.append(Text(f"{kind} {where}: {value_text(op.get('value'))}", style="dim"))
    return lines


def patch(ops: list[dict[str, Any]], *, indent: str = "") -> None:
    if not ops:
        out.print(Text(indent + "(no change)", style="dim"))
    for line in patch_lines(ops):
        out.print(Text(indent) + line)


def text_diff(old: str, new: str, *, old_name: str = "current", new_name: str = "edited") -> None:
    import difflib

    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""):
        style = "bold" if line.startswith(("---", "+++")) else (
            "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan" if line.startswith("@@")
            else ""
        )
        out.print(Text(line, style=style))


def problem(message: str, code: str | None = None) -> None:
    suffix = f" ({code})" if code else ""
    err.print(Text("error: ", style="bold red") + Text(message + suffix))


def note(message: str) -> None:
    err.print(Text(message, style="dim"))
