"""Hot-path statements sent straight to the driver connection of a session's transaction.

SQLAlchemy's statement machinery (compile cache lookup, execution context, result wrapping)
costs about 150 µs of CPU per statement on the reference machine, as much as the statement
itself. The few statements that every config write runs go to psycopg directly, inside the
same transaction (SQLAlchemy still begins, commits and rolls it back), and are counted in the
per-request statement metric like every other statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy.ext.asyncio import AsyncSession

from config_service.db import statements

_DRIVER = "raw_driver_connection"


async def driver(session: AsyncSession) -> psycopg.AsyncConnection:
    """The psycopg connection of the session's transaction (begun here if it was not yet)."""
    conn = session.info.get(_DRIVER)
    if conn is None:
        connection = await session.connection()
        conn = (await connection.get_raw_connection()).driver_connection
        if not isinstance(conn, psycopg.AsyncConnection):
            raise RuntimeError("raw statements need the psycopg async driver under the session")
        session.info[_DRIVER] = conn
    return conn


async def fetch(session: AsyncSession, sql: LiteralString, params: dict[str, Any]) -> list[Any]:
    """Run one statement (`%(name)s` parameters); its rows as named tuples."""
    conn = await driver(session)
    statements.count()
    async with conn.cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchall() if cursor.description is not None else []


async def fetch_pipelined(session: AsyncSession, batch: list[tuple[LiteralString, dict[str, Any]]]) -> list[list[Any]]:
    """Run statements in order in one round trip (libpq pipeline mode); the rows of each.
    The first that fails raises, and the transaction is then aborted like after any error."""
    conn = await driver(session)
    cursors = []
    async with conn.pipeline():
        for sql, params in batch:
            statements.count()
            cursor = conn.cursor(row_factory=namedtuple_row)
            await cursor.execute(sql, params)
            cursors.append(cursor)
    results = []
    for cursor in cursors:
        results.append(await cursor.fetchall() if cursor.description is not None else [])
        await cursor.close()
    return results


@dataclass(frozen=True)
class Statement:
    """A statement built in one place and run in another: alone (`run`), or folded into a larger
    statement as the entry `cte` of its WITH list, selecting `columns` from it (then its rows
    carry those columns first). `then` receives its rows."""

    sql: LiteralString
    params: dict[str, Any]
    then: Callable[[list[Any]], None] | None = None
    cte: LiteralString = ""
    columns: LiteralString = ""


async def run(session: AsyncSession, statement: Statement) -> None:
    """Run a statement and hand it its rows."""
    rows = await fetch(session, statement.sql, statement.params)
    if statement.then is not None:
        statement.then(rows)
