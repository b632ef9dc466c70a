"""PURE: what run and tool-call data may hold, and the secrets it must not (DESIGN §9).

Agents report what they saw — messages, tool inputs and outputs — and that can include a
credential their config handed them. Before any of it is stored: a `{"$secret": …}` request
anywhere is refused (run data is not config: nothing would seal it), and every exact copy of
one of the lineage's secret values is replaced by the mask. The secret values come from the
caller and never leave these functions except as the mask.
"""

from __future__ import annotations

from typing import Any

from config_service.errors import InvalidRequest
from config_service.kit import jsondoc
from config_service.kit.jsondoc import escape_token
from config_service.kit.secret_leaves import MASK, SECRET_KEY

# Shorter values would mask ordinary words (a secret "true" or "1234" is not worth hiding in text).
MIN_MASKED_LENGTH = 4


def check_data(value: Any, where: str) -> None:
    """422 (naming the JSON Pointer under `where`) for nesting past the config limits, a NUL
    character, or a `{"$secret": …}` object anywhere in `value`."""
    problem = jsondoc.find_shape_problem(value)
    if problem is not None:
        path, message = problem
        raise InvalidRequest(f"{where}{path}: {message}", path=f"{where}{path}")
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:  # iterative; the depth is bounded above anyway
        node, path = stack.pop()
        if isinstance(node, dict):
            if SECRET_KEY in node:
                raise InvalidRequest(
                    f"{path or '/'}: run and tool-call data cannot hold {{\"{SECRET_KEY}\": …}} (it is never sealed)",
                    path=path,
                )
            stack.extend((child, f"{path}/{escape_token(key)}") for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, f"{path}/{index}") for index, child in enumerate(node))


def secret_values(plaintexts: list[str]) -> tuple[str, ...]:
    """The values worth masking, longest first (so a secret that contains another is masked whole)."""
    return tuple(sorted({p for p in plaintexts if len(p) >= MIN_MASKED_LENGTH}, key=lambda p: (-len(p), p)))


def mask_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_copies(value: Any, secrets: tuple[str, ...]) -> Any:
    """A copy of `value` (JSON) with every exact occurrence of a secret inside any string — object
    keys included — replaced by the mask. `secrets` come from `secret_values`."""
    if not secrets:
        return value
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, dict):
        return {mask_text(key, secrets): mask_copies(child, secrets) for key, child in value.items()}
    if isinstance(value, list):
        return [mask_copies(child, secrets) for child in value]
    return value
