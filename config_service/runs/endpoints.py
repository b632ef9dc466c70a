"""Agent-run routes: team and internal callers, the admin listing, and the legacy internal forms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from config_service.auth import policy
from config_service.auth.dependencies import (
    Context,
    Internal,
    InternalRunWriter,
    OrgAdmin,
    RunCleaner,
    RunReader,
    RunWriter,
)
from config_service.auth.principal import Principal
from config_service.context import AppContext
from config_service.errors import InvalidRequest
from config_service.http import ClientInputRoute, json_body, json_response
from config_service.kit.jsondoc import MAX_SAFE_INTEGER
from config_service.runs import service, tool_calls
from config_service.runs.schemas import (
    STATUS_ALIASES,
    CleanupRequest,
    CleanupResult,
    InternalRunList,
    RunConfig,
    RunCreate,
    RunFinish,
    RunList,
    RunOut,
    RunStats,
    RunStatusFilter,
    ToolCallBatch,
    ToolCallIn,
    ToolCallList,
)

router = APIRouter(tags=["agent runs"], route_class=ClientInputRoute)

Limit = Annotated[int, Query(ge=1, le=500)]
# echoed in the answer, so within I-JSON (and far within PostgreSQL's OFFSET, a bigint)
Offset = Annotated[int, Query(ge=0, le=MAX_SAFE_INTEGER)]
RunRef = Annotated[str, Path(description="The run's `id`, or the `run_id` its client chose (another form: 404)")]


async def create(ctx: AppContext, principal: Principal, body: RunCreate, key: str | None) -> tuple[RunOut, bool]:
    """Record a run (shared with the compat mount): returns it and whether it is new."""
    org_id, node_id = policy.run_owner(principal, body.org_id, body.team_node_id)
    async with ctx.db.transaction() as session:
        return await service.create_run(session, ctx.keys, principal, org_id, node_id, body, key)


async def _create(ctx: AppContext, principal: Principal, body: RunCreate, key: str | None) -> Response:
    run, created = await create(ctx, principal, body, key)
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return json_response(run, status=201, headers=headers)


async def finish(ctx: AppContext, principal: Principal, run_id: str, body: RunFinish) -> RunOut:
    async with ctx.db.transaction() as session:
        return await service.finish_run(session, ctx.keys, principal, run_id, body)


async def tool_call_body(request: Request) -> tuple[list[ToolCallIn], str | None]:
    """One tool call, or `{"tool_calls": [...], "run_id"?}`; the body is read with the
    depth-limited parser, so no input gets past a 400/422."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a tool call or {\"tool_calls\": [...]}", path="")
    if "tool_calls" in body:
        batch = ToolCallBatch.model_validate(body)
        return batch.tool_calls, batch.run_id
    return [ToolCallIn.model_validate(body)], None


async def record_tool_calls(ctx: AppContext, request: Request, principal: Principal, run_id: str) -> Response:
    calls, named = await tool_call_body(request)
    if named is not None and named != run_id:
        raise InvalidRequest("run_id in the body is not the run of the path", path="/run_id")
    async with ctx.db.transaction() as session:
        _, recorded = await tool_calls.record(session, ctx.keys, principal, run_id, calls)
    return json_response(ToolCallList(items=recorded), status=201)


def _tool_calls_schema() -> dict:
    """One call or a batch; the batch's items inlined, so the schema stands alone in the OpenAPI
    document (a `#/$defs/…` reference would not resolve there)."""
    single = ToolCallIn.model_json_schema()
    batch = ToolCallBatch.model_json_schema()
    batch.pop("$defs", None)
    batch["properties"]["tool_calls"]["items"] = single
    return {"oneOf": [single, batch]}


_TOOL_CALLS_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _tool_calls_schema()}}}
}


