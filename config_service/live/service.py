"""Live config for one process: caches, the change feed that keeps them coherent, watchers."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from config_service.auth.principal import Principal
from config_service.configs import service as configs
from config_service.configs.schemas import EffectiveView
from config_service.configs.states import PrefixCache
from config_service.db.engine import Database
from config_service.keys import ConfigKeys
from config_service.live.batch import Batcher
from config_service.live.cache import CachedView, EffectiveCache, TokenCache
from config_service.live.feed import ChangeFeed
from config_service.live.hub import Hub
from config_service.live.invalidation import Effects
from config_service.secrets.service import note_secret_read


@dataclass
class Live:
    db: Database
    keys: ConfigKeys
    cache: EffectiveCache
    tokens: TokenCache
    hub: Hub
    feed: ChangeFeed | None = None
    fills: Batcher[CachedView] = field(init=False)

    @classmethod
    def create(
        cls, db: Database, keys: ConfigKeys, listen_url: str, *, cache_enabled: bool, hub: Hub | None = None
    ) -> Live:
        hub = hub if hub is not None else Hub()  # the watcher caps: live/quotas.py
        live = cls(db, keys, EffectiveCache(cache_enabled), TokenCache(cache_enabled), hub)
        live.fills = Batcher(live._fill)
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
        """The effective view of a node: from the cache, else filled by the org's next batch."""
        cached = self.cache.get(org_id, node_id, reveal)
        if cached is not None:
            return cached
        return await self.fills.get(org_id, node_id, reveal)

    async def _fill(self, org_id: str, wanted: list[tuple[str, bool]]) -> dict[tuple[str, bool], CachedView | None]:
        """Views of several nodes of one org in one transaction: one query reads every lineage
        (shared ancestors once), and each lineage prefix is merged and opened once for all of
        them. A node that does not exist maps to None."""
        generation = self.cache.generations.of(org_id)
        prefixes = self.keys.prefixes if self.keys.prefixes.enabled else PrefixCache(enabled=True)  # per batch only
        out: dict[tuple[str, bool], CachedView | None] = {}
        async with self.db.transaction() as session:
            lineages = await configs.lineages(session, org_id, sorted({node for node, _ in wanted}))
            for node_id, reveal in wanted:
                rows = lineages.get(node_id)
                if rows is None:
                    out[(node_id, reveal)] = None
                    continue
                state = await prefixes.lineage(session, self.keys.secrets, org_id, rows)
                view = configs.effective_view(self.keys, org_id, rows, state, reveal_secrets=reveal)
                out[(node_id, reveal)] = fresh = _cached(view, has_secrets=reveal and state.has_secrets)
                self.cache.put(org_id, node_id, reveal, fresh, generation)
        return out

    async def note_plaintext_read(self, principal: Principal, view: CachedView) -> None:
        """Audit a response that carries plaintext secrets (`secrets.read`, ≤ once per token per hour)."""
        if view.has_secrets:
            await note_secret_read(self.db, self.keys.secrets, principal)


def _cached(view: EffectiveView, *, has_secrets: bool) -> CachedView:
    """The response body and the SSE event data of a view, serialised around one encoding of
    its effective config (the same fields as EffectiveView, in order)."""
    config = orjson.dumps(view.effective_config)
    etag = orjson.dumps(view.etag)
    body = b"".join((
        b'{"org_id":', orjson.dumps(view.org_id), b',"node_id":', orjson.dumps(view.node_id),
        b',"version":', str(view.version).encode(), b',"etag":', etag,
        b',"effective_config":', config, b',"hierarchy":', orjson.dumps(view.hierarchy), b"}",
    ))
    # the whole SSE `config` event, framed once for every watcher (JSON from orjson holds no line
    # break, so the data is one `data:` line; "\r\n" is the separator the stream uses)
    event = b"".join((
        b"id: ", view.etag.encode(), b"\r\nevent: config\r\ndata: ",
        b'{"etag":', etag, b',"version":', str(view.version).encode(), b',"effective_config":', config, b"}\r\n\r\n",
    ))
    return CachedView(
        etag=view.etag,
        version=view.version,
        hierarchy=tuple(view.hierarchy),
        body=body,
        has_secrets=has_secrets,
        event=event,
    )
