"""The OpenAPI document: FastAPI's, with the problem+json error answers documented once for every
operation (DESIGN §7), so that a client — or a schema-driven fuzzer — can hold every answer to it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from config_service.http import API_PREFIX

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `path` names the JSON Pointer (or parameter) at fault, "
    "`holder` the node holding a routing identifier, `current` the current validator of a 412.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "path": {"type": "string"},
    },
    "additionalProperties": True,
}

# Every API operation may answer these (a body it cannot parse, a token it refuses, a resource or
# precondition that does not hold, a limit): one list, rather than one per route that drifts.
API_PROBLEMS = {
    400: "Invalid JSON (`invalid_json`)",
    401: "No valid token (`unauthenticated`)",
    403: "Not allowed (`forbidden`, `insufficient_scope`, `locked_path`)",
    404: "No such resource (`not_found`)",
    408: "The request's body stopped coming (`request_timeout`); the connection is closed",
    409: "Conflicts with the current state (`conflict`, `cycle`, `has_children`, `routing_conflict`, …)",
    412: "`If-Match` does not hold (`precondition_failed`)",
    413: "Body or config too large (`payload_too_large`)",
    415: "Unsupported media type (`unsupported_media_type`)",
    431: "The request head is too large (`request_header_too_large`); the connection is closed",
    422: "Invalid request or config (`invalid_request`, `invalid_config`, …), `path` naming where",
    428: "A precondition is required (`precondition_required`)",
    429: "Too many requests (`rate_limited`), with `Retry-After`",
    503: "The database or a capacity is unavailable for now (`unavailable`), with `Retry-After`",
}
# FastAPI documents its own 422 shape, which this service never sends.
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _problem_answer(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app` (built once)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        components.pop(name, None)
    components["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        if API_PREFIX + "/" not in path:
            continue  # /health, /ready, /metrics document their own answers; the compat mount's
            # translated routes (/compat/incidentfox/api/v1/…) answer problems like the API
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status, description in API_PROBLEMS.items():
                responses[str(status)] = _problem_answer(description)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
