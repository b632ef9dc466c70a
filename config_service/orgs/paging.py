"""Keyset cursors for listings ordered by `(created_at, key)` (DESIGN §2: `next_cursor`, `limit`)."""

from __future__ import annotations

import base64
from datetime import datetime

import orjson

from config_service.errors import InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(created_at: datetime, key: str) -> str:
    raw = orjson.dumps([created_at.isoformat(), key])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The `(created_at, key)` of the last item of the previous page; 422 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        at = datetime.fromisoformat(created_at)
        if at.tzinfo is None or not isinstance(key, str):
            raise ValueError(cursor)
        return at, key
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidRequest("cursor is not one this service issued", path="cursor") from None
