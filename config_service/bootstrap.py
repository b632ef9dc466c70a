"""What `config-service db upgrade` (and `serve` in development or with `--migrate`) installs in a
database: the schema (Alembic, `db.migrate`), then the reference data (the built-in integration
catalog, `integrations.seed`). Kept above both, so the database layer imports no domain."""

from __future__ import annotations

from config_service.db import migrate
from config_service.integrations.seed import seed_catalog


def upgrade(database_url: str, revision: str = "head") -> None:
    migrate.upgrade_schema(database_url, revision)
    seed_catalog(database_url)
