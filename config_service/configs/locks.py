"""Locked paths (DESIGN §6): set at a node, enforced on every write below it (see
`merge.lock_violation`) and honoured by the merge (rule 6)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth.principal import Principal
from config_service.configs import repository
from config_service.configs.schemas import LocksView
from config_service.configs.service import missing
from config_service.db import locks as org_locks
from config_service.errors import InvalidRequest
from config_service.kit.limits import MAX_LOCKED_PATH_LENGTH
from config_service.kit.pointer import InvalidPointer, parse_pointer


def _check_locked_paths(paths: list[str]) -> list[str]:
    cleaned: list[str] = []
    for index, path in enumerate(paths):
        if not isinstance(path, str) or len(path) > MAX_LOCKED_PATH_LENGTH or "\x00" in path:
            raise InvalidRequest("each locked path must be a JSON Pointer string", path=f"/locked_paths/{index}")
        try:
            tokens = parse_pointer(path)
        except InvalidPointer as exc:
            raise InvalidRequest(f"locked_paths[{index}]: {exc}", path=f"/locked_paths/{index}") from None
        if not tokens or any(t == "" for t in tokens):
            raise InvalidRequest(f"locked_paths[{index}]: empty segments are not lockable",
                path=f"/locked_paths/{index}")
        if path not in cleaned:
            cleaned.append(path)
    return cleaned


async def read_locks(session: AsyncSession, org_id: str, node_id: str) -> LocksView:
    row = await repository.get_own(session, org_id, node_id)
    if row is None:
        raise await missing(session, org_id, node_id)
    return LocksView(org_id=org_id, node_id=node_id, locked_paths=list(row.locked_paths))


async def set_locks(
    session: AsyncSession, principal: Principal, org_id: str, node_id: str, paths: list[str], reason: str | None
) -> LocksView:
    cleaned = _check_locked_paths(paths)
    await org_locks.lock_org(session, org_id, shared=True)  # no tree change moves the lineage under it
    row = await repository.lock_own(session, org_id, node_id)
    if row is None:
        raise await missing(session, org_id, node_id)
    before = list(row.locked_paths)
    if before != cleaned:
        await repository.set_locked_paths(session, row, cleaned)
        await repository.touch_updated(session, org_id, node_id)
        await audit.record(
            session,
            principal,
            "locks.changed",
            org_id=org_id,
            target_type="node",
            target_id=node_id,
            details={"before": before, "after": cleaned, "reason": reason},
        )
    return LocksView(org_id=org_id, node_id=node_id, locked_paths=cleaned)
