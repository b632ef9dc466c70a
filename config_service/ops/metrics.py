"""Prometheus metrics (DESIGN §13)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "config_service_http_requests_total", "HTTP requests by route template", ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "config_service_http_request_duration_seconds", "HTTP request latency by route template", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
AUTH_FAILURES = Counter(
    "config_service_auth_failures_total", "401 and 403 answers by problem code", ["status", "code"],
    registry=REGISTRY,
)
for _status, _code in (("401", "unauthenticated"), ("403", "forbidden"), ("403", "insufficient_scope")):
    AUTH_FAILURES.labels(_status, _code)  # shown at 0 from the start, so a scrape names what is counted
CACHE = Counter("config_service_cache_total", "Effective-config cache lookups", ["result"], registry=REGISTRY)
DB_POOL = Gauge("config_service_db_pool_connections", "Database pool connections", ["state"], registry=REGISTRY)
WATCHERS = Gauge("config_service_watchers", "Open watch streams and long polls", registry=REGISTRY)
DB_STATEMENTS = Histogram(
    "config_service_db_statements_per_request", "SQL statements run by one request, by route template",
    ["method", "route"], buckets=(0, 1, 2, 3, 5, 8, 13, 21, 50), registry=REGISTRY,
)
# Refusals by the limits of docs/SECURITY.md. Labels are fixed reasons: never an org, a token or an address.
WATCHERS_REFUSED = Counter(
    "config_service_watchers_refused_total", "Watches and long polls refused at a cap, by cap", ["cap"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "config_service_rate_limited_total", "Requests refused by a rate limit, by limit", ["limit"], registry=REGISTRY,
)
CONNECTIONS_CLOSED = Counter(
    "config_service_connections_closed_total", "Connections closed by the server's guards, by reason", ["reason"],
    registry=REGISTRY,
)
