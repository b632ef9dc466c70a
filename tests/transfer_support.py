"""Builders for the pure transfer tests, and a model of the apply that runs a plan's steps
against an in-memory org with the node API's own refusals (missing parent, existing id, cycle,
children left behind) and the normal write's lock check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from config_service.configs.merge import lock_violation
from config_service.kit.secret_leaves import SECRET_KEY
from config_service.transfer.document import Document, validate_document
from config_service.transfer.plan import Plan
from config_service.transfer.state import CurrentNode


def env(tag: str) -> str:
    """A stored secret envelope (its content is opaque to everything under test)."""
    return f"$enc:v1:k1:{tag}"


def cur(node_id: str, parent: str | None, config: dict[str, Any] | None = None, locks: tuple[str, ...] = (),
        version: int = 1, name: str | None = None, uid: str | None = None) -> CurrentNode:
    return CurrentNode(node_id, parent, name or node_id.upper(), version, config or {}, locks, uid)


def entry(node_id: str, parent: str | None, config: dict[str, Any] | None = None, locks: list[str] | None = None,
          name: str | None = None) -> dict[str, Any]:
    return {"node_id": node_id, "parent_node_id": parent, "name": name or node_id.upper(),
            "config": config if config is not None else {}, "locked_paths": locks or []}


def doc(*entries: dict[str, Any]) -> Document:
    root = entries[0]["node_id"]
    return validate_document({"format": "config-service/v1", "org": {"org_id": root, "name": root.upper()},
                              "nodes": list(entries)})


@dataclass
class _Row:
    parent: str | None
    name: str
    version: int
    config: dict[str, Any]
    locks: list[str] = field(default_factory=list)


def _seal(value: Any, node_id: str, pointer: str) -> Any:
    if isinstance(value, dict):
        if SECRET_KEY in value:
            return env(f"sealed-{node_id}{pointer}-{value[SECRET_KEY]}")
        return {k: _seal(v, node_id, f"{pointer}/{k}") for k, v in value.items()}
    return value


def _ancestors(rows: dict[str, _Row], node_id: str) -> list[str]:
    chain, here = [], rows[node_id].parent
    while here is not None:
        chain.append(here)
        here = rows[here].parent
    return chain


def apply(current: list[CurrentNode], plan: Plan, *, normal_lock_check: bool = False) -> list[CurrentNode]:
    """The org after running `plan.steps` one by one, each refused as the node API would.

    `normal_lock_check` also refuses a write that breaks a lock an ancestor holds at that moment
    (the write path's rule), to show where the steps' order makes it agree with the import's."""
    rows = {n.node_id: _Row(n.parent_node_id, n.name, n.version, n.own_config, list(n.locked_paths))
            for n in current}
    for step in plan.steps:
        change, node_id = step.change, step.node_id
        if step.kind == "create":
            assert node_id not in rows, f"create {node_id}: exists"
            assert change.parent_node_id in rows, f"create {node_id}: no parent {change.parent_node_id}"
            rows[node_id] = _Row(change.parent_node_id, change.name, 1, {})
        elif step.kind == "move":
            new_parent = change.parent_node_id
            assert new_parent in rows, f"move {node_id}: no parent {new_parent}"
            assert new_parent != node_id and node_id not in _ancestors(rows, new_parent), f"move {node_id}: cycle"
            rows[node_id].parent = new_parent
        elif step.kind == "rename":
            rows[node_id].name = change.name
        elif step.kind == "delete":
            assert not [n for n, r in rows.items() if r.parent == node_id], f"delete {node_id}: has children"
            del rows[node_id]
        elif step.kind in ("unlock", "lock"):
            if step.kind == "unlock":
                assert set(step.locked_paths) < set(rows[node_id].locks), f"unlock {node_id}: adds locks"
            rows[node_id].locks = list(step.locked_paths)
        else:
            assert step.kind == "write" and change.config is not None
            row = rows[node_id]
            if normal_lock_check:
                held = [(p, a) for a in _ancestors(rows, node_id) for p in rows[a].locks]
                assert lock_violation(row.config, change.config, held) is None, f"write {node_id}: locked"
            row.config = _seal(change.config, node_id, "")
            row.version += 1
    return [CurrentNode(n, r.parent, r.name, r.version, r.config, tuple(r.locks)) for n, r in rows.items()]
