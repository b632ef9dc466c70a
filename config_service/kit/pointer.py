"""RFC 6901 JSON Pointers over plain dicts, with an explicit ABSENT marker."""

from __future__ import annotations

import copy
from typing import Any

from jsonpointer import JsonPointer, JsonPointerException


class _Absent:
    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


class InvalidPointer(ValueError):
    pass


def parse_pointer(pointer: str) -> list[str]:
    """Tokens of a JSON Pointer; the empty pointer (the whole document) is refused here."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise InvalidPointer(f"{pointer!r} is not a JSON Pointer (it must start with '/')")
    try:
        return list(JsonPointer(pointer).parts)
    except JsonPointerException as exc:
        raise InvalidPointer(str(exc)) from exc


def get_path(document: Any, tokens: list[str]) -> Any:
    """The value at `tokens` in nested objects, or ABSENT. Lists are leaves (not traversed)."""
    node = document
    for token in tokens:
        if not isinstance(node, dict) or token not in node:
            return ABSENT
        node = node[token]
    return node


def restore_path(target: dict[str, Any], tokens: list[str], source: dict[str, Any]) -> None:
    """Make `target` hold what `source` holds at `tokens` (value or absence).

    `target` itself is changed; every object below it on the path is replaced by a copy
    before it is changed (its original may be shared with other documents). Where an
    intermediate in `target` is not an object, it takes `source`'s value at that prefix
    whole: a locked value survives any shape a lower layer gave its parents.
    """
    node: Any = target
    src: Any = source
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        src_child = src.get(token, ABSENT) if isinstance(src, dict) else ABSENT
        if last:
            if src_child is ABSENT:
                node.pop(token, None)
            else:
                node[token] = copy.deepcopy(src_child)
            return
        child = node.get(token, ABSENT)
        if not isinstance(child, dict):
            if src_child is ABSENT:
                node.pop(token, None)
            else:
                node[token] = copy.deepcopy(src_child)
            return
        child = dict(child)
        node[token] = child
        node = child
        src = src_child
