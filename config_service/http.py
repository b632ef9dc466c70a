"""Small HTTP helpers shared by the routers: fast JSON responses, and the one way client input
comes in — every JSON body through one parser, every parameter checked (DESIGN §6, §7)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine, Sequence
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from config_service.errors import AppError, InvalidConfig, InvalidJson, InvalidRequest, UnsupportedMediaType
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
    """The body's media type, lower case without parameters; none (or an empty header) means JSON."""
    return (request.headers.get("content-type", "").split(";")[0].strip() or "application/json").lower()


def client_json(raw: bytes, configs: tuple[str, ...] = ()) -> Any:
    """A client's JSON document: 400 if it is not JSON, 422 naming the path of what cannot be kept
    exactly as sent (I-JSON: NUL, lone surrogates, NaN, Infinity, integers beyond ±(2^53−1)) and
    of nesting no parser should follow.

    `configs`: top-level keys holding a config; a problem inside one is `invalid_config` named by
    its path in that config, as every other config problem is.
    """
    if not raw.strip():
        raise InvalidJson("the request body is empty; a JSON document is required")
    try:
        return jsondoc.parse(raw)
    except jsondoc.JsonTooDeep:
        raise InvalidConfig(f"JSON nested deeper than {jsondoc.MAX_JSON_NESTING} levels", path="") from None
    except jsondoc.NotInteroperable as exc:
        raise _unstorable(exc, configs) from None
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


def _unstorable(exc: jsondoc.NotInteroperable, configs: tuple[str, ...]) -> AppError:
    for key in configs:
        if exc.path == f"/{key}" or exc.path.startswith(f"/{key}/"):
            inside = exc.path[len(key) + 1:]
            return InvalidConfig(f"config at {inside or '/'}: {exc.message}", path=inside)
    return InvalidRequest(f"{exc.path or '/'}: {exc.message}", path=exc.path)


async def json_body(request: Request, configs: tuple[str, ...] = ()) -> Any:
    """The request body as JSON (`client_json`); a body labelled as another media type is 415."""
    raw = await request.body()
    if raw:
        refuse_non_json(request)
    return client_json(raw, configs)


class ClientInputRequest(Request):
    """A request whose JSON body, when FastAPI reads one for a body model, goes through `client_json`
    (Starlette's `json.loads` would let NaN, huge integers and lone surrogates through)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = client_json(await self.body())
        return self._json


def refuse_unstorable_parameters(request: Request) -> None:
    """Path and query parameters reach `text` columns too: no NUL, no lone surrogate (422 naming it)."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if isinstance(value, str):
            problem = jsondoc.find_unstorable(value, lenient=True)
            if problem is not None:
                raise InvalidRequest(f"{name}: {problem[1]}", path=name)


def is_json_media_type(kind: str) -> bool:
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def refuse_non_json(request: Request) -> None:
    """A JSON route's body labelled as another media type is 415 (no Content-Type reads as JSON)."""
    kind = media_type(request)
    if not is_json_media_type(kind):
        raise UnsupportedMediaType(f"this route takes application/json, not {kind}")


def refuse_other_media_types(request: Request) -> None:
    """A route that reads a JSON body model: a body labelled as something else is 415, not a 422
    about the shape FastAPI made of its bytes."""
    if request.headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in request.headers:
        refuse_non_json(request)


class ClientInputRoute(APIRoute):
    """Every route of the API: client input is checked in one place before any handler sees it.

    FastAPI turns any error raised while it reads a body into a bare 400; the parser's own
    problem (400 or 422 with its path) and a client that went away mid-body come through instead.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        takes_json_model = self.body_field is not None

        async def checked(request: Request) -> Response:
            refuse_unstorable_parameters(request)
            if takes_json_model:
                refuse_other_media_types(request)
            try:
                return await handler(ClientInputRequest(request.scope, request.receive))
            except HTTPException as exc:
                if isinstance(exc.__cause__, AppError | ClientDisconnect):
                    raise exc.__cause__ from None
                raise

        return checked


def optional_reason(value: Any, path: str = "/reason") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidRequest("reason must be a string of at most 2000 characters", path=path)
    return value


def body_doc(model: type[BaseModel], media: str = "application/json") -> dict[str, Any]:
    """`openapi_extra` documenting a body a route parses itself (through `json_body`) as `model`."""
    return {"requestBody": {"required": True, "content": {media: {"schema": inline_schema(model)}}}}


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
