"""PURE: the one translation between our API and IncidentFox's shapes (the compat mount, DESIGN §6).

Peer requests (`compat.schemas`) become our requests; our answers become the dicts the peer's
clients read (docs/COMPATIBILITY.md "The peer server's answers the clients depend on"). Nothing
here decides who may do what, and nothing here touches the database.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from config_service.compat.schemas import PeerRunCreate, PeerRunFinish, PeerToolCall
from config_service.errors import AppError, Conflict, InvalidRequest
from config_service.orgs.schemas import NodeOut
from config_service.runs.schemas import RunCreate, RunFinish, RunOut, ToolCallIn, ToolCallOut
from config_service.tokens.schemas import TokenInfo

# our principal kinds → the peer's `auth_kind`
AUTH_KINDS = {
    "global_admin": "admin_token",
    "org_admin": "org_admin_token",
    "team": "team_token",
    "internal_service": "internal_service",
}
# The orchestrator's admin check wants this permission; it reads it as power over every org
# (it takes `org_id` from request bodies), so only the global admin carries it.
ADMIN_STAR = "admin:*"
# our final run statuses → the peer's
PEER_RUN_STATUS = {"success": "completed", "error": "failed"}


class AlreadyExists(AppError):
    """The peer answers a duplicate org or node with 400 and "already exists" in its detail
    (the Slack bot tests for exactly that); the problem body stays ours."""

    status = 400
    code = "conflict"
    title = "Already exists"


def already_exists(error: Conflict) -> AlreadyExists:
    return AlreadyExists(error.detail, **error.extra)


def peer_me(me: dict[str, Any], kind: str) -> dict[str, Any]:
    """`/auth/me` as the peer's clients read it (`me` is our answer, as JSON)."""
    permissions = list(me["permissions"])
    if kind == "global_admin":
        permissions.append(ADMIN_STAR)
    return {**me, "auth_kind": AUTH_KINDS.get(kind, kind), "email": None, "permissions": permissions}


def peer_node(node: NodeOut) -> dict[str, Any]:
    return {"org_id": node.org_id, "node_id": node.node_id, "parent_id": node.parent_node_id,
            "node_type": node.node_type, "name": node.name}


def peer_token(info: TokenInfo) -> dict[str, Any]:
    return {
        "token_id": str(info.id), "issued_at": info.created_at.isoformat(),
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None, "issued_by": info.created_by,
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
        "last_used_at": info.last_used_at.isoformat() if info.last_used_at else None, "label": info.description,
    }


def peer_run_id(run: RunOut) -> str:
    return run.run_id if run.run_id is not None else str(run.id)


def peer_run(run: RunOut) -> dict[str, Any]:
    """A run as the peer's `AgentRunResponse`: its id is the client's, its duration the one the
    client reported (else ours)."""
    duration = run.reported_duration_seconds if run.reported_duration_seconds is not None else run.duration_seconds
    return {
        "id": peer_run_id(run),
        "org_id": run.org_id,
        "team_node_id": run.team_node_id,
        "correlation_id": run.correlation_id,
        "agent_name": run.agent_name,
        "status": PEER_RUN_STATUS.get(run.status, run.status),
        "started_at": run.created_at.isoformat(),
        "completed_at": run.completed_at.isoformat() if run.completed_at else None,
        "duration_seconds": duration,
        "tool_calls_count": run.tool_calls_count,
        "output_summary": run.output_summary,
        "error_message": run.error_message,
    }


def peer_tool_call(call: ToolCallOut, run_ref: str) -> dict[str, Any]:
    started = call.started_at or call.created_at
    return {
        "id": call.client_id if call.client_id is not None else str(call.id),
        "run_id": run_ref,
        "tool_name": call.name,
        "agent_name": call.agent_name,
        "parent_agent": call.parent_agent,
        "tool_input": call.input,
        "tool_output": call.output,
        "started_at": started.isoformat(),
        "duration_ms": call.duration_ms,
        "status": call.status,
        "error_message": call.error,
        "sequence_number": call.sequence_number,
    }


Model = TypeVar("Model", bound=BaseModel)
# our tool-call fields → the peer's, to name the peer's field in an error
PEER_TOOL_CALL_FIELDS = {"name": "tool_name", "input": "tool_input", "output": "tool_output", "error": "error_message"}


def _ours(model: type[Model], values: dict[str, Any], where: str, names: dict[str, str] | None = None) -> Model:
    """Our request from translated values; a value ours refuses is 422 naming the peer's field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        if loc and names:
            loc[0] = names.get(loc[0], loc[0])
        path = where + "".join(f"/{p}" for p in loc)
        raise InvalidRequest(f"{path}: {first.get('msg', 'invalid')}", path=path) from None


def run_create(body: PeerRunCreate) -> RunCreate:
    return _ours(RunCreate, body.model_dump(exclude_none=True), "")


def run_finish(body: PeerRunFinish) -> RunFinish:
    return _ours(RunFinish, body.model_dump(exclude_none=True), "")


def tool_call(call: PeerToolCall, index: int) -> ToolCallIn:
    values = {
        "id": call.id, "name": call.tool_name, "agent_name": call.agent_name, "parent_agent": call.parent_agent,
        "input": call.tool_input, "output": call.tool_output, "status": call.status, "error": call.error_message,
        "started_at": call.started_at, "duration_ms": call.duration_ms, "sequence_number": call.sequence_number,
    }
    return _ours(ToolCallIn, values, f"/tool_calls/{index}", PEER_TOOL_CALL_FIELDS)


def cleanup_answer(marked: int, max_age_seconds: int) -> dict[str, Any]:
    """The CronJob greps the raw body for `"marked_count":<digits>`: keep it compact JSON."""
    return {"marked_count": marked, "max_age_seconds": max_age_seconds,
            "message": f"Marked {marked} stale runs as timeout"}
