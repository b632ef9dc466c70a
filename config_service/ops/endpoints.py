"""`/health`, `/ready`, `/metrics` at the root (no token)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from config_service.db import migrate
from config_service.http import ClientInputRoute, json_response
from config_service.ops import metrics

router = APIRouter(tags=["operations"], route_class=ClientInputRoute)


# Each also answers HEAD (`curl -I`, load balancers' probes), left out of the OpenAPI.
@router.head("/health", include_in_schema=False)
@router.get("/health", operation_id="health")
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"description": "The database does not answer, or its schema is not one this release runs on"}
}


@router.head("/ready", include_in_schema=False)
@router.get("/ready", operation_id="ready", responses=_NOT_READY)
async def ready(request: Request) -> Response:
    """The database answers and its schema is one this release can run on."""
    ctx = request.app.state.ctx
    try:
        async with ctx.db.engine.connect() as conn:
            row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
        revision = row[0] if row else None
    except Exception:  # noqa: BLE001 - any failure means not ready
        return json_response({"status": "unavailable", "database": "unreachable", "schema": None}, status=503)
    problem = await asyncio.to_thread(migrate.schema_problem, revision)
    if problem:
        return json_response({"status": "unavailable", "database": "ok", "schema": revision, "detail": problem},
            status=503)
    return json_response({"status": "ok", "database": "ok", "schema": revision})


@router.head("/metrics", include_in_schema=False)
@router.get("/metrics", operation_id="metrics", response_class=PlainTextResponse)
async def prometheus(request: Request) -> Response:
    pool = request.app.state.ctx.db.engine.pool
    for state, value in (("checked_out", pool.checkedout()), ("idle", pool.checkedin()), ("size", pool.size())):
        metrics.DB_POOL.labels(state).set(value)
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
