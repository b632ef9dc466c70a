"""create_app(): lifespan, routers, error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from config_service import __version__
from config_service.audit.endpoints import router as audit_router
from config_service.auth.endpoints import router as auth_router
from config_service.auth.named import NamedCallers
from config_service.auth.throttle import AuthThrottle
from config_service.compat import mount
from config_service.compat.endpoints import router as compat_router
from config_service.configs.endpoints import admin_router as config_admin_router
from config_service.configs.endpoints import team_router as config_team_router
from config_service.configs.states import PrefixCache
from config_service.context import AppContext
from config_service.db.engine import Database, make_engine
from config_service.errors import AppError, InvalidJson, InvalidRequest, NotFound, ServiceUnavailable
from config_service.http import API_PREFIX, unknown_fields
from config_service.insight.endpoints import admin_router as insight_admin_router
from config_service.insight.endpoints import team_router as insight_team_router
from config_service.integrations.endpoints import router as integrations_router
from config_service.keys import ConfigKeys
from config_service.kit.etag import etag_key
from config_service.kit.jsondoc import escape_token
from config_service.live.endpoints import router as live_router
from config_service.live.fastpath import CachedReadFastPath
from config_service.live.hub import Hub
from config_service.live.quotas import WatcherLimits, WatcherQuotas
from config_service.live.service import Live
from config_service.openapi import install as install_openapi
from config_service.ops import metrics
from config_service.ops.endpoints import router as ops_router
from config_service.ops.limits import IssueBudget
from config_service.ops.logging import access_log
from config_service.ops.middleware import CLIENT_CLOSED_REQUEST, BodyLimit, RequestMiddleware
from config_service.orgs.endpoints import router as orgs_router
from config_service.routing.endpoints import admin_router as routing_admin_router
from config_service.routing.endpoints import router as routing_router
from config_service.runs.endpoints import router as runs_router
from config_service.secrets.service import Vault
from config_service.settings import Settings
from config_service.tokens.endpoints import router as tokens_router
from config_service.tokens.service import LastUsedRecorder, Peppers
from config_service.transfer.endpoints import IMPORT_PATH
from config_service.transfer.endpoints import router as transfer_router
from config_service.web.endpoints import router as web_router

log = logging.getLogger(__name__)

DESCRIPTION = """Hierarchical, multi-tenant configuration for AI agent platforms.

Orgs are trees; each node has its own JSON config; a node's **effective config** is the
RFC 7396 merge of the own configs along its lineage, root first. Every change is versioned,
audited and can be rolled back. Errors are `application/problem+json` with a `code`.
"""


# mounted at API_PREFIX, in this order (ops_router, at the root, comes first)
API_ROUTERS = (
    auth_router,
    orgs_router,
    config_team_router,
    config_admin_router,
    tokens_router,
    audit_router,
    compat_router,
    runs_router,
    routing_router,
    routing_admin_router,
    live_router,
    insight_team_router,
    insight_admin_router,
    integrations_router,
    transfer_router,
)


def problem_response(error: AppError, request: Request | None = None) -> Response:
    headers = dict(error.headers)
    if error.status in (401, 403):
        metrics.AUTH_FAILURES.labels(str(error.status), error.code).inc()
        log.warning(
            "access refused",
            extra={"status": error.status, "code": error.code, "path": request.url.path if request else None},
        )
    return Response(
        orjson.dumps(error.body()), status_code=error.status, media_type="application/problem+json", headers=headers
    )


def _location(loc: tuple[Any, ...]) -> str:
    parts = [escape_token(str(p)) for p in loc if p not in ("body",)]
    if loc and loc[0] in ("query", "path", "header"):
        return ".".join(str(p) for p in loc[1:])
    return "/" + "/".join(parts) if parts else ""


def _validation_problem(errors: Sequence[Mapping[str, Any]]) -> AppError:
    for err in errors:
        if err.get("type") == "json_invalid":
            return InvalidJson("the request body is not valid JSON")
    # an unknown member is named first: a misspelt field is usually why another one is missing
    extra = [_location(tuple(e.get("loc", ()))) for e in errors if e.get("type") == "extra_forbidden"]
    if extra:
        return unknown_fields(extra)
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    path = _location(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid request"))
    return InvalidRequest(f"{path or 'request'}: {message}", path=path)


# The last resort for a value validation let through (never the statement or its parameters): the
# fuzzer counts every answer carrying it as a finding, since the request's own check should have
# named the value's path.
DATABASE_REFUSED_DETAIL = "the request holds a value the database cannot store (out of range or not storable text)"


def database_problem(exc: DBAPIError | psycopg.Error) -> AppError:
    """A database error as a problem, never with the statement or its parameters. The hot-path
    statements of db/raw.py raise psycopg's own errors, the others SQLAlchemy's wrapping of them.

    SQLSTATE class 22 ("data exception": a number out of range, a NUL character in text or
    JSON, …) can only come from a value the client sent that validation let through: 422.
    A lost or refused connection is the service's trouble, not the client's: 503.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(orig, psycopg.errors.DataError):
        log.warning("database refused a value", extra={"sqlstate": sqlstate, "error": type(orig).__name__})
        return InvalidRequest(DATABASE_REFUSED_DETAIL)
    if invalidated or isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError):
        log.error("database unavailable", extra={"sqlstate": sqlstate, "error": type(orig).__name__})
        return ServiceUnavailable("the database is unavailable; retry later", headers={"Retry-After": "5"})
    log.error("unhandled database error", extra={"sqlstate": sqlstate, "error": type(orig).__name__})
    return AppError("an internal error occurred; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(_validation_problem(list(exc.errors())), request)

    @app.exception_handler(ValidationError)
    async def model_validation(request: Request, exc: ValidationError) -> Response:
        return problem_response(_validation_problem(list(exc.errors())), request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return problem_response(NotFound("no such route"), request)
        if exc.status_code == 400:  # FastAPI could not parse a body it was to validate
            return problem_response(InvalidJson("the request body could not be parsed as JSON"), request)
        error = AppError(str(exc.detail), headers=dict(exc.headers or {}))  # 405 keeps its `Allow`
        error.status = exc.status_code
        error.code = "method_not_allowed" if exc.status_code == 405 else "http_error"
        error.title = str(exc.detail)
        return problem_response(error, request)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        return problem_response(database_problem(exc), request)

    @app.exception_handler(psycopg.Error)
    async def driver_error(request: Request, exc: psycopg.Error) -> Response:
        return problem_response(database_problem(exc), request)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # Nobody is left to read an answer: the status only tells the access log and the metrics
        # that the client aborted (nginx's 499), not that the service failed.
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__))
        return problem_response(AppError("an internal error occurred; it has been logged"), request)


