"""What the config domain's reads and writes hold besides the database: the etag key, the vault
that seals and opens secrets, and the per-process cache of merged, opened lineages."""

from __future__ import annotations

from dataclasses import dataclass, field

from config_service.configs.states import PrefixCache
from config_service.secrets.service import Vault


@dataclass(frozen=True)
class ConfigKeys:
    """Server keys (the etag key; the vault, built from SECRETS_KEY) and the cache of merged and
    opened lineage prefixes (`configs.states`), off unless given (CACHE_ENABLED)."""

    etag_key: bytes
    vault: Vault | None = None
    prefixes: PrefixCache = field(default_factory=lambda: PrefixCache(enabled=False))

    @property
    def secrets(self) -> Vault:
        if self.vault is None:
            raise RuntimeError("this process has no secrets vault (ConfigKeys built without SECRETS_KEY)")
        return self.vault
