"""Config reads and writes: merge along the lineage, versioned writes, locks (DESIGN §5, §6).

Services flush, never commit: the caller's `Database.transaction()` commits or rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import jsonpatch
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth.principal import Principal
from config_service.configs import repository, sealing
from config_service.configs.changes import (
    Change,
    ChangeError,
    Rollback,
    ShapeError,
    TestFailed,
    TooLarge,
)
from config_service.configs.merge import (
    Layer,
    MergeState,
    effective_chain,
    inherited_locks,
    lock_violation,
)
from config_service.configs.schemas import (
    EffectiveView,
    HistoryItem,
    HistoryPage,
    LineageEntry,
    OwnView,
    RawView,
    VersionDiff,
    WriteResult,
)
from config_service.configs.states import EMPTY, Prefix, PrefixCache, build, extend, layer_id
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
from config_service.routing import service as routing
from config_service.secrets import service as vaults
from config_service.secrets.service import Opened, SealedLayer, Vault

MAX_OWN_CONFIG_BYTES = jsondoc.MAX_OWN_CONFIG_BYTES
MAX_EFFECTIVE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Keys:
    """Server keys the config domain needs: the etag key, and the vault that seals and opens
    secrets; with them, the process's cache of merged and opened lineages (`configs.states`),
    off unless given (CACHE_ENABLED)."""

    etag_key: bytes
    vault: Vault | None = None
    prefixes: PrefixCache = field(default_factory=lambda: PrefixCache(enabled=False))

    @property
    def secrets(self) -> Vault:
        if self.vault is None:
            raise RuntimeError("this process has no secrets vault (Keys built without SECRETS_KEY)")
        return self.vault


def _layers(rows: list[repository.LineageRow]) -> list[Layer]:
    return [Layer(r.node_id, r.config_json, r.locked_paths, r.version) for r in rows]


def _sealed(rows: list[repository.LineageRow]) -> list[SealedLayer]:
    return [SealedLayer(r.node_id, str(r.node_uid), r.config_json) for r in rows]


async def open_secrets(
    session: AsyncSession, keys: Keys, org_id: str, layers: list[SealedLayer], into: Opened | None = None
) -> Opened:
    """The plaintext of every envelope in these own configs, by envelope (what does not open is
    left out and shows masked). For explain's fingerprints: `open_secrets(...).plaintexts[envelope]`."""
    return await vaults.open_layers(session, keys.secrets, org_id, layers, into)


async def lineage_plaintexts(
    session: AsyncSession, keys: Keys, org_id: str, rows: list[repository.LineageRow]
) -> dict[str, str]:
    """envelope → plaintext for every secret of a loaded lineage that opens where it is stored
    (explain fingerprints the plaintext, so re-encryption keeps a fingerprint). Never send it out."""
    return (await open_secrets(session, keys, org_id, _sealed(rows))).plaintexts


async def plaintext_effective(
    session: AsyncSession, keys: Keys, org_id: str, rows: list[repository.LineageRow]
) -> tuple[dict[str, Any], str]:
    """(plaintext effective config, etag) of a loaded lineage: the etag is over the plaintext."""
    plain = (await keys.prefixes.lineage(session, keys.secrets, org_id, rows)).plain.effective
    return plain, effective_etag(keys.etag_key, plain)


async def _lineage_or_404(
    session: AsyncSession, org_id: str, node_id: str, *, for_share: bool = False, ancestor_configs: bool = True
):
    rows = await repository.lineage(session, org_id, node_id, for_share=for_share, ancestor_configs=ancestor_configs)
    if not rows:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
    return rows


async def read_effective(
    session: AsyncSession, keys: Keys, org_id: str, node_id: str, *, reveal_secrets: bool = False
) -> EffectiveView:
    rows = await _lineage_or_404(session, org_id, node_id)
    return effective_view(keys, org_id, rows, await keys.prefixes.lineage(session, keys.secrets, org_id, rows),
                          reveal_secrets=reveal_secrets)


