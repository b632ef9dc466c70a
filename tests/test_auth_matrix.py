"""The authorisation matrix (DESIGN §4): every principal × every route family.

Over HTTP: 401 without a valid credential; 403 outside the principal's reach (another org,
another team's node, a team on `/admin`, the internal service on `/admin` and `/config/me`, a
named internal caller anywhere but its few routes); otherwise the route's own answer. Every
401/403 is counted in `/metrics`. The same matrix runs against a server without and one with
the named internal callers (issue 11), at the root and on the compat mount: nothing but the
named caller's own rows may differ.

In process: every route dependency (`auth.dependencies`, each one decision of `auth.policy`)
for every kind of principal; every route under exactly one of them; the policy's decisions on
what a request names.
"""

from __future__ import annotations

import ast
import inspect
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.requests import Request

from config_service.app import API_ROUTERS
from config_service.auth import dependencies as deps
from config_service.auth import policy
from config_service.auth.policy import NodeCaller
from config_service.auth.principal import Kind, Principal, Scope, TeamCaller
from config_service.compat import mount
from config_service.errors import AppError
from config_service.ops.endpoints import router as ops_router
from config_service.web.endpoints import router as web_router
from tests.support import unique_id

# ---- principals ------------------------------------------------------------------------------

NONE = "no token"
GARBAGE = "garbage token"
GLOBAL = "global admin"
ADMIN_A = "org admin A"
ADMIN_B = "org admin B"
TEAM_A1 = "team A1"
TEAM_A1_WRITE = "team A1 config:write"
TEAM_A2 = "team A2"
INTERNAL = "internal (Bearer)"
INTERNAL_HEADER = "internal (X-Internal-Service)"
WRONG_INTERNAL = "wrong X-Internal-Service"
NAMED = "named internal caller (agent)"
NAMED_PROXIED = "named caller behind a proxy header"

PRINCIPALS = [NONE, GARBAGE, GLOBAL, ADMIN_A, ADMIN_B, TEAM_A1, TEAM_A1_WRITE, TEAM_A2, INTERNAL, INTERNAL_HEADER,
              WRONG_INTERNAL, NAMED, NAMED_PROXIED]
UNAUTHENTICATED = {NONE, GARBAGE, WRONG_INTERNAL, NAMED_PROXIED}  # NAMED too, where names are not on
ANY_ADMIN = {GLOBAL, ADMIN_A, ADMIN_B}
ADMINS_OF_A = {GLOBAL, ADMIN_A}
TEAMS = {TEAM_A1, TEAM_A1_WRITE, TEAM_A2}
READERS_OF_A1 = {GLOBAL, ADMIN_A, TEAM_A1, TEAM_A1_WRITE}
INTERNALS = {INTERNAL, INTERNAL_HEADER}
EVERYONE = set(PRINCIPALS) - UNAUTHENTICATED - {NAMED}  # a named caller may not even ask who it is
RUN_WRITERS_OF_A1 = {TEAM_A1, TEAM_A1_WRITE, *INTERNALS, NAMED}


@dataclass
class World:
    a: str
    b: str
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def world(admin: httpx.Client, server, server_keys) -> World:
    a, b = unique_id("mxa"), unique_id("mxb")
    for org_id in (a, b):
        assert admin.post("/admin/orgs", json={"org_id": org_id}).status_code == 201
    for org_id, node in ((a, "a1"), (a, "a2"), (b, "b1")):
        assert admin.post(f"/admin/orgs/{org_id}/nodes", json={"node_id": node}).status_code == 201

    def team(org_id: str, node: str, scopes: list[str] | None = None) -> str:
        body = {} if scopes is None else {"scopes": scopes}
        response = admin.post(f"/admin/orgs/{org_id}/teams/{node}/tokens", json=body)
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def org_admin(org_id: str) -> str:
        response = admin.post(f"/admin/orgs/{org_id}/admin-tokens", json={})
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    internal = server_keys["INTERNAL_SERVICE_TOKEN"]
    headers = {
        NONE: {},
        GARBAGE: bearer("garbage-" + uuid.uuid4().hex),
        GLOBAL: bearer(server_keys["ADMIN_TOKEN"]),
        ADMIN_A: bearer(org_admin(a)),
        ADMIN_B: bearer(org_admin(b)),
        TEAM_A1: bearer(team(a, "a1")),
        TEAM_A1_WRITE: bearer(team(a, "a1", ["config:read", "config:write", "secrets:read", "runs:write"])),
        TEAM_A2: bearer(team(a, "a2")),
        INTERNAL: bearer(internal),
        INTERNAL_HEADER: {"X-Internal-Service": internal},
        WRONG_INTERNAL: {"X-Internal-Service": internal + "-wrong"},
        NAMED: {"X-Internal-Service": "agent"},
        NAMED_PROXIED: {"X-Internal-Service": "agent", "X-Forwarded-For": "127.0.0.1"},
    }
    return World(a=a, b=b, headers=headers)


