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
    layers = await configs.explained_lineage(session, org_id, node_id)

    def fingerprint(stored: object) -> str:
        # over the stored envelope: a new one on every secret write, never a plaintext (no oracle)
        return secret_fingerprint(keys.etag_key, stored)

    paths = explain_paths(layers, fingerprint)
    return ExplainView(paths={pointer: ExplainEntry(**entry) for pointer, entry in paths.items()})
