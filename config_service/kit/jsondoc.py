"""Parsing and checking client JSON so that no input can crash the service (DESIGN §6 limits)."""

from __future__ import annotations

from typing import Any

import orjson

MAX_JSON_NESTING = 32
MAX_KEY_LENGTH = 256
MAX_OWN_CONFIG_BYTES = 256 * 1024
# PostgreSQL's JSONB cannot hold U+0000; refusing it here names the path instead of failing in the database.
NUL_MESSAGE = "the NUL character (\\u0000) cannot be stored"


class JsonParseError(ValueError):
    """The bytes are not JSON."""


class JsonTooDeep(ValueError):
    """Valid-looking JSON nested deeper than the parser accepts."""


def parse(raw: bytes) -> Any:
    """Parse bytes as JSON. orjson refuses nesting beyond 1024 levels with an error, never a crash."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):
            raise JsonTooDeep("JSON nested too deeply") from exc
        raise JsonParseError(str(exc)) from exc


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def canonical(value: Any) -> bytes:
    """Deterministic bytes for hashing: sorted keys, no whitespace."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def encoded_size(value: Any) -> int:
    return len(orjson.dumps(value))


def find_shape_problem(value: Any, *, max_depth: int = MAX_JSON_NESTING) -> tuple[str, str] | None:
    """First (JSON Pointer, message) that breaks the nesting or key-length limit, else None.

    Iterative, so depth is bounded by the explicit check rather than the Python stack.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                return path or "/", f"nesting deeper than {max_depth} levels"
            for key, child in node.items():
                if len(key) > MAX_KEY_LENGTH:
                    return f"{path}/{escape_token(key[:40])}…", f"key longer than {MAX_KEY_LENGTH} characters"
                if "\x00" in key:
                    return f"{path}/{escape_token(key.replace(chr(0), ''))}", NUL_MESSAGE
                stack.append((child, f"{path}/{escape_token(key)}", depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                return path or "/", f"nesting deeper than {max_depth} levels"
            for index, child in enumerate(node):
                stack.append((child, f"{path}/{index}", depth + 1))
        elif isinstance(node, str) and "\x00" in node:
            return path or "/", NUL_MESSAGE
    return None


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
