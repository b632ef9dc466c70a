"""Request and response shapes of the config API (DESIGN §6, §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int = Field(ge=1, le=2**31 - 1)
    reason: str | None = Field(default=None, max_length=2000)
    restore_secrets: bool = False


class LocksWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

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


# The write bodies are parsed by configs.requests (by media type), not by a model: documented here.
_WRITE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["config"],
    "properties": {
        "config": {"type": "object", "description": "PATCH: an RFC 7396 merge patch; PUT: the whole own config"},
        "reason": {"type": "string", "maxLength": 2000},
    },
}
_JSON_PATCH: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string"},
            "from": {"type": "string"},
            "value": {},
        },
    },
}
_IF_MATCH = {
    "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "The write happens only if this validator is current (else 412)",
}
PATCH_BODY_DOC: dict[str, Any] = {
    "parameters": [
        _IF_MATCH,
        {"name": "X-Change-Reason", "in": "header", "required": False, "schema": {"type": "string"},
         "description": "The reason of an `application/json-patch+json` write"},
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _WRITE_BODY},
            "application/merge-patch+json": {"schema": _WRITE_BODY},
            "application/json-patch+json": {"schema": _JSON_PATCH},
        },
    },
}
PUT_BODY_DOC: dict[str, Any] = {
    "parameters": [_IF_MATCH],
    "requestBody": {"required": True, "content": {"application/json": {"schema": _WRITE_BODY}}},
}
ROLLBACK_BODY_DOC: dict[str, Any] = {
    "parameters": [_IF_MATCH],
    "requestBody": {"required": True, "content": {"application/json": {"schema": RollbackRequest.model_json_schema()}}},
}
