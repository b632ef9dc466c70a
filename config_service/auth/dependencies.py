"""Request → Principal, and the `Annotated` dependencies every route states (DESIGN §4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from config_service.auth import policy
from config_service.auth.named import has_proxy_header
from config_service.auth.policy import NodeCaller
from config_service.auth.principal import Kind, Principal, Scope, TeamCaller
from config_service.auth.throttle import Attempt, plausible
from config_service.context import AppContext
from config_service.errors import InvalidRequest, Unauthenticated
from config_service.kit import tokens as tk
from config_service.kit.ids import is_valid_id
from config_service.tokens import service as tokens

UNAUTHENTICATED = "a valid bearer token is required"


async def get_context(request: Request) -> AppContext:
    return request.app.state.ctx


Context = Annotated[AppContext, Depends(get_context)]


async def _resolve(ctx: AppContext, token: str, attempt: Attempt) -> Principal | None:
    dotted = "." in token and len(token) <= 512
    digest = tk.digest(ctx.peppers.current, token) if dotted else ""
    if dotted:
        cached = ctx.live.tokens.get(digest)
        if cached is not None:  # verified before: no work to throttle
            return cached
    attempt.check()  # 429 for an address out of failures, before anything is compared or looked up
    if not token or len(token) > 512:
        return None
    if "." not in token:
        if tk.same(token, ctx.admin_token):
            return Principal(Kind.GLOBAL_ADMIN)
        if ctx.internal_token and tk.same(token, ctx.internal_token):
            return Principal(Kind.INTERNAL)
        return None
    if not plausible(token) or attempt.throttle.known_to_fail(digest):
        return None  # no query for a token that cannot be ours or failed a moment ago
    cache = ctx.live.tokens
    generation = cache.generation
    async with ctx.db.transaction() as session:
        principal = await tokens.authenticate(session, ctx.peppers, token)
    if principal is not None:
        cache.put(digest, principal, principal.expires_at, generation)
    else:
        attempt.throttle.remember_failure(digest)
    return principal


def cached_principal(ctx: AppContext, token: str) -> Principal | None:
    """The principal of an org-admin or team token from the token cache (expiry checked), or None."""
    return ctx.live.tokens.get(tk.digest(ctx.peppers.current, token))


async def get_principal(request: Request) -> Principal:
    """Who is calling. Expired, revoked, malformed and unknown tokens all get the same 401; an
    address with too many of those gets 429 (auth/throttle.py)."""
    ctx: AppContext = request.app.state.ctx
    attempt = ctx.auth_throttle.attempt(request.scope)
    principal: Principal | None = None
    bearer = False
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            bearer = True
            principal = await _resolve(ctx, token.strip(), attempt)
    # A bearer credential that does not verify is refused, even next to a valid
    # `X-Internal-Service`: one bad credential is never rescued by another.
    internal = request.headers.get("x-internal-service")
    if principal is None and not bearer and internal:
        attempt.check()
        if ctx.internal_token and tk.same(internal, ctx.internal_token):
            principal = Principal(Kind.INTERNAL)
        elif internal and ctx.named_callers is not None:
            # opt-in (DESIGN §4): a bare name from a raw TCP peer in a trusted network, no proxy
            # header; the value is never logged (it may be a mistyped token)
            name = ctx.named_callers.match(
                internal, request.scope.get("client"), proxied=has_proxy_header(request.headers.keys())
            )
            if name is not None:
                principal = Principal(Kind.NAMED_INTERNAL, name=name)
    if principal is None:
        if authorization or internal:
            attempt.failed()
        raise Unauthenticated(UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
    ctx.last_used.touch(principal)
    request.state.principal = principal
    return principal


AnyPrincipal = Annotated[Principal, Depends(get_principal)]


def _path_ids(request: Request) -> None:
    for name in ("org_id", "node_id"):
        value = request.path_params.get(name)
        if value is not None and not is_valid_id(value):
            raise InvalidRequest(f"'{name}' is not a valid identifier", path=name)


async def identified(principal: AnyPrincipal) -> Principal:
    policy.require_identified(principal)
    return principal


async def global_admin(request: Request, principal: AnyPrincipal) -> Principal:
    policy.require_global_admin(principal)
    _path_ids(request)
    return principal


async def any_admin(principal: AnyPrincipal) -> Principal:
    policy.require_admin(principal)
    return principal


async def org_admin(request: Request, principal: AnyPrincipal) -> Principal:
    policy.require_org_admin(principal, request.path_params["org_id"])
    _path_ids(request)
    return principal


async def node_reader(request: Request, principal: AnyPrincipal) -> Principal:
    """Admin of the org, or the team token of the node in the path (`config:read`)."""
    policy.require_node_reader(
        principal, request.path_params["org_id"], request.path_params["node_id"], Scope.CONFIG_READ
    )
    _path_ids(request)
    return principal


async def team_reader(principal: AnyPrincipal) -> TeamCaller:
    return policy.team_caller(principal, Scope.CONFIG_READ)


async def team_writer(principal: AnyPrincipal) -> TeamCaller:
    return policy.team_caller(principal, Scope.CONFIG_WRITE)


async def run_writer(principal: AnyPrincipal) -> Principal:
    policy.require_run_writer(principal)
    return principal


async def run_reader(principal: AnyPrincipal) -> Principal:
    policy.require_run_reader(principal)
    return principal


async def internal(principal: AnyPrincipal) -> Principal:
    policy.require_internal(principal)
    return principal


async def internal_run_writer(principal: AnyPrincipal) -> Principal:
    policy.require_internal_run_writer(principal)
    return principal


async def run_cleaner(principal: AnyPrincipal) -> Principal:
    policy.require_cleanup(principal)
    return principal


async def exchanger(principal: AnyPrincipal) -> Principal:
    policy.require_exchanger(principal)
    return principal


async def routing_caller(principal: AnyPrincipal) -> Principal:
    policy.require_routing_caller(principal)
    return principal


ORG_HEADER, NODE_HEADER = "X-Org-Id", "X-Team-Node-Id"


def _node_headers(request: Request) -> tuple[str | None, str | None]:
    """The compat mount's node headers: neither, or both as valid identifiers (422 naming the header)."""
    org_id, node_id = request.headers.get(ORG_HEADER), request.headers.get(NODE_HEADER)
    if org_id is None and node_id is None:
        return None, None
    for name, value in ((ORG_HEADER, org_id), (NODE_HEADER, node_id)):
        if value is None:
            raise InvalidRequest(f"{ORG_HEADER} and {NODE_HEADER} go together; {name} is missing", path=name)
        if not is_valid_id(value):
            raise InvalidRequest(f"'{name}' is not a valid identifier", path=name)
    return org_id, node_id