@pytest.fixture(scope="module")
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def ops(server) -> Iterator[httpx.Client]:
    """A client on the root (`/metrics`)."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@dataclass
class Target:
    """A server to run the matrix on: `named` when it has the named internal callers on."""

    http: httpx.Client  # on the server's root
    named: bool


@pytest.fixture(scope="module", params=["plain", "named"])
def target(request, server, named_server) -> Iterator[Target]:
    chosen = named_server if request.param == "named" else server
    with httpx.Client(base_url=chosen.url, timeout=30) as c:
        yield Target(c, named=request.param == "named")


# ---- routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {a} / {b}: the two orgs; {uuid}: a fresh uuid; {new}: a fresh id (one per request)
    allowed: frozenset[str]
    ok: int  # the status an allowed principal gets
    body: object = None
    forbidden_code: dict[str, str] | None = None  # principal → expected 403 code other than `forbidden`
    headers: dict[str, str] | None = None  # sent with every principal's credential


def route(name, method, path, allowed, ok, body=None, forbidden_code=None, headers=None) -> Route:
    return Route(name, method, path, frozenset(allowed), ok, body, forbidden_code, headers)


NODE = "/admin/orgs/{a}/nodes/a1"
INSUFFICIENT = {TEAM_A1: "insufficient_scope", TEAM_A2: "insufficient_scope"}
# an export of another org ("src"): its root maps to org A's, whose teams it keeps
DOCUMENT = {"format": "config-service/v1", "org": {"org_id": "src", "name": "Src"},
            "nodes": [{"node_id": "src", "parent_node_id": None, "name": "Src", "config": {}, "locked_paths": []}]}

ROUTES = [
    route("create org", "POST", "/admin/orgs", {GLOBAL}, 201, {"org_id": "{new}"}),
    route("list orgs", "GET", "/admin/orgs", ANY_ADMIN, 200),
    route("get org", "GET", "/admin/orgs/{a}", ADMINS_OF_A, 200),
    route("delete missing org", "DELETE", "/admin/orgs/{new}", {GLOBAL}, 404),
    route("list nodes", "GET", "/admin/orgs/{a}/nodes", ADMINS_OF_A, 200),
    route("create node", "POST", "/admin/orgs/{a}/nodes", ADMINS_OF_A, 201, {"node_id": "{new}"}),
    route("get node", "GET", NODE, ADMINS_OF_A, 200),
    route("patch node", "PATCH", NODE, ADMINS_OF_A, 200, {"name": "a1"}),
    route("delete missing node", "DELETE", "/admin/orgs/{a}/nodes/{new}", ADMINS_OF_A, 404),
    route("tree", "GET", "/admin/orgs/{a}/tree", ADMINS_OF_A, 200),
    route("get node config", "GET", NODE + "/config", ADMINS_OF_A, 200),
    route("put node config", "PUT", NODE + "/config", ADMINS_OF_A, 200, {"config": {}}),
    route("patch node config", "PATCH", NODE + "/config", ADMINS_OF_A, 200, {"config": {}}),
    route("get locks", "GET", NODE + "/locks", ADMINS_OF_A, 200),
    route("put locks", "PUT", NODE + "/locks", ADMINS_OF_A, 200, {"locked_paths": []}),
    route("node effective", "GET", NODE + "/effective", ADMINS_OF_A, 200),
    route("node raw", "GET", NODE + "/raw", ADMINS_OF_A, 200),
    route("node history", "GET", NODE + "/history", ADMINS_OF_A, 200),
    route("node rollback", "POST", NODE + "/config/rollback", ADMINS_OF_A, 200, {"version": 1}),
    route("issue team token", "POST", "/admin/orgs/{a}/teams/a1/tokens", ADMINS_OF_A, 201, {}),
    route("list team tokens", "GET", "/admin/orgs/{a}/teams/a1/tokens", ADMINS_OF_A, 200),
    route("revoke team token", "POST", "/admin/orgs/{a}/teams/a1/tokens/{uuid}/revoke", ADMINS_OF_A, 404),
    route("issue admin token", "POST", "/admin/orgs/{a}/admin-tokens", {GLOBAL}, 201, {}),
    route("list admin tokens", "GET", "/admin/orgs/{a}/admin-tokens", ADMINS_OF_A, 200),
    route("revoke admin token", "POST", "/admin/orgs/{a}/admin-tokens/{uuid}/revoke", ADMINS_OF_A, 404),
    route("node version", "GET", NODE + "/history/1", ADMINS_OF_A, 200),
    route("node diff", "GET", NODE + "/diff?from=1", ADMINS_OF_A, 200),
    route("org tokens", "GET", "/admin/orgs/{a}/tokens", ADMINS_OF_A, 200),
    route("org routing claims", "GET", "/admin/orgs/{a}/routing", ADMINS_OF_A, 200),
    route("audit", "GET", "/admin/orgs/{a}/audit", ADMINS_OF_A, 200),
    route("audit export", "GET", "/admin/orgs/{a}/audit/export?format=csv", ADMINS_OF_A, 200),
    route("org export", "GET", "/admin/orgs/{a}/export", ADMINS_OF_A, 200),
    route("import plan", "POST", "/admin/orgs/{a}/import?dry_run=true", ADMINS_OF_A, 200, DOCUMENT),
    route("import without If-Match", "POST", "/admin/orgs/{a}/import", ADMINS_OF_A, 428, DOCUMENT),
    # IDs in paths are checked against the principal before anything is read
    route("nodes of a missing org", "GET", "/admin/orgs/{new}/nodes", {GLOBAL}, 404),
    route("missing node of org A", "GET", "/admin/orgs/{a}/nodes/{new}", ADMINS_OF_A, 404),
    route("config of a missing node", "GET", "/admin/orgs/{a}/nodes/{new}/config", ADMINS_OF_A, 404),
    route("team tokens of org B", "GET", "/admin/orgs/{b}/teams/b1/tokens", {GLOBAL, ADMIN_B}, 200),
    route("config me", "GET", "/config/me", TEAMS, 200),
    route("config me effective", "GET", "/config/me/effective", TEAMS, 200),
    route("config me raw", "GET", "/config/me/raw", TEAMS, 200),
    route("config me history", "GET", "/config/me/history", TEAMS, 200),
    route("patch config me", "PATCH", "/config/me", {TEAM_A1_WRITE}, 200, {"config": {}}, INSUFFICIENT),
    route("put config me", "PUT", "/config/me", {TEAM_A1_WRITE}, 200, {"config": {}}, INSUFFICIENT),
    route("config me masked", "GET", "/config/me?secrets=masked", TEAMS, 200),
    route("config me version", "GET", "/config/me/history/1", TEAMS, 200),
    route("config me diff", "GET", "/config/me/diff?from=1", TEAMS, 200),
    route("preview config me", "POST", "/config/me/preview", {TEAM_A1_WRITE}, 200, {"config": {}}, INSUFFICIENT),
    route("rollback config me", "POST", "/config/me/rollback", {TEAM_A1_WRITE}, 200, {"version": 1}, INSUFFICIENT),
    route("auth me", "GET", "/auth/me", EVERYONE, 200),
    route("legacy effective", "GET", "/config/orgs/{a}/nodes/a1/effective", READERS_OF_A1, 200),
    route("legacy raw", "GET", "/config/orgs/{a}/nodes/a1/raw", READERS_OF_A1, 200),
    route("legacy audit", "GET", "/config/orgs/{a}/nodes/a1/audit", READERS_OF_A1, 200),
    route("legacy effective of the root", "GET", "/config/orgs/{a}/nodes/{a}/effective", ADMINS_OF_A, 200),
    route("legacy effective of org B", "GET", "/config/orgs/{b}/nodes/b1/effective", {GLOBAL, ADMIN_B}, 200),
    route("legacy effective of a missing node", "GET", "/config/orgs/{a}/nodes/{new}/effective", ADMINS_OF_A, 404),
    # runs, tool calls, routing, exchange, impersonation (issue 11: the named caller's few routes)
    route("record a run", "POST", "/agent-runs", RUN_WRITERS_OF_A1, 201,
          {"agent_name": "x", "org_id": "{a}", "team_node_id": "a1"}),
    route("list runs of org A", "GET", "/agent-runs?org_id={a}", {GLOBAL, ADMIN_A, *TEAMS, *INTERNALS}, 200),
    route("a missing run", "GET", "/agent-runs/{new}", EVERYONE, 404),
    route("finish a missing run", "PATCH", "/agent-runs/{new}", {*TEAMS, *INTERNALS, NAMED}, 404,
          {"status": "success"}),
    route("tool calls of a missing run", "GET", "/agent-runs/{new}/tool-calls", EVERYONE, 404),
    route("record tool calls of a missing run", "POST", "/agent-runs/{new}/tool-calls", {*TEAMS, *INTERNALS, NAMED},
          404, {"name": "x"}),
    route("internal: record a run", "POST", "/internal/agent-runs", {*INTERNALS, NAMED}, 201,
          {"agent_name": "x", "org_id": "{a}", "team_node_id": "a1"}),
    route("internal: finish a missing run", "PATCH", "/internal/agent-runs/{new}", {*INTERNALS, NAMED}, 404,
          {"status": "success"}),
    route("internal: list runs of org A", "GET", "/internal/agent-runs/list?org_id={a}", INTERNALS, 200),
    route("internal: record tool calls", "POST", "/internal/agent-runs/{new}/tool-calls", {*INTERNALS, NAMED}, 404,
          {"tool_calls": [{"name": "x"}]}),
    route("internal: read tool calls", "GET", "/internal/agent-runs/{new}/tool-calls", INTERNALS, 404),
    route("stale-run cleanup", "POST", "/internal/agent-runs/cleanup-stale", {GLOBAL, *INTERNALS, NAMED}, 200,
          {"max_age_seconds": 315360000}),
    route("routing lookup", "POST", "/internal/routing/lookup", {*ANY_ADMIN, *INTERNALS, NAMED}, 200,
          {"identifiers": {}}),
    route("token exchange", "POST", "/internal/tokens/exchange", {GLOBAL, *INTERNALS}, 201,
          {"org_id": "{a}", "team_node_id": "a1"}),
    route("impersonation token", "POST", "/admin/orgs/{a}/teams/a1/impersonation-token", ADMINS_OF_A, 201),
]

M = mount.MOUNT  # `/compat/incidentfox/api/v1`
NODE_HEADERS = {"X-Org-Id": "{a}", "X-Team-Node-Id": "a1"}
MOUNT_ROUTES = [
    route("mount: auth me", "GET", M + "/auth/me", EVERYONE, 200),
    route("mount: list nodes", "GET", M + "/admin/orgs/{a}/nodes", ADMINS_OF_A, 200),
    route("mount: create a team", "POST", M + "/admin/orgs/{a}/nodes", ADMINS_OF_A, 201,
          {"node_id": "{new}", "node_type": "team"}),
    route("mount: create an org", "POST", M + "/admin/orgs/{new}/nodes", {GLOBAL}, 201,
          {"node_id": "{new}", "node_type": "org"}),
    route("mount: team tokens", "GET", M + "/admin/orgs/{a}/teams/a1/tokens", ADMINS_OF_A, 200),
    route("mount: impersonation token", "POST", M + "/admin/orgs/{a}/teams/a1/impersonation-token", ADMINS_OF_A, 201),
    route("mount: config me", "GET", M + "/config/me", TEAMS, 200),
    route("mount: patch config me", "PATCH", M + "/config/me", {TEAM_A1_WRITE}, 200, {"config": {}}, INSUFFICIENT),
    route("mount: config me of a node by headers", "GET", M + "/config/me", READERS_OF_A1, 200,
          headers=NODE_HEADERS),
    route("mount: patch a node by headers", "PATCH", M + "/config/me", {GLOBAL, ADMIN_A, TEAM_A1_WRITE}, 200,
          {"config": {}}, {TEAM_A1: "insufficient_scope"}, NODE_HEADERS),
    route("mount: routing lookup", "POST", M + "/internal/routing/lookup", {*ANY_ADMIN, *INTERNALS, NAMED}, 200,
          {"identifiers": {}}),
    route("mount: record a run", "POST", M + "/internal/agent-runs", {*INTERNALS, NAMED}, 201,
          {"run_id": "{new}", "agent_name": "x", "org_id": "{a}", "team_node_id": "a1"}),
    route("mount: finish a missing run", "PATCH", M + "/internal/agent-runs/{new}", {*INTERNALS, NAMED}, 404,
          {"status": "completed"}),
    route("mount: list runs", "GET", M + "/internal/agent-runs/list?org_id={a}", INTERNALS, 200),
    route("mount: record tool calls", "POST", M + "/internal/agent-runs/{new}/tool-calls", {*INTERNALS, NAMED}, 404,
          {"tool_calls": [{"tool_name": "x"}]}),
    route("mount: read tool calls", "GET", M + "/internal/agent-runs/{new}/tool-calls", INTERNALS, 404),
    route("mount: stale-run cleanup", "POST", M + "/internal/agent-runs/cleanup-stale", {GLOBAL, *INTERNALS, NAMED},
          200, {"max_age_seconds": 315360000}),
    # the mirror: untranslated routes, as at the root
    route("mount: node config", "GET", M + "/admin/orgs/{a}/nodes/a1/config", ADMINS_OF_A, 200),
    route("mount: legacy effective", "GET", M + "/config/orgs/{a}/nodes/a1/effective", READERS_OF_A1, 200),
    route("mount: token exchange", "POST", M + "/internal/tokens/exchange", {GLOBAL, *INTERNALS}, 201,
          {"org_id": "{a}", "team_node_id": "a1"}),
]


def auth_failures(ops: httpx.Client) -> float:
    text = ops.get("/metrics").text
    return sum(float(m) for m in re.findall(r"^config_service_auth_failures_total\{[^}]*\} (\S+)$", text, re.M))


def fill(template: str, world: World, new: str | None = None) -> str:
    return (
        template.replace("{a}", world.a)
        .replace("{b}", world.b)
        .replace("{uuid}", str(uuid.uuid4()))
        .replace("{new}", new or unique_id("n"))
    )


def fill_body(body: object, world: World, new: str | None = None) -> object:
    if isinstance(body, dict):
        return {k: fill(v, world, new) if isinstance(v, str) else v for k, v in body.items()}
    return body


def expected_status(r: Route, who: str, target: Target) -> int:
    if who in UNAUTHENTICATED or (who == NAMED and not target.named):
        return 401
    return r.ok if who in r.allowed else 403


@pytest.mark.parametrize("r", ROUTES + MOUNT_ROUTES, ids=lambda r: r.name)
def test_matrix(world: World, target: Target, r: Route):
    """Every principal on this route: the same expectations on a server with and without named
    callers (a name counts only on the one that has them), each refusal counted once."""
    client = target.http
    before = auth_failures(client)
    failures: list[str] = []
    refusals = 0
    for who in PRINCIPALS:
        new = unique_id("n")
        headers = {**world.headers[who], **{k: fill(v, world) for k, v in (r.headers or {}).items()}}
        kwargs: dict = {"headers": headers}
        if r.body is not None:
            kwargs["json"] = fill_body(r.body, world, new)
        path = fill(r.path, world, new)
        response = client.request(r.method, path if path.startswith(M) else "/api/v1" + path, **kwargs)
        expected = expected_status(r, who, target)
        if response.status_code != expected:
            failures.append(f"{who} {r.method} {r.path}: {response.status_code} (expected {expected}) "
                            f"{response.text[:200]}")
            continue
        if expected in (401, 403):
            refusals += 1
            body = response.json()
            code = "unauthenticated" if expected == 401 else (r.forbidden_code or {}).get(who, "forbidden")
            if not response.headers["content-type"].startswith("application/problem+json") or (
                body["code"], body["status"]) != (code, expected):
                failures.append(f"{who} {r.method} {r.path}: {body}")
    assert failures == []
    assert auth_failures(client) - before == refusals


def test_auth_is_checked_before_the_body(world: World, client: httpx.Client):
    """A refused caller learns nothing from validation: 401/403 even for a body that is invalid."""
    bad = {"org_id": "no.dots.here"}
    assert client.post("/admin/orgs", json=bad, headers=world.headers[NONE]).status_code == 401
    assert client.post("/admin/orgs", json=bad, headers=world.headers[ADMIN_A]).status_code == 403
    assert client.post("/admin/orgs", json=bad, headers=world.headers[GLOBAL]).status_code == 422
    path = f"/admin/orgs/{world.a}/nodes"
    assert client.post(path, json={"node_id": "x.y"}, headers=world.headers[ADMIN_B]).status_code == 403
    assert client.post(path, json={"node_id": "x.y"}, headers=world.headers[TEAM_A1]).status_code == 403
    assert client.post(path, json={"node_id": "x.y"}, headers=world.headers[ADMIN_A]).status_code == 422


def test_an_org_admin_gets_403_for_a_bad_or_missing_org_id(world: World, client: httpx.Client):
    for org_id in ("bad.id", unique_id("missing")):
        response = client.get(f"/admin/orgs/{org_id}/nodes", headers=world.headers[ADMIN_A])
        assert response.status_code == 403, org_id
    assert client.get("/admin/orgs/bad.id/nodes", headers=world.headers[GLOBAL]).status_code == 422


def test_a_team_token_reads_only_its_own_node(world: World, client: httpx.Client):
    body = client.get("/config/me", headers=world.headers[TEAM_A2]).json()
    assert body["node_id"] == "a2" and body["org_id"] == world.a
    body = client.get("/config/me", headers=world.headers[TEAM_A1]).json()
    assert body["node_id"] == "a1"
    # another org with the same node id is still another node
    response = client.get(f"/config/orgs/{world.b}/nodes/a1/effective", headers=world.headers[TEAM_A1])
    assert response.status_code == 403


def test_refusals_are_counted_by_status_and_code(world: World, client: httpx.Client, ops: httpx.Client):
    def counter(status: str, code: str) -> float:
        text = ops.get("/metrics").text
        match = re.search(
            rf'^config_service_auth_failures_total\{{(?=[^}}]*status="{status}")'
            rf'(?=[^}}]*code="{code}")[^}}]*\}} (\S+)$',
            text, re.M,
        )
        return float(match.group(1)) if match else 0.0

    before = (counter("401", "unauthenticated"), counter("403", "forbidden"), counter("403", "insufficient_scope"))
    client.get("/config/me")
    client.get(f"/admin/orgs/{world.a}/nodes", headers=world.headers[ADMIN_B])
    client.get(f"/admin/orgs/{world.a}/nodes", headers=world.headers[ADMIN_B])
    client.patch("/config/me", json={"config": {}}, headers=world.headers[TEAM_A1])
    after = (counter("401", "unauthenticated"), counter("403", "forbidden"), counter("403", "insufficient_scope"))
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (1, 2, 1)


# ---- the decisions themselves: every principal kind × every route family ----------------------------
#
# Each route states what it needs with one `Annotated` dependency of `auth.dependencies`; each of
# those calls one decision of `auth.policy`. Here every such dependency is run for every kind of
# principal (no server: the functions the routes run), then the policy's data-dependent decisions.

DEFAULT_SCOPES = frozenset({"config:read", "secrets:read", "runs:write"})
KINDS: dict[str, Principal] = {
    GLOBAL: Principal(Kind.GLOBAL_ADMIN),
    ADMIN_A: Principal(Kind.ORG_ADMIN, org_id="a", token_id=uuid.uuid4()),
    ADMIN_B: Principal(Kind.ORG_ADMIN, org_id="b", token_id=uuid.uuid4()),
    TEAM_A1: Principal(Kind.TEAM, org_id="a", node_id="a1", token_id=uuid.uuid4(), scopes=DEFAULT_SCOPES),
    TEAM_A1_WRITE: Principal(Kind.TEAM, org_id="a", node_id="a1", token_id=uuid.uuid4(),
                             scopes=DEFAULT_SCOPES | {"config:write"}),
    "team A1 runs:write only": Principal(Kind.TEAM, org_id="a", node_id="a1", token_id=uuid.uuid4(),
                                         scopes=frozenset({"runs:write"})),
    "team A1 config:read only": Principal(Kind.TEAM, org_id="a", node_id="a1", token_id=uuid.uuid4(),
                                          scopes=frozenset({"config:read"})),
    TEAM_A2: Principal(Kind.TEAM, org_id="a", node_id="a2", token_id=uuid.uuid4(), scopes=DEFAULT_SCOPES),
    INTERNAL: Principal(Kind.INTERNAL),
    NAMED: Principal(Kind.NAMED_INTERNAL, name="agent"),
}


@dataclass(frozen=True)
class Family:
    dependency: object  # the function behind the route's Annotated dependency
    allowed: frozenset[str]
    codes: dict[str, str]  # refused principal → its code, when not `forbidden`


def family(dependency, allowed, codes=None) -> Family:
    return Family(dependency, frozenset(allowed), codes or {})


FAMILIES: dict[str, Family] = {
    "global admin (orgs, admin tokens, schemas)": family(deps.global_admin, {GLOBAL}),
    "any admin (list orgs)": family(deps.any_admin, {GLOBAL, ADMIN_A, ADMIN_B}),
    "org admin of org a (/admin/orgs/a/…)": family(deps.org_admin, {GLOBAL, ADMIN_A}),
    "node reader of a/a1 (legacy reads)": family(
        deps.node_reader, {GLOBAL, ADMIN_A, TEAM_A1, TEAM_A1_WRITE, "team A1 config:read only"},
        {"team A1 runs:write only": "insufficient_scope"},
    ),
    "team reader (/config/me reads)": family(
        deps.team_reader, {TEAM_A1, TEAM_A1_WRITE, "team A1 config:read only", TEAM_A2},
        {"team A1 runs:write only": "insufficient_scope"},
    ),
    "team writer (/config/me writes)": family(
        deps.team_writer, {TEAM_A1_WRITE},
        {who: "insufficient_scope" for who in (TEAM_A1, TEAM_A2, "team A1 runs:write only",
            "team A1 config:read only")},
    ),
    "run writer (record, finish runs, record tool calls)": family(
        deps.run_writer, {TEAM_A1, TEAM_A1_WRITE, "team A1 runs:write only", TEAM_A2, INTERNAL, NAMED},
        {"team A1 config:read only": "insufficient_scope"},
    ),
    "run reader (list, get runs, read tool calls)": family(deps.run_reader, set(KINDS) - {NAMED}),
    "internal (internal run list, tool-call reads)": family(deps.internal, {INTERNAL}),
    "internal run writer (internal run and tool-call forms)": family(deps.internal_run_writer, {INTERNAL, NAMED}),
    "run cleaner (stale-run cleanup)": family(deps.run_cleaner, {INTERNAL, NAMED, GLOBAL}),
    "exchanger (token exchange)": family(deps.exchanger, {INTERNAL, GLOBAL}),
    "routing caller (lookup)": family(deps.routing_caller, {INTERNAL, NAMED, GLOBAL, ADMIN_A, ADMIN_B}),
    "identified (/auth/me)": family(deps.identified, set(KINDS) - {NAMED}),
    "mount /config/me reads, no node headers": family(
        deps.header_reader, {TEAM_A1, TEAM_A1_WRITE, "team A1 config:read only", TEAM_A2},
        {"team A1 runs:write only": "insufficient_scope"},
    ),
    "mount /config/me writes, no node headers": family(
        deps.header_writer, {TEAM_A1_WRITE},
        {who: "insufficient_scope" for who in (TEAM_A1, TEAM_A2, "team A1 runs:write only",
            "team A1 config:read only")},
    ),
}


def _request() -> Request:
    return Request({"type": "http", "path_params": {"org_id": "a", "node_id": "a1"}, "headers": []})


async def _decide(dependency, principal: Principal):
    if "request" in inspect.signature(dependency).parameters:
        return await dependency(_request(), principal)
    return await dependency(principal)


def test_every_route_dependency_is_in_the_policy_matrix():
    assert {f.dependency for f in FAMILIES.values()} == set(deps.AUTH_DEPENDENCIES)


@pytest.mark.parametrize("who", list(KINDS))
@pytest.mark.parametrize("name", list(FAMILIES))
async def test_policy_matrix(name: str, who: str):
    fam, principal = FAMILIES[name], KINDS[who]
    if who in fam.allowed:
        granted = await _decide(fam.dependency, principal)
        if isinstance(granted, TeamCaller | NodeCaller):
            assert (granted.principal, granted.org_id, granted.node_id) == (
                principal, principal.org_id, principal.node_id
            )
        else:
            assert granted is principal
        return
    with pytest.raises(AppError) as refused:
        await _decide(fam.dependency, principal)
    assert refused.value.status == 403
    assert refused.value.code == fam.codes.get(who, "forbidden"), refused.value.detail


# every route of the API under exactly one of the dependencies above, or in this short public list
PUBLIC = {
    ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),
    ("HEAD", "/health"), ("HEAD", "/ready"), ("HEAD", "/metrics"),  # probes that read no body
    ("GET", "/integrations/schemas"), ("GET", "/integrations/schemas/{schema_id}"),
    # the console's shell and files, and the API docs: no data, and no credential (the console
    # signs in through the API like any client)
    ("GET", "/"), ("GET", "/ui"), ("GET", "/ui/"), ("GET", "/ui/static/{name}"),
    ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/docs/assets/{name}"),
}


def api_routes(router, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(prefix, route) of every API route of a router, through the routers it includes."""
    for r in router.routes:
        if isinstance(r, APIRoute):
            yield prefix, r
        elif hasattr(r, "original_router"):  # FastAPI keeps an included router as one entry
            yield from api_routes(r.original_router, prefix + r.include_context.prefix)


