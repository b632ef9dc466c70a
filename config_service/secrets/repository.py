"""Every query on org_keys, and the config rows a re-encryption rewrites."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.db.engine import rowcount


@dataclass(frozen=True)
class KeyRow:
    org_id: str
    key_id: str
    wrapped_key: str


async def current_key(session: AsyncSession, org_id: str) -> KeyRow | None:
    """The org's newest data key: the one new secrets are sealed with."""
    row = (
        await session.execute(
            text(
                "SELECT org_id, key_id, wrapped_key FROM org_keys WHERE org_id = :o "
                "ORDER BY created_at DESC, key_id LIMIT 1"
            ),
            {"o": org_id},
        )
    ).first()
    return KeyRow(row.org_id, row.key_id, row.wrapped_key) if row else None


async def get_key(session: AsyncSession, org_id: str, key_id: str) -> KeyRow | None:
    row = (
        await session.execute(
            text("SELECT org_id, key_id, wrapped_key FROM org_keys WHERE org_id = :o AND key_id = :k"),
            {"o": org_id, "k": key_id},
        )
    ).first()
    return KeyRow(row.org_id, row.key_id, row.wrapped_key) if row else None



async def insert_key(session: AsyncSession, org_id: str, key_id: str, wrapped_key: str) -> None:
    await session.execute(
        text("INSERT INTO org_keys (org_id, key_id, wrapped_key) VALUES (:o, :k, :w)"),
        {"o": org_id, "k": key_id, "w": wrapped_key},
    )


async def all_keys(session: AsyncSession) -> list[KeyRow]:
    rows = await session.execute(text("SELECT org_id, key_id, wrapped_key FROM org_keys ORDER BY org_id, created_at"))
    return [KeyRow(r.org_id, r.key_id, r.wrapped_key) for r in rows]


async def orgs_with_keys(session: AsyncSession) -> list[str]:
    rows = await session.execute(text("SELECT DISTINCT org_id FROM org_keys ORDER BY org_id"))
    return [r.org_id for r in rows]


async def set_wrapped(session: AsyncSession, org_id: str, key_id: str, wrapped_key: str, expected: str) -> bool:
    """Rewrap one key, unless someone else changed it meanwhile (compare-and-set)."""
    result = await session.execute(
        text(
            "UPDATE org_keys SET wrapped_key = :w WHERE org_id = :o AND key_id = :k AND wrapped_key = :e"
        ),
        {"o": org_id, "k": key_id, "w": wrapped_key, "e": expected},
    )
    return rowcount(result) == 1


async def delete_keys_except(session: AsyncSession, org_id: str, keep: str) -> int:
    result = await session.execute(
        text("DELETE FROM org_keys WHERE org_id = :o AND key_id <> :k"), {"o": org_id, "k": keep}
    )
    return rowcount(result)


@dataclass(frozen=True)
class SealedRow:
    node_id: str
    node_uid: str
    version: int | None  # None: the live own config
    config_json: dict[str, Any]
    diff: list[dict[str, Any]] | None


async def sealed_rows(session: AsyncSession, org_id: str) -> list[SealedRow]:
    """Own configs and version rows of the org that hold envelopes (with each node's uid)."""
    own = await session.execute(
        text(
            "SELECT c.node_id, n.node_uid, c.config_json FROM node_configurations c "
            "JOIN org_nodes n ON n.org_id = c.org_id AND n.node_id = c.node_id "
            "WHERE c.org_id = :o AND strpos(c.config_json::text, '\"$enc:') > 0 FOR UPDATE OF c"
        ),
        {"o": org_id},
    )
    versions = await session.execute(
        text(
            "SELECT v.node_id, n.node_uid, v.version, v.config_json, v.diff FROM node_config_versions v "
            "JOIN org_nodes n ON n.org_id = v.org_id AND n.node_id = v.node_id "
            "WHERE v.org_id = :o "
            "AND (strpos(v.config_json::text, '\"$enc:') > 0 OR strpos(v.diff::text, '\"$enc:') > 0)"
        ),
        {"o": org_id},
    )
    return [SealedRow(r.node_id, str(r.node_uid), None, r.config_json, None) for r in own] + [
        SealedRow(r.node_id, str(r.node_uid), r.version, r.config_json, r.diff) for r in versions
    ]


async def rewrite_own(session: AsyncSession, org_id: str, node_id: str, config: dict[str, Any]) -> None:
    await session.execute(
        text("UPDATE node_configurations SET config_json = CAST(:c AS jsonb) WHERE org_id = :o AND node_id = :n"),
        {"o": org_id, "n": node_id, "c": _json(config)},
    )


async def rewrite_version(
    session: AsyncSession, org_id: str, node_id: str, version: int, config: dict[str, Any], diff: Any
) -> None:
    await session.execute(
        text(
            "UPDATE node_config_versions SET config_json = CAST(:c AS jsonb), diff = CAST(:d AS jsonb) "
            "WHERE org_id = :o AND node_id = :n AND version = :v"
        ),
        {"o": org_id, "n": node_id, "v": version, "c": _json(config), "d": _json(diff)},
    )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def read_recently_audited(session: AsyncSession, org_id: str, token_id: str, seconds: int) -> bool:
    """Whether a `secrets.read` event of this token is younger than `seconds` (index on org, action)."""
    row = (
        await session.execute(
            text(
                "SELECT 1 FROM audit_events WHERE org_id = :o AND action = 'secrets.read' AND target_id = :t "
                "AND at > now() - make_interval(secs => :s) LIMIT 1"
            ),
            {"o": org_id, "t": token_id, "s": seconds},
        )
    ).first()
    return row is not None
