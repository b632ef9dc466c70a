"""Explain: where each value of a node's effective config comes from (DESIGN §7). Read-only.

(The blast-radius preview of a change lives with the write it previews: `configs.service.preview`.)
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.configs import service as configs
from config_service.insight.provenance import explain_paths, secret_fingerprint
from config_service.insight.schemas import ExplainEntry, ExplainView
from config_service.keys import ConfigKeys


async def explain(session: AsyncSession, keys: ConfigKeys, org_id: str, node_id: str) -> ExplainView:
    layers, plaintexts = await configs.explained_lineage(session, keys, org_id, node_id)

    def fingerprint(stored: object) -> str:
        # the plaintext when it opens, so re-encryption keeps the fingerprint; never sent out
        return secret_fingerprint(keys.etag_key, plaintexts.get(stored, stored) if isinstance(stored, str) else stored)

    paths = explain_paths(layers, fingerprint)
    return ExplainView(paths={pointer: ExplainEntry(**entry) for pointer, entry in paths.items()})
