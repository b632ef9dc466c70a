"""The request bodies of IncidentFox's clients on the compat mount (docs/COMPATIBILITY.md).

Each accepts exactly the fields those clients send (tests/compat_calls.py) and refuses any
other (422 naming it), like every body of ours; the values are checked as strictly as at the
root. The translation into our own requests is `compat.shapes`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from config_service.kit.ids import ID_PATTERN
from config_service.runs.schemas import MAX_CALLS_PER_REQUEST, MAX_DURATION_SECONDS, MAX_SEQUENCE, MAX_TOOL_CALLS_COUNT


class PeerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeerNodeCreate(PeerModel):
    """The Slack bot's `_create_org_node` / `_create_team_node`."""

    node_id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=64)
    node_type: Literal["org", "team", "group"] = "team"
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: str | None = Field(default=None, pattern=ID_PATTERN, max_length=64)
    parent_node_id: str | None = Field(default=None, pattern=ID_PATTERN, max_length=64)


class PeerLookup(PeerModel):
    """The agent's, orchestrator's and Slack bot's `lookup_routing`. Identifier kinds we do not
    route by, and values that are not non-empty strings, are skipped (`found: false`)."""

    identifiers: dict[str, Any]
    org_id: str | None = Field(default=None, pattern=ID_PATTERN)


class PeerRunCreate(PeerModel):
    """The agent's `_record_agent_run_start`."""

    run_id: str = Field(max_length=200)
    org_id: str = Field(pattern=ID_PATTERN)
    team_node_id: str = Field(pattern=ID_PATTERN)
    agent_name: str = Field(min_length=1, max_length=200)
    correlation_id: str | None = Field(default=None, max_length=200)
    trigger_source: str | None = Field(default=None, max_length=200)
    trigger_actor: str | None = Field(default=None, max_length=200)
    trigger_message: str | None = None
    trigger_channel_id: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None


class PeerRunFinish(PeerModel):
    """The agent's `_record_agent_run_complete`."""

    status: str
    duration_seconds: float | None = Field(default=None, ge=0, le=MAX_DURATION_SECONDS, allow_inf_nan=False)
    output_summary: str | None = None
    error_message: str | None = None
    tool_calls_count: int | None = Field(default=None, ge=0, le=MAX_TOOL_CALLS_COUNT)
    confidence: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    metadata: dict[str, Any] | None = None


class PeerToolCall(PeerModel):
    """One item of the agent's `record_trace`."""

    id: str | None = Field(default=None, max_length=200)
    tool_name: str = Field(min_length=1, max_length=200)
    agent_name: str | None = Field(default=None, max_length=200)
    parent_agent: str | None = Field(default=None, max_length=200)
    tool_input: dict[str, Any] | None = None
    tool_output: str | None = None
    started_at: datetime | None = None
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_SEQUENCE)
    status: str = "success"
    error_message: str | None = None
    sequence_number: int | None = Field(default=None, ge=0, le=MAX_SEQUENCE)


class PeerToolCalls(PeerModel):
    run_id: str | None = Field(default=None, max_length=200)
    tool_calls: list[PeerToolCall] = Field(min_length=1, max_length=MAX_CALLS_PER_REQUEST)


class PeerCleanup(PeerModel):
    """The stale-run CronJob's body (the peer's default age is 10 minutes)."""

    max_age_seconds: int = Field(default=600, ge=1, le=10 * 365 * 86400)