def effective_view(keys: Keys, org_id: str, rows: list[repository.LineageRow], state: Prefix, *, reveal_secrets: bool
                   ) -> EffectiveView:
    """The effective view of the last node of `rows`, whose merged state is `state`."""
    plain = state.plain.effective
    return EffectiveView(
        org_id=org_id,
        node_id=rows[-1].node_id,
        version=rows[-1].version,
        etag=effective_etag(keys.etag_key, plain),
        effective_config=plain if reveal_secrets else secrets.mask(state.sealed.effective),
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
    session: AsyncSession, org_id: str, node: repository.LineageRow, state: MergeState, new_own: dict[str, Any],
    new_effective: dict[str, Any],
) -> None:
    """A write must not make any effective config in the node's subtree exceed 1 MiB
    (`state`: the parent's merged state; `new_effective`: the node's, after the write).

    Every descendant is checked, not only the node: a write that shrinks the node's own
    effective config can still grow a descendant's (e.g. a big scalar becoming a small object
    that a child's object now merges into).
    """
    if not node.has_children:  # a leaf: only its own effective config can grow
        size = jsondoc.encoded_size(new_effective)
        if size > MAX_EFFECTIVE_BYTES:
            raise InvalidConfig(
                f"the effective config of '{node.node_id}' would be {size} bytes; the limit is {MAX_EFFECTIVE_BYTES}",
                path="",
            )
        return
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
    own_row, locked = await repository.lock_for_write(session, org_id, node_id, ancestor_configs=not keys.prefixes.enabled)
    if own_row is None or not locked:
        raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
    lineage = _WriteLineage(session, keys, org_id, node_id)
    rows = await lineage.load(locked, complete=not keys.prefixes.enabled)
    old_own: dict[str, Any] = own_row.config_json

    async def current_etag() -> str:
        return effective_etag(keys.etag_key, (await lineage.node_state(old_own)).plain.effective)

    # the etag before the write is only needed to check If-Match or to answer a no-op write
    if precondition is not None and not precondition.holds(own_row.version, await current_etag()):
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
    locks = inherited_locks(_layers(rows[:-1]))  # locked paths only: no ancestor config is needed
    checked = new_own
    try:
        new_own, endpoints, catalog = await sealing.settle_and_seal(
            session, keys, org_id, rows[-1], old_own, new_own, from_history=isinstance(change, Rollback)
        )
    except InvalidConfig:
        # a write into a locked path is refused as that, whatever else is wrong with its content
        violated = lock_violation(old_own, new_own, locks)
        if violated is not None:
            raise LockedPath(f"'{violated}' is locked above this node", path=violated) from None
        raise
    if new_own is not checked:
        check_config_shape(new_own)  # masks resolved or secrets sealed: longer than what was checked

    violated = lock_violation(old_own, new_own, locks)
    if violated is not None:
        raise LockedPath(f"'{violated}' is locked above this node", path=violated)
    if endpoints:
        sealing.check_rebind(await lineage.full(), new_own, endpoints, catalog)

    if _same(old_own, new_own):
        return WriteResult(
            org_id=org_id,
            node_id=node_id,
            version=own_row.version,
            etag=await current_etag(),
            changed=False,
            config=secrets.mask(old_own),
        )

    await routing.sync_claims(
        session, principal, org_id, node_id, new_own, is_root=rows[-1].parent_node_id is None, old_own=old_own
    )

    new_state = await lineage.node_state(new_own)
    await _check_subtree_size(session, org_id, rows[-1], lineage.parent.sealed, new_own, new_state.sealed.effective)

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
        etag=effective_etag(keys.etag_key, new_state.plain.effective),
        changed=True,
        config=secrets.mask(new_own),
    )


class _WriteLineage:
    """The lineage a write works on, locked (`FOR SHARE`) in its transaction. With the prefix
    cache on, the ancestors' configs are not read again while the cache holds their merged
    state for exactly the versions now locked."""

    def __init__(self, session: AsyncSession, keys: Keys, org_id: str, node_id: str) -> None:
        self.session, self.keys, self.org_id, self.node_id = session, keys, org_id, node_id
        self.rows: list[repository.LineageRow] = []
        self.complete = False  # the ancestors' configs are loaded
        self.parent: Prefix = EMPTY

    async def load(self, rows: list[repository.LineageRow], *, complete: bool) -> list[repository.LineageRow]:
        """`rows`: the locked lineage, with the ancestors' configs if `complete`."""
        prefixes = self.keys.prefixes
        self.rows, self.complete = rows, complete
        cached = prefixes.get(tuple(layer_id(r) for r in self.rows[:-1])) if len(self.rows) > 1 else EMPTY
        if cached is None:
            await self.full()
            cached = await prefixes.lineage(self.session, self.keys.secrets, self.org_id, self.rows[:-1], keep_last=True)
        self.parent = cached
        return self.rows

    async def full(self) -> list[repository.LineageRow]:
        """The rows with every config (read again if left out: they are locked, so unchanged)."""
        if not self.complete:
            self.rows = await _lineage_or_404(self.session, self.org_id, self.node_id)
            self.complete = True
        return self.rows

    async def node_state(self, own: dict[str, Any]) -> Prefix:
        """The node's merged and opened state with `own` as its own config."""
        node = self.rows[-1]
        state = await extend(self.session, self.keys.secrets, self.org_id, self.parent, node, own)
        if state is None:  # its layer refuses an envelope an ancestor opened: open them all at once
            rows = await self.full()
            state = (await build(self.session, self.keys.secrets, self.org_id, [*rows[:-1], replace(node, config_json=own)]))[-1]
        return state


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


async def version_item(session: AsyncSession, org_id: str, node_id: str, version: int) -> HistoryItem:
    """One version of a node's own config, with its full content (masked)."""
    row = await _version_or_404(session, org_id, node_id, version)
    return HistoryItem(
        version=row.version,
        changed_at=row.changed_at,
        changed_by=row.changed_by,
        reason=row.reason,
        diff=secrets.mask_patch(row.diff),
        config=secrets.mask(row.config_json),
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
            raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
        to_version = own.version
    old = await _version_or_404(session, org_id, node_id, from_version)
    new = await _version_or_404(session, org_id, node_id, to_version)
    return VersionDiff(
        org_id=org_id,
        node_id=node_id,
        from_version=from_version,
        to_version=to_version,
        diff=secrets.mask_patch(jsonpatch.make_patch(old.config_json, new.config_json).patch),
    )


async def _version_or_404(session: AsyncSession, org_id: str, node_id: str, version: int):
    row = await repository.get_version(session, org_id, node_id, version)
    if row is None:
        if await repository.get_own(session, org_id, node_id) is None:
            raise NotFound(f"node '{node_id}' does not exist in org '{org_id}'")
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
    return effective_chain(_layers(rows)), [r.node_id for r in rows]
