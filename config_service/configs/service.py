"""Config reads and writes: merge along the lineage, versioned writes, locks (DESIGN §5, §6).

Services flush, never commit: the caller's `Database.transaction()` commits or rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonpatch
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth.principal import Principal
from config_service.configs import repository
from config_service.configs.changes import Change, ChangeError, Rollback, ShapeError, TestFailed, TooLarge
from config_service.configs.merge import (
    Layer,
    MergeState,
    effective_chain,
    effective_config,
    inherited_locks,
    lock_violation,
)
from config_service.configs.schemas import (
    EffectiveView,
    HistoryItem,
    HistoryPage,
    LineageEntry,
    LocksView,
    OwnView,
    RawView,
    WriteResult,
)
from config_service.configs.validators import Precondition
from config_service.errors import (
    InvalidConfig,
    InvalidRequest,
    LockedPath,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
)
from config_service.kit import jsondoc, secrets
from config_service.kit.etag import effective_etag
from config_service.kit.pointer import InvalidPointer, parse_pointer
from config_service.routing import service as routing

MAX_OWN_CONFIG_BYTES = jsondoc.MAX_OWN_CONFIG_BYTES
MAX_EFFECTIVE_BYTES = 1024 * 1024
MAX_LOCKED_PATH_LENGTH = 1024


@dataclass(frozen=True)
class Keys:
    """Server keys the config domain needs."""

    etag_key: bytes


def _layers(rows: list[repository.LineageRow]) -> list[Layer]:
    return [Layer(r.node_id, r.config_json, r.locked_paths, r.version) for r in rows]


def _reveal(effective: dict[str, Any]) -> dict[str, Any]:
    """Plaintext of an effective config (secrets are decrypted here once issue #3 lands)."""
    return effective


async def _lineage_or_404(session: AsyncSession, org_id: str, node_id: str, *, for_share: bool = False):
    rows = await repository.lineage(session, org_id, node_id, for_share=for_share)
    if not rows:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
    return rows


async def read_effective(
    session: AsyncSession, keys: Keys, org_id: str, node_id: str, *, reveal_secrets: bool = False
) -> EffectiveView:
    rows = await _lineage_or_404(session, org_id, node_id)
    effective = effective_config(_layers(rows))
    plain = _reveal(effective)
    return EffectiveView(
        org_id=org_id,
        node_id=node_id,
        version=rows[-1].version,
        etag=effective_etag(keys.etag_key, plain),
        effective_config=plain if reveal_secrets else secrets.mask(effective),
        hierarchy=[r.node_id for r in rows],
    )


async def read_raw(session: AsyncSession, org_id: str, node_id: str) -> RawView:
    rows = await _lineage_or_404(session, org_id, node_id)
    return RawView(
        lineage=[
            LineageEntry(
                node_id=r.node_id, node_type=r.node_type, name=r.name, parent_node_id=r.parent_node_id, version=r.version
            )
            for r in rows
        ],
        configs={r.node_id: secrets.mask(r.config_json) for r in rows},
    )


async def read_own(session: AsyncSession, org_id: str, node_id: str) -> OwnView:
    row = await repository.get_own(session, org_id, node_id)
    if row is None:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
    return OwnView(
        org_id=org_id,
        node_id=node_id,
        version=row.version,
        config=secrets.mask(row.config_json),
        locked_paths=list(row.locked_paths),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def check_config_shape(config: Any, *, what: str = "config") -> None:
    """Top level an object, nesting ≤ 32, keys ≤ 256 characters, size ≤ 256 KiB (DESIGN §6)."""
    if not isinstance(config, dict):
        raise InvalidConfig(f"{what} must be a JSON object", path="")
    problem = jsondoc.find_shape_problem(config)
    if problem is not None:
        path, message = problem
        raise InvalidConfig(f"{what} at {path}: {message}", path=path)
    size = jsondoc.encoded_size(config)
    if size > MAX_OWN_CONFIG_BYTES:
        raise PayloadTooLarge(f"own config would be {size} bytes; the limit is {MAX_OWN_CONFIG_BYTES}")


async def _rollback_target(
    session: AsyncSession, org_id: str, node_id: str, change: Rollback, current: dict[str, Any]
) -> dict[str, Any]:
    row = await repository.get_version(session, org_id, node_id, change.version)
    if row is None:
        raise NotFound(f"node '{node_id}' has no version {change.version}")
    if change.restore_secrets:
        return row.config_json
    return secrets.keep_current_secrets(row.config_json, current)


def _same(a: Any, b: Any) -> bool:
    return jsondoc.canonical(a) == jsondoc.canonical(b)


async def _check_subtree_size(
    session: AsyncSession, org_id: str, rows: list[repository.LineageRow], new_own: dict[str, Any]
) -> None:
    """A write must not make any effective config in the node's subtree exceed 1 MiB.

    Every descendant is checked, not only the node: a write that shrinks the node's own
    effective config can still grow a descendant's (e.g. a big scalar becoming a small object
    that a child's object now merges into).
    """
    node = rows[-1]
    state = MergeState()
    for layer in _layers(rows[:-1]):
        state = state.push(layer)
    subtree = await repository.subtree(session, org_id, node.node_id)
    by_parent: dict[str | None, list[repository.SubtreeRow]] = {}
    for item in subtree[1:]:
        by_parent.setdefault(item.parent_node_id, []).append(item)
    stack: list[tuple[str, MergeState]] = [
        (node.node_id, state.push(Layer(node.node_id, new_own, node.locked_paths)))
    ]
    while stack:
        node_id, here = stack.pop()
        size = jsondoc.encoded_size(here.effective)
        if size > MAX_EFFECTIVE_BYTES:
            raise InvalidConfig(
                f"the effective config of '{node_id}' would be {size} bytes; the limit is {MAX_EFFECTIVE_BYTES}",
                path="",
            )
        for child in by_parent.get(node_id, []):
            stack.append((child.node_id, here.push(Layer(child.node_id, child.config_json, child.locked_paths))))


async def write(
    session: AsyncSession,
    keys: Keys,
    principal: Principal,
    org_id: str,
    node_id: str,
    change: Change,
    *,
    reason: str | None = None,
    precondition: Precondition | None = None,
) -> WriteResult:
    """Apply one change to a node's own config: serialised per node, lock-checked, versioned."""
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:k, 0))"), {"k": f"org:{org_id}"})
    own_row = await repository.lock_own(session, org_id, node_id)
    if own_row is None:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
    rows = await _lineage_or_404(session, org_id, node_id, for_share=True)
    old_own: dict[str, Any] = own_row.config_json
    old_effective = effective_config(_layers(rows))
    old_etag = effective_etag(keys.etag_key, _reveal(old_effective))

    if precondition is not None and not precondition.holds(own_row.version, old_etag):
        raise PreconditionFailed("If-Match does not match the current version of this config")

    try:
        if isinstance(change, Rollback):
            new_own = await _rollback_target(session, org_id, node_id, change, old_own)
        else:
            new_own = change.apply(old_own)
    except TestFailed as exc:
        raise PreconditionFailed(str(exc)) from None
    except ShapeError as exc:
        raise InvalidConfig(str(exc), path=exc.path if exc.path is not None else "") from None
    except TooLarge as exc:
        raise PayloadTooLarge(str(exc)) from None
    except ChangeError as exc:
        raise InvalidRequest(str(exc), path=exc.path if exc.path is not None else "") from None

    check_config_shape(new_own)
    try:
        new_own = secrets.settle_incoming(new_own, old_own)
    except secrets.SecretWriteError as exc:
        raise InvalidConfig(str(exc), path=exc.path) from None

    violated = lock_violation(old_own, new_own, inherited_locks(_layers(rows[:-1])))
    if violated is not None:
        raise LockedPath(f"'{violated}' is locked above this node", path=violated)

    if _same(old_own, new_own):
        return WriteResult(
            org_id=org_id,
            node_id=node_id,
            version=own_row.version,
            etag=old_etag,
            changed=False,
            config=secrets.mask(old_own),
        )

    await routing.sync_claims(session, principal, org_id, node_id, new_own, is_root=rows[-1].parent_node_id is None)

    new_layers = [*_layers(rows[:-1]), Layer(node_id, new_own, own_row.locked_paths)]
    new_effective = effective_config(new_layers)
    await _check_subtree_size(session, org_id, rows, new_own)

    diff = jsonpatch.make_patch(old_own, new_own).patch
    actor = principal.subject
    await repository.write_version(session, own_row, new_own, diff, actor, reason)
    await audit.record(
        session,
        principal,
        change.action,
        org_id=org_id,
        target_type="node",
        target_id=node_id,
        details={
            "version": own_row.version,
            "reason": reason,
            "changed_paths": sorted({op["path"] for op in diff})[:100],
            **({"rolled_back_to": change.version} if isinstance(change, Rollback) else {}),
        },
    )
    return WriteResult(
        org_id=org_id,
        node_id=node_id,
        version=own_row.version,
        etag=effective_etag(keys.etag_key, _reveal(new_effective)),
        changed=True,
        config=secrets.mask(new_own),
    )


