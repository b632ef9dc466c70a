"""Counting the SQL statements one request runs (exported per route in /metrics), so a test
can hold a hot path to its query budget — e.g. a routing lookup is one query."""

from __future__ import annotations

import contextvars
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("sql_statements", default=None)


def start() -> contextvars.Token:
    return _counter.set([0])


def stop(token: contextvars.Token) -> int:
    counted = _counter.get()
    _counter.reset(token)
    return counted[0] if counted else 0


def count() -> None:
    """One more statement for the current request (if it is counted)."""
    counted = _counter.get()
    if counted is not None:
        counted[0] += 1


def _count(*_args: Any) -> None:
    count()


def instrument(engine: AsyncEngine) -> None:
    event.listen(engine.sync_engine, "before_cursor_execute", _count)