def _calls(dependant) -> list:
    found = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found += _calls(sub)
    return found


def test_every_route_states_its_principal_and_scope():
    checked = 0
    for router in (ops_router, web_router, *API_ROUTERS, mount.router):
        for _, route in api_routes(router):
            for method in route.methods:
                key = (method, route.path.removeprefix("/api/v1"))
                calls = _calls(route.dependant)
                guards = [c for c in calls if c in deps.AUTH_DEPENDENCIES]
                if key in PUBLIC:
                    assert deps.get_principal not in calls, key
                else:
                    assert len(guards) == 1, f"{method} {route.path}: {guards}"
                checked += 1
    assert checked > 80


def test_the_app_serves_exactly_the_checked_routes_at_the_root_and_below_the_mount():
    """No route reaches the app but through the routers checked above (the mirror included)."""
    from config_service.app import create_app
    from config_service.settings import Settings

    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    served = {(m, prefix + r.path) for prefix, r in api_routes(app.router) for m in r.methods}
    checked = {(m, r.path) for router in (ops_router, web_router) for _, r in api_routes(router) for m in r.methods}
    for router in API_ROUTERS:
        checked |= {(m, "/api/v1" + r.path) for _, r in api_routes(router) for m in r.methods}
        checked |= {(m, mount.MOUNT + r.path) for _, r in api_routes(router) for m in r.methods}
    checked |= {(m, mount.MOUNT + prefix + r.path) for prefix, r in api_routes(mount.router) for m in r.methods}
    assert served == checked
    assert ("GET", mount.MOUNT + "/internal/agent-runs/list") in served


