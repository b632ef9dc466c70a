"""PURE: named internal callers (DESIGN §4), an opt-in for the peer system's clients.

Those clients send `X-Internal-Service: agent` (or `orchestrator`, `slack-bot`, …) and no
secret. With `INTERNAL_SERVICE_NAMES` and `INTERNAL_SERVICE_TRUSTED_NETWORKS` set, such a header
counts as that caller only when the raw TCP peer is inside one of those networks and the request
carries no proxy header: a proxy hop means the peer we see is the proxy, not the caller, and we
refuse rather than guess. (`serve` runs uvicorn with `proxy_headers=False`, so the peer address
is never rewritten from a header either.) What such a caller may do is `auth.policy`'s matter.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Headers that say a proxy forwarded the request (lower case, as ASGI hands them over).
PROXY_HEADERS = frozenset({
    "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip",
    "x-client-ip", "x-original-forwarded-for", "true-client-ip", "cf-connecting-ip", "fastly-client-ip", "via",
})


def has_proxy_header(header_names: Iterable[str]) -> bool:
    return any(name.lower() in PROXY_HEADERS for name in header_names)


def _address(host: str) -> Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.5 is 10.0.0.5
    return address


@dataclass(frozen=True)
class NamedCallers:
    names: frozenset[str]
    networks: tuple[Network, ...]

    def match(self, value: str, client: tuple[str, int] | None, *, proxied: bool) -> str | None:
        """The caller's name when `value` is one of the names, the raw peer `client` is inside a
        trusted network and no proxy header came with the request; else None."""
        if proxied or client is None or value not in self.names:
            return None
        address = _address(client[0])
        if address is None:
            return None
        return value if any(address in network for network in self.networks) else None
