"""PURE: the ways a write turns the current own config into a new one (DESIGN §6)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import jsonpatch

from config_service.configs.merge import merge


class ChangeError(ValueError):
    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class TestFailed(ChangeError):
    """A JSON Patch `test` op did not hold."""

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class MergePatch:
    """RFC 7396 onto the own config: `null` deletes the key (the inherited value shows again)."""

    patch: dict[str, Any]
    action: str = "config.written"

    def apply(self, own: dict[str, Any]) -> dict[str, Any]:
        return merge(own, self.patch)


@dataclass(frozen=True)
class JsonPatch:
    """RFC 6902 onto the own config: `add` with `null` stores a tombstone; `test` conditions."""

    ops: list[Any]
    action: str = "config.written"

    def apply(self, own: dict[str, Any]) -> dict[str, Any]:
        for index, op in enumerate(self.ops):
            if not isinstance(op, dict) or not isinstance(op.get("op"), str) or not isinstance(op.get("path"), str):
                raise ChangeError(f"operation {index} needs string 'op' and 'path'", f"/{index}")
        try:
            patch = jsonpatch.JsonPatch(self.ops)
            result = patch.apply(copy.deepcopy(own), in_place=False)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise TestFailed(f"test operation failed: {exc}") from None
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise ChangeError(f"JSON Patch cannot be applied: {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise ChangeError(f"JSON Patch cannot be applied: {exc}") from None
        if not isinstance(result, dict):
            raise ChangeError("the config must stay a JSON object", "")
        return result


@dataclass(frozen=True)
class Replace:
    """PUT: the own config becomes this object; `null` values are stored as tombstones."""

    config: dict[str, Any]
    action: str = "config.written"

    def apply(self, own: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(self.config)


@dataclass(frozen=True)
class Rollback:
    """The own config becomes version N's content (as a new version)."""

    version: int
    restore_secrets: bool = False
    action: str = "config.rolled_back"


Change = MergePatch | JsonPatch | Replace | Rollback
