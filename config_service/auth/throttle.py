"""Throttling failed authentication, per client address (issue 10, finding 9).

A request that presents a credential (an `Authorization` or `X-Internal-Service` header) which
does not verify is a failure of its client address. Each address has a budget
(`AUTH_FAILURE_LIMIT` per `AUTH_FAILURE_WINDOW_SECONDS`, a token bucket); past it, the address gets
429 `rate_limited` with `Retry-After` before any credential is compared or looked up. A token this
instance has verified and still caches is served regardless: it costs nothing, reveals nothing,
and keeps the honest clients behind a guesser's address (a NAT, an office) working.

A bogus token costs no query where that can be known: one whose shape cannot be ours, and one
that failed within the last `NEGATIVE_TTL_SECONDS` (a random token is unguessable, so a digest that
failed cannot start to verify: only a token issued later could, and that is a different token).

The client address is the raw TCP peer. Behind a reverse proxy every peer is the proxy, so
`TRUSTED_PROXIES` names the proxies whose `X-Forwarded-For` is believed — for this throttling and
nothing else — taking the right-most address that is not itself a trusted proxy. IPv6 clients are
throttled per /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING, Any

from config_service.errors import RateLimited
from config_service.kit.ids import is_valid_id
from config_service.ops import metrics
from config_service.ops.limits import Buckets, retry_after

if TYPE_CHECKING:
    from config_service.settings import Settings

log = logging.getLogger(__name__)

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

# URL-safe base64 of at least 128 bits (DESIGN §3); tokens issued here carry 192 (32 characters)
_RANDOM_PART = re.compile(r"[A-Za-z0-9_-]{22,256}")
NEGATIVE_TTL_SECONDS = 60.0
MAX_NEGATIVE = 50_000


def plausible(token: str) -> bool:
    """Whether a dotted token has the shape of an org-admin or team token this service issues."""
    parts = token.split(".")
    if len(parts) not in (2, 3):
        return False
    return all(is_valid_id(part) for part in parts[:-1]) and _RANDOM_PART.fullmatch(parts[-1]) is not None


def _within(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def _address(text: str) -> Address | None:
    try:
        address = ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(scope: Mapping[str, Any], trusted: tuple[Network, ...]) -> str:
    """The address a request is throttled under (see the module's description)."""
    peer = scope.get("client")
    host = peer[0] if peer else None
    address = _address(host) if host else None
    if address is None:
        return host or "unknown"
    if trusted and _within(address, trusted):
        hops = [
            hop
            for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for"
            for hop in value.decode("latin-1").split(",")
        ]
        for hop in reversed(hops):
            forwarded = _address(hop)
            if forwarded is None:
                break  # what a trusted proxy did not write cleanly is not believed
            address = forwarded
            if not _within(forwarded, trusted):
                break
    if isinstance(address, IPv6Address):
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)


class AuthThrottle:
    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        trusted_proxies: tuple[Network, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = Buckets(limit, limit / window_seconds, clock=clock)
        self.trusted_proxies = trusted_proxies
        self.clock = clock
        self._failed_digests: dict[str, float] = {}  # digest → until when it is known to fail

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthThrottle:
        return cls(
            limit=settings.auth_failure_limit,
            window_seconds=settings.auth_failure_window_seconds,
            trusted_proxies=tuple(settings.trusted_proxies),
        )

    def attempt(self, scope: Mapping[str, Any]) -> Attempt:
        return Attempt(self, scope)

    def known_to_fail(self, digest: str) -> bool:
        until = self._failed_digests.get(digest)
        if until is None:
            return False
        if until <= self.clock():
            del self._failed_digests[digest]
            return False
        return True

    def remember_failure(self, digest: str) -> None:
        if len(self._failed_digests) >= MAX_NEGATIVE:
            now = self.clock()
            self._failed_digests = {d: t for d, t in self._failed_digests.items() if t > now}
            if len(self._failed_digests) >= MAX_NEGATIVE:
                self._failed_digests.clear()
        self._failed_digests[digest] = self.clock() + NEGATIVE_TTL_SECONDS


class Attempt:
    """One request's authentication, as the throttle sees it. The address is worked out only
    when needed: a request with a cached token never pays for it."""

    def __init__(self, throttle: AuthThrottle, scope: Mapping[str, Any]) -> None:
        self.throttle = throttle
        self.scope = scope
        self._client: str | None = None

    @property
    def client(self) -> str:
        if self._client is None:
            self._client = client_address(self.scope, self.throttle.trusted_proxies)
        return self._client

    def check(self) -> None:
        """429 when the address has no failures left: before any credential is verified."""
        wait = self.throttle.failures.wait(self.client)
        if wait:
            metrics.RATE_LIMITED.labels("auth_failures").inc()
            raise RateLimited(
                "too many failed authentications from this address; retry later",
                headers={"Retry-After": retry_after(wait)},
            )

    def failed(self) -> None:
        """A presented credential did not verify: count it (429 instead of the 401 when the
        address was out of failures already)."""
        self.check()
        self.throttle.failures.spend(self.client)
        if self.throttle.failures.wait(self.client):  # this failure used up the budget
            log.warning(
                "authentication throttled",
                extra={"client": self.client, "retry_after": retry_after(self.throttle.failures.wait(self.client))},
            )
