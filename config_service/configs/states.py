"""Merged lineages, sealed and opened, cached per process by exactly what their layers hold.

A `Prefix` is the state of the lineage root … node: the sealed effective config (envelopes),
the plaintext one, the locks in force below it, and what its envelopes opened to. A child's
prefix is its parent's plus one layer, so a subtree is merged and opened one level at a time,
and an ancestor (the 32 KB root) is merged and opened once, not once per read or write below it.

The cache key of a prefix is, per layer, `(node_uid, version, row_xmin, locked_paths)`: any
change to a stored config row (a write, a lock change, a re-encryption) gives it a new xmin,
so an entry is never stale — there is nothing to invalidate, only a size bound.

Revealing layer by layer equals revealing the merged config, with one exception that is
checked: an envelope copied to a second place must open at every place it appears, else it is
shown masked everywhere (`secrets.service.Opened`). When a new layer refuses an envelope its
ancestors had opened, the whole lineage is opened again at once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.configs.merge import Layer, MergeState
from config_service.configs.repository import LineageHead, LineageRow
from config_service.kit import secret_leaves
from config_service.kit.pointer import get_path
from config_service.secrets.service import Opened, SealedLayer, Vault, open_layers

LayerId = tuple[str, int, int, tuple[str, ...]]  # node_uid, version, row_xmin, locked_paths


def layer_id(row: LineageHead) -> LayerId:
    """The identity of a stored own config."""
    return (str(row.node_uid), row.version, row.row_xmin, tuple(row.locked_paths))


@dataclass(frozen=True)
class Prefix:
    ids: tuple[LayerId, ...]
    sealed: MergeState
    plain: MergeState
    opened: Opened = field(repr=False)
    envelopes: tuple[tuple[tuple[str, ...], str], ...] = ()  # (tokens, envelope) left in `sealed.effective`

    @property
    def has_secrets(self) -> bool:
        return bool(self.envelopes)


EMPTY = Prefix((), MergeState(), MergeState(), Opened())


def _copy(opened: Opened) -> Opened:
    return Opened(dict(opened.plaintexts), opened.failed, set(opened.refused), set(opened.checked))


async def extend(
    session: AsyncSession, vault: Vault, org_id: str, parent: Prefix, row: LineageHead, own: dict[str, Any]
) -> Prefix | None:
    """`parent` plus the layer of `row` with own config `own` (its stored one, or a write's new
    one). None when the layer refuses an envelope an ancestor had opened: the lineage must then
    be opened as a whole (`build`)."""
    found = secret_leaves.envelopes(own)
    opened = parent.opened
    if found:
        opened = _copy(parent.opened)
        await open_layers(session, vault, org_id, [SealedLayer(row.node_id, str(row.node_uid), own)], opened)
        if opened.refused & parent.opened.plaintexts.keys():
            return None
    return _push(parent, row, own, opened, found)


def _push(
    parent: Prefix, row: LineageHead, own: dict[str, Any], opened: Opened, found: list[tuple[list[str], str]]
) -> Prefix:
    sealed = parent.sealed.push(Layer(row.node_id, own, row.locked_paths, row.version))
    plain_own = secret_leaves.reveal(own, opened.plaintexts) if found else own
    plain = parent.plain.push(Layer(row.node_id, plain_own, row.locked_paths, row.version))
    # the envelopes still in force: the ancestors' that this layer did not override, and its own
    effective = sealed.effective
    kept = [(tokens, env) for tokens, env in parent.envelopes if get_path(effective, list(tokens)) == env]
    kept += [(tuple(tokens), env) for tokens, env in found if get_path(effective, tokens) == env]
    return Prefix((*parent.ids, layer_id(row)), sealed, plain, opened, tuple(kept))


async def build(session: AsyncSession, vault: Vault, org_id: str, rows: list[LineageRow]) -> list[Prefix]:
    """The prefix of every level of a lineage (root first), its envelopes opened all at once."""
    opened = await open_layers(
        session, vault, org_id, [SealedLayer(r.node_id, str(r.node_uid), r.config_json) for r in rows]
    )
    out: list[Prefix] = []
    state = EMPTY
    for row in rows:
        state = _push(state, row, row.config_json, opened, secret_leaves.envelopes(row.config_json))
        out.append(state)
    return out


class PrefixCache:
    """The latest prefix of each lineage (by its nodes' uids), held while its layers are the ones
    asked for: a newer version of a layer replaces the entry rather than adding one, so the
    cache holds at most one prefix per interior node. `enabled=False` (CACHE_ENABLED=false)
    keeps nothing."""

    def __init__(self, enabled: bool = True, max_entries: int = 20_000) -> None:
        self.enabled = enabled
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, ...], Prefix] = OrderedDict()

    def get(self, ids: tuple[LayerId, ...]) -> Prefix | None:
        if not self.enabled:
            return None
        uids = tuple(i[0] for i in ids)
        found = self._entries.get(uids)
        if found is None or found.ids != ids:
            return None
        self._entries.move_to_end(uids)
        return found

    def put(self, prefix: Prefix) -> None:
        if not self.enabled:
            return
        uids = tuple(i[0] for i in prefix.ids)
        self._entries[uids] = prefix
        self._entries.move_to_end(uids)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    async def lineage(
        self, session: AsyncSession, vault: Vault, org_id: str, rows: list[LineageRow], *, keep_last: bool = False
    ) -> Prefix:
        """The prefix of a fully loaded lineage (configs of every row), from the longest cached
        prefix of it, extended level by level. The ancestors' prefixes are cached; the last
        one only with `keep_last` (a node's own view is cached as a response, not as a prefix)."""
        ids = [layer_id(r) for r in rows]
        start, state = 0, EMPTY
        for end in range(len(rows), 0, -1):
            cached = self.get(tuple(ids[:end]))
            if cached is not None:
                start, state = end, cached
                break
        last = len(rows) - 1
        for index in range(start, len(rows)):
            extended = await extend(session, vault, org_id, state, rows[index], rows[index].config_json)
            if extended is None:
                built = await build(session, vault, org_id, rows)
                for prefix in built[: None if keep_last else -1]:
                    self.put(prefix)
                return built[-1]
            state = extended
            if index < last or keep_last:
                self.put(state)
        return state
