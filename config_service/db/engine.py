"""The async engine and the unit of work: one transaction per request, committed by its owner."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from config_service.db import statements
from config_service.db.urls import sqlalchemy_url
from config_service.kit.changelog import ChangeEvent

CommitListener = Callable[[Sequence[ChangeEvent]], None]
_WRITTEN = "config_service.changes_written"  # session.info: the events its transaction wrote (after_commit)


def _json_serializer(value: object) -> str:
    return orjson.dumps(value).decode()


def make_engine(database_url: str, *, pool_size: int = 20) -> AsyncEngine:
    engine = create_async_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        # connections beyond pool_size are closed when returned: sized so that a steady load
        # never churns them (a new connection costs a backend start and its prepared statements)
        max_overflow=max(1, pool_size // 2),
        # No ping per checkout (it cost a round trip and ~15% of a write's CPU): a connection the
        # server dropped fails its request with 503 and SQLAlchemy then invalidates the whole pool.
        pool_pre_ping=False,
        pool_recycle=1800,
        hide_parameters=True,  # error messages never carry values (token digests, config content)
        json_serializer=_json_serializer,
        json_deserializer=orjson.loads,
    )
    statements.instrument(engine)
    return engine


class Database:
    """Owns the engine; `transaction()` is the one way services get a session."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        # This process's change feed: hears of the change-log events a transaction wrote, once it
        # has committed (read-your-writes); never of a transaction that rolled back.
        self.on_commit: CommitListener | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        async with self.sessionmaker() as session:
            written: list[ChangeEvent] = []
            session.info[_WRITTEN] = written
            async with session.begin():
                yield session
            if written and self.on_commit is not None:
                self.on_commit(written)

    async def dispose(self) -> None:
        await self.engine.dispose()


def after_commit(session: AsyncSession, event: ChangeEvent) -> None:
    """Hand `event`, a change-log row this session's transaction inserted, to `Database.on_commit`
    once the transaction commits (never if it rolls back). Only for sessions of
    `Database.transaction()`: anywhere else the change would go unannounced, so that fails."""
    written = session.info.get(_WRITTEN)
    if written is None:
        raise RuntimeError("a change-log event was written outside Database.transaction()")
    written.append(event)


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (`session.execute` is typed as returning a plain Result)."""
    return (result.rowcount or 0) if isinstance(result, CursorResult) else 0
