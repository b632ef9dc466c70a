"""Config reads and writes: merge along the lineage, versioned writes, previews (DESIGN §5, §6, §7).

Services flush, never commit: the caller's `Database.transaction()` commits or rolls back. A
write and a preview meet the same rules (`configs.checks`): the write raises the first
problem, the preview lists them all.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import jsonpatch
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth.principal import Principal
from config_service.configs import checks, repository
from config_service.configs.changes import Change, Replace, Rollback
from config_service.configs.checks import Draft
from config_service.configs.merge import Descendant, Layer, MergeState, effective_chain, inherited_locks
from config_service.configs.preconditions import UNCONDITIONAL, Precondition
from config_service.configs.preview import blast_radius
from config_service.configs.schemas import (
    AffectedNode,
    EffectiveView,
    HistoryItem,
    HistoryPage,
    LineageEntry,
    OwnView,
    PreviewError,
    PreviewView,
    RawView,
    VersionDiff,
    WriteResult,
)
from config_service.configs.states import EMPTY, Prefix, build, extend, layer_id
from config_service.errors import AppError, NotFound, PreconditionFailed, node_not_found, org_not_found
from config_service.keys import ConfigKeys
from config_service.kit import paging, secret_leaves
from config_service.kit.etag import effective_etag
from config_service.routing.service import ClaimsAfter


def _layer(row: repository.LineageRow | repository.SubtreeRow) -> Layer:
    return Layer(row.node_id, row.config_json, row.locked_paths, row.version)


async def missing(session: AsyncSession, org_id: str, node_id: str) -> NotFound:
    """The 404 for a node that was not found: it names the org when that is what is missing."""
    if node_id != org_id and await repository.org_exists(session, org_id):
        return node_not_found(org_id, node_id)
    return org_not_found(org_id)


async def _lineage_or_404(session: AsyncSession, org_id: str, node_id: str) -> list[repository.LineageRow]:
    rows = await repository.lineage(session, org_id, node_id)
    if not rows:
        raise await missing(session, org_id, node_id)
    return rows


async def lineages(session: AsyncSession, org_id: str, node_ids: list[str]) -> dict[str, list[repository.LineageRow]]:
    """The lineages of several nodes in one query, root first, by node id (a missing node is left out)."""
    return await repository.lineages(session, org_id, node_ids)


# ---- reads ------------------------------------------------------------------------------------


def etag_of(keys: ConfigKeys, state: Prefix) -> str:
    """The effective etag of a merged state: over the sealed effective config (the masked
    content plus each secret's envelope), never over a plaintext (`kit.etag`)."""
    return effective_etag(keys.etag_key, state.sealed.effective)


async def current_etag(session: AsyncSession, keys: ConfigKeys, org_id: str, rows: list[repository.LineageRow]) -> str:
    """The effective etag of a loaded lineage (its last node's)."""
    return etag_of(keys, await keys.prefixes.lineage(session, keys.secrets, org_id, rows))


async def lineage_secret_plaintexts(session: AsyncSession, keys: ConfigKeys, org_id: str, node_id: str) -> list[str]:
    """The plaintext of every secret stored on the node's lineage (each level's own, overridden
    ones too): what agent-run data must not repeat (`runs.masking`). Never send them out."""
    rows = await _lineage_or_404(session, org_id, node_id)
    return list((await keys.prefixes.lineage(session, keys.secrets, org_id, rows)).opened.plaintexts.values())


async def read_effective(
    session: AsyncSession, keys: ConfigKeys, org_id: str, node_id: str, *, reveal_secrets: bool = False
) -> EffectiveView:
    rows = await _lineage_or_404(session, org_id, node_id)
    state = await keys.prefixes.lineage(session, keys.secrets, org_id, rows)
    return effective_view(keys, org_id, rows, state, reveal_secrets=reveal_secrets)


def effective_view(
    keys: ConfigKeys, org_id: str, rows: list[repository.LineageRow], state: Prefix, *, reveal_secrets: bool
) -> EffectiveView:
    """The effective view of the last node of `rows`, whose merged state is `state`."""
    return EffectiveView(
        org_id=org_id,
        node_id=rows[-1].node_id,
        version=rows[-1].version,
        etag=etag_of(keys, state),
        effective_config=state.plain.effective if reveal_secrets else secret_leaves.mask(state.sealed.effective),
        hierarchy=[r.node_id for r in rows],
    )


async def explained_lineage(session: AsyncSession, org_id: str, node_id: str) -> list[Layer]:
    """The node's lineage as merge layers (root first), secrets sealed: explain fingerprints the
    envelope, never the plaintext (DESIGN §8, no oracle)."""
    rows = await _lineage_or_404(session, org_id, node_id)
    return [_layer(r) for r in rows]


async def read_raw(session: AsyncSession, org_id: str, node_id: str) -> RawView:
    rows = await _lineage_or_404(session, org_id, node_id)
    return RawView(
        lineage=[
            LineageEntry(
                node_id=r.node_id, node_type=r.node_type, name=r.name, parent_node_id=r.parent_node_id,
                version=r.version
            )
            for r in rows
        ],
        configs={r.node_id: secret_leaves.mask(r.config_json) for r in rows},
    )


async def read_own(session: AsyncSession, org_id: str, node_id: str) -> OwnView:
    row = await repository.get_own(session, org_id, node_id)
    if row is None:
        raise await missing(session, org_id, node_id)
    return OwnView(
        org_id=org_id,
        node_id=node_id,
        version=row.version,
        config=secret_leaves.mask(row.config_json),
        locked_paths=list(row.locked_paths),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


# ---- writes -----------------------------------------------------------------------------------


async def write(
    session: AsyncSession,
    keys: ConfigKeys,
    principal: Principal,
    org_id: str,
    node_id: str,
    change: Change,
    *,
    reason: str | None = None,
    precondition: Precondition | None = None,
    lenient_integrations: bool = False,
) -> WriteResult:
    """Apply one change to a node's own config: serialised per node, checked (`configs.checks`,
    the first problem is raised), versioned. Every 412 (`If-Match`, a JSON Patch `test`) names the
    current validator in the form of `precondition`'s route. `lenient_integrations`: the compat
    mount's writes keep integration fields the catalog lacks."""
    pre = precondition or UNCONDITIONAL
    locked = await repository.lock_for_write(session, org_id, node_id, ancestor_configs=not keys.prefixes.enabled)
    own_row = locked.own
    if own_row is None or not locked.heads:
        raise await missing(session, org_id, node_id)
    lineage = _WriteLineage(session, keys, org_id, node_id, locked.heads, locked.rows)
    await lineage.load()
    old_own: dict[str, Any] = own_row.config_json

    async def current_etag() -> str:
        return etag_of(keys, await lineage.node_prefix(old_own))

    async def stale(problem: PreconditionFailed) -> PreconditionFailed:
        etag = "" if pre.own_resource else await current_etag()
        return with_current(problem, pre.current(own_row.version, etag))

    # the etag before the write is only needed to check If-Match or to answer a no-op write
    if pre.tags is not None and not pre.holds(own_row.version, await current_etag()):
        raise await stale(PreconditionFailed("If-Match does not match the current version of this config"))

    draft = Draft(session, keys, principal, org_id, lineage.node, old_own, change, lineage, dry_run=False,
                  lenient_integrations=lenient_integrations)
    problems, _ = await checks.run(draft, first=True)
    if problems:
        raise await stale(problems[0]) if isinstance(problems[0], PreconditionFailed) else problems[0]
    new_own = draft.new_own
    if draft.unchanged:
        return WriteResult(
            org_id=org_id,
            node_id=node_id,
            version=own_row.version,
            etag=await current_etag(),
            changed=False,
            config=secret_leaves.mask(old_own),
        )

    diff = jsonpatch.make_patch(old_own, new_own).patch
    event = audit.event(
        session,
        principal,
        change.action,
        org_id=org_id,
        target_type="node",
        target_id=node_id,
        details={
            "version": own_row.version + 1,  # the row is locked: the version this write makes
            "reason": reason,
            "changed_paths": sorted({op["path"] for op in diff})[:100],
            **({"rolled_back_to": change.version} if isinstance(change, Rollback) else {}),
        },
    )
    await repository.write_version(session, own_row, new_own, diff, principal.subject, reason, event)
    return WriteResult(
        org_id=org_id,
        node_id=node_id,
        version=own_row.version,
        etag=etag_of(keys, await lineage.node_prefix(new_own)),
        changed=True,
        config=secret_leaves.mask(new_own),
    )


def with_current(problem: PreconditionFailed, current: str) -> PreconditionFailed:
    """A 412 carrying the current validator: `ETag` (quoted) and `current` (bare), so the client
    can re-read, or retry with it (DESIGN §7)."""
    problem.extra["current"] = current
    problem.headers["ETag"] = f'"{current}"'
    return problem


def _descendants(subtree: list[repository.SubtreeRow]) -> list[Descendant]:
    """The rows below the subtree's root (`subtree[0]`), as the pure merge takes them."""
    out = []
    for row in subtree[1:]:
        if row.parent_node_id is None:
            raise ValueError(f"'{row.node_id}' is below the subtree's root but has no parent")
        out.append(Descendant(row.parent_node_id, _layer(row)))
    return out


class _WriteLineage:
    """The lineage a write works on, locked (`FOR SHARE`) in its transaction. With the prefix
    cache on, the ancestors' configs are not read again while the cache holds their merged
    state for exactly the versions now locked (`heads` identify them)."""

    def __init__(
        self,
        session: AsyncSession,
        keys: ConfigKeys,
        org_id: str,
        node_id: str,
        heads: list[repository.LineageHead],
        rows: list[repository.LineageRow] | None,
    ) -> None:
        self.session, self.keys, self.org_id, self.node_id = session, keys, org_id, node_id
        self.heads = heads
        self._rows = rows
        self.parent: Prefix = EMPTY
        self._states: list[tuple[dict[str, Any], Prefix]] = []  # (own, node prefix) already built

    @property
    def node(self) -> repository.LineageHead:
        return self.heads[-1]

    async def load(self) -> None:
        """The ancestors' merged and opened state: cached, or built from their configs."""
        prefixes = self.keys.prefixes
        cached = prefixes.get(tuple(layer_id(h) for h in self.heads[:-1])) if len(self.heads) > 1 else EMPTY
        if cached is None:
            rows = await self.rows()
            cached = await prefixes.lineage(self.session, self.keys.secrets, self.org_id, rows[:-1], keep_last=True)
        self.parent = cached

    def ancestor_locks(self) -> list[tuple[str, str]]:
        return inherited_locks(self.heads[:-1])

    async def rows(self) -> list[repository.LineageRow]:
        """The lineage with every config (read again if left out: it is locked, so unchanged)."""
        if self._rows is None:
            self._rows = await _lineage_or_404(self.session, self.org_id, self.node_id)
        return self._rows

    async def layers(self) -> list[Layer]:
        return [_layer(r) for r in await self.rows()]

    async def node_prefix(self, own: dict[str, Any]) -> Prefix:
        """The node's merged and opened state with `own` as its own config."""
        for seen, state in self._states:
            if seen is own:
                return state
        found = await extend(self.session, self.keys.secrets, self.org_id, self.parent, self.node, own)
        if found is None:  # its layer refuses an envelope an ancestor opened: open them all at once
            rows = await self.rows()
            found = (await build(self.session, self.keys.secrets, self.org_id,
                                 [*rows[:-1], replace(rows[-1], config_json=own)]))[-1]
        self._states.append((own, found))
        return found

    async def node_state(self, own: dict[str, Any]) -> MergeState:
        return (await self.node_prefix(own)).sealed

    async def descendants(self) -> list[Descendant]:
        return _descendants(await repository.subtree(self.session, self.org_id, self.node_id))


# ---- preview ----------------------------------------------------------------------------------


class _PreviewLineage:
    """The lineage and subtree a preview reads, in its one snapshot."""

    def __init__(self, rows: list[repository.LineageRow], subtree: list[repository.SubtreeRow]) -> None:
        self._rows = rows
        self.below = _descendants(subtree)
        self.parent = MergeState()
        for row in rows[:-1]:
            self.parent = self.parent.push(_layer(row))

    def ancestor_locks(self) -> list[tuple[str, str]]:
        return inherited_locks(self._rows[:-1])

    async def layers(self) -> list[Layer]:
        return [_layer(r) for r in self._rows]

    async def node_state(self, own: dict[str, Any]) -> MergeState:
        node = self._rows[-1]
        return self.parent.push(Layer(node.node_id, own, node.locked_paths, node.version))

    async def descendants(self) -> list[Descendant]:
        return self.below


def preview_error(error: AppError) -> PreviewError:
    """A problem as one entry of a preview's `errors`. Its detail never carries a secret, not
    even as ciphertext (JSON Patch and JSON Pointer messages quote documents and values)."""
    path = error.extra.get("path")
    if path is None and error.code == "not_found":
        path = "/rollback_to"  # the preview body member that named the missing version
    detail = secret_leaves.ENVELOPE_IN_TEXT.sub(secret_leaves.MASK, error.detail)
    return PreviewError(code=error.code, detail=detail, path=path, holder=error.extra.get("holder"))


async def preview(
    session: AsyncSession,
    keys: ConfigKeys,
    principal: Principal,
    org_id: str,
    node_id: str,
    change: Change,
    precondition: Precondition | None = None,
) -> PreviewView:
    """What writing `change` to the node would do to its subtree (each changed effective config
    with a masked RFC 6902 diff), and every problem the write would meet. Writes nothing. An
    `If-Match` that does not hold is 412, as the write would answer."""
    # one snapshot for every read below, and a transaction that cannot write
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    based_on = (await read_effective(session, keys, org_id, node_id)).etag
    rows = await _lineage_or_404(session, org_id, node_id)
    pre = precondition or UNCONDITIONAL
    if not pre.holds(rows[-1].version, based_on):
        raise with_current(PreconditionFailed("If-Match does not match the current version of this config"),
                           pre.current(rows[-1].version, based_on))
    subtree = await repository.subtree(session, org_id, node_id)
    lineage = _PreviewLineage(rows, subtree)
    node = rows[-1]
    draft = Draft(session, keys, principal, org_id, node, node.config_json, change, lineage, dry_run=True)
    problems, stopped = await checks.run(draft, first=False)
    errors = [preview_error(p) for p in problems]
    if stopped or draft.unchanged:
        # nothing can be written, or nothing would change (then the write answers `changed: false`)
        return PreviewView(based_on=based_on, affected=[], unaffected_count=len(subtree), errors=errors)
    layers = [_layer(r) for r in rows]
    result = blast_radius(layers[:-1], layers[-1], draft.new_own, lineage.below)
    return PreviewView(
        based_on=based_on,
        affected=[AffectedNode(node_id=a.node_id, diff=a.diff) for a in result.affected],
        unaffected_count=result.unaffected_count,
        errors=errors,
    )


async def planned_problems(
    session: AsyncSession,
    keys: ConfigKeys,
    principal: Principal,
    org_id: str,
    *,
    node_id: str,
    parent_node_id: str | None,
    node_uid: uuid.UUID | None,
    version: int,
    old_own: dict[str, Any],
    new_own: dict[str, Any],
    has_children: bool,
    lineage: checks.DraftLineage,
    claims_after: ClaimsAfter,
) -> list[PreviewError]:
    """Every problem the write rules (`configs.checks.RULES`) find in replacing a node's own config
    `old_own` (`{}` for a node still to be created) with `new_own`, the node placed as a planned
    set of changes leaves it: an import's plan (`transfer.service`). `lineage` is that tree's —
    its locks those that bind the write when it runs, its layers and subtree as they end up — and
    routing is judged on `claims_after`. A dry run like the preview's: it seals and claims nothing."""
    head = repository.LineageHead(
        org_id=org_id, node_id=node_id, parent_node_id=parent_node_id,
        node_type="org" if parent_node_id is None else "team", name=node_id,
        node_uid=node_uid or uuid.uuid4(),  # a node to be created has none yet; a dry run seals nothing with it
        depth=0, version=version, locked_paths=[], updated_at=datetime.now(UTC), updated_by=None,
        has_children=has_children,
    )
    draft = Draft(session, keys, principal, org_id, head, old_own, Replace(new_own), lineage, dry_run=True,
                  claims_after=claims_after)
    problems, _ = await checks.run(draft, first=False)
    return [preview_error(p) for p in problems]


# ---- history ----------------------------------------------------------------------------------


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
        raise await missing(session, org_id, node_id)
    found = await repository.history(session, org_id, node_id, before_version=before_version, limit=limit + 1)
    rows, more = paging.page(found, limit)
    items = [
        HistoryItem(
            version=r.version,
            changed_at=r.changed_at,
            changed_by=r.changed_by,
            reason=r.reason,
            diff=secret_leaves.mask_patch(r.diff),
            config=secret_leaves.mask(r.config_json) if include_full else None,
        )
        for r in rows
    ]
    return HistoryPage(items=items, next_cursor=paging.version_cursor(rows[-1].version) if more else None)


async def version_item(session: AsyncSession, org_id: str, node_id: str, version: int) -> HistoryItem:
    """One version of a node's own config, with its full content (masked)."""
    row = await _version_or_404(session, org_id, node_id, version)
    return HistoryItem(
        version=row.version,
        changed_at=row.changed_at,
        changed_by=row.changed_by,
        reason=row.reason,
        diff=secret_leaves.mask_patch(row.diff),
        config=secret_leaves.mask(row.config_json),
    )


async def version_diff(
    session: AsyncSession, org_id: str, node_id: str, from_version: int, to_version: int | None
) -> VersionDiff:
    """The RFC 6902 patch from one version's own config to another's (default: the current one).

    Computed over the stored configs and then masked, so a secret that changed between the two
    shows as a `replace` with the mask, and an unchanged one does not show at all."""
    if to_version is None:
        own = await repository.get_own(session, org_id, node_id)
        if own is None:
            raise await missing(session, org_id, node_id)
        to_version = own.version
    old = await _version_or_404(session, org_id, node_id, from_version)
    new = await _version_or_404(session, org_id, node_id, to_version)
    return VersionDiff(
        org_id=org_id,
        node_id=node_id,
        from_version=from_version,
        to_version=to_version,
        diff=secret_leaves.mask_patch(jsonpatch.make_patch(old.config_json, new.config_json).patch),
    )


async def _version_or_404(session: AsyncSession, org_id: str, node_id: str, version: int):
    row = await repository.get_version(session, org_id, node_id, version)
    if row is None:
        if await repository.get_own(session, org_id, node_id) is None:
            raise await missing(session, org_id, node_id)
        raise NotFound(f"node '{node_id}' has no version {version}")
    return row


async def create_initial(session: AsyncSession, org_id: str, node_id: str, actor: str) -> None:
    await repository.create_initial(session, org_id, node_id, actor)


async def effective_chain_of(
    session: AsyncSession, org_id: str, node_id: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The effective config (sealed: envelopes, not plaintext) of every node on the lineage, root
    first, and the lineage's node ids: which node supplies what (integration health)."""
    rows = await _lineage_or_404(session, org_id, node_id)
    return effective_chain([_layer(r) for r in rows]), [r.node_id for r in rows]
