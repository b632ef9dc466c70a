"""Config as code routes (DESIGN §12.4): export an org, plan an import, apply it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from config_service.auth.dependencies import Context, OrgAdmin
from config_service.configs.preconditions import parse_tags
from config_service.errors import PreconditionRequired
from config_service.http import ClientInputRoute, inline_schema, json_response, optional_reason, quoted
from config_service.transfer import codec, service
from config_service.transfer.document import Document
from config_service.transfer.plan import Plan
from config_service.transfer.schemas import AppliedView

router = APIRouter(prefix="/admin/orgs/{org_id}", tags=["config as code"], route_class=ClientInputRoute)

# the one route whose body limit is IMPORT_MAX_BYTES, not MAX_BODY_BYTES (ops.middleware.BodyLimit)
IMPORT_PATH = "/admin/orgs/{org_id}/import"

_DOCUMENT_SCHEMA = inline_schema(Document)
_MEDIA = {"application/json": {"schema": _DOCUMENT_SCHEMA}, codec.YAML_MEDIA_TYPE: {"schema": _DOCUMENT_SCHEMA}}
_EXPORT_DOC: dict[str, Any] = {"responses": {"200": {"description": "The org's document", "content": _MEDIA}}}
_IMPORT_DOC: dict[str, Any] = {
    "parameters": [
        {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
         "description": "Required to apply (428 without): the plan's `based_on`, or `*` to apply blind"},
        {"name": "X-Change-Reason", "in": "header", "required": False, "schema": {"type": "string"},
         "description": "The reason of every write the apply makes (default `import`)"},
    ],
    "requestBody": {"required": True, "content": _MEDIA},
}

DryRun = Annotated[bool, Query(description="Plan only: what the import would change, and its errors; writes nothing")]
Prune = Annotated[bool, Query(description="Delete the nodes the document lacks (children first)")]


def plan_view(plan: Plan) -> dict[str, Any]:
    """The plan as the API answers it (DESIGN §12.4), with the nodes it keeps."""
    return {**plan.view(), "kept": list(plan.kept)}


@router.get("/export", operation_id="org_export", response_class=Response, openapi_extra=_EXPORT_DOC)
async def export_org(ctx: Context, request: Request, principal: OrgAdmin, org_id: str) -> Response:
    """The org as one document: every node (parents first), its own config — secrets only as
    masks, tombstones as `null` — and its locked paths. YAML for `Accept: application/yaml`
    (also `application/x-yaml`, `text/yaml`), else JSON; the same state gives the same bytes.
    Not a backup of secrets: they leave only as masks."""
    kind = codec.negotiate(request.headers.get("accept"))
    async with ctx.db.transaction() as session:
        document = await service.export(session, org_id)
    body = await asyncio.to_thread(codec.render, document, kind)
    media = codec.YAML_MEDIA_TYPE if kind == "yaml" else codec.JSON_MEDIA_TYPE
    return Response(body, media_type=media, headers={"Vary": "Accept"})


@router.post(
    "/import", operation_id="org_import", response_model=AppliedView, openapi_extra=_IMPORT_DOC,
    responses={200: {"description": "The plan (`dry_run=true`), or the plan applied with `new_based_on`"}},
)
async def import_org(
    ctx: Context, request: Request, principal: OrgAdmin, org_id: str, dry_run: DryRun = False, prune: Prune = False,
) -> Response:
    """Import a document (JSON, or YAML by `Content-Type`; up to `IMPORT_MAX_BYTES`). Its root
    maps to this org's root; nodes it lacks are kept unless `prune=true`.

    With `dry_run=true`: the plan — per node `create`, `update`, `move`, `delete` or `unchanged`
    with the RFC 6902 diff of its own config and its lock changes; `needs_secret`, the masked
    secrets this org lacks; `errors`, everything the writes would refuse — in a read-only
    snapshot. `ETag` and `based_on` name the state it was made against.

    Without: `If-Match: <based_on>` is required (428; `*` applies blind). In one transaction
    under the org lock the document is planned again: 412 when the org changed (`current`
    names the new `based_on`), 422 `import_refused` listing the `errors` when the plan has any;
    else every change is made as a normal versioned, audited write (reason from
    `X-Change-Reason`, else `import`). Answers the plan applied and `new_based_on`."""
    if_match: list[str] | None = None
    reason: str | None = None
    if not dry_run:
        if_match = parse_tags(request.headers.get("if-match"), weak=False)
        if if_match is None:
            raise PreconditionRequired(
                "an import applies only with If-Match: <based_on of its plan> (or If-Match: * to apply blind)"
            )
        reason = optional_reason(request.headers.get("x-change-reason"), path="X-Change-Reason")
    content_type = request.headers.get("content-type")
    codec.body_kind(content_type)  # 415 before reading a body that cannot be read
    body = await request.body()  # at most IMPORT_MAX_BYTES: counted as it streams in (ops.middleware)
    document = await asyncio.to_thread(codec.parse, body, content_type)
    if if_match is None:
        async with ctx.db.transaction() as session:
            plan = await service.plan(session, ctx.keys, principal, org_id, document, prune=prune)
        return json_response(plan_view(plan), headers={"ETag": quoted(plan.based_on)})
    async with ctx.db.transaction() as session:
        plan, new_based_on = await service.apply(
            session, ctx.keys, principal, org_id, document, prune=prune, if_match=if_match, reason=reason
        )
    return json_response({**plan_view(plan), "new_based_on": new_based_on}, headers={"ETag": quoted(new_based_on)})