async def header_reader(request: Request, principal: AnyPrincipal) -> NodeCaller:
    org_id, node_id = _node_headers(request)
    return policy.header_caller(principal, Scope.CONFIG_READ, org_id, node_id)


async def header_writer(request: Request, principal: AnyPrincipal) -> NodeCaller:
    org_id, node_id = _node_headers(request)
    return policy.header_caller(principal, Scope.CONFIG_WRITE, org_id, node_id)


# What each route needs, stated in its signature (a route without one of these is public: the
# route test in tests/test_auth_matrix.py keeps that list short and explicit).
Identified = Annotated[Principal, Depends(identified)]
GlobalAdmin = Annotated[Principal, Depends(global_admin)]
AnyAdmin = Annotated[Principal, Depends(any_admin)]
OrgAdmin = Annotated[Principal, Depends(org_admin)]
NodeReader = Annotated[Principal, Depends(node_reader)]
TeamReader = Annotated[TeamCaller, Depends(team_reader)]
TeamWriter = Annotated[TeamCaller, Depends(team_writer)]
RunWriter = Annotated[Principal, Depends(run_writer)]
RunReader = Annotated[Principal, Depends(run_reader)]
Internal = Annotated[Principal, Depends(internal)]
InternalRunWriter = Annotated[Principal, Depends(internal_run_writer)]
RunCleaner = Annotated[Principal, Depends(run_cleaner)]
Exchanger = Annotated[Principal, Depends(exchanger)]
RoutingCaller = Annotated[Principal, Depends(routing_caller)]
# the compat mount's `/config/me` (X-Org-Id / X-Team-Node-Id pick the node for an admin)
HeaderReader = Annotated[NodeCaller, Depends(header_reader)]
HeaderWriter = Annotated[NodeCaller, Depends(header_writer)]
# every dependency above, by the policy decision it makes (the matrix test covers each)
AUTH_DEPENDENCIES = (
    identified, global_admin, any_admin, org_admin, node_reader, team_reader, team_writer, run_writer, run_reader,
    internal, internal_run_writer, run_cleaner, exchanger, routing_caller, header_reader, header_writer,
)
