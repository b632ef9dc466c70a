"""PURE: what an imported config's masks become in the target (DESIGN §12.4).

A mask (`"********"`, or `{"$secret": "********"}`) as an object member stands for "the secret
this node holds here": where the target node holds an envelope at the same path, the new own
config carries that envelope (same node, same path: it still opens there); where it does not,
the member is left out — the path stays unset — and the path is reported as needing a secret.
Never an error, never a stored mask. In a list a mask is an ordinary string (lists are leaves
and never hold secrets), as in the writes.
"""

from __future__ import annotations

from typing import Any

from config_service.kit.pointer import ABSENT
from config_service.kit.secret_leaves import MASK, SECRET_KEY, is_envelope, pointer_of


def is_mask(value: Any) -> bool:
    if isinstance(value, str):
        return value == MASK
    return isinstance(value, dict) and len(value) == 1 and value.get(SECRET_KEY) == MASK


def resolve_masks(config: dict[str, Any], current: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the new own config in stored form, the JSON Pointers of masks the target cannot fill).

    `config` is not changed; the result shares every object without a mask below it."""
    missing: list[str] = []
    return _resolve(config, current, [], missing), missing


def _resolve(value: dict[str, Any], current: Any, tokens: list[str], missing: list[str]) -> dict[str, Any]:
    result: dict[str, Any] | None = None
    for key, child in value.items():
        held = current.get(key, ABSENT) if isinstance(current, dict) else ABSENT
        if is_mask(child):
            if is_envelope(held):
                replacement = held
            else:
                replacement = ABSENT
                missing.append(pointer_of([*tokens, key]))
        elif isinstance(child, dict) and SECRET_KEY not in child:
            replacement = _resolve(child, held, [*tokens, key], missing)
            if replacement is child:
                continue
        else:
            continue
        if result is None:
            result = dict(value)
        if replacement is ABSENT:
            del result[key]
        else:
            result[key] = replacement
    return value if result is None else result
