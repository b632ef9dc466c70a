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


# The write and preview bodies are parsed by configs.requests (by media type), not by a model: their
# documentation is written here, as strict as the parser (unknown members are 422).
_REASON: dict[str, Any] = {"type": "string", "maxLength": 2000}
_WRITE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["config"],
    "additionalProperties": False,
    "properties": {
        "config": {"type": "object", "description": "PATCH: an RFC 7396 merge patch; PUT: the whole own config"},
        "reason": _REASON,
    },
}
# the peer agent's PATCH /config/me also sends "merge": true (DESIGN §6)
_TEAM_PATCH_BODY: dict[str, Any] = {
    **_WRITE_BODY,
    "properties": {**_WRITE_BODY["properties"], "merge": {"const": True, "description": "Deprecated (peer agent)"}},
}
# the peer service's PUT form `{"patch": …}`, which means PATCH (answered with Deprecation headers)
_LEGACY_PUT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["patch"],
    "additionalProperties": False,
    "properties": {"patch": {"type": "object", "description": "Deprecated: a merge patch"}, "reason": _REASON},
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
_IF_MATCH: dict[str, Any] = {
    "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "The write happens only if this validator is current (else 412)",
}
_CHANGE_REASON: dict[str, Any] = {
    "name": "X-Change-Reason", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "The reason of an `application/json-patch+json` write",
}


def _patch_doc(merge_body: dict[str, Any]) -> dict[str, Any]:
    return {
        "parameters": [_IF_MATCH, _CHANGE_REASON],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": merge_body},
                "application/merge-patch+json": {"schema": merge_body},
                "application/json-patch+json": {"schema": _JSON_PATCH},
            },
        },
    }


PATCH_BODY_DOC = _patch_doc(_WRITE_BODY)
TEAM_PATCH_BODY_DOC = _patch_doc(_TEAM_PATCH_BODY)
PUT_BODY_DOC: dict[str, Any] = {
    "parameters": [_IF_MATCH],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [_WRITE_BODY, _LEGACY_PUT_BODY]}}},
    },
}
ROLLBACK_BODY_DOC: dict[str, Any] = {
    "parameters": [_IF_MATCH],
    "requestBody": {"required": True, "content": {"application/json": {"schema": RollbackRequest.model_json_schema()}}},
}
PREVIEW_BODY_DOC: dict[str, Any] = {
    "parameters": [_IF_MATCH, _CHANGE_REASON],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [_WRITE_BODY, PreviewRollback.model_json_schema()]}},
            "application/merge-patch+json": {"schema": _WRITE_BODY},
            "application/json-patch+json": {"schema": _JSON_PATCH},
        },
    },
}
