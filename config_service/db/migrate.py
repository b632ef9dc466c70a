"""Alembic, driven from code: upgrade, check, and the schema-compatibility rule of DESIGN §11."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from config_service.db.urls import libpq_url

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(PACKAGE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(PACKAGE_DIR / "alembic"))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def upgrade_schema(database_url: str, revision: str = "head") -> None:
    """The schema only: `bootstrap.upgrade` also installs the reference data."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrations disagree (`alembic check`)."""
    command.check(alembic_config(database_url))


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(database_url: str) -> str | None:
    with psycopg.connect(libpq_url(database_url), connect_timeout=10) as conn:
        exists = conn.execute("SELECT to_regclass('alembic_version')").fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None


def schema_problem(revision: str | None, script: ScriptDirectory | None = None) -> str | None:
    """Why this release cannot run on a schema at `revision`, or None if it can.

    The head and any revision this release does not know (a newer release's, written
    expand/contract) are fine; a known revision below head is too old.
    """
    if revision is None:
        return "the database has no schema yet: run `config-service db upgrade`"
    script = script or ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if revision == head:
        return None
    try:
        script.get_revision(revision)
    except (RevisionError, CommandError):  # unknown revision: a newer release's schema
        return None
    return (
        f"the database schema ({revision}) is older than this release needs ({head}): "
        "run `config-service db upgrade`"
    )
