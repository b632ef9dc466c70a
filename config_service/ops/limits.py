"""Rate limits kept in process memory: token buckets by key, and the per-org budget of token issuing.

Each instance keeps its own buckets, so N instances allow up to N times a limit: the limits stop
one client or tenant from starving the others on an instance, they are not a quota contract.
A refusal is 429 `rate_limited` with `Retry-After` (whole seconds, at least 1).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config_service.errors import RateLimited
from config_service.ops import metrics

if TYPE_CHECKING:
    from config_service.settings import Settings


@dataclass
class _Bucket:
    level: float
    updated: float


class Buckets:
    """A token bucket per key: `capacity` tokens, refilled at `per_second`; at most `max_keys`
    keys are remembered (full buckets are forgotten first: they carry no information)."""

    def __init__(
        self,
        capacity: float,
        per_second: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(capacity)
        self.per_second = per_second
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _refilled(self, key: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.level = min(self.capacity, bucket.level + (now - bucket.updated) * self.per_second)
            bucket.updated = now
        return bucket

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token again (0 when it has one now); takes nothing."""
        bucket = self._refilled(key, self.clock())
        if bucket is None or bucket.level >= 1:
            return 0.0
        return (1 - bucket.level) / self.per_second

    def take(self, key: str) -> float:
        """Take a token: 0 when taken, else the seconds until one is available (nothing taken)."""
        now = self.clock()
        bucket = self._refilled(key, now)
        if bucket is None:
            self._prune(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        if bucket.level < 1:
            return (1 - bucket.level) / self.per_second
        bucket.level -= 1
        return 0.0

    def spend(self, key: str) -> None:
        """Take a token whether or not one is left (the level never drops below zero)."""
        if self.take(key):
            self._buckets[key].level = 0.0

    def _prune(self, now: float) -> None:
        if len(self._buckets) < self.max_keys:
            return
        for key, bucket in list(self._buckets.items()):
            if bucket.level + (now - bucket.updated) * self.per_second >= self.capacity:
                del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # all busy: forget the oldest half
            for key in list(self._buckets)[: len(self._buckets) // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class IssueBudget:
    """Token issuing per org: long-lived tokens (team and org-admin tokens an admin issues) on one
    budget, short-lived team tokens (the exchange and routing lookups with `issue_token`: one per
    incoming webhook) on a larger one, so that an incident storm is never refused for want of
    the budget an admin's script used up."""

    def __init__(self, long_lived: Buckets, short_lived: Buckets) -> None:
        self.long_lived = long_lived
        self.short_lived = short_lived

    @classmethod
    def from_settings(cls, settings: Settings) -> IssueBudget:
        return cls(
            Buckets(settings.token_issue_burst, settings.token_issue_per_minute / 60),
            Buckets(settings.short_lived_token_issue_burst, settings.short_lived_token_issue_per_minute / 60),
        )

    def take(self, org_id: str, *, short_lived: bool) -> None:
        """Count one token issued for `org_id`, or raise 429 when its budget is spent."""
        wait = (self.short_lived if short_lived else self.long_lived).take(org_id)
        if wait:
            kind = "short-lived tokens" if short_lived else "tokens"
            metrics.RATE_LIMITED.labels("short_lived_token_issue" if short_lived else "token_issue").inc()
            raise RateLimited(
                f"org '{org_id}' has issued too many {kind} for now; retry in {retry_after(wait)} s",
                headers={"Retry-After": retry_after(wait)},
            )
