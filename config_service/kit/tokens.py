"""Token generation and hashing (DESIGN §4): random, shown once, stored as HMAC-SHA256(pepper)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

RANDOM_BYTES = 24  # 192 bits, above the 128-bit floor
HINT_LENGTH = 4


def random_part() -> str:
    # URL-safe base64 never contains '.', the separator of the token's parts.
    return secrets.token_urlsafe(RANDOM_BYTES)


def team_token(org_id: str, node_id: str) -> tuple[str, str]:
    """A new team token and its hint."""
    random = random_part()
    return f"{org_id}.{node_id}.{random}", random[:HINT_LENGTH]


def org_admin_token(org_id: str) -> tuple[str, str]:
    random = random_part()
    return f"{org_id}.{random}", random[:HINT_LENGTH]


def digest(pepper: str, token: str) -> str:
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def pepper_id(pepper: str) -> str:
    """A short public name of a pepper, so a row says which pepper hashed it."""
    return hashlib.sha256(b"pepper-id:" + pepper.encode()).hexdigest()[:12]


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
