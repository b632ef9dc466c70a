"""PURE: the change log as this process sees it (DESIGN §10).

Every committed change has an `audit_events` row; its id is NOTIFYed on `CHANNEL` by the
statement that inserts it. Each process reads the log forward (`live.feed`), and applies the
events its own transactions wrote the moment they commit (`db.engine.after_commit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHANNEL = "config_service_changes"


@dataclass(frozen=True)
class ChangeEvent:
    """One row of the change log: what the feed needs to know what it made stale."""

    id: int
    xid: int
    org_id: str | None
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any] = field(default_factory=dict)
