"""Recording and reading agent runs (DESIGN §9). A run is tied to its node's `node_uid`, so a
deleted-and-recreated node id never inherits old runs."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.auth import policy
from config_service.auth.principal import Principal
from config_service.configs import snapshot
from config_service.db import locks
from config_service.errors import InvalidRequest, NotFound, RunFinished
from config_service.keys import ConfigKeys
from config_service.models import AgentRun
from config_service.orgs import service as orgs
from config_service.runs import repository
from config_service.runs.repository import RunFilter
from config_service.runs.schemas import (
    AgentStats,
    Duration,
    RunConfig,
    RunCreate,
    RunFinish,
    RunList,
    RunOut,
    RunStats,
)


def run_out(run: AgentRun) -> RunOut:
    return RunOut(
        id=run.id,
        org_id=run.org_id,
        team_node_id=run.team_node_id,
        agent_name=run.agent_name,
        status=run.status,
        input_message=run.input_message,
        output=run.output,
        duration_seconds=run.duration_seconds,
        created_at=run.created_at,
        completed_at=run.completed_at,
        correlation_id=run.correlation_id,
        trigger_source=run.trigger_source,
        idempotency_key=run.idempotency_key,
        config_version=run.config_version,
        config_versions=run.config_versions,
        metadata=run.run_metadata,
    )


async def create_run(
    session: AsyncSession, keys: ConfigKeys, org_id: str, node_id: str, body: RunCreate, idempotency_key: str | None
) -> tuple[RunOut, bool]:
    """Record a running run for (org, node), already authorised by `policy.run_owner`.
    Returns (run, created); a retried key returns the first run."""
    # the org lock a delete takes exclusive: a run never lands on a node (or org) deleted meanwhile,
    # where a node or org re-created with the same id would list it
    await locks.lock_org(session, org_id, shared=True)
    if idempotency_key is not None:
        if len(idempotency_key) > 200:
            raise InvalidRequest("Idempotency-Key is longer than 200 characters", path="Idempotency-Key")
        existing = await repository.by_idempotency_key(session, org_id, node_id, idempotency_key)
        if existing is not None:
            return run_out(existing), False
    snap = await snapshot.current(session, keys, org_id, node_id)
    supplied = body.config_version
    values = {
        "id": uuid.uuid4(),
        "org_id": org_id,
        "team_node_id": node_id,
        "node_uid": snap.node_uid,
        "agent_name": body.agent_name,
        "status": "running",
        "input_message": body.input_message,
        "correlation_id": body.correlation_id,
        "trigger_source": body.trigger_source,
        "idempotency_key": idempotency_key,
        "config_version": supplied or snap.etag,
        # Versions are known only for the config the server can vouch for: the current one.
        "config_versions": snap.versions if supplied in (None, snap.etag) else None,
        "run_metadata": body.metadata,
    }
    run = await repository.insert_run(session, values)
    if run is None:  # a concurrent retry with the same key won the insert
        run = await repository.by_idempotency_key(session, org_id, node_id, idempotency_key or "")
        assert run is not None
        return run_out(run), False
    return run_out(run), True


async def _visible_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID, *,
    for_update: bool = False) -> AgentRun:
    """The run if this principal may see it; 404 otherwise (another team's run is not revealed)."""
    run = await repository.get(session, run_id, for_update=for_update)
    missing = NotFound(f"run {run_id} does not exist")
    if run is None or not policy.may_see_run(principal, run.org_id, run.team_node_id):
        raise missing
    if policy.bound_to_node(principal):  # its node must still be the one that recorded the run
        node = await orgs.get_node_or_404(session, run.org_id, run.team_node_id)
        if run.node_uid is not None and run.node_uid != node.node_uid:
            raise missing
    return run


async def finish_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID, body: RunFinish) -> RunOut:
    run = await _visible_run(session, principal, run_id, for_update=True)
    if run.status != "running":
        raise RunFinished(f"run {run_id} already finished with status '{run.status}'")
    finished = await repository.finish(session, run, body.status, body.final_output(), body.metadata)
    return run_out(finished)


async def get_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> RunOut:
    return run_out(await _visible_run(session, principal, run_id))


async def run_config(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> RunConfig:
    run = await _visible_run(session, principal, run_id)
    if not run.config_versions:
        raise NotFound(f"run {run_id} did not record the lineage versions it read")
    effective, hierarchy = await snapshot.rebuild(session, run.org_id, run.team_node_id, run.config_versions)
    return RunConfig(
        run_id=run.id,
        org_id=run.org_id,
        node_id=run.team_node_id,
        config_version=run.config_version,
        config_versions=run.config_versions,
        effective_config=effective,
        hierarchy=hierarchy,
    )


async def node_filter(
    session: AsyncSession,
    org_id: str,
    node_id: str | None,
    *,
    status: str | None = None,
    agent_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    config_version: str | None = None,
) -> RunFilter:
    """A filter for one org, or one node of it as it exists now (its current `node_uid`)."""
    node_uid = None
    if node_id is not None:
        node_uid = (await orgs.get_node_or_404(session, org_id, node_id)).node_uid
    else:
        await orgs.get_org_or_404(session, org_id)
    return RunFilter(
        org_id=org_id, team_node_id=node_id, node_uid=node_uid, status=status, agent_name=agent_name,
        since=since, until=until, config_version=config_version,
    )


async def list_runs(session: AsyncSession, flt: RunFilter, limit: int, offset: int) -> RunList:
    runs, total = await repository.page(session, flt, limit, offset)
    return RunList(runs=[run_out(r) for r in runs], total=total, limit=limit, offset=offset)


async def stats(session: AsyncSession, flt: RunFilter) -> RunStats:
    overall_status: dict[str, int] = {}
    overall = Duration(p50=None, p95=None)
    agents: dict[str, AgentStats] = {}
    for row in await repository.stats(session, flt):
        duration = Duration(p50=row.p50, p95=row.p95)
        if row.g_agent and row.g_status:
            overall = duration
        elif row.g_agent:
            overall_status[row.status] = row.n
        elif row.g_status:
            agents.setdefault(row.agent_name, AgentStats(by_status={}, duration=duration)).duration = duration
        else:
            agents.setdefault(row.agent_name, AgentStats(by_status={}, duration=Duration(p50=None, p95=None)))
            agents[row.agent_name].by_status[row.status] = row.n
    return RunStats(by_status=overall_status, duration=overall, agents=agents)


async def cleanup_stale(session: AsyncSession, max_age_seconds: int, org_id: str | None = None) -> int:
    return await repository.time_out_stale(session, max_age_seconds, org_id)


async def count_older(session: AsyncSession, older_than: datetime) -> int:
    """How many runs were created before `older_than` (what a prune would delete)."""
    return await repository.count_older(session, older_than)


async def prune_batch(session: AsyncSession, older_than: datetime, batch: int) -> int:
    """Delete at most `batch` runs created before `older_than`; how many were deleted."""
    return await repository.prune_batch(session, older_than, batch)
