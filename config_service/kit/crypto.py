"""PURE: secret envelopes and key wrapping (DESIGN §8). AES-256-GCM from `cryptography`.

- A *master key* (`SECRETS_KEY`, 32 bytes) wraps each org's *data key*: `<master kid>:<b64(nonce‖ct)>`,
  associated data `org_id|key_id`, so a wrapped key moved to another org or key id does not open.
  The master kid is a keyed hash of the master key: it tells which of `SECRETS_KEY` /
  `SECRETS_KEY_PREVIOUS` wrapped a key without trying both.
- A data key seals one secret leaf as `$enc:v1:<key id>:<b64(nonce‖ct)>`, associated data
  `org_id|node_uid|JSON Pointer`, so a ciphertext copied to another node, org or path does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENVELOPE_PREFIX = "$enc:v1:"
NONCE_BYTES = 12
KEY_BYTES = 32


class CryptoError(ValueError):
    """A ciphertext that does not open (wrong key, wrong context, tampered, malformed).

    Its message never carries key material or plaintext."""


@dataclass(frozen=True)
class MasterKey:
    key: bytes
    kid: str

    @classmethod
    def from_b64(cls, value: str) -> MasterKey:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("a master key must be base64") from None
        if len(raw) != KEY_BYTES:
            raise CryptoError("a master key must be 32 bytes")
        kid = hmac.new(raw, b"config-service/master-kid/v1", hashlib.sha256).hexdigest()[:16]
        return cls(raw, kid)

    def __repr__(self) -> str:  # never print key material
        return f"MasterKey(kid={self.kid!r})"


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def new_key_id() -> str:
    return secrets.token_hex(8)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)).decode()


def _open(key: bytes, blob: str, aad: bytes) -> bytes:
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("malformed ciphertext") from None
    if len(raw) < NONCE_BYTES + 16:
        raise CryptoError("malformed ciphertext")
    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except InvalidTag:
        raise CryptoError("the ciphertext does not open with this key in this context") from None


# ---- data keys, wrapped by a master key ----------------------------------------------------


def _wrap_aad(org_id: str, key_id: str) -> bytes:
    return f"config-service/org-key/v1|{org_id}|{key_id}".encode()


def wrap_key(master: MasterKey, data_key: bytes, org_id: str, key_id: str) -> str:
    return f"{master.kid}:{_seal(master.key, data_key, _wrap_aad(org_id, key_id))}"


def wrapped_by(wrapped: str) -> str:
    """The kid of the master key that wrapped `wrapped`."""
    return wrapped.split(":", 1)[0]


def unwrap_key(masters: list[MasterKey], wrapped: str, org_id: str, key_id: str) -> bytes:
    kid, _, blob = wrapped.partition(":")
    for master in masters:
        if master.kid == kid:
            key = _open(master.key, blob, _wrap_aad(org_id, key_id))
            if len(key) != KEY_BYTES:
                raise CryptoError("a wrapped data key has the wrong length")
            return key
    raise CryptoError(f"the data key of org '{org_id}' is wrapped by an unknown master key ({kid})")


# ---- secret leaves --------------------------------------------------------------------------


def leaf_aad(org_id: str, node_uid: str, pointer: str) -> bytes:
    return f"{org_id}|{node_uid}|{pointer}".encode()


def seal(data_key: bytes, key_id: str, plaintext: str, aad: bytes) -> str:
    return f"{ENVELOPE_PREFIX}{key_id}:{_seal(data_key, plaintext.encode(), aad)}"


def envelope_key_id(envelope: str) -> str | None:
    """The data key id an envelope names, or None if it is not a v1 envelope."""
    if not isinstance(envelope, str) or not envelope.startswith(ENVELOPE_PREFIX):
        return None
    key_id, sep, _ = envelope[len(ENVELOPE_PREFIX):].partition(":")
    return key_id if sep and key_id else None


def open_envelope(data_key: bytes, envelope: str, aad: bytes) -> str:
    key_id = envelope_key_id(envelope)
    if key_id is None:
        raise CryptoError("not a v1 envelope")
    blob = envelope[len(ENVELOPE_PREFIX) + len(key_id) + 1:]
    try:
        return _open(data_key, blob, aad).decode()
    except UnicodeDecodeError:
        raise CryptoError("the plaintext is not UTF-8") from None
