"""PURE: envelopes, key wrapping and the secret-leaf helpers (DESIGN §8)."""

from __future__ import annotations

import base64
import secrets as pysecrets

import pytest

from config_service.kit import crypto, secret_leaves
from config_service.kit.crypto import CryptoError, MasterKey


def master() -> MasterKey:
    return MasterKey.from_b64(base64.b64encode(pysecrets.token_bytes(32)).decode())


def test_seal_and_open_round_trip_and_context_binding() -> None:
    key, key_id = crypto.new_data_key(), crypto.new_key_id()
    aad = crypto.leaf_aad("acme", "uid-1", "/integrations/slack/bot_token")
    envelope = crypto.seal(key, key_id, "xoxb-secret ü", aad)
    assert envelope.startswith(f"$enc:v1:{key_id}:") and "xoxb" not in envelope
    assert crypto.envelope_key_id(envelope) == key_id
    assert crypto.open_envelope(key, envelope, aad) == "xoxb-secret ü"
    assert crypto.seal(key, key_id, "same", aad) != crypto.seal(key, key_id, "same", aad)  # random nonce
    for other in (
        crypto.leaf_aad("other-org", "uid-1", "/integrations/slack/bot_token"),
        crypto.leaf_aad("acme", "uid-2", "/integrations/slack/bot_token"),
        crypto.leaf_aad("acme", "uid-1", "/integrations/slack/app_token"),
    ):
        with pytest.raises(CryptoError):
            crypto.open_envelope(key, envelope, other)
    with pytest.raises(CryptoError):
        crypto.open_envelope(crypto.new_data_key(), envelope, aad)
    tampered = envelope[:-6] + ("A" if envelope[-6] != "A" else "B") + envelope[-5:]
    with pytest.raises(CryptoError):
        crypto.open_envelope(key, tampered, aad)


@pytest.mark.parametrize("value", ["$enc:v1:", "$enc:v1:k:", "$enc:v1:k:!!!", "$enc:v1:k:QUJD", "plain",
    "$enc:v2:k:QUJD"])
def test_malformed_envelopes_are_crypto_errors(value: str) -> None:
    with pytest.raises(CryptoError):
        crypto.open_envelope(crypto.new_data_key(), value, b"x")


def test_key_wrapping_names_its_master_and_binds_org_and_key_id() -> None:
    old, new = master(), master()
    data_key = crypto.new_data_key()
    wrapped = crypto.wrap_key(old, data_key, "acme", "k1")
    assert crypto.wrapped_by(wrapped) == old.kid != new.kid
    assert crypto.unwrap_key([new, old], wrapped, "acme", "k1") == data_key
    with pytest.raises(CryptoError):
        crypto.unwrap_key([new], wrapped, "acme", "k1")
    with pytest.raises(CryptoError):
        crypto.unwrap_key([old], wrapped, "other", "k1")
    with pytest.raises(CryptoError):
        crypto.unwrap_key([old], wrapped, "acme", "k2")
    assert "key=" not in repr(old)


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_bad_master_keys_are_refused(value: str) -> None:
    with pytest.raises(CryptoError):
        MasterKey.from_b64(value)


ENV = "$enc:v1:0123456789abcdef:QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"


@pytest.mark.parametrize(
    "new, old, expected",
    [
        ({"a": secret_leaves.MASK}, {"a": ENV}, {"a": ENV}),
        ({"a": {"$secret": secret_leaves.MASK}}, {"a": ENV}, {"a": ENV}),
        ({"a": ENV}, {"a": ENV}, {"a": ENV}),
        ({"a": {"$secret": "p"}}, {}, {"a": {"$secret": "p"}}),
        ({"l": [secret_leaves.MASK]}, {}, {"l": [secret_leaves.MASK]}),  # lists never hold secrets: a literal
    ],
)
def test_settle_incoming(new, old, expected) -> None:
    assert secret_leaves.settle_incoming(new, old) == expected


@pytest.mark.parametrize(
    "new, old, path",
    [
        ({"a": secret_leaves.MASK}, {}, "/a"),
        ({"a": ENV}, {"b": ENV}, "/a"),
        ({"a": [ENV]}, {"a": [ENV]}, "/a/0"),
        ({"a": [{"$secret": "p"}]}, {}, "/a/0"),
        ({"a": {"$secret": "p", "x": 1}}, {}, "/a"),
        ({"a": {"b~/c": {"$secret": 1}}}, {}, "/a/b~0~1c"),
    ],
)
def test_settle_incoming_refusals(new, old, path) -> None:
    with pytest.raises(secret_leaves.SecretWriteError) as info:
        secret_leaves.settle_incoming(new, old)
    assert info.value.path == path


def test_requests_reveal_and_mask() -> None:
    doc = {"a": {"$secret": "one"}, "b": {"c": {"$secret": "two"}}, "d": 1}
    assert secret_leaves.secret_requests(doc) == [(["a"], "one"), (["b", "c"], "two")]
    sealed = secret_leaves.with_leaves(doc, [(["a"], ENV)])
    assert sealed["a"] == ENV and doc["a"] == {"$secret": "one"}  # a copy
    assert secret_leaves.envelopes(sealed) == [(["a"], ENV)]
    assert secret_leaves.reveal(sealed, {ENV: "one"})["a"] == "one"
    assert secret_leaves.reveal({"x": ENV}, {}) == {"x": secret_leaves.MASK}
    assert secret_leaves.mask({"x": ENV, "l": [ENV]}) == {"x": secret_leaves.MASK, "l": [secret_leaves.MASK]}
