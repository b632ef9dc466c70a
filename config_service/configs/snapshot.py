"""What a run records of the config it read, and the effective config rebuilt from that record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.configs import repository
from config_service.configs.merge import Layer, effective_config
from config_service.configs.service import etag_of, missing
from config_service.errors import NotFound
from config_service.keys import ConfigKeys
from config_service.kit import secret_leaves


@dataclass(frozen=True)
class Snapshot:
    etag: str
    versions: dict[str, int]
    hierarchy: list[str]
    node_uid: uuid.UUID
    # the plaintext of every secret stored on the lineage, to mask its copies in what a run
    # reports (`runs.masking`); never sent out, never logged
    secret_plaintexts: tuple[str, ...] = field(default=(), repr=False)


async def current(session: AsyncSession, keys: ConfigKeys, org_id: str, node_id: str) -> Snapshot:
    """The node's effective etag (as every read's), its lineage's own-config versions and its
    secrets' plaintexts, now."""
    rows = await repository.lineage(session, org_id, node_id)
    if not rows:
        raise await missing(session, org_id, node_id)
    state = await keys.prefixes.lineage(session, keys.secrets, org_id, rows)
    return Snapshot(
        etag=etag_of(keys, state),
        versions={r.node_id: r.version for r in rows},
        hierarchy=[r.node_id for r in rows],
        node_uid=rows[-1].node_uid,
        secret_plaintexts=tuple(state.opened.plaintexts.values()),
    )


async def rebuild(
    session: AsyncSession, org_id: str, node_id: str, versions: dict[str, int]
) -> tuple[dict[str, Any], list[str]]:
    """The effective config (masked) made of exactly these own-config versions, root first.

    The lineage order and locks are today's; the contents are the recorded versions.
    """
    rows = await repository.lineage(session, org_id, node_id)
    if not rows:
        raise await missing(session, org_id, node_id)
    layers: list[Layer] = []
    for row in rows:
        version = versions.get(row.node_id)
        if version is None:
            raise NotFound(f"the run's lineage no longer matches '{node_id}' (it moved since)")
        stored = await repository.get_version(session, org_id, row.node_id, version)
        if stored is None:
            raise NotFound(f"version {version} of '{row.node_id}' no longer exists")
        layers.append(Layer(row.node_id, stored.config_json, row.locked_paths, version))
    return secret_leaves.mask(effective_config(layers)), [r.node_id for r in rows]