def _required(value: str | None, name: str) -> str:
    if not value:
        raise RuntimeError(f"{name} is not set: settings must be complete (Settings.check) before the app starts")
    return value


def build_context(settings: Settings) -> AppContext:
    database_url = _required(settings.database_url, "DATABASE_URL")
    secrets_key = _required(settings.secret("secrets_key"), "SECRETS_KEY")
    db = Database(make_engine(database_url, pool_size=settings.db_pool_size))
    keys = ConfigKeys(
        etag_key=etag_key(secrets_key),
        vault=Vault.from_settings(secrets_key, settings.secret("secrets_key_previous")),
        prefixes=PrefixCache(enabled=settings.cache_enabled),
    )
    return AppContext(
        settings=settings,
        db=db,
        peppers=Peppers(_required(settings.secret("token_pepper"), "TOKEN_PEPPER"),
            settings.secret("token_pepper_previous")),
        keys=keys,
        # caches, change feed and watchers (DESIGN §10); LISTEN on a direct connection
        live=Live.create(
            db, keys, settings.listen_database_url or database_url, cache_enabled=settings.cache_enabled,
            hub=Hub(WatcherQuotas(WatcherLimits.from_settings(settings))),  # the watcher caps, per org too
        ),
        last_used=LastUsedRecorder(),
        admin_token=_required(settings.secret("admin_token"), "ADMIN_TOKEN"),
        internal_token=settings.secret("internal_service_token"),
        named_callers=named_callers(settings),
        issuing=IssueBudget.from_settings(settings),
        auth_throttle=AuthThrottle.from_settings(settings),
    )


def named_callers(settings: Settings) -> NamedCallers | None:
    """The opt-in named internal callers (DESIGN §4), None while INTERNAL_SERVICE_NAMES is empty."""
    if not settings.named_callers_enabled:
        return None
    return NamedCallers(frozenset(settings.internal_service_names), settings.trusted_networks())


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app. `settings` must be complete (database URL and keys resolved)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = build_context(settings)
        app.state.ctx = ctx
        if ctx.named_callers is not None:  # names and networks are not secrets; say it at every start
            log.warning(
                "named internal callers enabled: a bare X-Internal-Service name from these networks may look "
                "up routes, record runs and tool calls, and time out stale runs",
                extra={"names": sorted(ctx.named_callers.names),
                       "networks": [str(n) for n in ctx.named_callers.networks]},
            )
        await ctx.live.start()
        # What exists now lives as long as the process: keep it out of the collector's full
        # passes, which otherwise pause the event loop for tens of milliseconds under load.
        gc.collect()
        gc.freeze()
        # Most of a request's objects are freed by reference counting; the young generation is
        # collected every 10,000 allocations rather than 700, which cuts the collector's CPU
        # under load by four fifths without growing memory (measured: docs/PERFORMANCE.md).
        gc.set_threshold(10_000, 10, 10)
        flusher = asyncio.create_task(ctx.last_used.run(ctx.db, settings.last_used_flush_seconds))
        try:
            yield
        finally:
            await ctx.live.stop()
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            with contextlib.suppress(Exception):
                await ctx.last_used.flush_in(ctx.db)
            await ctx.db.dispose()
            access_log.flush()

    app = FastAPI(
        title="Config Service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # /docs and /redoc come from web_router, with assets served locally
        redoc_url=None,
    )
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(CachedReadFastPath)  # inside RequestMiddleware: ids, metrics and logs still apply
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        # a whole org's document: the one route with a limit of its own (DESIGN §12.4), also
        # where the compat mount serves the API again
        body_limits=[
            BodyLimit("POST", prefix + IMPORT_PATH, settings.import_max_bytes) for prefix in (API_PREFIX, mount.MOUNT)
        ],
        body_timeout=settings.body_timeout_seconds,  # a stalled body: 408 (slow clients, docs/SECURITY.md)
    )
    app.include_router(ops_router)
    app.include_router(web_router)  # /, /ui, /docs, /redoc: outside /api/v1
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    # IncidentFox's clients (DESIGN §6): the routes answered in the peer's shapes first, so they
    # win; then the whole API again below the mount, unchanged and out of the OpenAPI document
    app.include_router(mount.router, prefix=mount.MOUNT)
    for router in API_ROUTERS:
        app.include_router(router, prefix=mount.MOUNT, include_in_schema=False)
    return app
