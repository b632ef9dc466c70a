"""PURE: secret leaves in configs (DESIGN §8).

Stored as `$enc:` envelopes (sealed by `config_service.secrets`), shown everywhere but the
team's own effective read as a mask. A client asks for a secret with `{"$secret": "<plaintext>"}`
at any object member, or by writing a catalog `secret` field; it can never write an envelope.
Lists are leaves and never hold secrets."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from config_service.kit.pointer import ABSENT, get_path

MASK = "********"
ENVELOPE_PREFIX = "$enc:"
SECRET_KEY = "$secret"
# an envelope quoted in a message (JSON Patch and JSON Pointer errors quote documents and values)
ENVELOPE_IN_TEXT = re.compile(re.escape(ENVELOPE_PREFIX) + r"""[^\s'",}\])]+""")


class SecretWriteError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def is_envelope(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(ENVELOPE_PREFIX)


def mask(value: Any) -> Any:
    """A copy of `value` with every secret leaf replaced by the mask (an unsealed
    `{"$secret": …}` request counts as one: a dry run never shows what it would seal)."""
    if isinstance(value, dict):
        if SECRET_KEY in value:
            return MASK
        return {key: mask(child) for key, child in value.items()}
    if isinstance(value, list):
        return [mask(child) for child in value]
    if is_envelope(value):
        return MASK
    return value


def mask_patch(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**op, "value": mask(op["value"])} if "value" in op else op for op in ops]


def _walk(value: Any, tokens: list[str]) -> Iterator[tuple[list[str], Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, [*tokens, key])
    else:
        yield tokens, value


def pointer_of(tokens: list[str]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _walk_all(value: Any, tokens: list[str], in_list: bool) -> Iterator[tuple[list[str], Any, bool]]:
    """(tokens, value, in_list) of every leaf and every `$secret` object; lists are entered too."""
    if isinstance(value, dict):
        if SECRET_KEY in value:
            yield tokens, value, in_list
            return
        for key, child in value.items():
            yield from _walk_all(child, [*tokens, key], in_list)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk_all(child, [*tokens, str(index)], True)
    else:
        yield tokens, value, in_list


def secret_request(value: Any, tokens: list[str]) -> str | None:
    """The plaintext of a `{"$secret": "…"}` object (None if `value` is not one); refuses a malformed one."""
    if not isinstance(value, dict) or SECRET_KEY not in value:
        return None
    where = pointer_of(tokens)
    plaintext = value[SECRET_KEY]
    if len(value) != 1 or not isinstance(plaintext, str):
        raise SecretWriteError(where, f"{where or '/'}: a secret is written as {{\"$secret\": \"<string>\"}} alone")
    if plaintext == "":
        raise SecretWriteError(where, f"{where or '/'}: a secret cannot be empty")
    if plaintext.startswith(ENVELOPE_PREFIX):
        raise SecretWriteError(where, f"{where or '/'}: values starting with '{ENVELOPE_PREFIX}' are reserved")
    return plaintext


def _set(document: dict[str, Any], tokens: list[str], value: Any) -> None:
    target: Any = document
    for token in tokens[:-1]:
        target = target[token]
    target[tokens[-1]] = value


def settle_incoming(new_own: dict[str, Any], old_own: dict[str, Any]) -> dict[str, Any]:
    """Resolve masks and refuse forged envelopes in a new own config.

    A mask (or `{"$secret": "********"}`) where the old own config holds a secret at the same
    path keeps that secret; a mask anywhere else, or an envelope the node does not already hold
    there, is refused. `{"$secret": …}` objects are checked and left for sealing; in a list
    (a leaf) they are refused.
    """
    replacements: list[tuple[list[str], Any]] = []
    for tokens, value, in_list in list(_walk_all(new_own, [], False)):
        where = pointer_of(tokens)
        if isinstance(value, dict):  # a {"$secret": …} object
            if in_list:
                raise SecretWriteError(where, f"{where}: lists cannot hold secrets")
            plaintext = secret_request(value, tokens)
            if plaintext != MASK:
                continue
            value = MASK
        if not isinstance(value, str):
            continue
        if value.startswith(ENVELOPE_PREFIX):
            if in_list or value != get_path(old_own, tokens):
                raise SecretWriteError(where, f"{where}: values starting with '{ENVELOPE_PREFIX}' are reserved")
        elif value == MASK and not in_list:
            old = get_path(old_own, tokens)
            if not is_envelope(old):
                raise SecretWriteError(where, f"{where}: '{MASK}' stands for a secret this node does not hold")
            replacements.append((tokens, old))
    if not replacements:
        return new_own
    result = copy.deepcopy(new_own)
    for tokens, old in replacements:
        _set(result, tokens, old)
    return result


def secret_requests(document: dict[str, Any]) -> list[tuple[list[str], str]]:
    """(tokens, plaintext) of every `{"$secret": …}` object in a settled own config."""
    found = []
    for tokens, value, _ in _walk_all(document, [], False):
        if isinstance(value, dict):
            plaintext = secret_request(value, tokens)
            if plaintext is not None:
                found.append((tokens, plaintext))
    return found


def envelopes(document: Any) -> list[tuple[list[str], str]]:
    """(tokens, envelope) of every secret leaf (object members only: lists never hold one)."""
    return [(tokens, value) for tokens, value in _walk(document, []) if is_envelope(value)]


def with_leaves(document: dict[str, Any], leaves: list[tuple[list[str], Any]]) -> dict[str, Any]:
    """A copy of `document` with each leaf at `tokens` replaced (the paths exist)."""
    if not leaves:
        return document
    result = copy.deepcopy(document)
    for tokens, value in leaves:
        _set(result, tokens, value)
    return result


def reveal(document: Any, plaintexts: dict[str, str]) -> Any:
    """A copy of `document` with each envelope replaced by its plaintext (by envelope), or the
    mask where it has none (an envelope that did not open)."""
    if isinstance(document, dict):
        return {key: reveal(child, plaintexts) for key, child in document.items()}
    if isinstance(document, list):
        return [reveal(child, plaintexts) for child in document]
    if is_envelope(document):
        return plaintexts.get(document, MASK)
    return document


def keep_current_secrets(target: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Rollback without `restore_secrets`: every secret keeps its current value; one absent now
    stays absent. Non-secret values come from `target`."""
    result = copy.deepcopy(target)

    def visit(node: dict[str, Any], tokens: list[str]) -> None:
        for key in list(node):
            child = node[key]
            here = [*tokens, key]
            if isinstance(child, dict):
                visit(child, here)
            elif is_envelope(child):
                now = get_path(current, here)
                if is_envelope(now):
                    node[key] = now
                else:
                    del node[key]

    visit(result, [])
    # secrets present now but absent in the target version stay as they are now
    for tokens, value in list(_walk(current, [])):
        if is_envelope(value) and get_path(result, tokens) is ABSENT:
            node: Any = result
            for token in tokens[:-1]:
                nxt = node.get(token) if isinstance(node, dict) else None
                if not isinstance(nxt, dict):
                    nxt = {}
                    node[token] = nxt
                node = nxt
            node[tokens[-1]] = value
    return result
