"""Recording and reading agent runs (DESIGN §9). A run is tied to its node's `node_uid`, so a
deleted-and-recreated node id never inherits old runs."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth import policy
from config_service.auth.principal import Principal
from config_service.configs import service as configs
from config_service.configs import snapshot
from config_service.db import locks
from config_service.errors import Conflict, IdempotencyMismatch, InvalidRequest, NotFound, RunFinished
from config_service.keys import ConfigKeys
from config_service.kit import jsondoc
from config_service.models import AgentRun
from config_service.orgs import service as orgs
from config_service.runs import masking, repository
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
    is_run_ref,
    run_uuid,
)


def run_out(run: AgentRun) -> RunOut:
    return RunOut(
        id=run.id,
        run_id=run.client_run_id,
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
        trigger_message=run.trigger_message,
        trigger_actor=run.trigger_actor,
        trigger_channel_id=run.trigger_channel_id,
        idempotency_key=run.idempotency_key,
        config_version=run.config_version,
        config_versions=run.config_versions,
        metadata=run.run_metadata,
        reported_duration_seconds=run.reported_duration_seconds,
        tool_calls_count=run.tool_calls_count,
        confidence=run.confidence,
        output_summary=run.output_summary,
        error_message=run.error_message,
    )


def _fingerprint(org_id: str, node_id: str, body: RunCreate) -> str:
    """What makes two creates with one key the same request: the body as validated, for its owner."""
    document = {"org_id": org_id, "team_node_id": node_id, "body": body.model_dump(mode="json")}
    return hashlib.sha256(jsondoc.canonical(document)).hexdigest()


def _run_key(body: RunCreate, idempotency_key: str | None) -> str | None:
    """The create's idempotency key: the client's `run_id` (the peer's agents send one), else
    the `Idempotency-Key` header; both given must agree."""
    if idempotency_key is not None:
        if len(idempotency_key) > 200:
            raise InvalidRequest("Idempotency-Key is longer than 200 characters", path="Idempotency-Key")
        if body.run_id is not None and idempotency_key != body.run_id:
            raise InvalidRequest("Idempotency-Key and run_id name different runs; send one, or the same",
                                 path="Idempotency-Key")
    return body.run_id if body.run_id is not None else idempotency_key


async def create_run(
    session: AsyncSession, keys: ConfigKeys, principal: Principal, org_id: str, node_id: str, body: RunCreate,
    idempotency_key: str | None,
) -> tuple[RunOut, bool]:
    """Record a running run for (org, node), already authorised by `policy.run_owner`.

    Returns (run, created). A retry — the same `run_id` or `Idempotency-Key` with the same body,
    by the same team — returns the first run; the same key with another body is 422
    `idempotency_mismatch`; a `run_id` another team (or an older node of the same id) holds is
    409, saying nothing of that run."""
    # the org lock a delete takes exclusive: a run never lands on a node (or org) deleted meanwhile,
    # where a node or org re-created with the same id would list it
    await locks.lock_org(session, org_id, shared=True)
    key = _run_key(body, idempotency_key)
    fingerprint = _fingerprint(org_id, node_id, body)
    if key is not None:  # a retry is answered before the lineage is read: by this node incarnation's key
        node_uid = (await orgs.get_node_or_404(session, org_id, node_id)).node_uid
        existing = await _holder(session, body.run_id, org_id, node_id, node_uid, key)
        if existing is not None:
            return _replayed(existing, org_id, node_id, node_uid, fingerprint), False
    if body.metadata is not None:
        masking.check_data(body.metadata, "/metadata")
    snap = await snapshot.current(session, keys, org_id, node_id)
    secrets = masking.secret_values(list(snap.secret_plaintexts)) if policy.masks_secret_copies(principal) else ()
    supplied = body.config_version
    client_uuid = run_uuid(body.run_id) if body.run_id is not None else None
    values = {
        "id": client_uuid or uuid.uuid4(),
        "client_run_id": body.run_id,
        "request_fingerprint": fingerprint,
        "org_id": org_id,
        "team_node_id": node_id,
        "node_uid": snap.node_uid,
        "agent_name": body.agent_name,
        "status": "running",
        "input_message": _masked(body.input_message, secrets),
        "trigger_message": _masked(body.trigger_message, secrets),
        "trigger_actor": _masked(body.trigger_actor, secrets),
        "trigger_channel_id": body.trigger_channel_id,
        "correlation_id": body.correlation_id,
        "trigger_source": body.trigger_source,
        "idempotency_key": key,
        "config_version": supplied or snap.etag,
        # Versions are known only for the config the server can vouch for: the current one.
        "config_versions": snap.versions if supplied in (None, snap.etag) else None,
        "run_metadata": masking.mask_copies(body.metadata, secrets),
    }
    run = await repository.insert_run(session, values)
    if run is not None:
        return run_out(run), True
    # a unique index said no: a concurrent retry won the insert, or the id is someone else's
    holder = await _holder(session, body.run_id, org_id, node_id, snap.node_uid, key)
    if holder is None and client_uuid is not None:
        holder = await repository.get(session, client_uuid)
    if holder is None:
        raise Conflict("run_id is already in use")
    return _replayed(holder, org_id, node_id, snap.node_uid, fingerprint), False


def _masked(text: str | None, secrets: tuple[str, ...]) -> str | None:
    return masking.mask_text(text, secrets) if text is not None and secrets else text


async def _holder(
    session: AsyncSession, run_id: str | None, org_id: str, node_id: str, node_uid: uuid.UUID, key: str | None
) -> AgentRun | None:
    """The run a create's key already names: by the client's run id (service-wide), else by the
    idempotency key of this node incarnation (a re-created node id starts with no keys)."""
    if run_id is not None:
        found = await _by_ref(session, run_id)
        if found is not None:
            return found
    if key is not None:
        return await repository.by_idempotency_key(session, org_id, node_id, node_uid, key)
    return None


def _replayed(run: AgentRun, org_id: str, node_id: str, node_uid: uuid.UUID, fingerprint: str) -> RunOut:
    """The answer to a create whose key `run` holds (see `create_run`): a node id deleted and
    created again is another team, whose runs are not the old node's."""
    if run.org_id != org_id or run.team_node_id != node_id:
        raise Conflict("run_id is already in use")
    if run.node_uid is not None and run.node_uid != node_uid:
        raise Conflict("run_id is already in use")
    if run.request_fingerprint is not None and run.request_fingerprint != fingerprint:
        raise IdempotencyMismatch("this run_id (or Idempotency-Key) was used with another request body")
    return run_out(run)


async def _by_ref(session: AsyncSession, ref: str, *, for_update: bool = False) -> AgentRun | None:
    """The run a path names: the server's uuid (a client's uuid run id is the same), or the
    client's own run id."""
    if not is_run_ref(ref):
        return None
    as_uuid = run_uuid(ref)
    if as_uuid is not None:
        return await repository.get(session, as_uuid, for_update=for_update)
    return await repository.by_client_run_id(session, ref, for_update=for_update)


async def visible_run(session: AsyncSession, principal: Principal, run_id: str, *,
    for_update: bool = False) -> AgentRun:
    """The run a path names, if this principal may see it; 404 otherwise (another team's run is
    not revealed, and a malformed id is simply no run)."""
    run = await _by_ref(session, run_id, for_update=for_update)
    missing = NotFound(f"run {run_id[:200]} does not exist")
    if run is None or not policy.may_see_run(principal, run.org_id, run.team_node_id):
        raise missing
    if policy.bound_to_node(principal):  # its node must still be the one that recorded the run
        node = await orgs.get_node_or_404(session, run.org_id, run.team_node_id)
        if run.node_uid is not None and run.node_uid != node.node_uid:
            raise missing
    return run


async def finish_run(
    session: AsyncSession, keys: ConfigKeys, principal: Principal, run_id: str, body: RunFinish
) -> RunOut:
    run = await visible_run(session, principal, run_id, for_update=True)
    if run.status != "running":
        raise RunFinished(f"run {run_id} already finished with status '{run.status}'")
    if body.metadata is not None:
        masking.check_data(body.metadata, "/metadata")
    secrets = await lineage_secrets(session, keys, principal, run)
    reported: dict[str, Any] = {
        "reported_duration_seconds": body.duration_seconds,
        "tool_calls_count": body.tool_calls_count,
        "confidence": body.confidence,
        "output_summary": _masked(body.output_summary, secrets),
        "error_message": _masked(body.error_message, secrets),
    }
    finished = await repository.finish(
        session, run, body.status, _masked(body.final_output(), secrets), masking.mask_copies(body.metadata, secrets),
        reported,
    )
    return run_out(finished)


async def lineage_secrets(
    session: AsyncSession, keys: ConfigKeys, principal: Principal, run: AgentRun
) -> tuple[str, ...]:
    """The secret values a run's data must not repeat: those on its node's lineage now (none when
    the node is gone — its secrets went with it, or when the caller has no plaintext access:
    `policy.masks_secret_copies`)."""
    if not policy.masks_secret_copies(principal):
        return ()
    try:
        plaintexts = await configs.lineage_secret_plaintexts(session, keys, run.org_id, run.team_node_id)
    except NotFound:
        return ()
    return masking.secret_values(plaintexts)


async def get_run(session: AsyncSession, principal: Principal, run_id: str) -> RunOut:
    return run_out(await visible_run(session, principal, run_id))


async def run_config(session: AsyncSession, principal: Principal, run_id: str) -> RunConfig:
    run = await visible_run(session, principal, run_id)
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


async def cleanup_stale(
    session: AsyncSession, principal: Principal | str, max_age_seconds: int, org_id: str | None = None
) -> int:
    """Runs left running longer than `max_age_seconds` become `timeout`; each org whose runs
    changed gets a `runs.timed_out` audit event naming who did it. How many changed."""
    counts = await repository.time_out_stale(session, max_age_seconds, org_id)
    for org, count in sorted(counts.items()):
        await audit.record(
            session, principal, "runs.timed_out", org_id=org, target_type="org", target_id=org,
            details={"count": count, "max_age_seconds": max_age_seconds},
        )
    return sum(counts.values())


async def count_older(session: AsyncSession, older_than: datetime) -> int:
    """How many runs were created before `older_than` (what a prune would delete)."""
    return await repository.count_older(session, older_than)


async def prune_batch(session: AsyncSession, older_than: datetime, batch: int) -> int:
    """Delete at most `batch` runs created before `older_than`; how many were deleted."""
    return await repository.prune_batch(session, older_than, batch)
