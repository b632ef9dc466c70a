"""Shapes of `explain` and `preview` (DESIGN §7)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt


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


class PreviewRollback(BaseModel):
    """`{"rollback_to": N}`: preview the rollback of the node's own config to version N."""

    model_config = ConfigDict(extra="ignore")

    rollback_to: StrictInt = Field(ge=1, le=2**31 - 1)
    restore_secrets: StrictBool = False


class PreviewError(BaseModel):
    code: str = Field(description="the problem code the write would answer with (e.g. locked_path, routing_conflict)")
    detail: str
    path: str | None = None
    holder: dict[str, Any] | None = None


class AffectedNode(BaseModel):
    node_id: str
    diff: list[dict[str, Any]] = Field(description="RFC 6902 from its current to its new effective config, masked")


class PreviewView(BaseModel):
    based_on: str = Field(description="the current effective etag of the node the preview was computed from")
    affected: list[AffectedNode]
    unaffected_count: int
    errors: list[PreviewError]


PREVIEW_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["config"],
                            "properties": {"config": {"type": "object"}, "reason": {"type": "string"}},
                        },
                        PreviewRollback.model_json_schema(),
                    ]
                }
            },
            "application/merge-patch+json": {
                "schema": {"type": "object", "required": ["config"], "properties": {"config": {"type": "object"}}}
            },
            "application/json-patch+json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
    }
}
