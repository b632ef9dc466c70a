"""Effective-config etags (DESIGN §8 "No oracle", §10).

The tag is a keyed hash (HMAC) of the canonical **sealed** effective config: the masked content
plus, at each secret leaf, its envelope. An envelope is new on every secret write, so the tag
changes exactly when the content (a rewritten secret included) does, and never depends on a
secret's plaintext: overriding an inherited secret with a guess changes it whether the guess is
right or not. One tag serves the masked and the revealed view of a config. Re-encrypting the
data (`secrets rotate-key --reencrypt`) gives new envelopes, so new tags.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from config_service.kit.jsondoc import canonical


def etag_key(secrets_key_b64: str) -> bytes:
    master = base64.b64decode(secrets_key_b64)
    return hmac.new(master, b"config-service/etag/v1", hashlib.sha256).digest()


def effective_etag(key: bytes, sealed_effective: Any) -> str:
    """The tag of an effective config in its sealed form (envelopes, never plaintext)."""
    mac = hmac.new(key, canonical(sealed_effective), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()
