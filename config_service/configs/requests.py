"""Turning a write request (any of the accepted media types and forms) into a Change.

Every form takes exactly its documented members (DESIGN §2): anything else is 422 naming it. The
peer service's legacy forms are two of them: `PUT …/config {"patch": <merge patch>, "reason"?}`
means PATCH, and its answer carries `http.DEPRECATION_HEADERS`; `PATCH /config/me` also takes the
peer agent's `"merge": true` (a PATCH always merges: `false` is 422) (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from config_service.configs.changes import Change, JsonPatch, MergePatch, Replace
from config_service.errors import InvalidConfig, InvalidRequest, UnsupportedMediaType
from config_service.http import json_body, media_type, optional_reason, refuse_unknown

MERGE_TYPES = {"application/json", "application/merge-patch+json"}
JSON_PATCH_TYPE = "application/json-patch+json"
WRITE_FIELDS = frozenset({"config", "reason"})
LEGACY_PUT_FIELDS = frozenset({"patch", "reason"})
LEGACY_MERGE_FLAG = "merge"  # the peer agent's PATCH /config/me sends "merge": true
CONFIG_KEYS = ("config", "patch")  # members holding a config (`patch`: the legacy PUT form)


@dataclass(frozen=True)
class WriteRequest:
    change: Change
    reason: str | None
    legacy: bool = False


async def _object_body(request: Request) -> dict[str, Any]:
    """A `{"config": …}` (or legacy `{"patch": …}`) body. What the parser refuses inside the config
    is named by its path in the config, as every other config problem is (`invalid_config`)."""
    body = await json_body(request, configs=CONFIG_KEYS)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object {\"config\": …, \"reason\": …}", path="")
    return body


def _config_object(body: dict[str, Any], key: str = "config") -> dict[str, Any]:
    if key not in body:
        raise InvalidRequest(f"the body needs a '{key}' object", path=f"/{key}")
    value = body[key]
    if not isinstance(value, dict):
        raise InvalidConfig(f"'{key}' must be a JSON object", path=f"/{key}")
    return value


async def parse_patch(request: Request, *, legacy_merge_flag: bool = False) -> WriteRequest:
    """A PATCH body by media type. `legacy_merge_flag` (only `PATCH /config/me`) also accepts the
    peer agent's `"merge": true`."""
    kind = media_type(request)
    if kind == JSON_PATCH_TYPE:
        ops = await json_body(request)
        if not isinstance(ops, list):
            raise InvalidRequest("a JSON Patch body is an array of operations", path="")
        reason = optional_reason(request.headers.get("x-change-reason"), path="X-Change-Reason")
        return WriteRequest(JsonPatch(ops), reason)
    if kind not in MERGE_TYPES:
        raise UnsupportedMediaType(
            f"PATCH takes application/json, application/merge-patch+json or {JSON_PATCH_TYPE}, not {kind}"
        )
    body = await _object_body(request)
    refuse_unknown(body, WRITE_FIELDS | {LEGACY_MERGE_FLAG} if legacy_merge_flag else WRITE_FIELDS)
    if LEGACY_MERGE_FLAG in body and body[LEGACY_MERGE_FLAG] is not True:
        raise InvalidRequest("merge must be true: a PATCH always merges (PUT replaces)", path="/merge")
    return WriteRequest(MergePatch(_config_object(body)), optional_reason(body.get("reason")))


def put_with_patch(body: dict[str, Any]) -> MergePatch | None:
    """`PUT …/config {"patch": <merge patch>}` means PATCH; None when the body is a canonical PUT."""
    if "patch" not in body:
        return None
    if "config" in body:
        raise InvalidRequest("give 'config' (replace) or the legacy 'patch' (merge), not both", path="/patch")
    refuse_unknown(body, LEGACY_PUT_FIELDS)
    patch = body["patch"]
    if not isinstance(patch, dict):
        raise InvalidConfig("'patch' must be a JSON object", path="/patch")
    return MergePatch(patch)


async def parse_put(request: Request) -> WriteRequest:
    kind = media_type(request)
    if kind not in MERGE_TYPES:
        raise UnsupportedMediaType(f"PUT takes application/json, not {kind}")
    body = await _object_body(request)
    legacy_patch = put_with_patch(body)
    reason = optional_reason(body.get("reason"))
    if legacy_patch is not None:
        return WriteRequest(legacy_patch, reason, legacy=True)
    refuse_unknown(body, WRITE_FIELDS)
    return WriteRequest(Replace(_config_object(body)), reason)
