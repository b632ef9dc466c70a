"""Never a 500 for anything a client sent (DESIGN §7): malformed bodies, headers, paths, queries.

Every answer is below 500, and every error is application/problem+json with the documented fields.
"""

from __future__ import annotations

import json
import uuid

import httpx

DEEP = ("[" * 5000) + ("]" * 5000)
DEEP_OBJECT = '{"config": ' + ('{"a": ' * 3000) + "1" + ("}" * 3000) + "}"


def bodies() -> list[tuple[str, bytes | None, str | None]]:
    """(label, raw body, content type)."""
    raw = [
        ("bad json", b"{not json", "application/json"),
        ("truncated", b'{"config": {"a": ', "application/json"),
        ("empty", b"", "application/json"),
        ("null", b"null", "application/json"),
        ("array", b"[1, 2, 3]", "application/json"),
        ("string", b'"config"', "application/json"),
        ("huge int", b'{"config": {"n": ' + b"9" * 5000 + b"}}", "application/json"),
        ("huge float", b'{"config": {"n": 1e999999}}', "application/json"),
        ("nan", b'{"config": {"n": NaN}}', "application/json"),
        ("infinity", b'{"config": {"n": -Infinity}}', "application/json"),
        ("bad utf8", b'{"config": {"n": "\xff\xfe"}}', "application/json"),
        ("lone surrogate", b'{"config": {"n": "\\ud800"}}', "application/json"),
        ("unicode", json.dumps({"config": {"名前": "値 🚀", "\u0000k": "\u0000"}}).encode(), "application/json"),
        ("config not object", b'{"config": [1, 2]}', "application/json"),
        ("config string", b'{"config": "x"}', "application/json"),
        ("config null", b'{"config": null}', "application/json"),
        ("reason wrong type", b'{"config": {}, "reason": {"a": 1}}', "application/json"),
        ("deep array", DEEP.encode(), "application/json"),
        ("deep object", DEEP_OBJECT.encode(), "application/json"),
        ("xml", b"<config/>", "application/xml"),
        ("form", b"config=1", "application/x-www-form-urlencoded"),
        ("no content type", b'{"config": {}}', None),
        ("json patch not array", b'{"op": "add"}', "application/json-patch+json"),
        ("json patch bad op", b'[{"op": "explode", "path": "/a"}]', "application/json-patch+json"),
        ("json patch bad pointer", b'[{"op": "add", "path": "a~9", "value": 1}]', "application/json-patch+json"),
        ("json patch missing value", b'[{"op": "add", "path": "/a"}]', "application/json-patch+json"),
        ("json patch remove missing", b'[{"op": "remove", "path": "/nope/deeper"}]', "application/json-patch+json"),
        ("json patch test array idx", b'[{"op": "test", "path": "/a/99999999999999999999", "value": 1}]',
         "application/json-patch+json"),
        ("merge patch", b'{"config": {"a": {"b": null}}}', "application/merge-patch+json"),
    ]
    return raw


def check(response: httpx.Response, label: str, failures: list[str]) -> None:
    if response.status_code >= 500:
        failures.append(f"{label}: {response.status_code} {response.text[:200]}")
        return
    if response.status_code >= 400:
        if response.headers.get("content-type") != "application/problem+json":
            failures.append(f"{label}: {response.status_code} with {response.headers.get('content-type')}")
            return
        body = response.json()
        missing = {"type", "title", "status", "detail", "code"} - set(body)
        if missing or body["status"] != response.status_code:
            failures.append(f"{label}: problem body {body}")


