"""Who is calling (DESIGN §4)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    GLOBAL_ADMIN = "global_admin"
    ORG_ADMIN = "org_admin"
    TEAM = "team"
    INTERNAL = "internal_service"
    NAMED_INTERNAL = "named_internal"  # `X-Internal-Service: <name>` from a trusted network (auth.named)


class Scope(StrEnum):
    CONFIG_READ = "config:read"
    CONFIG_WRITE = "config:write"
    SECRETS_READ = "secrets:read"
    RUNS_WRITE = "runs:write"


ALL_SCOPES = frozenset(Scope)
DEFAULT_TEAM_SCOPES = (Scope.CONFIG_READ, Scope.SECRETS_READ, Scope.RUNS_WRITE)


DESCRIPTION_IN_ACTOR = 500  # the issue form's limit; a longer description (older rows) is cut


@dataclass(frozen=True)
class Principal:
    kind: Kind
    org_id: str | None = None
    node_id: str | None = None
    token_id: uuid.UUID | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    expires_at: datetime | None = field(default=None, compare=False)
    name: str | None = None  # a named internal caller's name
    # an org-admin or team token's description, named with its id in audit rows (DESIGN §7)
    description: str | None = field(default=None, compare=False)

    @property
    def is_internal(self) -> bool:
        """The internal service token or a named internal caller."""
        return self.kind in (Kind.INTERNAL, Kind.NAMED_INTERNAL)

    @property
    def is_admin(self) -> bool:
        return self.kind in (Kind.GLOBAL_ADMIN, Kind.ORG_ADMIN)

    @property
    def subject(self) -> str:
        """The actor name written to audit rows and `updated_by`: never a token."""
        if self.kind is Kind.GLOBAL_ADMIN:
            return "admin"
        if self.kind is Kind.INTERNAL:
            return "internal"
        if self.kind is Kind.NAMED_INTERNAL:
            return self.name or "named-internal"  # the name is the actor (settings refuse admin/internal)
        if self.kind is Kind.ORG_ADMIN:
            return f"org-admin:{self.org_id}:{self.token_id}{self._described}"
        return f"team:{self.org_id}/{self.node_id}:{self.token_id}{self._described}"

    @property
    def _described(self) -> str:
        """` (<description>)` after a token's id, on one line; nothing for a token without one."""
        text = " ".join((self.description or "").split())
        if len(text) > DESCRIPTION_IN_ACTOR:
            text = text[: DESCRIPTION_IN_ACTOR - 1] + "…"
        return f" ({text})" if text else ""

    @property
    def role(self) -> str:
        if self.is_admin:
            return "admin"
        return "team" if self.kind is Kind.TEAM else "internal"

    @property
    def can_write(self) -> bool:
        if self.is_admin:
            return True
        return self.kind is Kind.TEAM and Scope.CONFIG_WRITE in self.scopes

    def permissions(self) -> list[str]:
        if self.kind is Kind.GLOBAL_ADMIN:
            return ["orgs:manage", "org:*", "integrations:manage", "routing:lookup", "tokens:exchange"]
        if self.kind is Kind.ORG_ADMIN:
            return [f"org:{self.org_id}:*", "routing:lookup"]
        if self.kind is Kind.INTERNAL:
            return ["routing:lookup", "tokens:exchange", "runs:write", "runs:read", "runs:cleanup"]
        if self.kind is Kind.NAMED_INTERNAL:
            return ["routing:lookup", "runs:write", "runs:cleanup"]
        return [f"node:{self.org_id}/{self.node_id}:{scope}" for scope in sorted(self.scopes)]


@dataclass(frozen=True)
class TeamCaller:
    """A team token acting on its own node (the `/config/me…` routes): its principal, and the
    org and node it reaches — never None, unlike a `Principal`'s."""

    principal: Principal
    org_id: str
    node_id: str
