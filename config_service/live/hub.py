"""Watchers (SSE streams and long polls) of this instance, woken by the change feed."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from config_service.auth.principal import Principal
from config_service.live.invalidation import Effects
from config_service.live.quotas import WatcherQuotas, holder_of


@dataclass(eq=False)
class Watcher:
    org_id: str
    node_id: str
    hierarchy: frozenset[str]
    token_id: uuid.UUID | None
    holder: str | None = None  # what its cap is counted under (live/quotas.py)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: str | None = None  # "revoked" or "gone"

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
        self.changed.set()


class Hub:
    def __init__(self, quotas: WatcherQuotas | None = None) -> None:
        self.quotas = quotas or WatcherQuotas()
        self._by_org: dict[str, set[Watcher]] = {}

    def register(
        self, org_id: str, node_id: str, hierarchy: list[str] | tuple[str, ...], principal: Principal | None
    ) -> Watcher:
        """A new watcher of the node, counted against the caps (live/quotas.py: 429 / 503 over them)."""
        holder = holder_of(principal)
        self.quotas.admit(org_id, holder)
        token_id = principal.token_id if principal is not None else None
        watcher = Watcher(org_id, node_id, frozenset(hierarchy), token_id, holder)
        self._by_org.setdefault(org_id, set()).add(watcher)
        return watcher

    def unregister(self, watcher: Watcher) -> None:
        bucket = self._by_org.get(watcher.org_id)
        if bucket is None or watcher not in bucket:
            return
        bucket.discard(watcher)
        if not bucket:
            del self._by_org[watcher.org_id]
        self.quotas.release(watcher.org_id, watcher.holder)

    def apply(self, effects: Effects) -> None:
        for org_id in effects.stale_orgs:
            for watcher in self._by_org.get(org_id, ()):
                watcher.close("gone")
        for org_id, node_id in effects.gone_subtrees:
            for watcher in self._by_org.get(org_id, ()):
                if node_id in watcher.hierarchy:
                    watcher.close("gone")
        for org_id, node_id in effects.stale_subtrees:
            for watcher in self._by_org.get(org_id, ()):
                if node_id in watcher.hierarchy:
                    watcher.changed.set()
        if effects.revoked_tokens:
            for bucket in self._by_org.values():
                for watcher in bucket:
                    if watcher.token_id is not None and str(watcher.token_id) in effects.revoked_tokens:
                        watcher.close("revoked")

    def __len__(self) -> int:
        return self.quotas.total
