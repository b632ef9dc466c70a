"""DATABASE_URL forms: plain `postgresql://` (TCP or unix socket, `sslmode` honoured)."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

_PLAIN_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgresql+asyncpg"}


class DatabaseUrlError(ValueError):
    pass


def sqlalchemy_url(database_url: str, name: str = "DATABASE_URL") -> URL:
    """The URL for SQLAlchemy with the psycopg 3 driver (async and sync alike); a refusal names the
    setting `name` it came from."""
    try:
        url = make_url(database_url)
    except Exception:  # noqa: BLE001 - sqlalchemy raises ArgumentError on garbage (and echoes it: no)
        raise DatabaseUrlError(
            f"{name} is not a database URL (expected postgresql://user:password@host:port/database)"
        ) from None
    if url.drivername not in _PLAIN_SCHEMES:
        raise DatabaseUrlError(f"{name} must be a postgresql:// URL, not {url.drivername}://")
    return url.set(drivername="postgresql+psycopg")


def libpq_url(database_url: str) -> str:
    """The same URL as libpq (psycopg.connect) understands it."""
    url = sqlalchemy_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def with_database(database_url: str, database: str) -> str:
    url = make_url(database_url).set(database=database)
    return url.render_as_string(hide_password=False)


def redacted(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)
