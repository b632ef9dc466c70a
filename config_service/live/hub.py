"""Watchers (SSE streams and long polls) of this instance, woken by the change feed."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from config_service.errors import RateLimited, ServiceUnavailable
from config_service.live.invalidation import Effects
from config_service.ops import metrics


@dataclass(eq=False)
class Watcher:
    org_id: str
    node_id: str
    hierarchy: frozenset[str]
    token_id: uuid.UUID | None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: str | None = None  # "revoked" or "gone"

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
        self.changed.set()


class Hub:
    def __init__(self, *, per_token: int = 10, per_instance: int = 5000) -> None:
        self.per_token = per_token
        self.per_instance = per_instance
        self._by_org: dict[str, set[Watcher]] = {}
        self._per_token: dict[uuid.UUID, int] = {}
        self._count = 0

    def register(self, org_id: str, node_id: str, hierarchy: list[str] | tuple[str, ...],
        token_id: uuid.UUID | None) -> Watcher:
        if self._count >= self.per_instance:
            raise ServiceUnavailable("this instance has too many watchers; retry shortly", headers={"Retry-After": "5"})
        if token_id is not None and self._per_token.get(token_id, 0) >= self.per_token:
            raise RateLimited(f"at most {self.per_token} open watches per token", headers={"Retry-After": "30"})
        watcher = Watcher(org_id, node_id, frozenset(hierarchy), token_id)
        self._by_org.setdefault(org_id, set()).add(watcher)
        if token_id is not None:
            self._per_token[token_id] = self._per_token.get(token_id, 0) + 1
        self._count += 1
        metrics.WATCHERS.set(self._count)
        return watcher

    def unregister(self, watcher: Watcher) -> None:
        bucket = self._by_org.get(watcher.org_id)
        if bucket is None or watcher not in bucket:
            return
        bucket.discard(watcher)
        if not bucket:
            del self._by_org[watcher.org_id]
        if watcher.token_id is not None:
            left = self._per_token.get(watcher.token_id, 1) - 1
            if left:
                self._per_token[watcher.token_id] = left
            else:
                self._per_token.pop(watcher.token_id, None)
        self._count -= 1
        metrics.WATCHERS.set(self._count)

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
        return self._count