def test_malformed_bodies_on_writes(org, admin: httpx.Client) -> None:
    org.add_node("sre")
    team = org.team_client("sre", scopes=["config:read", "config:write"])
    targets = [
        (admin, "PATCH", org.node_path("sre") + "/config"),
        (admin, "PUT", org.node_path("sre") + "/config"),
        (admin, "POST", org.node_path("sre") + "/config/rollback"),
        (admin, "PUT", org.node_path("sre") + "/locks"),
        (admin, "POST", f"/admin/orgs/{org.org_id}/nodes"),
        (admin, "PATCH", org.node_path("sre")),
        (admin, "POST", "/admin/orgs"),
        (admin, "POST", f"/admin/orgs/{org.org_id}/teams/sre/tokens"),
        (admin, "POST", f"/admin/orgs/{org.org_id}/admin-tokens"),
        (team, "PATCH", "/config/me"),
        (team, "PUT", "/config/me"),
        (team, "POST", "/config/me/rollback"),
        (admin, "PUT", f"/config/orgs/{org.org_id}/nodes/sre/config"),
    ]
    failures: list[str] = []
    with team:
        for client, method, path in targets:
            for label, body, content_type in bodies():
                headers = {"Content-Type": content_type} if content_type else {}
                try:
                    response = client.request(method, path, content=body, headers=headers)
                except httpx.TransportError as exc:
                    failures.append(f"{method} {path} [{label}]: connection dropped: {exc!r}")
                    continue
                check(response, f"{method} {path} [{label}]", failures)
    assert not failures, "\n".join(failures)


def test_wrong_types_in_known_fields(org, admin: httpx.Client) -> None:
    org.add_node("sre")
    cases = [
        ("POST", f"/admin/orgs/{org.org_id}/nodes", {"node_id": 123, "parent_node_id": ["x"]}),
        ("POST", f"/admin/orgs/{org.org_id}/nodes", {"node_id": "ok-id", "parent_node_id": org.org_id, "node_type": 7}),
        ("POST", f"/admin/orgs/{org.org_id}/nodes", {"node_id": "a.b", "parent_node_id": org.org_id}),
        ("POST", f"/admin/orgs/{org.org_id}/nodes", {"node_id": "x" * 10_000, "parent_node_id": org.org_id}),
        ("POST", f"/admin/orgs/{org.org_id}/nodes", {"node_id": "ünïcode", "parent_node_id": org.org_id}),
        ("POST", "/admin/orgs", {"org_id": None}),
        ("POST", "/admin/orgs", {"org_id": "-starts-with-dash"}),
        ("POST", "/admin/orgs", {"org_id": "ok", "name": {"nested": True}}),
        ("POST", org.node_path("sre") + "/config/rollback", {"version": "one"}),
        ("POST", org.node_path("sre") + "/config/rollback", {"version": 10**30}),
        ("POST", org.node_path("sre") + "/config/rollback", {"version": -1}),
        ("POST", org.node_path("sre") + "/config/rollback", {"version": 1.5}),
        ("PUT", org.node_path("sre") + "/locks", {"locked_paths": "not-a-list"}),
        ("PUT", org.node_path("sre") + "/locks", {"locked_paths": ["no-leading-slash", 5]}),
        ("PUT", org.node_path("sre") + "/locks", {"locked_paths": ["/a~2b"]}),
        ("POST", f"/admin/orgs/{org.org_id}/teams/sre/tokens", {"expires_in_days": "soon"}),
        ("POST", f"/admin/orgs/{org.org_id}/teams/sre/tokens", {"expires_in_days": 10**12}),
        ("POST", f"/admin/orgs/{org.org_id}/teams/sre/tokens", {"expires_in_days": -5}),
        ("POST", f"/admin/orgs/{org.org_id}/teams/sre/tokens", {"scopes": "config:read"}),
        ("POST", f"/admin/orgs/{org.org_id}/teams/sre/tokens", {"scopes": ["everything"]}),
        ("POST", f"/admin/orgs/{org.org_id}/admin-tokens", {"expires_in_days": 1e308}),
        ("PATCH", org.node_path("sre"), {"parent_node_id": 5}),
        ("PATCH", org.node_path("sre"), {"name": ["x"]}),
        ("PATCH", org.node_path("sre") + "/config", {"config": {"$enc:v1:x": 1}}),
        ("PATCH", org.node_path("sre") + "/config", {"config": {"a": "$enc:v1:k:AAAA"}}),
    ]
    failures: list[str] = []
    for method, path, body in cases:
        response = admin.request(method, path, json=body)
        check(response, f"{method} {path} {str(body)[:60]}", failures)
    assert not failures, "\n".join(failures)


