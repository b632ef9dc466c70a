from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from config_service.kit.ids import ID_PATTERN

Identifier = Field(pattern=ID_PATTERN, min_length=1, max_length=64)


def _one_parent_spelling(data: Any) -> Any:
    """`parent_id` is an alias of `parent_node_id`: giving both is ambiguous, not "unknown"."""
    if isinstance(data, dict) and "parent_id" in data and "parent_node_id" in data:
        raise ValueError("give parent_node_id or its alias parent_id, not both")
    return data


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=200)


class OrgOut(BaseModel):
    org_id: str
    name: str
    node_uid: uuid.UUID
    created_at: datetime
    updated_at: datetime


class OrgList(BaseModel):
    items: list[OrgOut]
    next_cursor: str | None = None


class NodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node_id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=64)
    parent_node_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("parent_node_id", "parent_id"),
        pattern=ID_PATTERN,
        max_length=64,
        description="Defaults to the org root. `parent_id` is accepted as an alias.",
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    node_type: Literal["team"] = "team"
    reason: str | None = Field(default=None, max_length=2000)

    _parent = model_validator(mode="before")(_one_parent_spelling)


class NodeUpdate(BaseModel):
    """Rename (`name`) and/or move (`parent_node_id`)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_node_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("parent_node_id", "parent_id"),
        pattern=ID_PATTERN,
        max_length=64,
    )
    reason: str | None = Field(default=None, max_length=2000)

    _parent = model_validator(mode="before")(_one_parent_spelling)


class NodeOut(BaseModel):
    org_id: str
    node_id: str
    node_uid: uuid.UUID
    name: str
    node_type: str
    parent_node_id: str | None
    created_at: datetime
    updated_at: datetime


class NodeList(BaseModel):
    items: list[NodeOut]
    next_cursor: str | None = None


class TreeNode(BaseModel):
    node_id: str
    name: str
    node_type: str
    parent_node_id: str | None
    children: list[TreeNode]


class TreeOut(BaseModel):
    org_id: str
    root: TreeNode
