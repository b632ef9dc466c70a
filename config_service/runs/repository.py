"""Every query on agent_runs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.db.engine import rowcount
from config_service.models import AgentRun, AgentToolCall


@dataclass(frozen=True)
class RunFilter:
    org_id: str
    team_node_id: str | None = None
    node_uid: uuid.UUID | None = None
    status: str | None = None
    agent_name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    config_version: str | None = None

    def apply(self, query):
        query = query.where(AgentRun.org_id == self.org_id)
        if self.team_node_id is not None:
            query = query.where(AgentRun.team_node_id == self.team_node_id)
        if self.node_uid is not None:
            query = query.where(AgentRun.node_uid == self.node_uid)
        if self.status is not None:
            query = query.where(AgentRun.status == self.status)
        if self.agent_name is not None:
            query = query.where(AgentRun.agent_name == self.agent_name)
        if self.since is not None:
            query = query.where(AgentRun.created_at >= self.since)
        if self.until is not None:
            query = query.where(AgentRun.created_at < self.until)
        if self.config_version is not None:
            query = query.where(AgentRun.config_version == self.config_version)
        return query


async def insert_run(session: AsyncSession, values: dict[str, Any]) -> AgentRun | None:
    """Insert a run; None when its id, client run id or idempotency key is taken already (any
    unique index: the caller finds the holder)."""
    statement = insert(AgentRun).values(**values).on_conflict_do_nothing()
    result = await session.execute(statement.returning(AgentRun))
    return result.scalars().first()


async def by_client_run_id(session: AsyncSession, client_run_id: str, *, for_update: bool = False) -> AgentRun | None:
    query = select(AgentRun).where(AgentRun.client_run_id == client_run_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def by_idempotency_key(
    session: AsyncSession, org_id: str, node_id: str, node_uid: uuid.UUID, key: str
) -> AgentRun | None:
    """The run this node incarnation recorded under `key` (a row without a `node_uid`, written
    before runs carried one, counts as the current incarnation's)."""
    result = await session.execute(
        select(AgentRun).where(
            AgentRun.org_id == org_id, AgentRun.team_node_id == node_id, AgentRun.idempotency_key == key,
            or_(AgentRun.node_uid == node_uid, AgentRun.node_uid.is_(None)),
        )
    )
    return result.scalars().first()


async def get(session: AsyncSession, run_id: uuid.UUID, *, for_update: bool = False) -> AgentRun | None:
    query = select(AgentRun).where(AgentRun.id == run_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


async def finish(session: AsyncSession, run: AgentRun, status: str, output: str | None,
    metadata: dict | None, reported: dict[str, Any]) -> AgentRun:
    """Finish a running run; `reported` holds what the client said of it (its own duration,
    tool-call count, confidence, summary, error)."""
    values: dict[str, Any] = {
        "status": status,
        "output": output,
        "completed_at": func.now(),
        "duration_seconds": func.extract("epoch", func.now() - AgentRun.created_at),
        **reported,
    }
    if metadata is not None:
        values["run_metadata"] = {**(run.run_metadata or {}), **metadata}
    result = await session.execute(
        update(AgentRun).where(AgentRun.id == run.id).values(**values).returning(AgentRun)
    )
    return result.scalars().one()


async def page(session: AsyncSession, flt: RunFilter, limit: int, offset: int) -> tuple[list[AgentRun], int]:
    total = (await session.execute(flt.apply(select(func.count()).select_from(AgentRun)))).scalar_one()
    query = flt.apply(select(AgentRun)).order_by(AgentRun.created_at.desc(), AgentRun.id).limit(limit).offset(offset)
    return list((await session.execute(query)).scalars()), total


async def stats(session: AsyncSession, flt: RunFilter) -> list[Any]:
    """Counts and duration percentiles for every (agent, status) grouping, in one SQL query."""
    query = flt.apply(
        select(
            AgentRun.agent_name,
            AgentRun.status,
            func.count().label("n"),
            func.percentile_cont(0.5).within_group(AgentRun.duration_seconds).label("p50"),
            func.percentile_cont(0.95).within_group(AgentRun.duration_seconds).label("p95"),
            func.grouping(AgentRun.agent_name).label("g_agent"),
            func.grouping(AgentRun.status).label("g_status"),
        )
    ).group_by(text("GROUPING SETS ((), (agent_runs.status), (agent_runs.agent_name), "
                    "(agent_runs.agent_name, agent_runs.status))"))
    return list((await session.execute(query)).all())


async def time_out_stale(session: AsyncSession, max_age_seconds: int, org_id: str | None) -> dict[str, int]:
    """Runs left running longer than `max_age_seconds` become `timeout`; how many, by org."""
    query = (
        update(AgentRun)
        .where(AgentRun.status == "running")
        .where(AgentRun.created_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, max_age_seconds))
        .values(
            status="timeout",
            completed_at=func.now(),
            duration_seconds=func.extract("epoch", func.now() - AgentRun.created_at),
        )
        .returning(AgentRun.org_id)
    )
    if org_id is not None:
        query = query.where(AgentRun.org_id == org_id)
    counts: dict[str, int] = {}
    for (org,) in (await session.execute(query)).all():
        counts[org] = counts.get(org, 0) + 1
    return counts


async def prune_batch(session: AsyncSession, older_than: datetime, batch: int) -> int:
    ids = select(AgentRun.id).where(AgentRun.created_at < older_than).limit(batch).scalar_subquery()
    result = await session.execute(delete(AgentRun).where(AgentRun.id.in_(ids)))
    return rowcount(result)


async def count_older(session: AsyncSession, older_than: datetime) -> int:
    return (
        await session.execute(select(func.count()).select_from(AgentRun).where(AgentRun.created_at < older_than))
    ).scalar_one()


# ---- tool calls -------------------------------------------------------------------------------------


async def lock_run(session: AsyncSession, run_id: uuid.UUID) -> None:
    """Serialise tool-call writes of one run (their sequence numbers follow each other)."""
    await session.execute(select(AgentRun.id).where(AgentRun.id == run_id).with_for_update())


async def tool_call_stats(session: AsyncSession, run_id: uuid.UUID) -> tuple[int, int]:
    """(how many calls the run has, its highest sequence number or 0)."""
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.max(AgentToolCall.sequence_number), 0)).where(
                AgentToolCall.run_id == run_id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def insert_tool_calls(session: AsyncSession, rows: list[dict[str, Any]]) -> list[AgentToolCall]:
    """Insert tool calls; one whose client id the run already holds is skipped (not returned)."""
    if not rows:
        return []
    statement = insert(AgentToolCall).values(rows).on_conflict_do_nothing().returning(AgentToolCall)
    return list((await session.execute(statement)).scalars())


async def tool_calls_by_client_ids(session: AsyncSession, run_id: uuid.UUID, ids: list[str]) -> list[AgentToolCall]:
    query = select(AgentToolCall).where(AgentToolCall.run_id == run_id, AgentToolCall.client_call_id.in_(ids))
    return list((await session.execute(query)).scalars())


async def list_tool_calls(
    session: AsyncSession, run_id: uuid.UUID, *, limit: int | None, after: tuple[int, uuid.UUID] | None = None
) -> list[AgentToolCall]:
    """A run's tool calls in (sequence_number, id) order, after a keyset position."""
    query = select(AgentToolCall).where(AgentToolCall.run_id == run_id)
    if after is not None:
        sequence, call_id = after
        query = query.where(
            (AgentToolCall.sequence_number > sequence)
            | ((AgentToolCall.sequence_number == sequence) & (AgentToolCall.id > call_id))
        )
    query = query.order_by(AgentToolCall.sequence_number, AgentToolCall.id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())
