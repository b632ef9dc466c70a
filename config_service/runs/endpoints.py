"""Agent-run routes: team and internal callers, the admin listing, and the legacy internal forms."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from config_service.auth import policy
from config_service.auth.dependencies import Context, Internal, InternalOrAdmin, OrgAdmin, RunReader, RunWriter
from config_service.auth.principal import Principal
from config_service.context import AppContext
from config_service.http import ClientInputRoute, json_response
from config_service.kit.jsondoc import MAX_SAFE_INTEGER
from config_service.runs import service
from config_service.runs.schemas import (
    CleanupRequest,
    CleanupResult,
    RunConfig,
    RunCreate,
    RunFinish,
    RunList,
    RunOut,
    RunStats,
    RunStatus,
)

router = APIRouter(tags=["agent runs"], route_class=ClientInputRoute)

Limit = Annotated[int, Query(ge=1, le=500)]
# echoed in the answer, so within I-JSON (and far within PostgreSQL's OFFSET, a bigint)
Offset = Annotated[int, Query(ge=0, le=MAX_SAFE_INTEGER)]


async def _create(ctx: AppContext, principal: Principal, body: RunCreate, key: str | None) -> Response:
    org_id, node_id = policy.run_owner(principal, body.org_id, body.team_node_id)
    async with ctx.db.transaction() as session:
        run, created = await service.create_run(session, ctx.keys, org_id, node_id, body, key)
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return json_response(run, status=201, headers=headers)


async def _finish(ctx: AppContext, principal: Principal, run_id: uuid.UUID, body: RunFinish) -> RunOut:
    async with ctx.db.transaction() as session:
        return await service.finish_run(session, principal, run_id, body)


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
    status: RunStatus | None = None,
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
async def get_run(ctx: Context, principal: RunReader, run_id: uuid.UUID) -> RunOut:
    async with ctx.db.transaction() as session:
        return await service.get_run(session, principal, run_id)


@router.get("/agent-runs/{run_id}/config", response_model=RunConfig, operation_id="run_config")
async def get_run_config(ctx: Context, principal: RunReader, run_id: uuid.UUID) -> RunConfig:
    """The effective config the run read, rebuilt from its lineage versions (secrets masked)."""
    async with ctx.db.transaction() as session:
        return await service.run_config(session, principal, run_id)


@router.patch("/agent-runs/{run_id}", response_model=RunOut, operation_id="run_finish")
async def finish_run(ctx: Context, principal: RunWriter, run_id: uuid.UUID, body: RunFinish) -> RunOut:
    """Finish a run: `success`, `error`, `timeout` (`completed`, `failed` accepted). 409 if finished."""
    return await _finish(ctx, principal, run_id, body)


@router.get("/admin/orgs/{org_id}/agent-runs", response_model=RunList, operation_id="admin_run_list")
async def admin_list_runs(
    ctx: Context,
    principal: OrgAdmin,
    org_id: str,
    team_node_id: str | None = None,
    status: RunStatus | None = None,
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
    ctx: Context, principal: Internal, body: RunCreate,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    return await _create(ctx, principal, body, idempotency_key)


@router.get("/internal/agent-runs/list", response_model=RunList, operation_id="internal_run_list")
async def internal_list_runs(
    ctx: Context,
    principal: Internal,
    org_id: str,
    team_node_id: str,
    status: RunStatus | None = None,
    agent_name: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunList:
    return await _list(ctx, principal, org_id, team_node_id, status, agent_name, None, None, None, limit, offset)


@router.patch("/internal/agent-runs/{run_id}", response_model=RunOut, operation_id="internal_run_finish")
async def internal_finish_run(ctx: Context, principal: Internal, run_id: uuid.UUID, body: RunFinish) -> RunOut:
    """Accepts the existing clients' `output_summary` / `error_message` in place of `output`."""
    return await _finish(ctx, principal, run_id, body)


@router.post("/internal/agent-runs/cleanup-stale", response_model=CleanupResult, operation_id="internal_run_cleanup")
async def cleanup_stale(ctx: Context, principal: InternalOrAdmin, body: CleanupRequest) -> CleanupResult:
    """Runs left `running` longer than `max_age_seconds` become `timeout`."""
    async with ctx.db.transaction() as session:
        return CleanupResult(timed_out=await service.cleanup_stale(session, body.max_age_seconds, body.org_id))
