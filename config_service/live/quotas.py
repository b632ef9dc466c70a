"""Who may hold how many of this instance's watchers (SSE streams and long polls).

One tenant must not starve the others (issue 10, finding 1): besides the instance's cap, each org
holds at most its share, each token at most a few, and the global admin — which has no token id —
a cap of its own. A refusal is 429 `rate_limited` for a holder or an org at its cap (the caller can
do something about it), 503 when the whole instance is full. Counts are per process, like the
watchers themselves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config_service.auth.principal import Kind, Principal
from config_service.errors import RateLimited, ServiceUnavailable
from config_service.ops import metrics

if TYPE_CHECKING:
    from config_service.settings import Settings

GLOBAL_ADMIN = "global-admin"
RETRY_AFTER_SECONDS = "30"  # streams end by themselves within 15 minutes; most much sooner


@dataclass(frozen=True)
class WatcherLimits:
    per_instance: int = 5000
    per_org: int = 1250
    per_token: int = 10
    per_global_admin: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> WatcherLimits:
        per_instance = settings.watchers_per_instance
        return cls(
            per_instance=per_instance,
            per_org=settings.watchers_per_org or max(1, per_instance // 4),
            per_token=settings.watchers_per_token,
            per_global_admin=settings.watchers_per_global_admin,
        )


def holder_of(principal: Principal | None) -> str | None:
    """The key a principal's watchers are counted under: its token, or the global admin."""
    if principal is None:
        return None
    if principal.token_id is not None:
        return str(principal.token_id)
    if principal.kind is Kind.GLOBAL_ADMIN:
        return GLOBAL_ADMIN
    return None


class WatcherQuotas:
    def __init__(self, limits: WatcherLimits | None = None) -> None:
        self.limits = limits or WatcherLimits()
        self._orgs: Counter[str] = Counter()
        self._holders: Counter[str] = Counter()
        self.total = 0

    def admit(self, org_id: str, holder: str | None) -> None:
        """Count one more watcher, or raise the refusal (nothing counted then)."""
        limits = self.limits
        if holder is not None:
            cap = limits.per_global_admin if holder == GLOBAL_ADMIN else limits.per_token
            if self._holders[holder] >= cap:
                who = "the global admin holds" if holder == GLOBAL_ADMIN else "a token holds"
                self._refuse("global_admin" if holder == GLOBAL_ADMIN else "token")
                raise RateLimited(f"{who} at most {cap} open watches", headers={"Retry-After": RETRY_AFTER_SECONDS})
        if self._orgs[org_id] >= limits.per_org:
            self._refuse("org")
            raise RateLimited(
                f"this org holds its share of the instance's watchers ({limits.per_org}); retry later",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        if self.total >= limits.per_instance:
            self._refuse("instance")
            raise ServiceUnavailable("this instance has too many watchers; retry shortly", headers={"Retry-After": "5"})
        self._orgs[org_id] += 1
        if holder is not None:
            self._holders[holder] += 1
        self.total += 1
        metrics.WATCHERS.set(self.total)

    def release(self, org_id: str, holder: str | None) -> None:
        _decrement(self._orgs, org_id)
        if holder is not None:
            _decrement(self._holders, holder)
        self.total -= 1
        metrics.WATCHERS.set(self.total)

    @staticmethod
    def _refuse(reason: str) -> None:
        metrics.WATCHERS_REFUSED.labels(reason).inc()


def _decrement(counts: Counter[str], key: str) -> None:
    left = counts[key] - 1
    if left > 0:
        counts[key] = left
    else:
        del counts[key]
