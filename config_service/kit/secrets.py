"""Secret leaves in configs: stored as `$enc:` envelopes, shown everywhere but the team's own
effective read as a mask. (Encryption itself arrives with issue #3; this module already
keeps every view masked and every write honest about envelopes.)"""

from __future__ import annotations

import copy
from typing import Any

from config_service.kit.pointer import ABSENT, get_path

MASK = "********"
ENVELOPE_PREFIX = "$enc:"


class SecretWriteError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def is_envelope(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(ENVELOPE_PREFIX)


def mask(value: Any) -> Any:
    """A copy of `value` with every secret leaf replaced by the mask."""
    if isinstance(value, dict):
        return {key: mask(child) for key, child in value.items()}
    if isinstance(value, list):
        return [mask(child) for child in value]
    if is_envelope(value):
        return MASK
    return value


def mask_patch(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**op, "value": mask(op["value"])} if "value" in op else op for op in ops]


def _walk(value: Any, tokens: list[str]):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, [*tokens, key])
    else:
        yield tokens, value


def _pointer(tokens: list[str]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def settle_incoming(new_own: dict[str, Any], old_own: dict[str, Any]) -> dict[str, Any]:
    """Resolve masks and refuse forged envelopes in a new own config.

    A mask where the old own config holds a secret at the same path keeps that secret; a
    mask anywhere else, or an envelope the node does not already hold there, is refused.
    """
    result = new_own
    copied = False
    for tokens, value in list(_walk(new_own, [])):
        if not isinstance(value, str):
            continue
        old = get_path(old_own, tokens)
        if value == MASK:
            if not is_envelope(old):
                raise SecretWriteError(_pointer(tokens), f"{_pointer(tokens)}: '{MASK}' stands for a secret this node does not hold")
            if not copied:
                result, copied = copy.deepcopy(new_own), True
            target = result
            for token in tokens[:-1]:
                target = target[token]
            target[tokens[-1]] = old
        elif value.startswith(ENVELOPE_PREFIX) and value != old:
            raise SecretWriteError(_pointer(tokens), f"{_pointer(tokens)}: values starting with '{ENVELOPE_PREFIX}' are reserved")
    return result


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
