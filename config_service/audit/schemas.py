from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from config_service.kit.tenancy import Incarnation


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    org_id: str | None
    org_uid: uuid.UUID | None  # the incarnation of the org id (its root's node_uid); null: none known
    actor: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


@dataclass(frozen=True)
class AuditFilter:
    """Which events of an org a listing or export covers. Times without a zone are UTC."""

    actor: str | None = None
    action: str | None = None
    target_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    # which org of that id (a deleted org's id can be taken again): set by the route before any
    # read — the current org, a former one (the global admin), or "all" (the global admin)
    incarnation: Incarnation | Literal["all"] | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=UTC))