async def _list(
    ctx: AppContext,
    principal: Principal,
    org_id: str | None,
    node_id: str | None,
    status: str | None,
    agent_name: str | None,
    since: datetime | None,
    until: datetime | None,
    config_version: str | None,
    limit: int,
    offset: int,
) -> RunList:
    org_id, node_id = policy.run_reader(principal, org_id, node_id)
    status = STATUS_ALIASES.get(status, status) if status is not None else None
    async with ctx.db.transaction() as session:
        flt = await service.node_filter(
            session, org_id, node_id, status=status, agent_name=agent_name, since=since, until=until,
            config_version=config_version,
        )
        return await service.list_runs(session, flt, limit, offset)


@router.post("/agent-runs", status_code=201, response_model=RunOut, operation_id="run_create")
async def create_run(
    ctx: Context, principal: RunWriter, body: RunCreate,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Record a `running` run with the config version the team reads now (or the one given).
    A retried create with the same `Idempotency-Key` returns the same run."""
    return await _create(ctx, principal, body, idempotency_key)


@router.get("/agent-runs", response_model=RunList, operation_id="run_list")
async def list_runs(
    ctx: Context,
    principal: RunReader,
    status: RunStatusFilter | None = None,
    agent_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    config_version: str | None = None,
    org_id: str | None = None,
    team_node_id: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunList:
    """Newest first; `total` counts every match."""
    return await _list(
        ctx, principal, org_id, team_node_id, status, agent_name, since, until, config_version, limit, offset
    )


@router.get("/agent-runs/stats", response_model=RunStats, operation_id="run_stats")
async def run_stats(
    ctx: Context,
    principal: RunReader,
    since: datetime | None = None,
    until: datetime | None = None,
    org_id: str | None = None,
    team_node_id: str | None = None,
) -> RunStats:
    """Counts by status and p50/p95 duration, overall and per agent (computed in SQL)."""
    org_id, node_id = policy.run_reader(principal, org_id, team_node_id)
    async with ctx.db.transaction() as session:
        flt = await service.node_filter(session, org_id, node_id, since=since, until=until)
        return await service.stats(session, flt)


@router.get("/agent-runs/{run_id}", response_model=RunOut, operation_id="run_get")
async def get_run(ctx: Context, principal: RunReader, run_id: RunRef) -> RunOut:
    async with ctx.db.transaction() as session:
        return await service.get_run(session, principal, run_id)


@router.get("/agent-runs/{run_id}/config", response_model=RunConfig, operation_id="run_config")
async def get_run_config(ctx: Context, principal: RunReader, run_id: RunRef) -> RunConfig:
    """The effective config the run read, rebuilt from its lineage versions (secrets masked)."""
    async with ctx.db.transaction() as session:
        return await service.run_config(session, principal, run_id)


@router.patch("/agent-runs/{run_id}", response_model=RunOut, operation_id="run_finish")
async def finish_run(ctx: Context, principal: RunWriter, run_id: RunRef, body: RunFinish) -> RunOut:
    """Finish a run: `success`, `error`, `timeout` (`completed`, `failed` accepted). 409 if finished.
    The client's own `duration_seconds` is kept as `reported_duration_seconds`."""
    return await finish(ctx, principal, run_id, body)


@router.post("/agent-runs/{run_id}/tool-calls", status_code=201, response_model=ToolCallList,
             operation_id="run_tool_calls_record", openapi_extra=_TOOL_CALLS_BODY)
async def record_run_tool_calls(ctx: Context, request: Request, principal: RunWriter, run_id: RunRef) -> Response:
    """Record one tool call or a batch (≤ 500; ≤ 10,000 per run), also after the run finished.
    A call whose `id` the run holds already is not stored twice. `{"$secret": …}` is refused and
    copies of the team's secret values are masked. Answers the calls of this request."""
    return await record_tool_calls(ctx, request, principal, run_id)


@router.get("/agent-runs/{run_id}/tool-calls", response_model=ToolCallList, operation_id="run_tool_calls_list")
async def list_run_tool_calls(
    ctx: Context, principal: RunReader, run_id: RunRef, limit: Limit = 50, cursor: str | None = None
) -> ToolCallList:
    """The run's tool calls in sequence order: for its team, its org's admins and the internal token."""
    async with ctx.db.transaction() as session:
        return await tool_calls.page(session, principal, run_id, limit=limit, cursor=cursor)


@router.get("/admin/orgs/{org_id}/agent-runs", response_model=RunList, operation_id="admin_run_list")
async def admin_list_runs(
    ctx: Context,
    principal: OrgAdmin,
    org_id: str,
    team_node_id: str | None = None,
    status: RunStatusFilter | None = None,
    agent_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    config_version: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunList:
    return await _list(
        ctx, principal, org_id, team_node_id, status, agent_name, since, until, config_version, limit, offset
    )


# ---- the existing clients' internal forms --------------------------------------------------


@router.post("/internal/agent-runs", status_code=201, response_model=RunOut, operation_id="internal_run_create")
async def internal_create_run(
    ctx: Context, principal: InternalRunWriter, body: RunCreate,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """The internal token (or a named internal caller) records a run of the team it names."""
    return await _create(ctx, principal, body, idempotency_key)


@router.get("/internal/agent-runs/list", response_model=InternalRunList, operation_id="internal_run_list")
async def internal_list_runs(
    ctx: Context,
    principal: Internal,
    org_id: str,
    team_node_id: str | None = None,
    status: RunStatusFilter | None = None,
    agent_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    start_time: Annotated[datetime | None, Query(description="= since")] = None,
    end_time: Annotated[datetime | None, Query(description="= until")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> InternalRunList:
    """The org's runs (or one team's), newest first, with `has_more`."""
    page = await _list(ctx, principal, org_id, team_node_id, status, agent_name, since or start_time,
                       until or end_time, None, limit, offset)
    return InternalRunList(**page.model_dump(), has_more=page.offset + len(page.runs) < page.total)


@router.patch("/internal/agent-runs/{run_id}", response_model=RunOut, operation_id="internal_run_finish")
async def internal_finish_run(ctx: Context, principal: InternalRunWriter, run_id: RunRef, body: RunFinish) -> RunOut:
    """Accepts the existing clients' `output_summary` / `error_message` in place of `output`."""
    return await finish(ctx, principal, run_id, body)


@router.post("/internal/agent-runs/{run_id}/tool-calls", status_code=201, response_model=ToolCallList,
             operation_id="internal_tool_calls_record", openapi_extra=_TOOL_CALLS_BODY)
async def internal_record_tool_calls(
    ctx: Context, request: Request, principal: InternalRunWriter, run_id: RunRef
) -> Response:
    """As `POST /agent-runs/{run_id}/tool-calls`, for the internal token or a named internal caller."""
    return await record_tool_calls(ctx, request, principal, run_id)


@router.get("/internal/agent-runs/{run_id}/tool-calls", response_model=ToolCallList,
            operation_id="internal_tool_calls_list")
async def internal_list_tool_calls(
    ctx: Context, principal: Internal, run_id: RunRef, limit: Limit = 50, cursor: str | None = None
) -> ToolCallList:
    """The run's tool calls, for the internal token (never for a named caller)."""
    async with ctx.db.transaction() as session:
        return await tool_calls.page(session, principal, run_id, limit=limit, cursor=cursor)


@router.post("/internal/agent-runs/cleanup-stale", response_model=CleanupResult, operation_id="internal_run_cleanup")
async def cleanup_stale(ctx: Context, principal: RunCleaner, body: CleanupRequest) -> CleanupResult:
    """Runs left `running` longer than `max_age_seconds` become `timeout` (audited per org as
    `runs.timed_out`, the caller as the actor)."""
    async with ctx.db.transaction() as session:
        return CleanupResult(
            timed_out=await service.cleanup_stale(session, principal, body.max_age_seconds, body.org_id)
        )