async def history(
    session: AsyncSession,
    org_id: str,
    node_id: str,
    *,
    limit: int,
    before_version: int | None,
    include_full: bool,
) -> HistoryPage:
    if await repository.get_own(session, org_id, node_id) is None:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
    rows = await repository.history(session, org_id, node_id, before_version=before_version, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        HistoryItem(
            version=r.version,
            changed_at=r.changed_at,
            changed_by=r.changed_by,
            reason=r.reason,
            diff=secrets.mask_patch(r.diff),
            config=secrets.mask(r.config_json) if include_full else None,
        )
        for r in rows
    ]
    return HistoryPage(items=items, next_cursor=str(rows[-1].version) if more and rows else None)


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
            raise InvalidRequest(f"locked_paths[{index}]: empty segments are not lockable", path=f"/locked_paths/{index}")
        if path not in cleaned:
            cleaned.append(path)
    return cleaned


async def read_locks(session: AsyncSession, org_id: str, node_id: str) -> LocksView:
    row = await repository.get_own(session, org_id, node_id)
    if row is None:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
    return LocksView(org_id=org_id, node_id=node_id, locked_paths=list(row.locked_paths))


async def set_locks(
    session: AsyncSession, principal: Principal, org_id: str, node_id: str, paths: list[str], reason: str | None
) -> LocksView:
    cleaned = _check_locked_paths(paths)
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:k, 0))"), {"k": f"org:{org_id}"})
    row = await repository.lock_own(session, org_id, node_id)
    if row is None:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
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


async def create_initial(session: AsyncSession, org_id: str, node_id: str, actor: str) -> None:
    await repository.create_initial(session, org_id, node_id, actor)


async def subtree_effective(
    session: AsyncSession, keys: Keys, org_id: str, node_id: str
) -> dict[str, dict[str, Any]]:
    """Effective config of every node on the lineage (used by tests and previews)."""
    rows = await _lineage_or_404(session, org_id, node_id)
    chain = effective_chain(_layers(rows))
    return {r.node_id: secrets.mask(eff) for r, eff in zip(rows, chain, strict=True)}
