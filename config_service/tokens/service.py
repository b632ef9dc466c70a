"""Issuing, listing, revoking and verifying tokens (DESIGN §4).

A token is shown once; the database keeps HMAC-SHA256(pepper, token). Verification looks
the digest up by index and compares in constant time; a digest made with
`TOKEN_PEPPER_PREVIOUS` still verifies and is rehashed with the current pepper.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth.principal import DEFAULT_TEAM_SCOPES, Kind, Principal
from config_service.errors import InvalidRequest, NotFound
from config_service.kit import paging
from config_service.kit import tokens as tk
from config_service.kit.ids import is_valid_id
from config_service.kit.tenancy import Incarnation, NodeIdentity
from config_service.models import OrgAdminToken, TeamToken
from config_service.tokens import repository
from config_service.tokens.schemas import AdminTokenCreate, TokenCreate, TokenInfo, TokenIssued, TokenList

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peppers:
    current: str
    previous: str | None = None

    def digests(self, token: str) -> list[tuple[str, str]]:
        """(digest, pepper id) with the current pepper first."""
        out = [(tk.digest(self.current, token), tk.pepper_id(self.current))]
        if self.previous:
            out.append((tk.digest(self.previous, token), tk.pepper_id(self.previous)))
        return out


def _expiry(days: int | None) -> datetime | None:
    return datetime.now(UTC) + timedelta(days=days) if days else None


def _info(row: TeamToken | OrgAdminToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        token_hint=row.token_hint,
        org_id=row.org_id,
        team_node_id=getattr(row, "team_node_id", None),
        description=row.description,
        scopes=list(getattr(row, "scopes", []) or []),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        created_by=row.created_by,
    )


async def issue_team_token(
    session: AsyncSession,
    peppers: Peppers,
    principal: Principal,
    node: NodeIdentity,
    body: TokenCreate,
    *,
    ttl: timedelta | None = None,
    audit_details: dict | None = None,
) -> TokenIssued:
    """A team token of `node` as it exists now (`orgs.service.hold_node`: its org lock held, so
    no delete of the node runs until this transaction ends)."""
    org_id, node_id = node.org_id, node.node_id
    token, hint = tk.team_token(org_id, node_id)
    scopes = body.scopes if body.scopes is not None else sorted(str(scope) for scope in DEFAULT_TEAM_SCOPES)
    issued_at = datetime.now(UTC)
    expires_at = issued_at + ttl if ttl else _expiry(body.expires_in_days)
    row = TeamToken(
        id=uuid.uuid4(),
        created_at=issued_at,
        org_id=org_id,
        team_node_id=node_id,
        node_uid=node.node_uid,
        org_uid=node.org_uid,
        token_hash=tk.digest(peppers.current, token),
        pepper_id=tk.pepper_id(peppers.current),
        token_hint=hint,
        scopes=scopes,
        description=body.description,
        expires_at=expires_at,
        created_by=principal.subject,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session, principal, "token.issued", org_id=org_id, target_type="team_token", target_id=str(row.id),
        details={"team_node_id": node_id, "scopes": scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
                 "token_hint": hint, **(audit_details or {})},
    )
    return TokenIssued(
        id=row.id, token=token, token_hint=hint, org_id=org_id, team_node_id=node_id, description=row.description,
        scopes=scopes, created_at=row.created_at, expires_at=row.expires_at,
    )


async def issue_admin_token(
    session: AsyncSession, peppers: Peppers, principal: Principal, org: NodeIdentity, body: AdminTokenCreate
) -> TokenIssued:
    """An org-admin token of `org` (its root, held as by `issue_team_token`)."""
    org_id = org.org_id
    token, hint = tk.org_admin_token(org_id)
    row = OrgAdminToken(
        id=uuid.uuid4(),
        org_id=org_id,
        org_uid=org.org_uid,
        token_hash=tk.digest(peppers.current, token),
        pepper_id=tk.pepper_id(peppers.current),
        token_hint=hint,
        description=body.description,
        expires_at=_expiry(body.expires_in_days),
        created_by=principal.subject,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session, principal, "token.issued", org_id=org_id, target_type="org_admin_token", target_id=str(row.id),
        details={"expires_at": row.expires_at.isoformat() if row.expires_at else None, "token_hint": hint},
    )
    return TokenIssued(
        id=row.id, token=token, token_hint=hint, org_id=org_id, team_node_id=None, description=row.description,
        scopes=[], created_at=row.created_at, expires_at=row.expires_at,
    )


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    at, key = paging.decode_keyset_cursor(cursor)
    try:
        return at, uuid.UUID(key)
    except ValueError:
        raise InvalidRequest("cursor is not one this service issued", path="cursor") from None


def _token_page(rows: Sequence[TeamToken | OrgAdminToken], limit: int) -> TokenList:
    shown, more = paging.page(rows, limit)
    next_cursor = paging.keyset_cursor(shown[-1].created_at, str(shown[-1].id)) if more else None
    return TokenList(items=[_info(r) for r in shown], next_cursor=next_cursor)


async def list_node_tokens(
    session: AsyncSession, org_id: str, node_id: str, node: Incarnation, *, limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> TokenList:
    """The team tokens of the node that has this id now (never those of a deleted node of the
    same id), newest first, revoked ones included; never the token itself."""
    rows = await repository.list_team_tokens(
        session, org_id, node, node_id, of_node=True, limit=limit + 1, after=_after(cursor)
    )
    return _token_page(rows, limit)


async def list_org_tokens(
    session: AsyncSession, org_id: str, org: Incarnation, node_id: str | None, *,
    limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None,
) -> TokenList:
    """Every team token of the org that has this id now (its deleted nodes' included; never a
    former org's), optionally of one node id, newest first."""
    rows = await repository.list_team_tokens(
        session, org_id, org, node_id, of_node=False, limit=limit + 1, after=_after(cursor)
    )
    return _token_page(rows, limit)


async def list_admin_tokens(
    session: AsyncSession, org_id: str, org: Incarnation, *, limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> TokenList:
    rows = await repository.list_admin_tokens(session, org_id, org, limit=limit + 1, after=_after(cursor))
    return _token_page(rows, limit)


async def revoke_team_token(
    session: AsyncSession, principal: Principal, org_id: str, node_id: str, node: Incarnation, token_id: uuid.UUID
) -> None:
    row = await repository.get_team_token(session, org_id, node_id, node, token_id)
    if row is None:
        raise NotFound(f"token {token_id} does not exist for '{org_id}/{node_id}'")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await session.flush()
        await audit.record(
            session, principal, "token.revoked", org_id=org_id, target_type="team_token", target_id=str(token_id),
            details={"team_node_id": node_id},
        )


async def revoke_admin_token(
    session: AsyncSession, principal: Principal, org_id: str, org: Incarnation, token_id: uuid.UUID
) -> None:
    row = await repository.get_admin_token(session, org_id, org, token_id)
    if row is None:
        raise NotFound(f"admin token {token_id} does not exist for org '{org_id}'")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await session.flush()
        await audit.record(
            session, principal, "token.revoked", org_id=org_id, target_type="org_admin_token",
            target_id=str(token_id), details={},
        )


async def revoke_for_nodes(session: AsyncSession, org_id: str, node_ids: list[str]) -> list[uuid.UUID]:
    return await repository.revoke_team_tokens_of_nodes(session, org_id, node_ids)


async def revoke_all_of_org(session: AsyncSession, org_id: str) -> list[uuid.UUID]:
    return await repository.revoke_all_of_org(session, org_id)


def _usable(row: TeamToken | OrgAdminToken, now: datetime) -> bool:
    if row.revoked_at is not None:
        return False
    return row.expires_at is None or row.expires_at > now


async def authenticate(session: AsyncSession, peppers: Peppers, token: str) -> Principal | None:
    """The principal of an org-admin or team token, or None for anything not valid now."""
    parts = token.split(".")
    if len(parts) not in (2, 3) or not all(parts) or not all(is_valid_id(p) for p in parts[:-1]):
        return None
    candidates = peppers.digests(token)
    digests = [d for d, _ in candidates]
    now = datetime.now(UTC)
    row: TeamToken | OrgAdminToken | None
    if len(parts) == 3:
        row = await repository.find_team_token(session, digests)
        if row is None or row.org_id != parts[0] or row.team_node_id != parts[1]:
            return None
    else:
        row = await repository.find_admin_token(session, digests)
        if row is None or row.org_id != parts[0]:
            return None
    matched = next((pid for d, pid in candidates if tk.same(d, row.token_hash)), None)
    if matched is None or not _usable(row, now):
        return None
    if matched != tk.pepper_id(peppers.current):
        await repository.rehash(session, row, candidates[0][0], candidates[0][1])
    if isinstance(row, TeamToken):
        return Principal(Kind.TEAM, org_id=row.org_id, node_id=row.team_node_id, token_id=row.id,
            scopes=frozenset(row.scopes), expires_at=row.expires_at, description=row.description)
    return Principal(Kind.ORG_ADMIN, org_id=row.org_id, token_id=row.id, expires_at=row.expires_at,
                     description=row.description)


class LastUsedRecorder:
    """Records `last_used_at` without a write per request: at most once a minute per token,
    flushed in batches by a background task."""

    MIN_INTERVAL = 60.0

    def __init__(self) -> None:
        self._seen: dict[uuid.UUID, float] = {}
        self._pending: dict[tuple[bool, uuid.UUID], datetime] = {}

    def touch(self, principal: Principal) -> None:
        if principal.token_id is None:
            return
        mono = time.monotonic()
        last = self._seen.get(principal.token_id)
        if last is not None and mono - last < self.MIN_INTERVAL:
            return
        self._seen[principal.token_id] = mono
        self._pending[(principal.kind is Kind.TEAM, principal.token_id)] = datetime.now(UTC)

    def _take(self) -> dict[tuple[bool, uuid.UUID], datetime]:
        pending, self._pending = self._pending, {}
        return pending

    def _restore(self, pending: dict[tuple[bool, uuid.UUID], datetime]) -> None:
        """Put back what a failed flush did not write; a newer use of the same token wins."""
        for key, at in pending.items():
            current = self._pending.get(key)
            if current is None or current < at:
                self._pending[key] = at

    @staticmethod
    async def _write(session: AsyncSession, pending: dict[tuple[bool, uuid.UUID], datetime]) -> None:
        teams = {tid: at for (is_team, tid), at in pending.items() if is_team}
        admins = {tid: at for (is_team, tid), at in pending.items() if not is_team}
        await repository.record_last_used(session, TeamToken, teams)
        await repository.record_last_used(session, OrgAdminToken, admins)

    async def flush(self, session: AsyncSession) -> int:
        """Write what is pending in `session`. If the caller's transaction then fails, the
        entries are lost; `flush_in` keeps them for the next round."""
        pending = self._take()
        if pending:
            await self._write(session, pending)
        return len(pending)

    async def flush_in(self, db) -> int:
        """Write what is pending in a transaction of its own; on failure keep it for next time."""
        pending = self._take()
        if not pending:
            return 0
        try:
            async with db.transaction() as session:
                await self._write(session, pending)
        except BaseException:
            self._restore(pending)
            raise
        return len(pending)

    async def run(self, db, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush_in(db)
            except Exception:  # noqa: BLE001 - kept pending, retried next round
                log.warning("last_used_at flush failed", exc_info=True)
