"""Explain and preview: read-only views of a node's config (DESIGN §7). Nothing here writes.

A preview runs the checks of `configs.service.write` in the same order — the change itself,
shape and size limits, masked secrets, integration fields and credential redirection (through
`configs.sealing.dry_run_own`, which seals nothing), inherited locks, routing claims, the
subtree's effective sizes — but collects each refusal into `errors` instead of raising, so an
admin sees every problem of a change (and its blast radius) before saving it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.auth.principal import Kind, Principal
from config_service.configs import repository
from config_service.configs import sealing
from config_service.configs import service as configs
from config_service.configs.changes import (
    Change,
    ChangeError,
    Rollback,
    ShapeError,
    TestFailed,
    TooLarge,
)
from config_service.configs.merge import Layer, inherited_locks, lock_violation
from config_service.errors import AppError, NotFound
from config_service.insight import preview as radius
from config_service.insight.provenance import explain_paths, secret_fingerprint
from config_service.insight.schemas import (
    AffectedNode,
    ExplainEntry,
    ExplainView,
    PreviewError,
    PreviewView,
)
from config_service.kit import jsondoc, secrets
from config_service.routing import repository as routing_keys
from config_service.routing.keys import WORKSPACE_LIST
from config_service.routing.service import planned_claims


def _layer(row: Any) -> Layer:
    return Layer(row.node_id, row.config_json, row.locked_paths, row.version)


async def _lineage(session: AsyncSession, org_id: str, node_id: str) -> list[repository.LineageRow]:
    rows = await repository.lineage(session, org_id, node_id)
    if not rows:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
    return rows


async def explain(session: AsyncSession, keys: configs.Keys, org_id: str, node_id: str) -> ExplainView:
    rows = await _lineage(session, org_id, node_id)
    plaintexts = await configs.lineage_plaintexts(session, keys, org_id, rows)

    def fingerprint(stored: object) -> str:
        # the plaintext when it opens, so re-encryption keeps the fingerprint; never sent out
        return secret_fingerprint(keys.etag_key, plaintexts.get(stored, stored) if isinstance(stored, str) else stored)

    paths = explain_paths([_layer(r) for r in rows], fingerprint)
    return ExplainView(paths={pointer: ExplainEntry(**entry) for pointer, entry in paths.items()})


# an envelope quoted in a message (JSON Patch and JSON Pointer errors quote documents and values)
_ENVELOPE_IN_TEXT = re.compile(re.escape(secrets.ENVELOPE_PREFIX) + r"""[^\s'",}\])]+""")


def _error(code: str, detail: str, path: str | None = None, holder: dict[str, Any] | None = None) -> PreviewError:
    """One entry of `errors`; its detail never carries a secret, even as ciphertext."""
    return PreviewError(code=code, detail=_ENVELOPE_IN_TEXT.sub(secrets.MASK, detail), path=path, holder=holder)


def _problem(error: AppError) -> PreviewError:
    return _error(error.code, error.detail, error.extra.get("path"), error.extra.get("holder"))


def _change_problem(exc: ChangeError) -> PreviewError:
    """The problem `configs.service.write` answers for a change that cannot be applied."""
    path = exc.path if exc.path is not None else ""
    if isinstance(exc, TestFailed):
        return _error(code="precondition_failed", detail=str(exc), path=path)
    if isinstance(exc, ShapeError):
        return _error(code="invalid_config", detail=str(exc), path=path)
    if isinstance(exc, TooLarge):
        return _error(code="payload_too_large", detail=str(exc), path=path)
    return _error(code="invalid_request", detail=str(exc), path=path)


async def _new_own(
    session: AsyncSession,
    keys: configs.Keys,
    org_id: str,
    rows: list[repository.LineageRow],
    change: Change,
    errors: list[PreviewError],
) -> dict[str, Any] | None:
    """The own config the write would store (new secrets as masked placeholders), or None with
    the reason in `errors`."""
    node_id, old_own = rows[-1].node_id, rows[-1].config_json
    try:
        if isinstance(change, Rollback):
            stored = await repository.get_version(session, org_id, node_id, change.version)
            if stored is None:
                errors.append(_error("not_found", f"node '{node_id}' has no version {change.version}", "/rollback_to"))
                return None
            if change.restore_secrets:
                new_own = stored.config_json
            else:
                new_own = secrets.keep_current_secrets(stored.config_json, old_own)
        else:
            new_own = change.apply(old_own)
    except ChangeError as exc:
        errors.append(_change_problem(exc))
        return None
    try:
        configs.check_config_shape(new_own)
    except AppError as exc:
        errors.append(_problem(exc))
        if exc.status != 413:  # too big is still a config whose blast radius can be shown
            return None
    try:
        # masks settled, `$secret` values and catalog secret fields sealed as placeholders,
        # integration fields and credential redirection checked — exactly as the write does
        return await sealing.dry_run_own(
            session, keys, org_id, rows, new_own, from_history=isinstance(change, Rollback)
        )
    except AppError as exc:
        errors.append(_problem(exc))
        return None


def _lock_problems(ancestors: list[Layer], old_own: dict[str, Any], new_own: dict[str, Any]) -> list[PreviewError]:
    """Every inherited lock the write would break (the write itself names only the first)."""
    problems = []
    for path, holder in inherited_locks(ancestors):
        if lock_violation(old_own, new_own, [(path, holder)]) is not None:
            problems.append(_error(code="locked_path", detail=f"'{path}' is locked at '{holder}'", path=path))
    return problems


async def _routing_problems(
    session: AsyncSession, principal: Principal, org_id: str, node_id: str, new_own: dict[str, Any], *, is_root: bool
) -> list[PreviewError]:
    """What `routing.service.sync_claims` would refuse, read without claiming anything."""
    try:
        wanted = planned_claims(new_own, is_root=is_root)
    except AppError as exc:
        return [_problem(exc)]
    held = await routing_keys.claims_of(session, org_id, node_id)
    problems: list[PreviewError] = []
    workspaces_before = {c for c in held if c.key_type == WORKSPACE_LIST}
    workspaces_after = {c for c in wanted if c.key_type == WORKSPACE_LIST}
    if workspaces_before != workspaces_after and principal.kind is not Kind.GLOBAL_ADMIN:
        problems.append(_error(
            code="forbidden",
            detail="only the global admin binds Slack workspaces to an org (routing.slack_workspace_ids)",
            path=f"/routing/{WORKSPACE_LIST}",
        ))
    new = wanted - held
    in_org = {(c.key_type, c.key_norm) for c in new if c.key_type != WORKSPACE_LIST}
    anywhere = {(c.key_type, c.key_norm) for c in new if c.key_type == WORKSPACE_LIST}
    rows = []
    if in_org:
        rows += await routing_keys.holders(session, in_org, org_id)
    if anywhere:
        rows += await routing_keys.holders(session, anywhere, None)
    for row in sorted(rows, key=lambda r: (r.key_type, r.key_norm)):
        if row.org_id == org_id and row.node_id == node_id:
            continue
        holder = {"org_id": row.org_id, "node_id": row.node_id, "key_type": row.key_type, "key_value": row.key_value}
        if row.key_type == WORKSPACE_LIST and row.org_id != org_id:
            detail = f"Slack workspace '{row.key_value}' is bound to another org"
            holder["node_id"] = None
        else:
            detail = f"routing.{row.key_type} '{row.key_value}' is already claimed by node '{row.node_id}'"
        problems.append(_error(code="routing_conflict", detail=detail, path=f"/routing/{row.key_type}", holder=holder))
    return problems


async def preview(
    session: AsyncSession, keys: configs.Keys, principal: Principal, org_id: str, node_id: str, change: Change
) -> PreviewView:
    """What writing `change` to the node would do to its subtree, and what would refuse it."""
    # one snapshot for every read below, and a transaction that cannot write
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    based_on = (await configs.read_effective(session, keys, org_id, node_id)).etag
    rows = await _lineage(session, org_id, node_id)
    layers = [_layer(r) for r in rows]
    subtree = await repository.subtree(session, org_id, node_id)
    old_own = rows[-1].config_json
    errors: list[PreviewError] = []

    new_own = await _new_own(session, keys, org_id, rows, change, errors)
    if new_own is None or jsondoc.canonical(new_own) == jsondoc.canonical(old_own):
        # nothing can be written, or nothing would change (then the write answers `changed: false`)
        return PreviewView(based_on=based_on, affected=[], unaffected_count=len(subtree), errors=errors)

    errors += _lock_problems(layers[:-1], old_own, new_own)
    errors += await _routing_problems(
        session, principal, org_id, node_id, new_own, is_root=rows[-1].parent_node_id is None
    )

    result = radius.blast_radius(
        layers[:-1],
        layers[-1],
        new_own,
        [radius.Descendant(r.parent_node_id, _layer(r)) for r in subtree[1:]],
        max_effective_bytes=configs.MAX_EFFECTIVE_BYTES,
    )
    for oversized, size in result.oversized:
        errors.append(_error(
            code="invalid_config",
            detail=f"the effective config of '{oversized}' would be {size} bytes; the limit is {configs.MAX_EFFECTIVE_BYTES}",
            path="",
        ))
    return PreviewView(
        based_on=based_on,
        affected=[AffectedNode(node_id=a.node_id, diff=a.diff) for a in result.affected],
        unaffected_count=result.unaffected_count,
        errors=errors,
    )
