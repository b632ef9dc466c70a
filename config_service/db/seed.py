"""Reference data installed by `db upgrade` (the integration catalog arrives with issue #3)."""

from __future__ import annotations


def seed_catalog(database_url: str) -> None:
    """Idempotently install the integration catalog. Empty until the catalog lands."""
    return None
