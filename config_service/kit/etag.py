"""Effective-config etags: a keyed hash of the canonical content, so it cannot reveal a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from config_service.kit.jsondoc import canonical


def etag_key(secrets_key_b64: str) -> bytes:
    master = base64.b64decode(secrets_key_b64)
    return hmac.new(master, b"config-service/etag/v1", hashlib.sha256).digest()


def effective_etag(key: bytes, effective_config: Any) -> str:
    mac = hmac.new(key, canonical(effective_config), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()
