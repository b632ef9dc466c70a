"""Small HTTP helpers shared by the routers: fast JSON responses and client-JSON bodies."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson
from fastapi import Request, Response
from pydantic import BaseModel

from config_service.errors import InvalidConfig, InvalidJson, InvalidRequest
from config_service.kit import jsondoc

API_PREFIX = "/api/v1"  # every router but the operational one (/health, /ready, /metrics) is mounted here
# on answers to the peer service's legacy request forms and read aliases (DESIGN §6)
DEPRECATION_HEADERS = {
    "Deprecation": "true",
    "Link": '</docs/API.md>; rel="deprecation"',
}


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=orjson.dumps(to_jsonable(value)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def json_body(request: Request) -> Any:
    """The request body as JSON: 400 for invalid JSON, 422 for nesting no parser should follow."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidJson("the request body is empty; a JSON document is required")
    try:
        return jsondoc.parse(raw)
    except jsondoc.JsonTooDeep:
        raise InvalidConfig(f"JSON nested deeper than {jsondoc.MAX_JSON_NESTING} levels", path="") from None
    except jsondoc.JsonParseError as exc:
        raise InvalidJson(f"the request body is not valid JSON: {exc}") from None


def unknown_fields(paths: Sequence[str], allowed: Collection[str] | None = None) -> InvalidRequest:
    """422 for body members no form of the request defines (DESIGN §2: a misspelt field is never
    ignored), naming each (`paths`: their JSON Pointers); `path` is the first."""
    names = ", ".join(repr(p.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")) for p in paths)
    detail = f"unknown field{'s' if len(paths) > 1 else ''} {names}"
    if allowed is not None:
        detail += f" (this body takes: {', '.join(sorted(allowed))})"
    return InvalidRequest(detail, path=paths[0])


def refuse_unknown(body: dict[str, Any], allowed: Collection[str]) -> None:
    """Raise `unknown_fields` for the members of a hand-parsed body outside `allowed`."""
    unknown = [key for key in body if key not in allowed]
    if unknown:
        raise unknown_fields(["/" + jsondoc.escape_token(key) for key in unknown], allowed)


def optional_reason(value: Any, path: str = "/reason") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidRequest("reason must be a string of at most 2000 characters", path=path)
    return value


def quoted(tag: str) -> str:
    return f'"{tag}"'


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON Schema with its `$defs` written in place, for `openapi_extra`: pydantic's
    `#/$defs/…` references would otherwise point at the root of the OpenAPI document, where
    nothing answers them (ReDoc refuses to render such a document). Models here are not recursive."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(child) for key, child in value.items()}
        if isinstance(value, list):
            return [resolve(child) for child in value]
        return value

    resolved: dict[str, Any] = resolve(schema)
    return resolved
