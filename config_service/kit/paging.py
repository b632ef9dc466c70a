"""PURE: paged listings (DESIGN §2: `limit`, `next_cursor`).

A listing asks its query for one row more than the page holds; `page` cuts it off and tells
whether more follow. The cursors are opaque to clients, and each listing keeps the form it has
always had on the wire:
- orgs, nodes, tokens: base64url of `[created_at, key]` (a keyset), `keyset_cursor`;
- the audit log: base64url of `a:<event id>`, `event_cursor`;
- config history: the last version shown, in decimal, `version_cursor`;
- routing claims: base64url of `[key_type, key_norm]`, `pair_cursor`.
A cursor this service did not issue is a 422 (`invalid_request`, path `cursor`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import orjson

from config_service.errors import InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_VERSION = 2**31 - 1  # versions are INT columns

T = TypeVar("T")


def page(rows: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """The first `limit` of `rows` (read with `limit + 1`), and whether more follow."""
    return list(rows[:limit]), len(rows) > limit


def _refused() -> InvalidRequest:
    return InvalidRequest("cursor is not one this service issued", path="cursor")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(cursor: str) -> bytes:
    return base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())


def keyset_cursor(created_at: datetime, key: str) -> str:
    return _b64(orjson.dumps([created_at.isoformat(), key]))


def decode_keyset_cursor(cursor: str) -> tuple[datetime, str]:
    """The `(created_at, key)` of the last item of the previous page."""
    try:
        created_at, key = orjson.loads(_unb64(cursor))
        at = datetime.fromisoformat(created_at)
        if at.tzinfo is None or not isinstance(key, str):
            raise ValueError(cursor)
        return at, key
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise _refused() from None


def event_cursor(event_id: int) -> str:
    return _b64(f"a:{event_id}".encode())


def decode_event_cursor(cursor: str) -> int:
    """The id of the last event of the previous page."""
    try:
        kind, value = _unb64(cursor).decode().split(":", 1)
        if kind != "a" or not value.isascii() or not value.isdigit() or int(value) >= 2**63:
            raise ValueError(cursor)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise _refused() from None


_VERSION = re.compile(r"[0-9]{1,10}")


def version_cursor(version: int) -> str:
    return str(version)


def decode_version_cursor(cursor: str) -> int:
    """The version of the last history item of the previous page."""
    # ASCII digits only: str.isdigit() accepts '²', which int() then refuses
    if _VERSION.fullmatch(cursor) is None or int(cursor) > MAX_VERSION:
        raise _refused()
    return int(cursor)


def pair_cursor(first: str, second: str) -> str:
    return _b64(orjson.dumps([first, second]))


def decode_pair_cursor(cursor: str) -> tuple[str, str]:
    """The two keys of the last item of the previous page (a listing ordered by a string pair)."""
    try:
        first, second = orjson.loads(_unb64(cursor))
        if not isinstance(first, str) or not isinstance(second, str):
            raise ValueError(cursor)
        return first, second
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise _refused() from None
