"""Cache fills batched per org, and the merged-lineage cache they share with writes
(`live.batch`, `configs.states`), in process against the test database."""

from __future__ import annotations

import asyncio
import base64
import secrets as pysecrets

import orjson
import pytest

from config_service.configs import service as configs
from config_service.configs.states import PrefixCache
from config_service.db.engine import Database, make_engine
from config_service.errors import NotFound
from config_service.keys import ConfigKeys
from config_service.kit.etag import etag_key
from config_service.live.service import Live
from config_service.secrets.service import Vault


def _keys(server_keys: dict[str, str], *, cached: bool) -> ConfigKeys:
    secret = server_keys["SECRETS_KEY"]
    return ConfigKeys(etag_key=etag_key(secret), vault=Vault.from_settings(secret),
        prefixes=PrefixCache(enabled=cached))


@pytest.fixture()
def tree(make_org):
    """An org: root (with a secret) → 3 units → 3 teams each, every node with its own config."""
    org = make_org("batch")
    secret = "root-" + base64.b32encode(pysecrets.token_bytes(10)).decode()
    assert org.patch(org.org_id, {"model": "m", "vault": {"token": {"$secret": secret}},
        "tools": {"a": 1}}).status_code == 200
    teams = []
    for u in range(3):
        unit = f"unit-{u}"
        org.add_node(unit)
        assert org.patch(unit, {"tools": {"b": u}}).status_code == 200
        for t in range(3):
            team = f"team-{u}-{t}"
            org.add_node(team, unit)
            assert org.patch(team, {"tools": {"c": t}, "team": team}).status_code == 200
            teams.append(team)
    return org, teams, secret


@pytest.mark.parametrize("cached", [True, False], ids=["cache-on", "cache-off"])
async def test_concurrent_misses_of_one_org_are_one_batch_with_the_same_views(tree, database_url, server_keys, cached):
    org, teams, secret = tree
    db = Database(make_engine(database_url, pool_size=2))
    try:
        live = Live.create(db, _keys(server_keys, cached=cached), database_url, cache_enabled=cached)
        wanted = [(team, reveal) for team in teams for reveal in (True, False)]
        views = await asyncio.gather(*(live.effective(org.org_id, team, reveal=reveal) for team, reveal in wanted))
        assert live.fills.batches == 1
        # each view is what the one-node read (its own transaction, no shared state) answers
        plain = ConfigKeys(etag_key=etag_key(server_keys["SECRETS_KEY"]),
            vault=Vault.from_settings(server_keys["SECRETS_KEY"]))
        for (team, reveal), view in zip(wanted, views, strict=True):
            async with db.transaction() as session:
                alone = await configs.read_effective(session, plain, org.org_id, team, reveal_secrets=reveal)
            body = view.body.decode()
            assert view.etag == alone.etag and view.hierarchy == tuple(alone.hierarchy)
            assert (secret in body) is reveal and view.has_secrets is reveal
            assert orjson.loads(view.body)["effective_config"] == alone.effective_config
            assert view.event.startswith(f"id: {view.etag}\r\nevent: config\r\ndata: ".encode())
        # a node that does not exist fails its own caller only
        results = await asyncio.gather(
            live.effective(org.org_id, "no-such-team", reveal=False),
            live.effective(org.org_id, org.org_id, reveal=False),
            return_exceptions=True,
        )
        assert isinstance(results[0], NotFound) and results[1].hierarchy == (org.org_id,)
    finally:
        await db.dispose()


async def test_the_lineage_cache_holds_one_prefix_per_interior_node(tree, database_url, server_keys):
    org, teams, _ = tree
    db = Database(make_engine(database_url, pool_size=2))
    keys = _keys(server_keys, cached=True)
    try:
        live = Live.create(db, keys, database_url, cache_enabled=True)
        for round_ in range(3):
            live.cache.clear()
            await asyncio.gather(*(live.effective(org.org_id, team, reveal=True) for team in teams))
            # root and 3 units: the teams' own views are cached as responses, not as prefixes
            assert len(keys.prefixes) == 4
            assert org.patch(org.org_id, {"round": round_}).status_code == 200  # a new root version replaces, not adds
        live.cache.clear()
        view = await live.effective(org.org_id, teams[0], reveal=False)
        assert orjson.loads(view.body)["effective_config"]["round"] == 2
        assert len(keys.prefixes) == 4
    finally:
        await db.dispose()
