"""Master-key rotation (rewrap every org data key) and data re-encryption, while the service runs.

- Rewrap: each org key is unwrapped with whichever master key wrapped it (`SECRETS_KEY` or
  `SECRETS_KEY_PREVIOUS`) and wrapped again with `SECRETS_KEY`, one compare-and-set update per
  key. The data keys themselves do not change, so nothing else does: running instances keep
  reading (they hold both master keys during a rotation).
- Re-encrypt: per org, under the org lock config writes take shared (so no write runs in the org
  meanwhile), a new data key seals every secret again — own configs, version rows and their
  diffs — and the org's older keys are deleted. Plaintext and versions do not change; etags and
  explain's fingerprints do (they are over envelopes, DESIGN §8), so the same transaction records
  a `secrets.reencrypted` event, which drops every instance's cached views of the org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from config_service.audit import service as audit
from config_service.db import locks
from config_service.db.engine import Database
from config_service.kit import crypto, secret_leaves
from config_service.kit.crypto import CryptoError
from config_service.secrets import repository
from config_service.secrets.service import Vault

REENCRYPTION_ACTOR = "cli:secrets rotate-key"


@dataclass
class RotationReport:
    rewrapped: int = 0
    already_current: int = 0
    orgs_reencrypted: int = 0
    secrets_reencrypted: int = 0
    problems: list[str] = field(default_factory=list)


async def rewrap_all(db: Database, vault: Vault, report: RotationReport) -> None:
    async with db.transaction() as session:
        rows = await repository.all_keys(session)
    for row in rows:
        if crypto.wrapped_by(row.wrapped_key) == vault.current.kid:
            report.already_current += 1
            continue
        try:
            key = vault.unwrap(row)
        except CryptoError as exc:
            report.problems.append(f"org '{row.org_id}' key '{row.key_id}': {exc}")
            continue
        wrapped = crypto.wrap_key(vault.current, key, row.org_id, row.key_id)
        async with db.transaction() as session:
            if await repository.set_wrapped(session, row.org_id, row.key_id, wrapped, row.wrapped_key):
                report.rewrapped += 1


def _replaced(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _replaced(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, mapping) for v in value]
    if isinstance(value, str) and value in mapping:
        return mapping[value]
    return value


def _unmapped(value: Any, mapping: dict[str, str]) -> bool:
    if isinstance(value, dict):
        return any(_unmapped(v, mapping) for v in value.values())
    if isinstance(value, list):
        return any(_unmapped(v, mapping) for v in value)
    return secret_leaves.is_envelope(value) and value not in mapping


async def reencrypt_org(db: Database, vault: Vault, org_id: str, report: RotationReport) -> None:
    async with db.transaction() as session:
        await locks.lock_org(session, org_id, shared=False)  # no config write runs in the org meanwhile
        rows = await repository.sealed_rows(session, org_id)
        key_id, key = crypto.new_key_id(), crypto.new_data_key()
        mapping: dict[str, str] = {}
        for row in rows:
            for tokens, envelope in secret_leaves.envelopes(row.config_json):
                if envelope in mapping:
                    continue
                aad = crypto.leaf_aad(org_id, row.node_uid, secret_leaves.pointer_of(tokens))
                old_key_id = crypto.envelope_key_id(envelope)
                old_key = await vault.data_key(session, org_id, old_key_id) if old_key_id else None
                try:
                    if old_key is None:
                        raise CryptoError("its data key is missing")
                    plaintext = crypto.open_envelope(old_key, envelope, aad)
                except CryptoError as exc:
                    report.problems.append(
                        f"org '{org_id}' node '{row.node_id}' {secret_leaves.pointer_of(tokens)}: "
                        f"a secret does not open ({exc})"
                    )
                    continue
                mapping[envelope] = crypto.seal(key, key_id, plaintext, aad)
        if any(_unmapped(r.config_json, mapping) or _unmapped(r.diff, mapping) for r in rows):
            report.problems.append(f"org '{org_id}': not re-encrypted (some secrets do not open); its keys are kept")
            return
        await repository.insert_key(session, org_id, key_id, crypto.wrap_key(vault.current, key, org_id, key_id))
        for row in rows:
            if row.version is None:
                await repository.rewrite_own(session, org_id, row.node_id, _replaced(row.config_json, mapping))
            else:
                await repository.rewrite_version(
                    session, org_id, row.node_id, row.version,
                    _replaced(row.config_json, mapping), _replaced(row.diff, mapping),
                )
        await repository.delete_keys_except(session, org_id, key_id)
        await audit.record(
            session, REENCRYPTION_ACTOR, "secrets.reencrypted", org_id=org_id, target_type="org", target_id=org_id,
            details={"secrets": len(mapping)},
        )
    vault.forget(org_id)
    report.orgs_reencrypted += 1
    report.secrets_reencrypted += len(mapping)


async def rotate(db: Database, vault: Vault, *, reencrypt: bool) -> RotationReport:
    report = RotationReport()
    await rewrap_all(db, vault, report)
    if reencrypt and not report.problems:
        async with db.transaction() as session:
            orgs = await repository.orgs_with_keys(session)
        for org_id in orgs:
            await reencrypt_org(db, vault, org_id, report)
    return report
