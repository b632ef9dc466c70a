"""Agent-run shapes (DESIGN §9)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from config_service.kit.ids import ID_PATTERN

MAX_TEXT_BYTES = 256 * 1024
FINAL_STATUSES = ("success", "error", "timeout")
STATUS_ALIASES = {"completed": "success", "failed": "error"}
RunStatus = Literal["running", "success", "error", "timeout"]


def _capped(value: str | None, name: str) -> str | None:
    if value is not None and len(value.encode()) > MAX_TEXT_BYTES:
        raise ValueError(f"{name} is larger than 256 KiB")
    return value


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_name: str = Field(min_length=1, max_length=200)
    input_message: str | None = None
    correlation_id: str | None = Field(default=None, max_length=200)
    trigger_source: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None
    config_version: str | None = Field(
        default=None, max_length=128, description="The etag the agent actually read; default: the current one."
    )
    org_id: str | None = Field(default=None, pattern=ID_PATTERN, description="Internal token only.")
    team_node_id: str | None = Field(default=None, pattern=ID_PATTERN, description="Internal token only.")

    @field_validator("input_message")
    @classmethod
    def _cap_input(cls, value: str | None) -> str | None:
        return _capped(value, "input_message")


class RunFinish(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    output: str | None = None
    output_summary: str | None = Field(default=None, description="Legacy clients: used when `output` is absent.")
    error_message: str | None = Field(default=None, description="Legacy clients: used when `output` is absent.")
    metadata: dict[str, Any] | None = None

    @field_validator("status")
    @classmethod
    def _final(cls, value: str) -> str:
        value = STATUS_ALIASES.get(value, value)
        if value not in FINAL_STATUSES:
            raise ValueError("status must be one of success, error, timeout (or completed, failed)")
        return value

    @field_validator("output", "output_summary", "error_message")
    @classmethod
    def _cap_output(cls, value: str | None) -> str | None:
        return _capped(value, "output")

    def final_output(self) -> str | None:
        if self.output is not None:
            return self.output
        return self.output_summary if self.output_summary is not None else self.error_message


class RunOut(BaseModel):
    id: uuid.UUID
    org_id: str
    team_node_id: str
    agent_name: str
    status: str
    input_message: str | None
    output: str | None
    duration_seconds: float | None
    created_at: datetime
    completed_at: datetime | None
    correlation_id: str | None
    trigger_source: str | None
    idempotency_key: str | None
    config_version: str | None
    config_versions: dict[str, int] | None
    metadata: dict[str, Any] | None


class RunList(BaseModel):
    runs: list[RunOut]
    total: int
    limit: int
    offset: int


class Duration(BaseModel):
    p50: float | None
    p95: float | None


class AgentStats(BaseModel):
    by_status: dict[str, int]
    duration: Duration


class RunStats(BaseModel):
    by_status: dict[str, int]
    duration: Duration
    agents: dict[str, AgentStats]


class RunConfig(BaseModel):
    run_id: uuid.UUID
    org_id: str
    node_id: str
    config_version: str | None
    config_versions: dict[str, int] | None
    effective_config: dict[str, Any]
    hierarchy: list[str]


MAX_STALE_AGE_SECONDS = 100 * 366 * 24 * 3600


class CleanupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # a century: `now() - max_age` must stay a timestamp PostgreSQL holds (an interval of 2^53 s does not)
    max_age_seconds: int = Field(default=3600, ge=1, le=MAX_STALE_AGE_SECONDS)
    org_id: str | None = Field(default=None, pattern=ID_PATTERN)


class CleanupResult(BaseModel):
    timed_out: int
