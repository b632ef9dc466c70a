"""Agent-run shapes (DESIGN §9)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from config_service.kit.ids import ID_PATTERN

MAX_TEXT_BYTES = 256 * 1024
FINAL_STATUSES = ("success", "error", "timeout")
STATUS_ALIASES = {"completed": "success", "failed": "error"}
RunStatus = Literal["running", "success", "error", "timeout"]
# what a listing's `status` filter takes: a status, or an alias a finish accepts (read as its status)
RunStatusFilter = Literal["running", "success", "error", "timeout", "completed", "failed"]
# A run id a client chooses (the peer's agents send 8 hex characters, or a uuid): also its
# idempotency key. Run paths take it or the server's uuid.
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"
_RUN_ID = re.compile(RUN_ID_PATTERN)
# words that are routes next to `/agent-runs/{run_id}`, so never a run's id
RESERVED_RUN_IDS = frozenset({"stats", "list", "cleanup-stale", "stale-count"})
MAX_DURATION_SECONDS = 10_000_000.0
MAX_TOOL_CALLS_COUNT = 1_000_000


def is_run_ref(value: str) -> bool:
    return _RUN_ID.fullmatch(value) is not None


def run_uuid(ref: str) -> uuid.UUID | None:
    """The uuid a run reference names, when it is one (in any of the forms `uuid.UUID` reads)."""
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def _run_id(value: str | None) -> str | None:
    if value is not None and (not is_run_ref(value) or value in RESERVED_RUN_IDS):
        raise ValueError("run_id is 1-200 of A-Z a-z 0-9 _ . : - starting with a letter or digit "
                         f"(not one of {sorted(RESERVED_RUN_IDS)})")
    return value


def as_utc(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC (the peer's clients send `datetime.utcnow()`)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


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
    run_id: str | None = Field(
        default=None, max_length=200,
        description="A run id the client chose: the run's id (a uuid is its `id`, anything else its `run_id`) "
        "and its idempotency key. Unique across the service: one held by another team is 409.",
    )
    trigger_message: str | None = None
    trigger_actor: str | None = Field(default=None, max_length=200)
    trigger_channel_id: str | None = Field(default=None, max_length=200)

    @field_validator("input_message", "trigger_message")
    @classmethod
    def _cap_input(cls, value: str | None) -> str | None:
        return _capped(value, "input_message")

    @field_validator("run_id")
    @classmethod
    def _valid_run_id(cls, value: str | None) -> str | None:
        return _run_id(value)


class RunFinish(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    output: str | None = None
    output_summary: str | None = Field(default=None, description="Legacy clients: used when `output` is absent.")
    error_message: str | None = Field(default=None, description="Legacy clients: used when `output` is absent.")
    metadata: dict[str, Any] | None = None
    duration_seconds: float | None = Field(
        default=None, ge=0, le=MAX_DURATION_SECONDS, allow_inf_nan=False,
        description="The client's own figure, kept as `reported_duration_seconds` (the server computes "
        "`duration_seconds`).",
    )
    tool_calls_count: int | None = Field(default=None, ge=0, le=MAX_TOOL_CALLS_COUNT)
    confidence: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)

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
        """`output`, else the legacy clients' summary, else their error; an empty one is absent
        (the peer's agent sends `output_summary: ""` next to a real `error_message`)."""
        for value in (self.output, self.output_summary, self.error_message):
            if value:
                return value
        return self.output if self.output is not None else None


class RunOut(BaseModel):
    id: uuid.UUID
    run_id: str | None = Field(description="The id the client chose (`run_id` of the create), if any")
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
    trigger_message: str | None
    trigger_actor: str | None
    trigger_channel_id: str | None
    idempotency_key: str | None
    config_version: str | None
    config_versions: dict[str, int] | None
    metadata: dict[str, Any] | None
    reported_duration_seconds: float | None = Field(description="The duration the client reported at finish")
    tool_calls_count: int | None
    confidence: float | None
    output_summary: str | None
    error_message: str | None


class RunList(BaseModel):
    runs: list[RunOut]
    total: int
    limit: int
    offset: int


class InternalRunList(RunList):
    has_more: bool


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


# ---- tool calls -----------------------------------------------------------------------------------

MAX_TOOL_INPUT_BYTES = 64 * 1024
MAX_TOOL_OUTPUT_BYTES = 64 * 1024
MAX_TOOL_ERROR_BYTES = 8 * 1024
MAX_CALLS_PER_REQUEST = 500
MAX_CALLS_PER_RUN = 10_000
MAX_SEQUENCE = 2**31 - 1
ToolCallStatus = Literal["success", "error", "incomplete", "running", "timeout"]


def _bytes_capped(value: str | None, name: str, limit: int) -> str | None:
    if value is not None and len(value.encode()) > limit:
        raise ValueError(f"{name} is larger than {limit // 1024} KiB")
    return value


class ToolCallIn(BaseModel):
    """One tool call as recorded; `id` is the client's own (a re-sent one is stored once)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=200, description="The client's id of this call")
    name: str = Field(min_length=1, max_length=200)
    agent_name: str | None = Field(default=None, max_length=200)
    parent_agent: str | None = Field(default=None, max_length=200)
    input: dict[str, Any] | None = Field(default=None, description="An object, at most 64 KiB as JSON")
    output: str | None = Field(default=None, description="At most 64 KiB")
    status: ToolCallStatus = "success"
    error: str | None = Field(default=None, description="At most 8 KiB")
    started_at: datetime | None = None
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_SEQUENCE)
    sequence_number: int | None = Field(default=None, ge=0, le=MAX_SEQUENCE,
                                        description="Default (or 0): after the run's last call")

    @field_validator("id")
    @classmethod
    def _client_id(cls, value: str | None) -> str | None:
        if value is not None and not is_run_ref(value):
            raise ValueError("id is 1-200 of A-Z a-z 0-9 _ . : - starting with a letter or digit")
        return value

    @field_validator("output")
    @classmethod
    def _cap_output(cls, value: str | None) -> str | None:
        return _bytes_capped(value, "output", MAX_TOOL_OUTPUT_BYTES)

    @field_validator("error")
    @classmethod
    def _cap_error(cls, value: str | None) -> str | None:
        return _bytes_capped(value, "error", MAX_TOOL_ERROR_BYTES)

    @field_validator("started_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)


class ToolCallBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool_calls: list[ToolCallIn] = Field(min_length=1, max_length=MAX_CALLS_PER_REQUEST)
    run_id: str | None = Field(default=None, max_length=200, description="If given, the run of the path")


class ToolCallOut(BaseModel):
    id: uuid.UUID
    client_id: str | None
    run_id: uuid.UUID
    sequence_number: int
    name: str
    agent_name: str | None
    parent_agent: str | None
    input: dict[str, Any] | None
    output: str | None
    status: str
    error: str | None
    started_at: datetime | None
    duration_ms: int | None
    created_at: datetime


class ToolCallList(BaseModel):
    items: list[ToolCallOut]
    next_cursor: str | None = None