def test_bad_paths_and_queries(org, admin: httpx.Client) -> None:
    org.add_node("sre")
    o = org.org_id
    paths = [
        f"/admin/orgs/{o}/teams/sre/tokens/not-a-uuid/revoke",
        f"/admin/orgs/{o}/teams/sre/tokens/{'f' * 300}/revoke",
        f"/admin/orgs/{o}/teams/sre/tokens/{uuid.uuid4()}/revoke",
        f"/admin/orgs/{o}/teams/nope/tokens/{uuid.uuid4()}/revoke",
        f"/admin/orgs/{o}/admin-tokens/12345/revoke",
        f"/admin/orgs/{o}/admin-tokens/{uuid.uuid4()}/revoke",
        f"/admin/orgs/{o}/admin-tokens/%00/revoke",
    ]
    gets = [
        f"/admin/orgs/{o}/audit?limit=abc",
        f"/admin/orgs/{o}/audit?limit=-1",
        f"/admin/orgs/{o}/audit?limit=100000000000000000000000",
        f"/admin/orgs/{o}/audit?since=notadate",
        f"/admin/orgs/{o}/audit?until=2024-13-45T99:99:99Z",
        f"/admin/orgs/{o}/audit?since=9999-12-31T23:59:59Z&until=0001-01-01T00:00:00Z",
        f"/admin/orgs/{o}/audit?cursor=garbage",
        f"/admin/orgs/{o}/audit?cursor=%FF%FE",
        f"/admin/orgs/{o}/audit?cursor=" + "A" * 5000,
        f"/admin/orgs/{o}/audit/export?format=xml",
        f"/admin/orgs/{o}/audit/export?format=csv&since=yesterday",
        f"/admin/orgs/{o}/nodes/sre/history?limit=abc",
        f"/admin/orgs/{o}/nodes/sre/history?before_version=x",
        f"/admin/orgs/{o}/nodes/sre/history?before_version=99999999999999999999999",
        f"/admin/orgs/{o}/nodes/sre/history?include_full=maybe",
        f"/admin/orgs/{o}/nodes?limit=abc",
        f"/admin/orgs/{o}/nodes?cursor=%00",
        "/admin/orgs?limit=0",
        "/admin/orgs?cursor=garbage",
        f"/admin/orgs/{o}/nodes/%F0%9F%9A%80",
        f"/admin/orgs/{o}/nodes/a%2Fb",
        f"/admin/orgs/{o}/nodes/{'n' * 5000}",
        f"/admin/orgs/{o}/nodes/..%2F..%2Fetc",
        "/admin/orgs/%00",
        "/admin/orgs/has.dot/nodes",
        f"/admin/orgs/{o}/tree?depth=-1",
        f"/config/orgs/{o}/nodes/nope/effective",
        f"/admin/orgs/{o}/nodes/sre/explain?path=%00",
    ]
    failures: list[str] = []
    for path in paths:
        check(admin.post(path), f"POST {path}", failures)
    for path in gets:
        check(admin.get(path), f"GET {path}", failures)
    for method in ("DELETE", "PUT", "PATCH"):
        check(admin.request(method, "/admin/orgs"), f"{method} /admin/orgs", failures)
    check(admin.delete(f"/admin/orgs/{o}?cascade=maybe"), "DELETE cascade=maybe", failures)
    check(admin.delete(org.node_path("sre") + "?cascade=perhaps"), "DELETE node cascade=perhaps", failures)
    assert not failures, "\n".join(failures)


