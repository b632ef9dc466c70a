"""Targets, the printed table and `bench/results.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The targets of issue 5 on the 2-core reference machine.
TARGETS = {
    "read_cached": {"ratio_min": 0.25, "p99_ms_max": 10.0},
    "read_uncached_depth8": {"p50_ms_max": 10.0},
    "write": {"rps_min": 300.0, "p99_ms_max": 50.0},
    "watch": {"p99_ms_max": 100.0},
    "scale": {"p99_growth_max": 1.5},
    "transfer": {"seconds_max": 2.0},  # issue 13: export and plan of an org of 2,000 nodes
}


@dataclass
class Row:
    scenario: str
    rps: float | None = None
    p50: float | None = None
    p99: float | None = None
    target: str = "—"
    verdict: str = "info"  # pass | fail | info | unavailable | error
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def judge(checks: list[bool]) -> str:
    return "pass" if all(checks) else "fail"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    header = ("scenario", "rps", "p50 ms", "p99 ms", "target", "result")
    lines = [
        (r.scenario, _num(r.rps), _num(r.p50, 2), _num(r.p99, 2), r.target,
            r.verdict + (f" ({r.note})" if r.note else ""))
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
    def fmt(cells):
        return "  ".join(str(c).rjust(w) if i in (1, 2, 3) else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells,
            widths, strict=True)))
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines)])


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
