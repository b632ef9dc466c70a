"""Parsing and checking client JSON so that no input can crash the service (DESIGN §6 limits)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_JSON_NESTING = 32
MAX_KEY_LENGTH = 256
MAX_OWN_CONFIG_BYTES = 256 * 1024
# I-JSON (RFC 7493): the largest integer every client (a browser, a double) holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1
# PostgreSQL's JSONB cannot hold U+0000; refusing it here names the path instead of failing in the database.
NUL_MESSAGE = "the NUL character (\\u0000) cannot be stored"
SURROGATE_MESSAGE = "a lone UTF-16 surrogate (\\ud800-\\udfff) is not text"
NUMBER_MESSAGE = (
    "a number beyond ±(2^53−1) (I-JSON, RFC 7493) would be rounded by clients; send it as a string"
)
NON_FINITE_MESSAGE = "NaN and Infinity are not JSON numbers"
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOO_LONG = object()  # an integer literal whose digits alone put it beyond MAX_SAFE_INTEGER


class JsonParseError(ValueError):
    """The bytes are not JSON."""


class JsonTooDeep(ValueError):
    """Valid-looking JSON nested deeper than the parser accepts."""


class NotInteroperable(ValueError):
    """JSON that cannot be kept exactly as sent (I-JSON, RFC 7493): where, and why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '/'}: {message}")
        self.path = path
        self.message = message


def parse(raw: bytes) -> Any:
    """The one parser of client JSON: the value exactly as sent, or an error saying why not.

    orjson refuses nesting beyond 1024 levels with an error, never a crash; it also refuses
    `NaN`, `Infinity` and lone surrogates, and turns an integer beyond 64 bits into a rounded
    float. Whatever it refuses is parsed again leniently to name the path of what broke I-JSON;
    whatever it accepts is checked for what PostgreSQL or a client would change.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):
            raise JsonTooDeep("JSON nested too deeply") from exc
        problem = find_unstorable(_lenient(raw, exc), lenient=True)
        if problem is not None:
            raise NotInteroperable(*problem) from None
        raise JsonParseError(str(exc)) from exc
    problem = find_unstorable(value)
    if problem is not None:
        raise NotInteroperable(*problem)
    return value


def _lenient(raw: bytes, error: orjson.JSONDecodeError) -> Any:
    """What Python's parser makes of bytes orjson refused: NaN, ±Infinity, lone surrogates and
    integers of any length pass here, so that their path can be named."""
    try:
        return json.loads(raw, parse_int=_integer)
    except RecursionError:
        raise JsonTooDeep("JSON nested too deeply") from error
    except ValueError:  # JSONDecodeError, and bytes that are not UTF-8
        raise JsonParseError(str(error)) from error


def _integer(literal: str) -> Any:
    return int(literal) if len(literal) <= 20 else _TOO_LONG


def find_unstorable(value: Any, *, lenient: bool = False) -> tuple[str, str] | None:
    """First (JSON Pointer, message) of a value that cannot be kept exactly as sent, else None:
    text holding U+0000 or a lone surrogate (keys too), a number that is NaN, infinite, or an
    integer beyond ±(2^53−1) whatever its notation — PostgreSQL stores `1e16` as the integer
    10000000000000000, which a client would then round. Lone surrogates and non-finite numbers
    only come out of the lenient parser (`lenient=True`). Iterative: any depth is safe.
    """
    problem = _scalar_problem(value, lenient)
    if problem is not None:
        return "", problem
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            if isinstance(key, str):
                problem = text_problem(key, surrogates=lenient)
                if problem is not None:
                    return f"{path}/{shown_key(key)}", problem
                token = escape_token(key)
            else:
                token = str(key)
            if isinstance(child, dict | list):
                stack.append((child, f"{path}/{token}"))
                continue
            problem = _scalar_problem(child, lenient)
            if problem is not None:
                return f"{path}/{token}", problem
    return None


def text_problem(text: str, *, surrogates: bool = True) -> str | None:
    """Why `text` cannot be stored as sent (U+0000, a lone surrogate), else None. orjson never
    yields a lone surrogate: its callers skip that search (`surrogates=False`)."""
    if "\x00" in text:
        return NUL_MESSAGE
    if surrogates and _SURROGATE.search(text):
        return SURROGATE_MESSAGE
    return None


def number_problem(number: int | float) -> str | None:
    """Why a JSON number cannot be kept exactly as sent (I-JSON), else None."""
    if isinstance(number, float):
        if not math.isfinite(number):
            return NON_FINITE_MESSAGE
        # every double beyond 2^53 is an integer, and is stored and served as one
        return NUMBER_MESSAGE if abs(number) > MAX_SAFE_INTEGER else None
    return NUMBER_MESSAGE if not -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER else None


def _scalar_problem(node: Any, lenient: bool) -> str | None:
    kind = type(node)
    if kind is str:
        return text_problem(node, surrogates=lenient)
    if kind is int or kind is float:
        return number_problem(node)
    if node is _TOO_LONG:
        return NUMBER_MESSAGE
    return None


def shown_key(key: str) -> str:
    """A refused key as a path token that can itself be sent: NUL and lone surrogates dropped."""
    return escape_token(_SURROGATE.sub("", key.replace("\x00", "")))


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
                    return f"{path}/{shown_key(key)}", NUL_MESSAGE
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
