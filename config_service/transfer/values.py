"""PURE: what a parsed document may hold (DESIGN §6 limits, for a whole import document).

JSON and YAML readers hand back Python values; this walk refuses, with the JSON Pointer of the
first offender, what JSON cannot carry faithfully — by the same rules and words as every other
client JSON (`kit.jsondoc.text_problem`, `number_problem`): numbers whose value is an integer
outside ±(2^53−1) in any notation and non-finite numbers (I-JSON, RFC 7493: a browser or a Go
client would round or refuse them), text holding U+0000 (PostgreSQL's JSONB cannot store it) or
a lone surrogate (not text at all) — and, what only a document reader can see, duplicate keys
the JSON reader marked and any non-JSON type. It is iterative: the depth of the value is bounded
by the readers, not by the Python stack.
"""

from __future__ import annotations

from typing import Any

from config_service.kit.jsondoc import NUMBER_MESSAGE, escape_token, number_problem, shown_key, text_problem


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
                problem = text_problem(key)
                if problem is not None:
                    return where.pointer() + "/" + shown_key(key), problem
                stack.append((child, _Where(where, key)))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                stack.append((child, _Where(where, str(index))))
        elif isinstance(node, str):
            problem = text_problem(node)
            if problem is not None:
                return where.pointer(), problem
        elif node is None or isinstance(node, bool):
            continue
        elif isinstance(node, int | float):
            problem = number_problem(node)
            if problem is not None:
                return where.pointer(), problem
        elif isinstance(node, LongInteger):
            return where.pointer(), NUMBER_MESSAGE
        else:
            return where.pointer(), f"a {type(node).__name__} is not a JSON value"
    return None
