"""The SDK stands alone and the CLI's client commands are built on it: checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT


def imported_modules(directory: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for file in sorted(directory.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(file.relative_to(ROOT))] = names
    return found


def test_the_sdk_imports_nothing_of_the_server():
    allowed_third_party = {"httpx", "pydantic"}
    for file, names in imported_modules(ROOT / "clients" / "python" / "config_service_client").items():
        roots = {name.split(".")[0] for name in names}
        foreign = {r for r in roots if r not in allowed_third_party and r != "config_service_client"
                   and r not in _stdlib()}
        assert not foreign, (file, foreign)


def test_client_commands_use_only_the_sdk():
    for file, names in imported_modules(ROOT / "config_service" / "cli" / "client").items():
        server = {n for n in names
                  if n.split(".")[0] == "config_service" and not n.startswith("config_service.cli.client")}
        assert not server, (file, server)


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names) | {"__future__"}
