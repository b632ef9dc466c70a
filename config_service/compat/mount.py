"""The compat mount `/compat/incidentfox/api/v1` (DESIGN §6): IncidentFox's own clients, unchanged.

The clients append `/api/v1/...` to their base URL, so with `http://<host>/compat/incidentfox`
they reach this mount. `app.create_app` mounts `router` (the routes answered in the peer's
shapes, here and in `compat.runs`) first, then every root router again below the mount, so
anything not translated behaves exactly as at the root. Each route states its principal with
one dependency of `auth.dependencies`, reuses the domains' services, and translates with
`compat.shapes` — the mount never lets a credential do more than at the root.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from config_service.auth import policy
from config_service.auth.dependencies import (
    Context,
    HeaderReader,
    HeaderWriter,
    Identified,
    OrgAdmin,
    RoutingCaller,
)
from config_service.auth.endpoints import me
from config_service.auth.principal import Principal
from config_service.compat import runs, shapes
from config_service.compat.schemas import PeerLookup, PeerNodeCreate
from config_service.configs import service as configs
from config_service.configs.changes import MergePatch
from config_service.configs.endpoints import Secrets, Wait, write_response
from config_service.configs.requests import JSON_PATCH_TYPE, parse_patch
from config_service.context import AppContext
from config_service.errors import Conflict, InvalidRequest
from config_service.http import API_PREFIX, ClientInputRoute, json_body, json_response, media_type
from config_service.integrations import service as integrations
from config_service.kit.ids import ID_PATTERN
from config_service.live.reads import effective_response
from config_service.orgs import service as orgs
from config_service.orgs.schemas import NodeCreate, OrgCreate
from config_service.routing import service as routing
from config_service.tokens import service as tokens

MOUNT = "/compat/incidentfox" + API_PREFIX
TAG = "incidentfox compatibility"
router = APIRouter(tags=[TAG], route_class=ClientInputRoute)
router.include_router(runs.router)

# An org the Slack bot provisions is `slack-<workspace id>` (DESIGN §6, docs/DECISIONS.md).
SLACK_ORG = re.compile(r"^slack-([A-Za-z0-9]{1,58})$")
PAGE = 500


@router.get("/auth/me", operation_id="compat_auth_me")
async def auth_me(principal: Identified) -> Response:
    """Our `/auth/me` with the peer's `auth_kind` (`admin_token`, `org_admin_token`, `team_token`,
    `internal_service`) and `email: null`. Only the global admin's `permissions` carry `admin:*`:
    the orchestrator reads it as power over every org."""
    return json_response(shapes.peer_me(me(principal).model_dump(mode="json"), principal.kind.value))


# ---- orgs, nodes, tokens ---------------------------------------------------------------------------


async def _create_org(ctx: AppContext, principal: Principal, org_id: str, body: PeerNodeCreate) -> dict[str, Any]:
    if body.node_id != org_id:
        raise InvalidRequest("an org node's node_id is the org id of the path", path="/node_id")
    if body.parent_id is not None or body.parent_node_id is not None:
        raise InvalidRequest("an org node has no parent", path="/parent_id")
    async with ctx.db.transaction() as session:
        org = await orgs.create_org(session, principal, OrgCreate(org_id=org_id, name=body.name))
        workspace = SLACK_ORG.fullmatch(org_id)
        if workspace is not None:  # the peer binds a workspace to its org by this name: make it real
            change = MergePatch({"routing": {"slack_workspace_ids": [workspace.group(1)]}})
            await configs.write(session, ctx.keys, principal, org_id, org_id, change,
                                reason="Slack workspace bound by the IncidentFox compat mount")
    return {"org_id": org.org_id, "node_id": org.org_id, "parent_id": None, "node_type": "org", "name": org.name}


@router.post("/admin/orgs/{org_id}/nodes", status_code=201, operation_id="compat_node_create")
async def create_node(ctx: Context, principal: OrgAdmin, org_id: str, body: PeerNodeCreate) -> Response:
    """The peer's node creation: `node_type: "org"` creates the org (global admin only; an org
    `slack-<W>` is bound to Slack workspace W), `team` and `group` a team. A node that exists
    already is 400 with "already exists" in `detail`, as the peer answers."""
    policy.node_creation(principal, body.node_type)
    try:
        if body.node_type == "org":
            answer = await _create_org(ctx, principal, org_id, body)
        else:
            parent = body.parent_id or body.parent_node_id
            async with ctx.db.transaction() as session:
                node = await orgs.create_node(
                    session, principal, org_id, NodeCreate(node_id=body.node_id, parent_node_id=parent, name=body.name)
                )
            answer = shapes.peer_node(node)
    except Conflict as exc:
        raise shapes.already_exists(exc) from None
    return json_response(answer, status=201)


@router.get("/admin/orgs/{org_id}/nodes", operation_id="compat_node_list")
async def list_nodes(ctx: Context, principal: OrgAdmin, org_id: str) -> Response:
    """Every node of the org, root first, as a bare list of the peer's rows."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    async with ctx.db.transaction() as session:
        while True:
            page = await orgs.list_nodes(session, org_id, limit=PAGE, cursor=cursor)
            rows += [shapes.peer_node(node) for node in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    return json_response(rows)


@router.get("/admin/orgs/{org_id}/teams/{node_id}/tokens", operation_id="compat_team_token_list")
async def list_team_tokens(ctx: Context, principal: OrgAdmin, org_id: str, node_id: str) -> Response:
    """Every token of the node, newest first, revoked ones included, as a bare list of the
    peer's rows (`token_id`, `issued_at`, `revoked_at`, `issued_by`, …). Never a token itself."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    async with ctx.db.transaction() as session:
        node = orgs.incarnation(await orgs.get_node_or_404(session, org_id, node_id))
        while True:
            page = await tokens.list_node_tokens(session, org_id, node_id, node, limit=PAGE, cursor=cursor)
            rows += [shapes.peer_token(info) for info in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    return json_response(rows)


# ---- the team's config, and an admin's through X-Org-Id / X-Team-Node-Id ----------------------------


@router.get("/config/me", operation_id="compat_config_me_get")
@router.get("/config/me/effective", operation_id="compat_config_me_effective")
async def get_me(
    ctx: Context, request: Request, caller: HeaderReader, wait: Wait = None, secrets: Secrets = None
) -> Response:
    """A team token: exactly `GET /api/v1/config/me`. An admin of the org with `X-Org-Id` and
    `X-Team-Node-Id`: that node's effective config, secrets masked (as every admin read)."""
    reveal = not caller.as_admin and policy.may_reveal(caller.principal, secrets)
    return await effective_response(
        ctx, request, caller.org_id, caller.node_id, reveal=reveal, wait=wait, principal=caller.principal
    )


async def _peer_patch_body(request: Request) -> None:
    """The peer's PATCH body is `{config, merge?: true, reason?}`: anything else is 422 (a
    JSON Patch array goes to the root's parser as it is)."""
    if media_type(request) == JSON_PATCH_TYPE:
        return
    body = await json_body(request)  # cached: parse_patch reads the same bytes
    if not isinstance(body, dict):
        return
    unknown = sorted(set(body) - {"config", "merge", "reason"})
    if unknown:
        raise InvalidRequest(f"unknown field '{unknown[0]}'", path=f"/{unknown[0]}")
    if "merge" in body and body["merge"] is not True:
        raise InvalidRequest("a PATCH always merges: 'merge' can only be true", path="/merge")


@router.patch("/config/me", operation_id="compat_config_me_patch")
async def patch_me(ctx: Context, request: Request, caller: HeaderWriter) -> Response:
    """A merge patch of the node's own config (`If-Match` as on `/api/v1/config/me`): a team token
    with `config:write` on its own node, or an admin of the org on the node the headers name.
    Fields a known integration's schema lacks are kept (the Slack bot's `is_trial`, …); one whose
    name says it holds a credential is sealed like a secret."""
    await _peer_patch_body(request)
    parsed = await parse_patch(request, legacy_merge_flag=True)
    return await write_response(
        ctx, request, caller.principal, caller.org_id, caller.node_id, parsed, own_resource=False,
        lenient_integrations=True,
    )


# ---- the catalog, routing ------------------------------------------------------------------------------


@router.get("/integrations/schemas", operation_id="compat_integration_schemas_list")
async def list_schemas(
    ctx: Context,
    category: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
    featured: Annotated[bool | None, Query(description="Accepted and ignored (no such filter here)")] = None,
) -> Response:
    """The integration catalog (no token needed) as `{"integrations": [...]}`."""
    async with ctx.db.transaction() as session:
        found = await integrations.list_schemas(session, category)
    return json_response({"integrations": [item.model_dump(mode="json") for item in found.items]})


@router.post("/internal/routing/lookup", operation_id="compat_routing_lookup")
async def lookup(ctx: Context, principal: RoutingCaller, body: PeerLookup) -> Response:
    """The root's lookup (never with a token), plus the peer's fallback: an unrouted channel of
    a Slack workspace bound to an org belongs to that org's team `default`."""
    org_id = policy.lookup_org(principal, body.org_id, issue_token=False)
    async with ctx.db.transaction() as session:
        result = await routing.lookup(session, body.identifiers, org_id)
        result = await routing.workspace_default(session, body.identifiers, org_id, result)
    return json_response(result)
