"""The audit export, streamed: keyset pages of the log, each encoded and sent as it comes.

Memory stays bounded by one page whatever the log's size (the whole-file export grew a server by
several times the file: issue 10, finding 7). Each page is read in a short transaction of its own,
so a slow client never holds a database connection; the pages continue below the last id sent, so
events written during the export (higher ids) are not in it and nothing is sent twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from config_service.audit import repository
from config_service.audit.schemas import AuditEventOut, AuditFilter
from config_service.db.engine import Database

PAGE_SIZE = 500
COLUMNS = ("id", "at", "org_id", "org_uid", "actor", "action", "target_type", "target_id", "details")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection");
# such a cell is written with a leading single quote, which the spreadsheet shows as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One CSV cell: a missing value is empty; text a spreadsheet would run is neutralised."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class Export:
    media_type: str
    chunks: AsyncIterator[bytes]


async def open_export(db: Database, org_id: str, fmt: str, flt: AuditFilter) -> Export:
    """The export of the org's (filtered) log, newest first. The first page is read now, so that a
    database that cannot answer is a problem response rather than a download cut short."""
    first = await _page(db, org_id, flt, before_id=None)
    pages = _pages(db, org_id, flt, first)
    chunks = _json_chunks(pages) if fmt == "json" else _csv_chunks(pages)
    return Export(MEDIA_TYPES[fmt], chunks)


async def _page(db: Database, org_id: str, flt: AuditFilter, before_id: int | None) -> list[dict[str, Any]]:
    async with db.transaction() as session:
        rows = await repository.event_rows(session, org_id, flt, before_id=before_id, limit=PAGE_SIZE)
    return [AuditEventOut.model_validate(row._mapping).model_dump(mode="json") for row in rows]


async def _pages(
    db: Database, org_id: str, flt: AuditFilter, page: list[dict[str, Any]]
) -> AsyncIterator[list[dict[str, Any]]]:
    while page:
        yield page
        if len(page) < PAGE_SIZE:
            return
        page = await _page(db, org_id, flt, before_id=page[-1]["id"])


async def _json_chunks(pages: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    """One JSON array, written a page at a time (the bytes of `orjson.dumps(all_items)`)."""
    separator = b"["
    async for page in pages:
        yield separator + b",".join(orjson.dumps(item) for item in page)
        separator = b","
    yield b"]" if separator == b"," else b"[]"


async def _csv_chunks(pages: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    yield _csv_rows([COLUMNS])
    async for page in pages:
        yield _csv_rows(
            [orjson.dumps(item[c]).decode() if c == "details" else item[c] for c in COLUMNS] for item in page
        )


def _csv_rows(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode()
