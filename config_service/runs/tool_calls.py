"""Tool calls of agent runs (DESIGN §9): recorded by whoever may record the run, read by those
who may see it. Sizes are bounded; `{"$secret": …}` is refused and copies of the lineage's
secret values are masked before anything is stored (`runs.masking`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.auth.principal import Principal
from config_service.errors import InvalidRequest
from config_service.keys import ConfigKeys
from config_service.kit import jsondoc, paging
from config_service.models import AgentRun, AgentToolCall
from config_service.runs import masking, repository
from config_service.runs.schemas import (
    MAX_CALLS_PER_RUN,
    MAX_TOOL_INPUT_BYTES,
    ToolCallIn,
    ToolCallList,
    ToolCallOut,
)
from config_service.runs.service import lineage_secrets, visible_run


def tool_call_out(row: AgentToolCall) -> ToolCallOut:
    return ToolCallOut(
        id=row.id, client_id=row.client_call_id, run_id=row.run_id, sequence_number=row.sequence_number,
        name=row.name, agent_name=row.agent_name, parent_agent=row.parent_agent, input=row.input, output=row.output,
        status=row.status, error=row.error, started_at=row.started_at, duration_ms=row.duration_ms,
        created_at=row.created_at,
    )


def _checked_input(call: ToolCallIn, where: str) -> None:
    if call.input is None:
        return
    masking.check_data(call.input, f"{where}/input")
    size = jsondoc.encoded_size(call.input)
    if size > MAX_TOOL_INPUT_BYTES:
        raise InvalidRequest(f"{where}/input is {size} bytes as JSON; the limit is {MAX_TOOL_INPUT_BYTES}",
                             path=f"{where}/input")


async def record(
    session: AsyncSession, keys: ConfigKeys, principal: Principal, run_ref: str, calls: list[ToolCallIn],
    *, where: str = "/tool_calls",
) -> tuple[AgentRun, list[ToolCallOut]]:
    """Record tool calls of a run (finished or not: agents send them after the finish). A call
    whose client id the run already holds is not stored again; the answer holds it as stored.
    Returns the run and the calls of this request, in the order given."""
    run = await visible_run(session, principal, run_ref)
    for index, call in enumerate(calls):
        _checked_input(call, f"{where}/{index}")
    await repository.lock_run(session, run.id)  # sequence numbers of concurrent batches follow each other
    client_ids = sorted({call.id for call in calls if call.id is not None})
    stored = {row.client_call_id: row for row in await repository.tool_calls_by_client_ids(session, run.id,
                                                                                           client_ids)}
    fresh: list[ToolCallIn] = []
    for call in calls:  # a call stored before, or twice in this request, is stored once
        if call.id is None or (call.id not in stored and all(call.id != f.id for f in fresh)):
            fresh.append(call)
    count, last = await repository.tool_call_stats(session, run.id)
    if count + len(fresh) > MAX_CALLS_PER_RUN:
        raise InvalidRequest(f"a run holds at most {MAX_CALLS_PER_RUN} tool calls; it has {count}", path=where)
    secrets = await lineage_secrets(session, keys, principal, run)
    rows: list[dict[str, Any]] = []
    for call in fresh:
        sequence = call.sequence_number
        if not sequence:  # absent, or the peer's default 0: after the last one
            sequence = last = last + 1
        else:
            last = max(last, sequence)
        rows.append({
            "id": uuid.uuid4(),
            "run_id": run.id,
            "client_call_id": call.id,
            "sequence_number": sequence,
            "name": call.name,
            "agent_name": call.agent_name,
            "parent_agent": call.parent_agent,
            "input": masking.mask_copies(call.input, secrets),
            "output": masking.mask_text(call.output, secrets) if call.output is not None else None,
            "status": call.status,
            "error": masking.mask_text(call.error, secrets) if call.error is not None else None,
            "started_at": call.started_at,
            "duration_ms": call.duration_ms,
        })
    inserted = {row.id: row for row in await repository.insert_tool_calls(session, rows)}
    for row in inserted.values():
        if row.client_call_id is not None:
            stored[row.client_call_id] = row
    if len(inserted) < len(rows):  # a concurrent request stored some of them first (the run lock makes it rare)
        stored.update({row.client_call_id: row for row in await repository.tool_calls_by_client_ids(
            session, run.id, client_ids)})
    out: list[AgentToolCall] = []
    fresh_rows = iter(rows)
    for call in calls:
        if call.id is not None:
            out.append(stored[call.id])
        else:
            out.append(inserted[next(r for r in fresh_rows if r["client_call_id"] is None)["id"]])
    return run, [tool_call_out(row) for row in out]


def _after(cursor: str | None) -> tuple[int, uuid.UUID] | None:
    if cursor is None:
        return None
    sequence, call_id = paging.decode_pair_cursor(cursor)
    try:
        return int(sequence), uuid.UUID(call_id)
    except ValueError:
        raise InvalidRequest("cursor is not one this service issued", path="cursor") from None


async def page(
    session: AsyncSession, principal: Principal, run_ref: str, *, limit: int, cursor: str | None
) -> ToolCallList:
    """A page of a run's tool calls in sequence order (`limit` ≤ 500)."""
    run = await visible_run(session, principal, run_ref)
    rows, more = paging.page(
        await repository.list_tool_calls(session, run.id, limit=limit + 1, after=_after(cursor)), limit
    )
    next_cursor = paging.pair_cursor(str(rows[-1].sequence_number), str(rows[-1].id)) if more else None
    return ToolCallList(items=[tool_call_out(r) for r in rows], next_cursor=next_cursor)


async def every(session: AsyncSession, principal: Principal, run_ref: str) -> tuple[AgentRun, list[ToolCallOut]]:
    """Every tool call of a run (at most `MAX_CALLS_PER_RUN`), in sequence order."""
    run = await visible_run(session, principal, run_ref)
    return run, [tool_call_out(r) for r in await repository.list_tool_calls(session, run.id, limit=None)]
