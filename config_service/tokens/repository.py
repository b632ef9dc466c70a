"""Every query on team_tokens and org_admin_tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.db.tenancy import belongs_to
from config_service.kit.tenancy import Incarnation
from config_service.models import OrgAdminToken, TeamToken

TokenRow = TeamToken | OrgAdminToken


async def find_team_token(session: AsyncSession, digests: list[str]) -> TeamToken | None:
    result = await session.execute(select(TeamToken).where(TeamToken.token_hash.in_(digests)))
    return result.scalars().first()


async def find_admin_token(session: AsyncSession, digests: list[str]) -> OrgAdminToken | None:
    result = await session.execute(select(OrgAdminToken).where(OrgAdminToken.token_hash.in_(digests)))
    return result.scalars().first()


def _page(query, model: type[TokenRow], limit: int | None, after: tuple[datetime, uuid.UUID] | None):
    """Newest first; `after` is the (created_at, id) of the previous page's last item."""
    if after is not None:
        query = query.where(tuple_(model.created_at, model.id) < tuple_(literal(after[0]), literal(after[1])))
    query = query.order_by(model.created_at.desc(), model.id.desc())
    return query.limit(limit) if limit is not None else query


async def list_team_tokens(
    session: AsyncSession,
    org_id: str,
    of: Incarnation,
    node_id: str | None,
    *,
    of_node: bool,
    limit: int | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[TeamToken]:
    """The team tokens of one node as it exists now (`of_node`: `of` is the node's incarnation),
    or of the org as it exists now (`of` is the org's; `node_id` narrows it to one node id)."""
    query = select(TeamToken).where(TeamToken.org_id == org_id)
    if node_id is not None:
        query = query.where(TeamToken.team_node_id == node_id)
    uid = TeamToken.node_uid if of_node else TeamToken.org_uid
    query = query.where(belongs_to(uid, TeamToken.created_at, of))
    return list((await session.execute(_page(query, TeamToken, limit, after))).scalars())


async def list_admin_tokens(
    session: AsyncSession,
    org_id: str,
    of: Incarnation,
    *,
    limit: int | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[OrgAdminToken]:
    query = select(OrgAdminToken).where(
        OrgAdminToken.org_id == org_id, belongs_to(OrgAdminToken.org_uid, OrgAdminToken.created_at, of)
    )
    return list((await session.execute(_page(query, OrgAdminToken, limit, after))).scalars())


async def get_team_token(
    session: AsyncSession, org_id: str, node_id: str, node: Incarnation, token_id: uuid.UUID
) -> TeamToken | None:
    result = await session.execute(
        select(TeamToken)
        .where(TeamToken.id == token_id, TeamToken.org_id == org_id, TeamToken.team_node_id == node_id,
               belongs_to(TeamToken.node_uid, TeamToken.created_at, node))
        .with_for_update()
    )
    return result.scalars().first()


async def get_admin_token(
    session: AsyncSession, org_id: str, org: Incarnation, token_id: uuid.UUID
) -> OrgAdminToken | None:
    result = await session.execute(
        select(OrgAdminToken)
        .where(OrgAdminToken.id == token_id, OrgAdminToken.org_id == org_id,
               belongs_to(OrgAdminToken.org_uid, OrgAdminToken.created_at, org))
        .with_for_update()
    )
    return result.scalars().first()


async def revoke_team_tokens_of_nodes(session: AsyncSession, org_id: str, node_ids: list[str]) -> list[uuid.UUID]:
    result = await session.execute(
        update(TeamToken)
        .where(TeamToken.org_id == org_id, TeamToken.team_node_id.in_(node_ids), TeamToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(TeamToken.id)
    )
    return list(result.scalars())


async def revoke_all_of_org(session: AsyncSession, org_id: str) -> list[uuid.UUID]:
    teams = await session.execute(
        update(TeamToken)
        .where(TeamToken.org_id == org_id, TeamToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(TeamToken.id)
    )
    admins = await session.execute(
        update(OrgAdminToken)
        .where(OrgAdminToken.org_id == org_id, OrgAdminToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(OrgAdminToken.id)
    )
    return list(teams.scalars()) + list(admins.scalars())


async def rehash(session: AsyncSession, row: TokenRow, token_hash: str, pepper_id: str) -> None:
    row.token_hash = token_hash
    row.pepper_id = pepper_id
    await session.flush()


async def record_last_used(session: AsyncSession, model: type[TokenRow], used: dict[uuid.UUID, datetime]) -> None:
    for token_id, at in used.items():
        await session.execute(
            update(model)
            .where(model.id == token_id)
            .where((model.last_used_at.is_(None)) | (model.last_used_at < at))
            .values(last_used_at=at)
        )
