"""Live config for one process: caches, the change feed that keeps them coherent, watchers."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from config_service.configs import service as configs
from config_service.configs.service import Keys
from config_service.db.engine import Database
from config_service.live.cache import CachedView, EffectiveCache, TokenCache
from config_service.live.feed import ChangeFeed
from config_service.live.hub import Hub
from config_service.live.invalidation import Effects


@dataclass
class Live:
    db: Database
    keys: Keys
    cache: EffectiveCache
    tokens: TokenCache
    hub: Hub
    feed: ChangeFeed | None = None

    @classmethod
    def create(cls, db: Database, keys: Keys, listen_url: str, *, cache_enabled: bool) -> Live:
        live = cls(db, keys, EffectiveCache(cache_enabled), TokenCache(cache_enabled), Hub())
        live.feed = ChangeFeed(db, listen_url, live.apply)
        db.on_commit = live.feed.applied_locally
        return live

    def apply(self, effects: Effects) -> None:
        self.cache.apply(effects)
        self.tokens.apply(effects)
        self.hub.apply(effects)

    async def start(self) -> None:
        assert self.feed is not None
        await self.feed.start()

    async def stop(self) -> None:
        if self.feed is not None:
            await self.feed.stop()

    async def effective(self, org_id: str, node_id: str, *, reveal: bool) -> CachedView:
        """The effective view of a node: from the cache, else one lineage query (then cached)."""
        cached = self.cache.get(org_id, node_id, reveal)
        if cached is not None:
            return cached
        generation = self.cache.generations.of(org_id)
        async with self.db.transaction() as session:
            view = await configs.read_effective(session, self.keys, org_id, node_id, reveal_secrets=reveal)
        # serialised straight from the plain dicts (the same fields as EffectiveView, in order)
        body = orjson.dumps(
            {
                "org_id": view.org_id,
                "node_id": view.node_id,
                "version": view.version,
                "etag": view.etag,
                "effective_config": view.effective_config,
                "hierarchy": view.hierarchy,
            }
        )
        event = orjson.dumps({"etag": view.etag, "version": view.version, "effective_config": view.effective_config})
        fresh = CachedView(
            etag=view.etag,
            version=view.version,
            hierarchy=tuple(view.hierarchy),
            body=body,
            has_secrets=reveal and view._has_secrets,
            event=event.decode(),
        )
        self.cache.put(org_id, node_id, reveal, fresh, generation)
        return fresh

    async def note_plaintext_read(self, principal, view: CachedView) -> None:
        """Audit a response that carries plaintext secrets (`secrets.read`, ≤ once per token per hour)."""
        if view.has_secrets:
            from config_service.secrets.service import note_secret_read

            await note_secret_read(self.db, self.keys.secrets, principal)
