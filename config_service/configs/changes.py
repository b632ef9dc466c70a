"""PURE: the ways a write turns the current own config into a new one (DESIGN §6).

Every change checks the shape of what the client sent *before* working on it, so no input can
drive the recursive merge, `copy.deepcopy` or JSON Patch's copy/move into a RecursionError or
into building a document far beyond the limits (a 500, or memory exhaustion).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import jsonpatch
from jsonpointer import JsonPointer, JsonPointerException

from config_service.configs.merge import merge
from config_service.kit import jsondoc


class ChangeError(ValueError):
    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class TestFailed(ChangeError):
    """A JSON Patch `test` op did not hold."""

    __test__ = False  # not a pytest class


class ShapeError(ChangeError):
    """The change would nest deeper than the limit, or holds what cannot be stored (422)."""


class TooLarge(ChangeError):
    """The change would make the own config larger than its limit (413)."""


def _join(base: str, relative: str) -> str:
    return base + ("" if relative == "/" else relative)


def check_shape(value: Any, *, at: str = "", depth_used: int = 0) -> None:
    """Refuse `value`, to be placed `depth_used` levels down at pointer `at`, if it breaks the limits."""
    problem = jsondoc.find_shape_problem(value, max_depth=jsondoc.MAX_JSON_NESTING - depth_used)
    if problem is not None:
        relative, message = problem
        path = _join(at, relative)
        raise ShapeError(f"{path or '/'}: {message}", path)


@dataclass(frozen=True)
class MergePatch:
    """RFC 7396 onto the own config: `null` deletes the key (the inherited value shows again)."""

    patch: dict[str, Any]
    action: str = "config.written"

    def apply(self, own: dict[str, Any]) -> dict[str, Any]:
        # a patch object at depth n always creates an object at depth n: the patch obeys the same limits
        check_shape(self.patch)
        merged: dict[str, Any] = merge(own, self.patch)  # an object merged with an object: an object
        return merged


def _pointer_depth(pointer: Any) -> int | None:
    if not isinstance(pointer, str):
        return None
    try:
        return len(JsonPointer(pointer).parts)
    except JsonPointerException:
        return None


def _resolve(document: Any, pointer: Any) -> Any:
    try:
        return JsonPointer(pointer).resolve(document)
    except (JsonPointerException, TypeError, KeyError, IndexError):
        return None  # the op itself will fail with a proper message


@dataclass(frozen=True)
class JsonPatch:
    """RFC 6902 onto the own config: `add` with `null` stores a tombstone; `test` conditions.

    Ops are applied one by one to a private copy, with the nesting of every value checked
    before it is placed and the size bounded as it grows (copies of the root into itself grow
    the document exponentially). Intermediate documents may exceed the own-config limit (add a
    new value, then remove the old one) up to `max_bytes`; the result is checked by the caller.
    """

    ops: list[Any]
    action: str = "config.written"
    max_bytes: int = 4 * jsondoc.MAX_OWN_CONFIG_BYTES

    def apply(self, own: dict[str, Any]) -> dict[str, Any]:
        for index, op in enumerate(self.ops):
            if not isinstance(op, dict) or not isinstance(op.get("op"), str) or not isinstance(op.get("path"), str):
                raise ChangeError(f"operation {index} needs string 'op' and 'path'", f"/{index}")
        document: Any = copy.deepcopy(own)
        size_bound = jsondoc.encoded_size(document)
        for index, op in enumerate(self.ops):
            added = self._check_op(document, op, index)
            document = self._apply_one(document, op, index)
            if added is not None:
                size_bound += added
                if size_bound > self.max_bytes:
                    size_bound = self._checked_size(document, index)
        if not isinstance(document, dict):
            raise ChangeError("the config must stay a JSON object", "")
        return document

    def _check_op(self, document: Any, op: dict[str, Any], index: int) -> int | None:
        """Check the value an op places; the bytes it may add (None when it adds nothing)."""
        kind = op["op"]
        if kind in ("add", "replace", "test"):
            if "value" not in op:
                return None  # jsonpatch refuses it below
            value = op["value"]
        elif kind in ("copy", "move"):
            value = _resolve(document, op.get("from"))
        else:
            return None
        depth = _pointer_depth(op["path"])
        if depth is None:
            return None
        check_shape(value, at=op["path"], depth_used=depth)
        if kind in ("test", "move"):
            return None
        return jsondoc.encoded_size(value) + len(op["path"]) + 4

    def _checked_size(self, document: Any, index: int) -> int:
        size = jsondoc.encoded_size(document)
        if size > self.max_bytes:
            raise TooLarge(
                f"operation {index} makes the own config {size} bytes; the limit is {self.max_bytes}", f"/{index}"
            )
        return size

    @staticmethod
    def _apply_one(document: Any, op: dict[str, Any], index: int) -> Any:
        try:
            return jsonpatch.JsonPatch([op]).apply(document, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            # never echo the values compared: the stored one may be a sealed secret
            raise TestFailed(f"test operation {index} failed: the value at its path differs", f"/{index}") from None
        except (jsonpatch.JsonPatchException, JsonPointerException, TypeError, ValueError, KeyError, IndexError) as exc:
            # the library's messages quote the document (secrets included): say what, not the content
            raise ChangeError(f"operation {index} ({op['op']} {op['path']!r}) cannot be applied: {_reason(exc)}",
                              f"/{index}") from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, jsonpatch.InvalidJsonPatch):
        return "it is not a valid JSON Patch operation"
    if isinstance(exc, (jsonpatch.JsonPatchConflict, JsonPointerException, KeyError, IndexError)):
        return "its path (or 'from') does not exist in the own config, or conflicts with it"
    return "the operation does not fit the own config"


@dataclass(frozen=True)
class Replace:
    """PUT: the own config becomes this object; `null` values are stored as tombstones."""

    config: dict[str, Any]
    action: str = "config.written"

    def apply(self, own: dict[str, Any]) -> dict[str, Any]:
        check_shape(self.config)
        return copy.deepcopy(self.config)


@dataclass(frozen=True)
class Rollback:
    """The own config becomes version N's content (as a new version)."""

    version: int
    restore_secrets: bool = False
    action: str = "config.rolled_back"


Change = MergePatch | JsonPatch | Replace | Rollback
