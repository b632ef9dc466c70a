from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from config_service.kit.ids import ID_PATTERN

Status = Literal["configured", "incomplete", "not_configured"]


class FieldDef(BaseModel):
    name: str
    type: Literal["string", "integer", "number", "boolean", "url", "email", "enum", "string_list"]
    required: bool
    display_name: str
    description: str
    secret: bool
    endpoint: bool
    example: Any
    options: list[str] | None = Field(default=None, description="enum fields only")


class IntegrationSchemaOut(BaseModel):
    id: str
    name: str
    description: str | None
    category: str | None
    logo_url: str | None
    fields: list[FieldDef]
    built_in: bool
    created_at: datetime
    updated_at: datetime


class IntegrationSchemaList(BaseModel):
    items: list[IntegrationSchemaOut]
    next_cursor: str | None = None


class IntegrationSchemaCreate(BaseModel):
    """`fields` are checked by `integrations.validation.schema_problem` (types, examples, options)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    category: str | None = Field(default=None, pattern=ID_PATTERN, max_length=64)
    logo_url: str | None = Field(default=None, max_length=500)
    fields: list[Any] = Field(default_factory=list, max_length=100)


class IntegrationSchemaUpdate(BaseModel):
    """PUT replaces every property; PATCH changes those sent."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    category: str | None = Field(default=None, pattern=ID_PATTERN, max_length=64)
    logo_url: str | None = Field(default=None, max_length=500)
    fields: list[Any] | None = Field(default=None, max_length=100)


class IntegrationHealth(BaseModel):
    status: Status
    fields_configured: list[str]
    missing_fields: list[str]
    sources: dict[str, str] = Field(description="field → node_id that supplies its effective value")


class HealthView(BaseModel):
    integrations: dict[str, IntegrationHealth]
