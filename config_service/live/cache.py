"""In-process caches of effective configs and token lookups, kept coherent by the change feed.

A fill never installs data older than what an invalidation has announced: every fill notes
the org's generation before reading the database and installs only if no invalidation for
that org arrived meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from config_service.auth.principal import Principal
from config_service.live.invalidation import Effects
from config_service.ops import metrics


@dataclass(frozen=True)
class CachedView:
    etag: str
    version: int
    hierarchy: tuple[str, ...]
    body: bytes  # the serialised response
    has_secrets: bool = False  # a revealed view that holds plaintext secrets
    event: bytes = b""  # the framed SSE `config` event (id = etag, data {etag, version, effective_config})


@dataclass(frozen=True)
class CachedPrincipal:
    principal: Principal
    expires_at: datetime | None


class Generations:
    def __init__(self) -> None:
        self._by_org: dict[str, int] = {}

    def of(self, org_id: str) -> int:
        return self._by_org.get(org_id, 0)

    def bump(self, org_id: str) -> None:
        self._by_org[org_id] = self._by_org.get(org_id, 0) + 1


_HIT, _MISS = metrics.CACHE.labels("hit"), metrics.CACHE.labels("miss")  # both shown from the start


class EffectiveCache:
    """(org, node, revealed?) → serialised effective view."""

    def __init__(self, enabled: bool = True, max_entries: int = 200_000) -> None:
        self.enabled = enabled
        self.max_entries = max_entries
        self._orgs: dict[str, dict[tuple[str, bool], CachedView]] = {}
        self.generations = Generations()
        self._size = 0

    def get(self, org_id: str, node_id: str, revealed: bool, *, count_miss: bool = True) -> CachedView | None:
        """The cached view, counted as a hit or a miss. The cached-read fast path asks with
        `count_miss=False`: on a miss the route answers, and its own lookup is the one counted,
        so one read is one lookup in `/metrics`."""
        if not self.enabled:
            return None
        entry = self._orgs.get(org_id, {}).get((node_id, revealed))
        if entry is not None:
            _HIT.inc()
        elif count_miss:
            _MISS.inc()
        return entry

    def put(self, org_id: str, node_id: str, revealed: bool, view: CachedView, generation: int) -> None:
        if not self.enabled or self.generations.of(org_id) != generation:
            return
        if self._size >= self.max_entries:
            self.clear()
        bucket = self._orgs.setdefault(org_id, {})
        if (node_id, revealed) not in bucket:
            self._size += 1
        bucket[(node_id, revealed)] = view

    def clear(self) -> None:
        self._orgs.clear()
        self._size = 0

    def apply(self, effects: Effects) -> None:
        for org_id in effects.stale_orgs:
            self.generations.bump(org_id)
            self._size -= len(self._orgs.pop(org_id, {}))
        for org_id, node_id in effects.stale_subtrees | effects.gone_subtrees:
            self.generations.bump(org_id)
            bucket = self._orgs.get(org_id)
            if not bucket:
                continue
            stale = [key for key, view in bucket.items() if node_id in view.hierarchy]
            for key in stale:
                del bucket[key]
            self._size -= len(stale)


class TokenCache:
    """Token digest → principal, for org-admin and team tokens."""

    def __init__(self, enabled: bool = True, max_entries: int = 100_000) -> None:
        self.enabled = enabled
        self.max_entries = max_entries
        self._entries: dict[str, CachedPrincipal] = {}
        self.generation = 0

    def get(self, digest: str) -> Principal | None:
        if not self.enabled:
            return None
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= datetime.now(UTC):
            self._entries.pop(digest, None)
            return None
        return entry.principal

    def put(self, digest: str, principal: Principal, expires_at: datetime | None, generation: int) -> None:
        if not self.enabled or generation != self.generation:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = CachedPrincipal(principal, expires_at)

    def apply(self, effects: Effects) -> None:
        if not (effects.revoked_tokens or effects.token_orgs or effects.stale_orgs):
            return
        self.generation += 1
        orgs = effects.token_orgs | effects.stale_orgs
        revoked = effects.revoked_tokens
        for digest, entry in list(self._entries.items()):
            p = entry.principal
            if p.org_id in orgs or (p.token_id is not None and str(p.token_id) in revoked):
                del self._entries[digest]

    def __len__(self) -> int:
        return len(self._entries)

