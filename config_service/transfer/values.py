"""PURE: what a parsed document may hold (DESIGN §6 limits, for a whole import document).

JSON and YAML readers hand back Python values; this walk refuses, with the JSON Pointer of the
first offender, what JSON cannot carry faithfully: integers outside ±(2^53−1) and non-finite
numbers (I-JSON, RFC 7493: a browser or a Go client would round or refuse them), text holding
U+0000 (PostgreSQL's JSONB cannot store it) or a lone surrogate (not text at all), duplicate
keys the JSON reader marked, and any non-JSON type. It is iterative: the depth of the value is
bounded by the readers, not by the Python stack.
"""

from __future__ import annotations

import math
import re
from typing import Any

from config_service.kit.jsondoc import NUL_MESSAGE, escape_token

MAX_SAFE_INTEGER = 2**53 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")

INTEGER_MESSAGE = "an integer outside ±(2^53−1) cannot be represented exactly (I-JSON, RFC 7493)"
NON_FINITE_MESSAGE = "NaN and Infinity are not JSON numbers"
SURROGATE_MESSAGE = "text holding a lone surrogate (\\ud800–\\udfff) is not valid Unicode"


class LongInteger:
    """An integer literal too long to be worth converting (the JSON reader's stand-in)."""

    __slots__ = ("digits",)

    def __init__(self, digits: str) -> None:
        self.digits = digits


class DuplicateKeys(dict[str, Any]):
    """An object in which the reader met `duplicate` twice (the last value is kept)."""

    __slots__ = ("duplicate",)

    def __init__(self, pairs: list[tuple[str, Any]], duplicate: str) -> None:
        super().__init__(pairs)
        self.duplicate = duplicate


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return NUL_MESSAGE
    if _SURROGATE.search(text) is not None:
        return SURROGATE_MESSAGE
    return None


class _Where:
    """A position in the value: its parent's position and its own token (built only on error)."""

    __slots__ = ("parent", "token")

    def __init__(self, parent: _Where | None, token: str) -> None:
        self.parent = parent
        self.token = token

    def pointer(self) -> str:
        tokens: list[str] = []
        here: _Where | None = self
        while here is not None and here.parent is not None:
            tokens.append(escape_token(here.token))
            here = here.parent
        return "".join("/" + t for t in reversed(tokens))


def find_value_problem(value: Any) -> tuple[str, str] | None:
    """(JSON Pointer, message) of the first value JSON cannot carry, else None."""
    top = _Where(None, "")
    stack: list[tuple[Any, _Where]] = [(value, top)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            duplicate = getattr(node, "duplicate", None)
            if duplicate is not None:
                return _Where(where, duplicate).pointer(), f"the key {duplicate!r} appears more than once"
            for key, child in node.items():
                if not isinstance(key, str):
                    return where.pointer(), "object keys must be strings"
                problem = _text_problem(key)
                here = _Where(where, key)
                if problem is not None:
                    return _Where(where, _SURROGATE.sub("", key.replace("\x00", ""))).pointer(), problem
                stack.append((child, here))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                stack.append((child, _Where(where, str(index))))
        elif isinstance(node, str):
            problem = _text_problem(node)
            if problem is not None:
                return where.pointer(), problem
        elif node is None or isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if not -MAX_SAFE_INTEGER <= node <= MAX_SAFE_INTEGER:
                return where.pointer(), INTEGER_MESSAGE
        elif isinstance(node, float):
            if not math.isfinite(node):
                return where.pointer(), NON_FINITE_MESSAGE
        elif isinstance(node, LongInteger):
            return where.pointer(), INTEGER_MESSAGE
        else:
            return where.pointer(), f"a {type(node).__name__} is not a JSON value"
    return None
