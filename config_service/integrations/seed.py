"""Reference data installed by `db upgrade` (`bootstrap.upgrade`): the built-in integration
catalog (DESIGN §8). It runs on its own connection, outside any request.

Idempotent: built-in rows are inserted or brought up to date (a release may add fields);
rows that already match are not touched, so `updated_at` moves only on a real change.
Schemas the global admin created under other ids are left alone.
"""

from __future__ import annotations

import orjson
import psycopg

from config_service.db.urls import libpq_url
from config_service.integrations.catalog import BUILT_IN
from config_service.integrations.validation import normalise_fields, schema_problem

_UPSERT = """
INSERT INTO integration_schemas (id, name, description, category, logo_url, fields)
VALUES (%(id)s, %(name)s, %(description)s, %(category)s, %(logo_url)s, %(fields)s::jsonb)
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name,
    description = EXCLUDED.description,
    category = EXCLUDED.category,
    logo_url = EXCLUDED.logo_url,
    fields = EXCLUDED.fields,
    updated_at = now()
WHERE (integration_schemas.name, integration_schemas.description, integration_schemas.category,
       integration_schemas.logo_url, integration_schemas.fields)
  IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, EXCLUDED.category, EXCLUDED.logo_url, EXCLUDED.fields)
"""


def catalog_problems() -> list[str]:
    """Built-in definitions that break the catalog's own rules (none, or a test fails)."""
    problems = []
    for item in BUILT_IN:
        problem = schema_problem(item["fields"])
        if problem is not None:
            problems.append(f"{item['id']}{problem[0]}: {problem[1]}")
    return problems


def seed_catalog(database_url: str) -> int:
    """Install or update every built-in integration schema; the number of rows changed."""
    changed = 0
    with psycopg.connect(libpq_url(database_url), connect_timeout=10) as conn:
        with conn.transaction():
            for item in BUILT_IN:
                params = {**item, "fields": orjson.dumps(normalise_fields(item["fields"])).decode()}
                changed += conn.execute(_UPSERT, params).rowcount or 0
    return changed