def test_bad_headers(server, org, admin: httpx.Client) -> None:
    org.add_node("sre")
    team = org.token("sre", scopes=["config:read", "config:write"])
    url = server.api
    cases: list[tuple[str, str, dict[str, str], bytes | None]] = [
        ("GET", "/config/me", {"Authorization": "Bearer"}, None),
        ("GET", "/config/me", {"Authorization": "Bearer " + "x" * 10_000}, None),
        ("GET", "/config/me", {"Authorization": "Bearer a.b.c.d.e.f"}, None),
        ("GET", "/config/me", {"Authorization": "Bearer ...."}, None),
        ("GET", "/config/me", {"Authorization": "Bearer org.team."}, None),
        ("GET", "/config/me", {"Authorization": "Bearer %00.%00.%00"}, None),
        ("GET", "/config/me", {"Authorization": "Negotiate abc"}, None),
        ("GET", "/config/me", {"X-Internal-Service": "x" * 10_000}, None),
        ("GET", "/config/me", {"Authorization": f"Bearer {team}", "If-None-Match": "garbage"}, None),
        ("GET", "/config/me", {"Authorization": f"Bearer {team}", "If-None-Match": '"' * 100}, None),
        ("GET", "/config/me?wait=abc", {"Authorization": f"Bearer {team}"}, None),
        ("GET", "/config/me?wait=-1", {"Authorization": f"Bearer {team}", "If-None-Match": "x"}, None),
        ("PATCH", "/config/me", {"Authorization": f"Bearer {team}", "If-Match": "not-a-tag",
                                 "Content-Type": "application/json"}, b'{"config": {"a": 1}}'),
        ("PATCH", "/config/me", {"Authorization": f"Bearer {team}", "If-Match": '"v-abc"',
                                 "Content-Type": "application/json"}, b'{"config": {"a": 1}}'),
        ("PATCH", "/config/me", {"Authorization": f"Bearer {team}", "If-Match": '"v99999999999999999999999"',
                                 "Content-Type": "application/json"}, b'{"config": {"a": 1}}'),
        ("PATCH", "/config/me", {"Authorization": f"Bearer {team}",
            "Content-Type": "application/json; charset=latin-9"},
         b'{"config": {"a": 1}}'),
        ("PATCH", "/config/me", {"Authorization": f"Bearer {team}", "Content-Type": "application/json-patch+json",
                                 "X-Change-Reason": "u" * 3000}, b'[{"op": "add", "path": "/a", "value": 1}]'),
        ("PATCH", "/config/me", {"Authorization": f"Bearer {team}", "Content-Type": ";;;"}, b"{}"),
    ]
    admin_token = admin.headers["Authorization"]
    cases += [
        ("PATCH", f"/admin/orgs/{org.org_id}/nodes/sre/config",
         {"Authorization": admin_token, "If-Match": "*, garbage", "Content-Type": "application/json"},
         b'{"config": {"a": 1}}'),
        ("PATCH", f"/admin/orgs/{org.org_id}/nodes/sre/config",
         {"Authorization": admin_token, "If-Match": '"' + "9" * 40 + '"', "Content-Type": "application/json"},
         b'{"config": {"a": 1}}'),
    ]
    failures: list[str] = []
    with httpx.Client(timeout=30) as client:
        for method, path, headers, body in cases:
            try:
                response = client.request(method, url + path, headers=headers, content=body)
            except httpx.HTTPError as exc:  # a header httpx itself refuses to send is not a server answer
                failures.append(f"{method} {path}: client could not send: {exc}")
                continue
            check(response, f"{method} {path} {list(headers)}", failures)
    # What httpx refuses to send: raw non-ASCII bytes in headers, a negative Content-Length.
    raw_requests = [
        b"GET /api/v1/config/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\xc3\x28\r\n",
        b"GET /api/v1/config/me HTTP/1.1\r\nHost: x\r\nX-Internal-Service: \xff\xfe\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-ID: \xe2\x98\x83\xff\r\n",
        b"PATCH /api/v1/admin/orgs/" + org.org_id.encode() + b"/nodes/sre/config HTTP/1.1\r\nHost: x\r\n"
        + b"Authorization: " + admin_token.encode() + b"\r\nContent-Type: application/json\r\n"
        + b"Content-Length: 99999999999999999999999999\r\n",
    ]
    for raw_request in raw_requests:
        status = raw_status(server.port, raw_request + b"Connection: close\r\n\r\n")
        if status is not None and status >= 500:
            failures.append(f"raw {raw_request[:60]!r}: {status}")
    assert not failures, "\n".join(failures)


def raw_status(port: int, request: bytes) -> int | None:
    """The status of a hand-written request, or None when the server closed without answering."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        try:
            while chunk := sock.recv(65536):
                raw += chunk
        except ConnectionResetError:
            pass
    if not raw:
        return None
    return int(raw.split(b" ", 2)[1])


def test_body_limit_is_413_not_500(org, admin: httpx.Client) -> None:
    big = b'{"config": {"a": "' + b"x" * (1024 * 1024 + 10) + b'"}}'
    response = admin.patch(org.node_path(org.org_id) + "/config", content=big,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"

    # The same without a declared length (chunked): still 413, never a 500.
    def chunks():
        for _ in range(20):
            yield b"x" * 65536 * 2

    response = admin.patch(org.node_path(org.org_id) + "/config", content=chunks(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
