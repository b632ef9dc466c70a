"""Settings from the environment (and a `.env` file), per DESIGN §11.

`production` (the default) requires every credential to be given; `development`
generates what is missing once into the data directory and uses an embedded
PostgreSQL when `DATABASE_URL` is unset.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import secrets
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config_service.db.urls import DatabaseUrlError, sqlalchemy_url

REQUIRED_IN_PRODUCTION = ("DATABASE_URL", "ADMIN_TOKEN", "TOKEN_PEPPER", "SECRETS_KEY")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# a named internal caller (DESIGN §4): what `X-Internal-Service: <name>` may say
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# names that would read as another principal's actor in the audit log
RESERVED_SERVICE_NAMES = frozenset({"admin", "internal"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(RuntimeError):
    """The configuration cannot start the service; the message says why."""


def settings_errors(exc: ValidationError) -> str:
    """A ValidationError of `Settings` as `NAME: problem; …`, without the offending values."""
    parts = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error.get("loc", ())).upper() or "settings"
        parts.append(f"{name}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _check_master_key(name: str, value: str) -> None:
    """A master key is 32 bytes, base64 (never echoed: it is a secret)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SettingsError(f"{name} must be 32 random bytes, base64-encoded")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    config_service_env: Literal["production", "development"] = "production"
    database_url: str | None = None
    listen_database_url: str | None = None
    admin_token: SecretStr | None = None
    internal_service_token: SecretStr | None = None
    token_pepper: SecretStr | None = None
    token_pepper_previous: SecretStr | None = None
    secrets_key: SecretStr | None = None
    secrets_key_previous: SecretStr | None = None
    config_service_data_dir: Path = Path(".config-service")
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # the one route with its own body limit: POST /api/v1/admin/orgs/{org}/import (DESIGN §12.4)
    import_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1)
    cache_enabled: bool = True
    db_pool_size: int = Field(default=20, ge=1)  # kept open; up to half as many more under bursts
    last_used_flush_seconds: float = Field(default=30.0, gt=0)
    # Named internal callers (DESIGN §4), opt-in: comma-separated CIDRs and names; both or neither.
    internal_service_trusted_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    internal_service_names: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("internal_service_trusted_networks", "internal_service_names", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    # Limits that keep one client or tenant from starving the others (docs/SECURITY.md).
    watchers_per_instance: int = Field(default=5000, ge=1)
    watchers_per_org: int | None = Field(default=None, ge=1)  # unset: a quarter of the instance's
    watchers_per_token: int = Field(default=10, ge=1)
    watchers_per_global_admin: int = Field(default=100, ge=1)
    token_issue_per_minute: float = Field(default=60.0, gt=0)
    token_issue_burst: int = Field(default=60, ge=1)
    short_lived_token_issue_per_minute: float = Field(default=1200.0, gt=0)
    short_lived_token_issue_burst: int = Field(default=600, ge=1)
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window_seconds: float = Field(default=10.0, gt=0)
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections_per_client: int = Field(default=100, ge=1)

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper()
            if value not in LOG_LEVELS:
                raise ValueError("must be one of " + ", ".join(LOG_LEVELS))
        return value

    @field_validator("admin_token", "internal_service_token")
    @classmethod
    def _no_dots(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and "." in value.get_secret_value():
            raise ValueError("must not contain '.' (dots separate the parts of org and team tokens)")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        """A comma- or space-separated list of addresses or CIDRs; trusting everyone is refused,
        since every client could then choose the address it is throttled under."""
        if not isinstance(value, str):
            return value
        networks = []
        for item in value.replace(",", " ").split():
            try:
                network = ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"'{item}' is not an IP address or CIDR") from None
            if network.prefixlen == 0:
                raise ValueError(f"'{item}' would trust every address")
            networks.append(network)
        return tuple(networks)

    @property
    def is_development(self) -> bool:
        return self.config_service_env == "development"

    def missing_for_production(self) -> list[str]:
        values = {
            "DATABASE_URL": self.database_url,
            "ADMIN_TOKEN": self.admin_token,
            "TOKEN_PEPPER": self.token_pepper,
            "SECRETS_KEY": self.secrets_key,
        }
        return [name for name in REQUIRED_IN_PRODUCTION if not values[name]]

    def check(self) -> None:
        """Refuse to run with a configuration that cannot be right."""
        if not self.is_development:
            missing = self.missing_for_production()
            if missing:
                raise SettingsError(
                    "CONFIG_SERVICE_ENV=production requires "
                    + ", ".join(missing)
                    + " to be set (see README: Settings)."
                )
        for name, url in (("DATABASE_URL", self.database_url), ("LISTEN_DATABASE_URL", self.listen_database_url)):
            if url:
                try:
                    sqlalchemy_url(url, name)
                except DatabaseUrlError as exc:
                    raise SettingsError(str(exc)) from None
        if self.secrets_key is not None:
            _check_master_key("SECRETS_KEY", self.secrets_key.get_secret_value())
        if self.secrets_key_previous:  # empty is unset
            _check_master_key("SECRETS_KEY_PREVIOUS", self.secrets_key_previous.get_secret_value())
        self.trusted_networks()
        self._check_service_names()

    @property
    def named_callers_enabled(self) -> bool:
        return bool(self.internal_service_names)

    def trusted_networks(self) -> tuple[Network, ...]:
        """INTERNAL_SERVICE_TRUSTED_NETWORKS parsed; a network of prefix length 0 (every address,
        `0.0.0.0/0`, `::/0` or anything that normalises to them) is refused."""
        networks = []
        for value in self.internal_service_trusted_networks:
            try:
                network = ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise SettingsError(
                    f"INTERNAL_SERVICE_TRUSTED_NETWORKS: {value!r} is not a network (CIDR, e.g. 10.0.0.0/8)"
                ) from None
            if network.prefixlen == 0:
                raise SettingsError(
                    f"INTERNAL_SERVICE_TRUSTED_NETWORKS: {value!r} covers every address; name the networks "
                    "your internal callers run in"
                )
            networks.append(network)
        return tuple(networks)

    def _check_service_names(self) -> None:
        names, networks = self.internal_service_names, self.internal_service_trusted_networks
        if bool(names) != bool(networks):
            raise SettingsError(
                "INTERNAL_SERVICE_NAMES and INTERNAL_SERVICE_TRUSTED_NETWORKS work together: set both or neither"
            )
        internal = self.secret("internal_service_token")
        for position, name in enumerate(names, 1):
            if internal is not None and name == internal:  # never echo it: it is the token
                raise SettingsError("INTERNAL_SERVICE_NAMES must not hold INTERNAL_SERVICE_TOKEN")
            if not SERVICE_NAME.fullmatch(name):  # not echoed either: it may be a misplaced secret
                raise SettingsError(
                    f"INTERNAL_SERVICE_NAMES: entry {position} is not a service name "
                    "(1-64 of a-z 0-9 _ . -, starting with a letter or digit)"
                )
            if name in RESERVED_SERVICE_NAMES:
                raise SettingsError(f"INTERNAL_SERVICE_NAMES: {name!r} is reserved (it names another principal)")

    def fill_development_secrets(self) -> None:
        """In development, generate what is missing once and keep it in the data dir."""
        if not self.is_development:
            return
        self.config_service_data_dir.mkdir(parents=True, exist_ok=True)
        path = self.config_service_data_dir / "dev-secrets.json"
        stored: dict[str, str] = {}
        if path.exists():
            stored = json.loads(path.read_text())
        generated = {
            "admin_token": lambda: "dev-admin-" + secrets.token_urlsafe(24).replace(".", "_"),
            "token_pepper": lambda: secrets.token_urlsafe(32),
            "secrets_key": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        changed = False
        for name, make in generated.items():
            if getattr(self, name) is not None:
                continue
            if name not in stored:
                stored[name] = make()
                changed = True
            setattr(self, name, SecretStr(stored[name]))
        if changed:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh, indent=2)

    def secret(self, name: str) -> str | None:
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None
