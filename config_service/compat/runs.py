"""Agent runs and tool calls on the compat mount, as IncidentFox's agent, AI pipeline and
stale-run CronJob call them (`/internal/agent-runs…`). Same services, same rules as the root's
internal forms (`runs.endpoints`); only the shapes are the peer's (`compat.shapes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Query, Response

from config_service.auth.dependencies import Context, Internal, InternalRunWriter, RunCleaner
from config_service.compat import shapes
from config_service.compat.schemas import PeerCleanup, PeerRunCreate, PeerRunFinish, PeerToolCalls
from config_service.errors import InvalidRequest
from config_service.http import ClientInputRoute, json_response
from config_service.runs import service
from config_service.runs import tool_calls as calls
from config_service.runs.endpoints import create, finish
from config_service.runs.schemas import STATUS_ALIASES

router = APIRouter(prefix="/internal/agent-runs", route_class=ClientInputRoute)

RunRef = Annotated[str, Path(description="The run id the agent chose (or the server's uuid)")]
PeerStatus = Annotated[str | None, Query(pattern="^(running|completed|failed|timeout|success|error)$")]


@router.post("", status_code=201, operation_id="compat_run_create")
async def create_run(
    ctx: Context, principal: InternalRunWriter, body: PeerRunCreate,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """The agent's run start: its `run_id` is the run's id and its idempotency key (a retry with
    the same body is the same run; with another body 422; another team's id 409)."""
    run, created = await create(ctx, principal, shapes.run_create(body), idempotency_key)
    return json_response(shapes.peer_run(run), status=201, headers={} if created else {"Idempotent-Replayed": "true"})


@router.get("/list", operation_id="compat_run_list")
async def list_runs(
    ctx: Context,
    principal: Internal,
    org_id: str,
    team_node_id: str | None = None,
    status: PeerStatus = None,
    agent_name: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The org's runs (or one team's), newest first: `{runs, total, has_more}` (`total` counts
    every match)."""
    wanted = STATUS_ALIASES.get(status, status) if status is not None else None
    async with ctx.db.transaction() as session:
        flt = await service.node_filter(
            session, org_id, team_node_id, status=wanted, agent_name=agent_name, since=start_time, until=end_time
        )
        page = await service.list_runs(session, flt, limit, offset)
    return json_response({
        "runs": [shapes.peer_run(run) for run in page.runs],
        "total": page.total,
        "has_more": offset + len(page.runs) < page.total,
    })


@router.patch("/{run_id}", operation_id="compat_run_finish")
async def finish_run(ctx: Context, principal: InternalRunWriter, run_id: RunRef, body: PeerRunFinish) -> Response:
    """The agent's run finish (`completed`, `failed`, `timeout`): 200 with the run; its
    `duration_seconds` is the one the agent reported."""
    return json_response(shapes.peer_run(await finish(ctx, principal, run_id, shapes.run_finish(body))))


@router.post("/{run_id}/tool-calls", status_code=201, operation_id="compat_tool_calls_record")
async def record_tool_calls(
    ctx: Context, principal: InternalRunWriter, run_id: RunRef, body: PeerToolCalls
) -> Response:
    """The agent's trace: the calls of this request as stored, `{tool_calls, total}`."""
    if body.run_id is not None and body.run_id != run_id:
        raise InvalidRequest("run_id in the body is not the run of the path", path="/run_id")
    wanted = [shapes.tool_call(call, index) for index, call in enumerate(body.tool_calls)]
    async with ctx.db.transaction() as session:
        _, recorded = await calls.record(session, ctx.keys, principal, run_id, wanted)
    answer = [shapes.peer_tool_call(call, run_id) for call in recorded]
    return json_response({"tool_calls": answer, "total": len(answer)}, status=201)


@router.get("/{run_id}/tool-calls", operation_id="compat_tool_calls_list")
async def list_tool_calls(ctx: Context, principal: Internal, run_id: RunRef) -> Response:
    """Every tool call of the run, in sequence order (the internal token only)."""
    async with ctx.db.transaction() as session:
        _, found = await calls.every(session, principal, run_id)
    answer = [shapes.peer_tool_call(call, run_id) for call in found]
    return json_response({"tool_calls": answer, "total": len(answer)})


@router.post("/cleanup-stale", operation_id="compat_run_cleanup")
async def cleanup_stale(
    ctx: Context, principal: RunCleaner, body: Annotated[PeerCleanup | None, Body()] = None
) -> Response:
    """The stale-run CronJob: runs left running longer than `max_age_seconds` (default 600)
    become `timeout`; `{"marked_count":N,…}` (compact JSON: the script greps for it)."""
    max_age = (body or PeerCleanup()).max_age_seconds
    async with ctx.db.transaction() as session:
        marked = await service.cleanup_stale(session, principal, max_age)
    return json_response(shapes.cleanup_answer(marked, max_age))
