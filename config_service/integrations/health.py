"""Integration health of a node: `required` judged on its effective config (DESIGN §8)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.configs import service as configs
from config_service.integrations import service
from config_service.integrations.schemas import HealthView
from config_service.integrations.validation import health


async def node_health(session: AsyncSession, org_id: str, node_id: str) -> HealthView:
    chain, hierarchy = await configs.effective_chain_of(session, org_id, node_id)
    catalog = await service.catalog_for(session)
    return HealthView.model_validate(health(chain, hierarchy, catalog))
