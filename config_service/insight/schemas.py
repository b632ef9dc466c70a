"""Shapes of `explain` (DESIGN §7)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Override(BaseModel):
    node_id: str
    value: Any = Field(description="the ancestor's own value at this path (masked); null for its tombstone")


class ExplainEntry(BaseModel):
    value: Any = Field(description="the effective value (secrets masked); null for a tombstone")
    node_id: str = Field(description="the node whose own config set (or tombstoned) this value")
    version: int | None = Field(description="that node's own-config version")
    locked_by: str | None = Field(description="the highest node whose locked path covers this path")
    secret: bool
    fingerprint: str | None = Field(description="a keyed tag of the secret value (never the value); null if not secret")
    overrides: list[Override] = Field(description="the ancestors' values at this path it overrides, nearest first")


class ExplainView(BaseModel):
    paths: dict[str, ExplainEntry] = Field(description="JSON Pointer of each leaf (lists are leaves) and tombstone")
