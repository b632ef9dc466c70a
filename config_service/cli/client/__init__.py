"""The client commands of `config-service` (DESIGN §12.2), built on the SDK only.

One module per command group, each with `register(root, groups)`; adding a group is one module
and one line in `MODULES`. Nothing here imports the server's domain packages.
"""

from __future__ import annotations

import typer

from config_service.cli.client import (
    audit,
    auth,
    configs,
    integrations,
    locks,
    nodes,
    orgs,
    routing,
    runs,
    tokens,
    transfer,
)

MODULES = [auth, orgs, nodes, configs, locks, tokens, audit, runs, routing, integrations, transfer]


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add every client command to `root`; `groups` are existing groups they extend (e.g. `runs`)."""
    for module in MODULES:
        module.register(root, groups)
