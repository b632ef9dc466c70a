"""The authorisation matrix (DESIGN §4): every principal × every route family.

401 without a valid credential; 403 outside the principal's reach (another org, another team's
node, a team on `/admin`, the internal service on `/admin` and `/config/me`); otherwise the
route's own answer. Every 401/403 is counted in `/metrics`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

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

PRINCIPALS = [NONE, GARBAGE, GLOBAL, ADMIN_A, ADMIN_B, TEAM_A1, TEAM_A1_WRITE, TEAM_A2, INTERNAL, INTERNAL_HEADER,
              WRONG_INTERNAL]
UNAUTHENTICATED = {NONE, GARBAGE, WRONG_INTERNAL}
ANY_ADMIN = {GLOBAL, ADMIN_A, ADMIN_B}
ADMINS_OF_A = {GLOBAL, ADMIN_A}
TEAMS = {TEAM_A1, TEAM_A1_WRITE, TEAM_A2}
READERS_OF_A1 = {GLOBAL, ADMIN_A, TEAM_A1, TEAM_A1_WRITE}
EVERYONE = set(PRINCIPALS) - UNAUTHENTICATED


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


# ---- routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {a} / {b}: the two orgs; {uuid}: a fresh uuid; {new}: a fresh id
    allowed: frozenset[str]
    ok: int  # the status an allowed principal gets
    body: object = None
    forbidden_code: dict[str, str] | None = None  # principal → expected 403 code other than `forbidden`


def route(name, method, path, allowed, ok, body=None, forbidden_code=None) -> Route:
    return Route(name, method, path, frozenset(allowed), ok, body, forbidden_code)


NODE = "/admin/orgs/{a}/nodes/a1"
INSUFFICIENT = {TEAM_A1: "insufficient_scope", TEAM_A2: "insufficient_scope"}

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
]


def auth_failures(ops: httpx.Client) -> float:
    text = ops.get("/metrics").text
    return sum(float(m) for m in re.findall(r"^config_service_auth_failures_total\{[^}]*\} (\S+)$", text, re.M))


def fill(template: str, world: World) -> str:
    return (
        template.replace("{a}", world.a)
        .replace("{b}", world.b)
        .replace("{uuid}", str(uuid.uuid4()))
        .replace("{new}", unique_id("n"))
    )


def fill_body(body: object, world: World) -> object:
    if isinstance(body, dict):
        return {k: fill(v, world) if isinstance(v, str) else v for k, v in body.items()}
    return body


@pytest.mark.parametrize("who", PRINCIPALS)
@pytest.mark.parametrize("r", ROUTES, ids=lambda r: r.name)
def test_matrix(world: World, client: httpx.Client, ops: httpx.Client, r: Route, who: str):
    before = auth_failures(ops)
    kwargs: dict = {"headers": world.headers[who]}
    if r.body is not None:
        kwargs["json"] = fill_body(r.body, world)
    response = client.request(r.method, fill(r.path, world), **kwargs)

    if who in UNAUTHENTICATED:
        expected = 401
    elif who in r.allowed:
        expected = r.ok
    else:
        expected = 403
    assert response.status_code == expected, f"{who} {r.method} {r.path}: {response.status_code} {response.text}"
    if expected in (401, 403):
        body = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        code = "unauthenticated" if expected == 401 else (r.forbidden_code or {}).get(who, "forbidden")
        assert body["code"] == code, body
        assert body["status"] == expected
    assert auth_failures(ops) - before == (1 if expected in (401, 403) else 0)


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
            rf'^config_service_auth_failures_total\{{(?=[^}}]*status="{status}")(?=[^}}]*code="{code}")[^}}]*\}} (\S+)$',
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
