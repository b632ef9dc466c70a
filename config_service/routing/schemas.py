from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from config_service.kit.ids import ID_PATTERN
from config_service.tokens.schemas import TokenIssued, known_scopes

MAX_EXCHANGE_TTL = 15 * 60


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifiers: dict[str, Any] = Field(
        description="Any of slack_channel_id, slack_workspace_id, service, github_repo, pagerduty_service_id, "
        "incidentio_team_id, incidentio_alert_source_id, coralogix_team_name (strings; null or \"\" = not "
        "given). Any other kind is 422."
    )
    org_id: str | None = Field(default=None, pattern=ID_PATTERN)
    issue_token: bool = False


class LookupResult(BaseModel):
    found: bool
    org_id: str | None
    team_node_id: str | None
    matched_by: str | None
    matched_value: str | None
    tried: list[str]
    ambiguous: list[str] | None
    team_token: str | None
    team_token_expires_at: str | None = None


class ExchangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: str = Field(pattern=ID_PATTERN)
    team_node_id: str = Field(pattern=ID_PATTERN)
    ttl_seconds: int = Field(default=MAX_EXCHANGE_TTL, ge=1, le=MAX_EXCHANGE_TTL)
    scopes: list[str] | None = None

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str] | None) -> list[str] | None:
        return known_scopes(value)


ExchangeResult = TokenIssued


class ClaimInfo(BaseModel):
    kind: str = Field(description="The `routing` list that claims it, e.g. `slack_channel_ids`, `services`")
    value: str = Field(description="The identifier as written in the config")
    node_id: str


class ClaimList(BaseModel):
    items: list[ClaimInfo]
    next_cursor: str | None
