"""Per-org data keys (created on first use, unwrapped once, cached in memory) and the sealing and
opening of secret leaves (DESIGN §8). Services flush, never commit.

Logs name orgs, nodes, key ids and JSON Pointers — never a key, a plaintext or a ciphertext.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth.principal import Principal
from config_service.db import locks
from config_service.db.engine import Database
from config_service.errors import ServiceUnavailable
from config_service.kit import crypto, secret_leaves
from config_service.kit.crypto import CryptoError, MasterKey
from config_service.secrets import repository

log = logging.getLogger(__name__)

SECRET_READ_AUDIT_SECONDS = 3600  # `secrets.read` is audited at most once per token per hour
KEY_CACHE_SECONDS = 600.0  # an unwrapped data key lives this long in memory (so a destroyed org's key fades)


class Vault:
    """The master keys of this process and a cache of unwrapped org data keys."""

    def __init__(self, current: MasterKey, previous: MasterKey | None = None) -> None:
        self.current = current
        self.masters = [current] + ([previous] if previous is not None and previous.kid != current.kid else [])
        self._cache: dict[tuple[str, str], tuple[bytes, float]] = {}
        self.reads_noted: dict[str, float] = {}  # token id → when this process last audited its read

    @classmethod
    def from_settings(cls, secrets_key: str, secrets_key_previous: str | None = None) -> Vault:
        previous = MasterKey.from_b64(secrets_key_previous) if secrets_key_previous else None
        return cls(MasterKey.from_b64(secrets_key), previous)

    def __repr__(self) -> str:
        return f"Vault(masters={[m.kid for m in self.masters]})"

    def _cached(self, org_id: str, key_id: str) -> bytes | None:
        entry = self._cache.get((org_id, key_id))
        if entry is None:
            return None
        key, at = entry
        if time.monotonic() - at > KEY_CACHE_SECONDS:
            self._cache.pop((org_id, key_id), None)
            return None
        return key

    def _remember(self, org_id: str, key_id: str, key: bytes) -> None:
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[(org_id, key_id)] = (key, time.monotonic())

    def forget(self, org_id: str) -> None:
        for cached in [k for k in self._cache if k[0] == org_id]:
            del self._cache[cached]

    def unwrap(self, row: repository.KeyRow) -> bytes:
        return crypto.unwrap_key(self.masters, row.wrapped_key, row.org_id, row.key_id)

    async def data_key(self, session: AsyncSession, org_id: str, key_id: str) -> bytes | None:
        """The org's data key `key_id`, or None if the org has no such key (or it does not unwrap)."""
        key = self._cached(org_id, key_id)
        if key is not None:
            return key
        row = await repository.get_key(session, org_id, key_id)
        if row is None:
            return None
        try:
            key = self.unwrap(row)
        except CryptoError as exc:
            log.error("an org data key does not unwrap", extra={"org_id": org_id, "key_id": key_id, "error": str(exc)})
            return None
        self._remember(org_id, key_id, key)
        return key

    async def sealing_key(self, session: AsyncSession, org_id: str) -> tuple[str, bytes]:
        """The key new secrets of the org are sealed with; the org's first key is made here.

        Read inside the writing transaction, after the org lock (shared) that a re-encryption
        takes exclusive: a write never seals with a key a finished re-encryption retired."""
        row = await repository.current_key(session, org_id)
        if row is None:
            await locks.lock_first_key(session, org_id)
            row = await repository.current_key(session, org_id)
            if row is None:
                key_id, key = crypto.new_key_id(), crypto.new_data_key()
                await repository.insert_key(session, org_id, key_id, crypto.wrap_key(self.current, key, org_id, key_id))
                self._remember(org_id, key_id, key)
                return key_id, key
        cached = self._cached(org_id, row.key_id)
        if cached is not None:
            return row.key_id, cached
        try:
            key = self.unwrap(row)  # a key that does not unwrap here must not be replaced silently
        except CryptoError as exc:
            log.error("an org data key does not unwrap", extra={"org_id": org_id, "key_id": row.key_id,
                                                                "error": str(exc)})
            raise ServiceUnavailable(
                "secrets cannot be sealed: this instance's SECRETS_KEY does not open the org's data key",
                headers={"Retry-After": "30"},
            ) from None
        self._remember(org_id, row.key_id, key)
        return row.key_id, key


