"""Turning a write request (any of the accepted media types and forms) into a Change."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from config_service.compat import legacy
from config_service.configs.changes import Change, JsonPatch, MergePatch, Replace
from config_service.errors import InvalidConfig, InvalidRequest, UnsupportedMediaType
from config_service.http import json_body, media_type, optional_reason

MERGE_TYPES = {"application/json", "application/merge-patch+json"}
JSON_PATCH_TYPE = "application/json-patch+json"
CONFIG_KEYS = ("config", "patch")  # `patch`: the legacy PUT form


@dataclass(frozen=True)
class WriteRequest:
    change: Change
    reason: str | None
    legacy: bool = False


async def _object_body(request: Request) -> dict:
    """A `{"config": …}` (or legacy `{"patch": …}`) body. What the parser refuses inside the config
    is named by its path in the config, as every other config problem is (`invalid_config`)."""
    body = await json_body(request, configs=CONFIG_KEYS)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object {\"config\": …, \"reason\": …}", path="")
    return body


def _config_object(body: dict, key: str = "config") -> dict:
    if key not in body:
        raise InvalidRequest(f"the body needs a '{key}' object", path=f"/{key}")
    value = body[key]
    if not isinstance(value, dict):
        raise InvalidConfig(f"'{key}' must be a JSON object", path=f"/{key}")
    return value


async def parse_patch(request: Request) -> WriteRequest:
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
    return WriteRequest(MergePatch(_config_object(body)), optional_reason(body.get("reason")))


async def parse_put(request: Request) -> WriteRequest:
    kind = media_type(request)
    if kind not in MERGE_TYPES:
        raise UnsupportedMediaType(f"PUT takes application/json, not {kind}")
    body = await _object_body(request)
    reason = optional_reason(body.get("reason"))
    legacy_patch = legacy.put_with_patch(body)
    if legacy_patch is not None:
        return WriteRequest(legacy_patch, reason, legacy=True)
    return WriteRequest(Replace(_config_object(body)), reason)