def test_no_handler_decides_by_itself():
    """Endpoints call no `policy.require_*`: what a route needs is its dependency's type."""
    package = Path(__file__).resolve().parent.parent / "config_service"
    offenders = []
    for path in [*package.glob("*/endpoints.py"), package / "live" / "fastpath.py", package / "live" / "reads.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("require_"):
                offenders.append(f"{path.name}:{node.lineno} {node.attr}")
    assert offenders == []


TEAM = KINDS[TEAM_A1]


@pytest.mark.parametrize("who", list(KINDS))
def test_only_a_team_token_with_secrets_read_sees_plaintext(who: str):
    principal = KINDS[who]
    assert policy.may_reveal(principal) is (principal.kind is Kind.TEAM and Scope.SECRETS_READ in principal.scopes)


@pytest.mark.parametrize("who", list(KINDS))
def test_data_dependent_decisions(who: str):
    p = KINDS[who]
    kind = p.kind
    assert policy.may_bind_workspaces(p) is (kind is Kind.GLOBAL_ADMIN)
    assert policy.orgs_visible_to(p) == (p.org_id if kind is Kind.ORG_ADMIN else None)
    assert policy.bound_to_node(p) is (kind is Kind.TEAM)
    # runs: a team sees its node's, an org admin its org's, the others all
    sees_a1 = {Kind.TEAM: p.node_id == "a1", Kind.ORG_ADMIN: p.org_id == "a"}.get(kind, True)
    assert policy.may_see_run(p, "a", "a1") is sees_a1
    assert policy.may_see_run(p, "b", "b1") is (
        kind in (Kind.GLOBAL_ADMIN, Kind.INTERNAL, Kind.NAMED_INTERNAL) or p.org_id == "b"
    )


def _outcome(decide, *args, **kwargs):
    try:
        return decide(*args, **kwargs)
    except AppError as exc:
        return (exc.status, exc.code)


LOOKUPS = {  # principal → (org asked, issue_token) → org confined to, or the refusal
    GLOBAL: {("b", False): "b", (None, True): None},
    INTERNAL: {(None, False): None, ("a", True): "a"},
    NAMED: {(None, False): None, ("a", False): "a", (None, True): (403, "forbidden"), ("a", True): (403, "forbidden")},
    ADMIN_A: {(None, False): "a", ("a", False): "a", ("b", False): (403, "forbidden"), ("a", True): (403, "forbidden")},
}


@pytest.mark.parametrize("who", list(LOOKUPS))
def test_a_lookup_is_confined_to_the_org_admins_org(who: str):
    for (org_id, issue), expected in LOOKUPS[who].items():
        assert _outcome(policy.lookup_org, KINDS[who], org_id, issue_token=issue) == expected


RUN_OWNERS = {  # principal → (org, node named) → the owner of the new run, or the refusal
    TEAM_A1: {(None, None): ("a", "a1"), ("a", "a1"): ("a", "a1"), ("a", "a2"): (403, "forbidden")},
    "team A1 config:read only": {(None, None): (403, "insufficient_scope")},
    INTERNAL: {("a", "a1"): ("a", "a1"), (None, "a1"): (422, "invalid_request")},
    NAMED: {("a", "a1"): ("a", "a1"), ("a", None): (422, "invalid_request")},
    GLOBAL: {("a", "a1"): (403, "forbidden")},
    ADMIN_A: {("a", "a1"): (403, "forbidden")},
}


@pytest.mark.parametrize("who", list(RUN_OWNERS))
def test_who_owns_a_new_run(who: str):
    for (org_id, node_id), expected in RUN_OWNERS[who].items():
        assert _outcome(policy.run_owner, KINDS[who], org_id, node_id) == expected


RUN_READERS = {  # principal → (org, node named) → the runs listed, or the refusal
    TEAM_A1: {(None, None): ("a", "a1"), ("b", None): (403, "forbidden")},
    ADMIN_A: {(None, None): ("a", None), ("a", "a2"): ("a", "a2"), ("b", None): (403, "forbidden")},
    GLOBAL: {("b", None): ("b", None), (None, None): (422, "invalid_request")},
    INTERNAL: {("a", "a1"): ("a", "a1"), ("a", None): ("a", None), (None, None): (422, "invalid_request")},
    NAMED: {("a", "a1"): (403, "forbidden"), ("a", None): (403, "forbidden")},
}


@pytest.mark.parametrize("who", list(RUN_READERS))
def test_which_runs_a_principal_lists(who: str):
    for (org_id, node_id), expected in RUN_READERS[who].items():
        assert _outcome(policy.run_reader, KINDS[who], org_id, node_id) == expected


@pytest.mark.parametrize(
    "requested, granted",
    [
        (None, ["config:read", "runs:write", "secrets:read"]),
        (["runs:write"], ["runs:write"]),
        (["config:write"], (422, "invalid_request")),
        (["config:read", "config:write"], (422, "invalid_request")),
    ],
)
def test_an_exchange_never_grants_config_write(requested, granted):
    assert _outcome(policy.exchange_scopes, requested) == granted


@pytest.mark.parametrize("who", list(KINDS))
def test_only_the_global_admin_reads_another_org_of_the_same_id(who: str):
    p = KINDS[who]
    assert _outcome(policy.audit_incarnation, p, None) is None
    for asked in ("all", str(uuid.uuid4())):
        expected = asked if p.kind is Kind.GLOBAL_ADMIN else (403, "forbidden")
        assert _outcome(policy.audit_incarnation, p, asked) == expected


HEADER_CALLERS = {  # principal → (org, node in the headers) → (org, node, as admin), or the refusal
    GLOBAL: {("a", "a1"): ("a", "a1", True), ("b", "b1"): ("b", "b1", True), (None, None): (403, "forbidden")},
    ADMIN_A: {("a", "a1"): ("a", "a1", True), ("b", "b1"): (403, "forbidden")},
    TEAM_A1: {("a", "a1"): ("a", "a1", False), ("a", "a2"): (403, "forbidden"), ("b", "a1"): (403, "forbidden"),
              (None, None): ("a", "a1", False)},
    "team A1 runs:write only": {("a", "a1"): (403, "insufficient_scope")},
    INTERNAL: {("a", "a1"): (403, "forbidden"), (None, None): (403, "forbidden")},
    NAMED: {("a", "a1"): (403, "forbidden"), (None, None): (403, "forbidden")},
}


@pytest.mark.parametrize("who", list(HEADER_CALLERS))
def test_node_headers_only_pick_a_node_for_an_admin_of_it(who: str):
    """The compat mount's `/config/me` with X-Org-Id / X-Team-Node-Id (DESIGN §4, issue 11)."""
    for (org_id, node_id), expected in HEADER_CALLERS[who].items():
        found = _outcome(policy.header_caller, KINDS[who], Scope.CONFIG_READ, org_id, node_id)
        if isinstance(found, NodeCaller):
            found = (found.org_id, found.node_id, found.as_admin)
        assert found == expected, (org_id, node_id)


def test_only_the_global_admin_creates_orgs_through_the_mount():
    for who, principal in KINDS.items():
        assert _outcome(policy.node_creation, principal, "team") is None
        assert _outcome(policy.node_creation, principal, "org") == (None if who == GLOBAL else (403, "forbidden"))
