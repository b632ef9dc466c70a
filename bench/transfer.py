"""The `transfer` group of `make bench`: config as code on an org of 2,000 nodes (issue 13).

The org is built by importing a generated document (the apply is timed too, for information):
the root config of the read workload (≈ 32 KB, with credentials), 10 units with locks, a chain
of 8 below the root and teams round-robin under the units (≈ 1 KB own configs, each claiming a
Slack channel, two services and a repo). Then, each timed as a client sees it:

- `transfer_export`: `GET …/export` (JSON) of the 2,000 nodes;
- `transfer_export_yaml`: the same as YAML (information, no target);
- `transfer_plan_unchanged`: `POST …/import?dry_run=true` of that export into its own org —
  every node `unchanged`;
- `transfer_plan_create`: the same document planned into an empty org — 2,000 `create`s, every
  write rule run for every node against the tree the import leaves.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from bench import workload
from bench.report import TARGETS, Row, judge

NODES = 2_000
SOURCE = "bench-transfer"


def _numbered(template: dict[str, Any], number: int) -> dict[str, Any]:
    return json.loads(json.dumps(template).replace(workload.N, str(number)))


def build_document(nodes: int = NODES) -> dict[str, Any]:
    """An org of `nodes` nodes as an export document (the root's credentials as plaintext
    requests, which the apply seals)."""
    root = workload.root_config()
    root["integrations"]["coralogix"]["api_key"] = {"$secret": "cx-bench-" + "k" * 32}
    entries = [{"node_id": SOURCE, "parent_node_id": None, "name": "Bench transfer", "config": root,
                "locked_paths": ["/limits/max_tool_calls", "/notifications/on_error"]}]
    for unit in range(1, workload.UNITS + 1):
        entries.append({"node_id": f"unit-{unit}", "parent_node_id": SOURCE, "name": f"Unit {unit}",
                        "config": _numbered(workload.unit_template(), unit), "locked_paths": ["/escalation/policy"]})
    for depth in range(1, workload.CHAIN_DEPTH + 1):
        parent = SOURCE if depth == 1 else f"chain-{depth - 1}"
        entries.append({"node_id": f"chain-{depth}", "parent_node_id": parent, "name": f"Chain {depth}",
                        "config": _numbered(workload.chain_template(), depth), "locked_paths": []})
    teams = nodes - len(entries)
    for team in range(1, teams + 1):
        unit = (team - 1) % workload.UNITS + 1
        entries.append({"node_id": f"team-{team}", "parent_node_id": f"unit-{unit}", "name": f"Team {team}",
                        "config": _numbered(workload.team_template(), team), "locked_paths": []})
    # parents before children: units and the chain before the teams
    return {"format": "config-service/v1", "org": {"org_id": SOURCE, "name": "Bench transfer"}, "nodes": entries}


def _expect(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code != 200:
        raise RuntimeError(f"cannot {what}: HTTP {response.status_code} {response.text[:500]}")
    return response


def _timed(call: Callable[[], httpx.Response], what: str, runs: int) -> tuple[list[float], httpx.Response]:
    times, last = [], None
    for _ in range(runs):
        started = time.perf_counter()
        last = _expect(call(), what)
        times.append(time.perf_counter() - started)
    assert last is not None
    return times, last


def _row(name: str, times: list[float], note: str, data: dict[str, Any], *, targeted: bool = True) -> Row:
    """Median as p50, the slowest run as p99; judged against the target unless `targeted` is off."""
    limit = TARGETS["transfer"]["seconds_max"]
    worst = max(times)
    target, verdict = (f"each < {limit:g} s", judge([worst < limit])) if targeted else ("—", "info")
    return Row(name, None, round(statistics.median(times) * 1000, 1), round(worst * 1000, 1), target, verdict, note,
               {"runs": len(times), "seconds": [round(t, 3) for t in times], **data})


class TransferBench:
    """The org built once by an import (on first use), then each scenario timed `runs` times."""

    def __init__(self, admin: httpx.Client, runs: int, log: Callable[[str], None]) -> None:
        self.admin, self.runs, self.log = admin, runs, log
        self.source = f"{SOURCE}-{uuid.uuid4().hex[:6]}"
        self.empty = f"{SOURCE}-empty-{uuid.uuid4().hex[:6]}"
        self.exported: httpx.Response | None = None
        self.data: dict[str, Any] = {}

    def _build(self) -> None:
        for org_id in (self.source, self.empty):
            _expect_status(self.admin.post("/admin/orgs", json={"org_id": org_id}), 201, f"create org {org_id}")
        document = build_document()
        body = json.dumps(document).encode()
        started = time.perf_counter()
        _expect(self.admin.post(f"/admin/orgs/{self.source}/import", content=body,
                                headers={"Content-Type": "application/json", "If-Match": "*"}, timeout=600),
                "apply the generated document")
        applied = time.perf_counter() - started
        self.log(f"transfer: imported {len(document['nodes'])} nodes ({len(body) / 1e6:.1f} MB) in {applied:.1f}s")
        self.data = {"nodes": len(document["nodes"]), "apply_seconds": round(applied, 2)}

    def export(self) -> Row:
        self._build()
        times, exported = _timed(lambda: self.admin.get(f"/admin/orgs/{self.source}/export", timeout=60), "export",
                                 self.runs)
        self.exported = exported
        self.data["document_bytes"] = len(exported.content)
        nodes = len(exported.json()["nodes"])
        return _row("transfer_export", times, f"{nodes} nodes, {len(exported.content) / 1e6:.1f} MB", dict(self.data))

    def export_yaml(self) -> Row:
        """The same export as YAML (information: the issue's target is on the JSON export)."""
        times, exported = _timed(lambda: self.admin.get(f"/admin/orgs/{self.source}/export", timeout=60,
                                                        headers={"Accept": "application/yaml"}), "export YAML",
                                 self.runs)
        return _row("transfer_export_yaml", times, f"{len(exported.content) / 1e6:.1f} MB", dict(self.data),
                    targeted=False)

    def plan_unchanged(self) -> Row:
        return self._plan("transfer_plan_unchanged", self.source, "unchanged")

    def plan_create(self) -> Row:
        return self._plan("transfer_plan_create", self.empty, "create")

    def _plan(self, name: str, org_id: str, action: str) -> Row:
        if self.exported is None:
            raise RuntimeError("the export scenario did not run")
        content = self.exported.content

        def plan() -> httpx.Response:
            return self.admin.post(f"/admin/orgs/{org_id}/import", params={"dry_run": "true"}, content=content,
                                   headers={"Content-Type": "application/json"}, timeout=60)

        times, planned = _timed(plan, f"plan into {org_id}", self.runs)
        result = planned.json()
        counted = sum(1 for change in result["changes"] if change["action"] == action)
        if result["errors"] or counted < NODES - 1:
            raise RuntimeError(f"{name}: {counted} {action}, errors {result['errors'][:3]}")
        return _row(name, times, f"{counted} {action}", self.data | {"changes": len(result["changes"])})


def _expect_status(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise RuntimeError(f"cannot {what}: HTTP {response.status_code} {response.text[:500]}")
