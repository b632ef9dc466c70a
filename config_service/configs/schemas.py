"""Request and response shapes of the config API (DESIGN §6, §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1)
    reason: str | None = Field(default=None, max_length=2000)
    restore_secrets: bool = False


class LocksWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locked_paths: list[str] = Field(max_length=200)
    reason: str | None = Field(default=None, max_length=2000)


class WriteResult(BaseModel):
    org_id: str
    node_id: str
    version: int
    etag: str
    changed: bool
    config: dict[str, Any]


class EffectiveView(BaseModel):
    org_id: str
    node_id: str
    version: int
    etag: str
    effective_config: dict[str, Any]
    hierarchy: list[str]


class OwnView(BaseModel):
    org_id: str
    node_id: str
    version: int
    config: dict[str, Any]
    locked_paths: list[str]
    updated_at: datetime
    updated_by: str | None


class LineageEntry(BaseModel):
    node_id: str
    node_type: str
    name: str
    parent_node_id: str | None
    version: int


class RawView(BaseModel):
    lineage: list[LineageEntry]
    configs: dict[str, dict[str, Any]]


class HistoryItem(BaseModel):
    version: int
    changed_at: datetime
    changed_by: str | None
    reason: str | None
    diff: list[dict[str, Any]]
    config: dict[str, Any] | None = None


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_cursor: str | None


class LocksView(BaseModel):
    org_id: str
    node_id: str
    locked_paths: list[str]


class VersionDiff(BaseModel):
    org_id: str
    node_id: str
    from_version: int
    to_version: int
    diff: list[dict[str, Any]] = Field(
        description="RFC 6902 patch turning the own config of `from_version` into that of `to_version`; "
        "secrets masked (a changed secret is a `replace` whose value is `\"********\"`)"
    )
# ---- preview (DESIGN §7) -------------------------------------------------------------------


class PreviewRollback(BaseModel):
    """`{"rollback_to": N}`: preview the rollback of the node's own config to version N."""

    model_config = ConfigDict(extra="forbid")

    rollback_to: StrictInt = Field(ge=1, le=2**31 - 1)
    restore_secrets: StrictBool = False
    reason: str | None = Field(default=None, max_length=2000, description="accepted as on the rollback it previews")


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
                            "additionalProperties": False,
                        },
                        PreviewRollback.model_json_schema(),
                    ]
                }
            },
            "application/merge-patch+json": {
                "schema": {
                    "type": "object", "required": ["config"], "additionalProperties": False,
                    "properties": {"config": {"type": "object"}, "reason": {"type": "string"}},
                }
            },
            "application/json-patch+json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
    }
}
