"""The advisory locks that keep concurrent changes of one org apart: their keys live here only.

The **org lock** (`org:<org_id>`) is held to the end of the transaction that takes it:
- exclusive by tree changes (`orgs.service`: create, move, delete) and by a re-encryption
  (`secrets.rotation`), so no lineage moves and no secret is sealed with a retiring key meanwhile;
- shared by config and lock writes (`configs`), which may run side by side, and by what ties a row
  to a node that a delete must not miss: issuing a token (`orgs.service.hold_node`), recording a
  run (`runs.service`).
A typo in a key would silently stop two of them from excluding each other: every taker goes
through `org_lock` / `lock_org`.

The **first-key lock** (`orgkey:<org_id>`) serialises the creation of an org's first data key;
the **reads lock** (`secrets.read:<token id>`) the once-an-hour `secrets.read` audit of a token.
"""

from __future__ import annotations

from typing import LiteralString

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.db import raw

_EXCLUSIVE: LiteralString = "SELECT pg_advisory_xact_lock(hashtextextended(%(k)s, 0))"
_SHARED: LiteralString = "SELECT pg_advisory_xact_lock_shared(hashtextextended(%(k)s, 0))"


def org_lock_key(org_id: str) -> str:
    return f"org:{org_id}"


def org_lock(org_id: str, *, shared: bool) -> raw.Statement:
    """The statement that takes the org lock (to run alone or in a pipelined batch)."""
    return raw.Statement(_SHARED if shared else _EXCLUSIVE, {"k": org_lock_key(org_id)})


async def lock_org(session: AsyncSession, org_id: str, *, shared: bool) -> None:
    await raw.run(session, org_lock(org_id, shared=shared))


async def lock_first_key(session: AsyncSession, org_id: str) -> None:
    """Two first writes of an org must not make two data keys."""
    await raw.run(session, raw.Statement(_EXCLUSIVE, {"k": f"orgkey:{org_id}"}))


async def lock_token_reads(session: AsyncSession, token_id: str) -> None:
    """Instances auditing the same token's plaintext read check the log one at a time."""
    await raw.run(session, raw.Statement(_EXCLUSIVE, {"k": f"secrets.read:{token_id}"}))