@dataclass(frozen=True)
class SealedLayer:
    """One own config of a lineage: whose it is (for the associated data) and its content."""

    node_id: str
    node_uid: str
    config: dict[str, Any]


@dataclass
class Opened:
    """Plaintexts by envelope, and what did not open.

    A sealed envelope is unique (random nonce) and lives at exactly one node and path. One found
    at a second place was copied there: it must open at every place it appears, else it is
    treated as not opening anywhere (shown masked), so a copy never shows its plaintext."""

    plaintexts: dict[str, str] = field(default_factory=dict)
    failed: int = 0
    refused: set[str] = field(default_factory=set)
    checked: set[tuple[str, str, str]] = field(default_factory=set)  # (node_uid, pointer, envelope)


async def open_layers(
    session: AsyncSession, vault: Vault, org_id: str, layers: Sequence[SealedLayer], into: Opened | None = None
) -> Opened:
    """Open every envelope of these own configs, each with its node's uid and its own path
    (added to `into` when given: places it already checked are not opened again)."""
    opened = into if into is not None else Opened()
    for layer in layers:
        for tokens, envelope in secret_leaves.envelopes(layer.config):
            pointer = secret_leaves.pointer_of(tokens)
            place = (layer.node_uid, pointer, envelope)
            if place in opened.checked or envelope in opened.refused:
                continue
            opened.checked.add(place)
            key_id = crypto.envelope_key_id(envelope)
            key = await vault.data_key(session, org_id, key_id) if key_id else None
            try:
                if key is None:
                    raise CryptoError("no such data key")
                plaintext = crypto.open_envelope(key, envelope, crypto.leaf_aad(org_id, layer.node_uid, pointer))
            except CryptoError as exc:
                opened.failed += 1
                opened.refused.add(envelope)
                opened.plaintexts.pop(envelope, None)
                log.warning(
                    "a secret does not open; it is shown masked",
                    extra={"org_id": org_id, "node_id": layer.node_id, "pointer": pointer, "key_id": key_id,
                           "error": str(exc)},
                )
                continue
            opened.plaintexts[envelope] = plaintext
    return opened


async def seal_requests(
    session: AsyncSession,
    vault: Vault,
    org_id: str,
    node_uid: str,
    new_own: dict[str, Any],
    requests: list[tuple[list[str], str]],
) -> dict[str, Any]:
    """`new_own` with each requested plaintext sealed at its path, always in a fresh envelope:
    writing the plaintext the node already holds is a change like any other, so whether a write
    changed something never depends on a stored secret (DESIGN §8, no oracle)."""
    if not requests:
        return new_own
    key_id, key = await vault.sealing_key(session, org_id)
    leaves: list[tuple[list[str], Any]] = []
    for tokens, plaintext in requests:
        aad = crypto.leaf_aad(org_id, node_uid, secret_leaves.pointer_of(tokens))
        leaves.append((tokens, crypto.seal(key, key_id, plaintext, aad)))
    return secret_leaves.with_leaves(new_own, leaves)


async def note_secret_read(db: Database, vault: Vault, principal: Principal) -> bool:
    """Audit a plaintext read of the team's effective config as `secrets.read`, at most once per
    token per hour (across instances: the audit log itself is checked, under a per-token lock).
    Call it for every response that carries plaintext secrets. True if an event was written."""
    if principal.token_id is None or principal.org_id is None:
        return False
    token_id = str(principal.token_id)
    now = time.monotonic()
    noted = vault.reads_noted.get(token_id)
    if noted is not None and now - noted < SECRET_READ_AUDIT_SECONDS:
        return False
    async with db.transaction() as session:
        await locks.lock_token_reads(session, token_id)
        if await repository.read_recently_audited(session, principal.org_id, token_id, SECRET_READ_AUDIT_SECONDS):
            written = False
        else:
            await audit.record(
                session, principal, "secrets.read", org_id=principal.org_id, target_type="token",
                target_id=token_id, details={"node_id": principal.node_id},
            )
            written = True
    if len(vault.reads_noted) > 100_000:
        vault.reads_noted.clear()
    vault.reads_noted[token_id] = now
    return written
