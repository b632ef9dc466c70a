"""The pure parts of the limits: token buckets, the throttling address, the token shape check,
the watcher caps (no server, no database)."""

from __future__ import annotations

import uuid
from ipaddress import ip_network

import pytest

from config_service.auth.principal import Kind, Principal
from config_service.auth.throttle import AuthThrottle, client_address, plausible
from config_service.errors import RateLimited, ServiceUnavailable
from config_service.live.quotas import WatcherLimits, WatcherQuotas, holder_of
from config_service.ops.limits import Buckets, IssueBudget

RANDOM = "J2KnE8rVmCfPWq0123456789abcdefgh"  # 32 URL-safe characters, as issued


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate():
    clock = Clock()
    buckets = Buckets(3, 0.5, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(2.0)  # one token every 2 s
    assert buckets.take("b") == 0  # keys are apart
    clock.now += 1
    assert buckets.wait("a") == pytest.approx(1.0)
    clock.now += 1
    assert buckets.wait("a") == 0 and buckets.take("a") == 0
    clock.now += 100
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # never more than the burst


def test_spend_takes_even_from_an_empty_bucket_and_never_below_zero():
    clock = Clock()
    buckets = Buckets(1, 1, clock=clock)
    buckets.spend("a")
    buckets.spend("a")
    assert buckets.wait("a") == pytest.approx(1.0)


def test_buckets_forget_full_ones_first_when_too_many():
    clock = Clock()
    buckets = Buckets(2, 1, max_keys=3, clock=clock)
    buckets.take("busy")
    buckets.take("busy")
    buckets.take("idle1")
    buckets.take("idle2")
    clock.now += 10  # idle1 and idle2 are full again; busy too by now, but keep it busy:
    buckets.take("busy")
    buckets.take("busy")
    buckets.take("new")
    assert len(buckets) <= 3 and buckets.wait("busy") > 0


def test_issue_budget_keeps_short_lived_tokens_apart():
    budget = IssueBudget(Buckets(1, 0.01), Buckets(2, 0.01))
    budget.take("o", short_lived=False)
    with pytest.raises(RateLimited) as refused:
        budget.take("o", short_lived=False)
    assert int(refused.value.headers["Retry-After"]) >= 1
    budget.take("o", short_lived=True)
    budget.take("o", short_lived=True)
    budget.take("p", short_lived=False)


@pytest.mark.parametrize("token,ok", [
    (f"acme.sre.{RANDOM}", True),
    (f"acme.{RANDOM}", True),
    (f"acme.sre.{RANDOM[:22]}", True),  # 128 bits is the floor
    (f"acme.sre.{RANDOM[:21]}", False),
    (f"acme.sre.{'a' * 257}", False),
    (f"acme.sre.{RANDOM[:-1]}=", False),
    (f"acme.sre.{RANDOM[:-1]}+", False),
    (f"-acme.sre.{RANDOM}", False),
    (f"acme.s re.{RANDOM}", False),
    (f"a.b.c.{RANDOM}", False),
    (RANDOM, False),
    (f"acme..{RANDOM}", False),
])
def test_token_shape(token, ok):
    assert plausible(token) is ok


def scope(peer: str | None, *forwarded: str) -> dict:
    return {
        "client": (peer, 1234) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


TRUSTED = (ip_network("10.0.0.0/8"), ip_network("fd00::/8"))


@pytest.mark.parametrize("request_scope,expected", [
    (scope("192.0.2.1"), "192.0.2.1"),
    (scope("192.0.2.1", "198.51.100.1"), "192.0.2.1"),  # not a trusted peer: the header is ignored
    (scope("10.0.0.5", "198.51.100.1"), "198.51.100.1"),
    (scope("10.0.0.5", "203.0.113.9, 198.51.100.1"), "198.51.100.1"),  # the left part is the client's to write
    (scope("10.0.0.5", "198.51.100.1, 10.1.1.1"), "198.51.100.1"),  # trusted hops are skipped
    (scope("10.0.0.5", "198.51.100.1", "10.1.1.1"), "198.51.100.1"),  # several header lines
    (scope("10.0.0.5", "10.1.1.1, 10.2.2.2"), "10.1.1.1"),  # only proxies: the left-most
    (scope("10.0.0.5", "198.51.100.1, junk"), "10.0.0.5"),  # what the proxy wrote is unreadable
    (scope("10.0.0.5"), "10.0.0.5"),
    (scope("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64"),  # IPv6 per /64
    (scope("fd00::1", "2001:db8::7"), "2001:db8::/64"),
    (scope("::ffff:192.0.2.1"), "192.0.2.1"),
    (scope(None), "unknown"),
])
def test_client_address(request_scope, expected):
    assert client_address(request_scope, TRUSTED) == expected


def test_failed_digests_are_remembered_for_a_while():
    clock = Clock()
    throttle = AuthThrottle(limit=5, window_seconds=10, clock=clock)
    throttle.remember_failure("d")
    assert throttle.known_to_fail("d") and not throttle.known_to_fail("e")
    clock.now += 61
    assert not throttle.known_to_fail("d")


def test_the_throttle_refuses_past_the_budget_and_recovers():
    clock = Clock()
    throttle = AuthThrottle(limit=2, window_seconds=10, clock=clock)
    attempt = throttle.attempt(scope("192.0.2.1"))
    attempt.check()
    attempt.failed()
    attempt.failed()
    with pytest.raises(RateLimited):
        attempt.check()
    with pytest.raises(RateLimited):
        attempt.failed()
    throttle.attempt(scope("192.0.2.2")).check()  # another address
    clock.now += 5  # one failure back (2 per 10 s)
    attempt.check()


def test_watcher_caps_in_order_token_org_instance():
    quotas = WatcherQuotas(WatcherLimits(per_instance=4, per_org=3, per_token=2, per_global_admin=1))
    token = holder_of(Principal(Kind.TEAM, "o", "n", token_id=uuid.uuid4()))
    admin = holder_of(Principal(Kind.GLOBAL_ADMIN))
    assert admin == "global-admin" and holder_of(None) is None
    quotas.admit("o", token)
    quotas.admit("o", token)
    with pytest.raises(RateLimited, match="token"):
        quotas.admit("o", token)
    quotas.admit("o", admin)
    with pytest.raises(RateLimited, match="global admin"):
        quotas.admit("p", admin)
    with pytest.raises(RateLimited, match="org"):
        quotas.admit("o", None)
    quotas.admit("p", None)
    with pytest.raises(ServiceUnavailable):
        quotas.admit("q", None)
    quotas.release("o", token)
    quotas.admit("q", None)
    assert quotas.total == 4
