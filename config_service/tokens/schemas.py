from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from config_service.auth.principal import ALL_SCOPES


def known_scopes(value: list[str] | None) -> list[str] | None:
    """Validate requested team-token scopes: known names, at least one; sorted, deduplicated."""
    if value is None:
        return None
    unknown = sorted(set(value) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    if not value:
        raise ValueError("at least one scope is required")
    return sorted(set(value))


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=500)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    scopes: list[str] | None = Field(
        default=None,
        description="Team-token scopes; default `config:read secrets:read runs:write`. "
        "`config:write` is only granted when asked for.",
    )

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str] | None) -> list[str] | None:
        return known_scopes(value)


class AdminTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=500)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenIssued(BaseModel):
    """The only time the token itself is shown."""

    id: uuid.UUID
    token: str
    token_hint: str
    org_id: str
    team_node_id: str | None
    description: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None


class TokenInfo(BaseModel):
    id: uuid.UUID
    token_hint: str
    org_id: str
    team_node_id: str | None
    description: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: str | None


class TokenList(BaseModel):
    items: list[TokenInfo]
    next_cursor: str | None = None
