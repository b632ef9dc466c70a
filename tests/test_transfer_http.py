"""The import route's body over HTTP (DESIGN §12.4): JSON and YAML by Content-Type, what the
codec refuses (400 with line and column, 422 naming the path, 415), and the route's own body
limit, IMPORT_MAX_BYTES, enforced while the body streams in."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.conftest import Org
from tests.transfer_http import document, node, plan

IMPORT_MAX_BYTES = 16 * 1024 * 1024  # the default, which the session's server runs with
MiB = 1024 * 1024

YAML_DOC = """format: config-service/v1
org:
  org_id: src
  name: Src
nodes:
- node_id: src
  parent_node_id: null
  name: Src
  config:
{config}
  locked_paths: []
"""


def yaml_doc(config: str) -> str:
    return YAML_DOC.format(config="\n".join("    " + line for line in config.splitlines()))


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


def test_yaml_and_json_plan_alike(org: Org):
    as_yaml = plan(org, yaml_doc("model: gpt-4o\ntools: {think: true}"), content_type="application/yaml")
    as_json = plan(org, document("src", node("src", None, {"model": "gpt-4o", "tools": {"think": True}}), ))
    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml.json() == as_json.json()
    assert as_yaml.json()["changes"][0]["action"] == "update"
    # charset parameters and no Content-Type at all (JSON) are fine
    assert plan(org, yaml_doc("a: 1"), content_type="text/yaml; charset=utf-8").status_code == 200
    response = org.admin.post(f"/admin/orgs/{org.org_id}/import", params={"dry_run": "true"},
                              content=json.dumps(document("src", node("src", None))).encode())
    assert response.status_code == 200, response.text


MALFORMED = [
    ("json", "application/json", b'{"format": "config-service/v1",\n "org": }', 2, 9),
    ("yaml", "application/yaml", b"format: x\n  org: y\n nodes: z\n", 2, 6),
    ("not utf-8", "application/json", b'{"a": "\xff"}', 1, 8),
]


@pytest.mark.parametrize(("label", "media", "body", "line", "column"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_bodies_are_400_with_line_and_column(org: Org, label: str, media: str, body: bytes, line: int,
                                                       column: int):
    found = problem(plan(org, body, content_type=media), 400, "invalid_json")
    assert (found["line"], found["column"]) == (line, column)
    assert f"line {line}, column {column}" in found["detail"]


REFUSED = [
    ("unknown field", "application/json",
     json.dumps({**document("src", node("src", None)), "extra": 1}), "invalid_request", "/extra"),
    ("unknown node field", "application/json",
     json.dumps(document("src", {**node("src", None), "parent_id": None})), "invalid_request", "/nodes/0/parent_id"),
    ("yaml anchor and alias", "application/yaml", yaml_doc("a: &x {b: 1}\nc: *x"), "invalid_config",
     "/nodes/0/config/a"),
    ("yaml timestamp", "application/yaml", yaml_doc("when: 2024-01-01"), "invalid_config", "/nodes/0/config/when"),
    ("yaml duplicate key", "application/yaml", yaml_doc("a: 1\na: 2"), "invalid_config", "/nodes/0/config/a"),
    ("json duplicate key", "application/json",
     json.dumps(document("src", node("src", None, {"a": 1}))).replace('{"a": 1}', '{"a": 1, "a": 2}'),
     "invalid_config", "/nodes/0/config/a"),
    ("an envelope", "application/json", json.dumps(document("src", node("src", None, {"k": "$enc:v1:x:y"}))),
     "invalid_config", "/nodes/0/config/k"),
    ("slack workspace bindings", "application/json",
     json.dumps(document("src", node("src", None, {"routing": {"slack_workspace_ids": ["T1"]}}))),
     "invalid_config", "/nodes/0/config/routing/slack_workspace_ids"),
    ("a parent after its child", "application/json",
     json.dumps(document("src", node("src", None), node("b", "a"), node("a", "src"))), "invalid_request",
     "/nodes/1/parent_node_id"),
]


@pytest.mark.parametrize(("label", "media", "body", "code", "path"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_a_document_may_not_hold_is_422_naming_the_path(org: Org, label: str, media: str, body: str,
                                                             code: str, path: str):
    assert problem(plan(org, body, content_type=media), 422, code)["path"] == path


def test_other_media_types_are_415(org: Org):
    problem(plan(org, "format: x", content_type="text/plain"), 415, "unsupported_media_type")


def test_the_import_route_takes_bodies_over_max_body_bytes(org: Org):
    """A 2 MiB document plans (the import's limit is IMPORT_MAX_BYTES), while the same bytes on any
    other route are 413 (MAX_BODY_BYTES)."""
    org.add_node("big")
    doc = document("src", node("src", None), *[node(f"n{i}", "src", {"blob": "x" * 200_000}) for i in range(10)])
    body = json.dumps(doc).encode()
    assert 2 * MiB > len(body) > MiB
    response = plan(org, body)
    assert response.status_code == 200, response.text
    assert {c["action"] for c in response.json()["changes"][1:]} == {"create"}
    preview = org.admin.post(org.node_path("big") + "/config/preview", content=body,
                             headers={"Content-Type": "application/json"})
    problem(preview, 413, "payload_too_large")


def test_the_mounts_import_route_has_the_same_limit(org: Org, server, server_keys):
    """The compat mount serves the whole API again (DESIGN §6): its import route takes the same
    IMPORT_MAX_BYTES, not the 1 MiB of other routes."""
    doc = document("src", node("src", None), *[node(f"n{i}", "src", {"blob": "x" * 200_000}) for i in range(6)])
    body = json.dumps(doc).encode()
    assert len(body) > MiB
    with httpx.Client(base_url=server.url + "/compat/incidentfox/api/v1", timeout=60,
                      headers={"Authorization": f"Bearer {server_keys['ADMIN_TOKEN']}"}) as mount:
        response = mount.post(f"/admin/orgs/{org.org_id}/import", params={"dry_run": "true"}, content=body,
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert {c["action"] for c in response.json()["changes"][1:]} == {"create"}


def test_a_body_over_import_max_bytes_is_413(org: Org):
    body = b" " * (IMPORT_MAX_BYTES + 1)
    found = problem(plan(org, body), 413, "payload_too_large")
    assert str(IMPORT_MAX_BYTES) in found["detail"]


def _raw_request(org: Org, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", org.server.port), timeout=60)
    sock.sendall(head.encode())
    return sock


def _response_head(sock: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def test_the_limit_holds_while_the_body_streams_in(org: Org, server_keys):
    """A chunked body that passes IMPORT_MAX_BYTES is answered 413 at once: the server does not
    wait for (or keep) the rest, which here never comes."""
    sock = _raw_request(org, (
        f"POST /api/v1/admin/orgs/{org.org_id}/import?dry_run=true HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {server_keys['ADMIN_TOKEN']}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ))
    try:
        chunk = b" " * MiB
        for _ in range(IMPORT_MAX_BYTES // MiB):
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        sock.sendall(b"1\r\n \r\n")  # one byte over the limit; the body's last chunk is never sent
        head = _response_head(sock)
    finally:
        sock.close()
    assert head.startswith("HTTP/1.1 413"), head[:200]


def test_a_declared_length_over_the_limit_is_refused_before_the_body(org: Org, server_keys):
    sock = _raw_request(org, (
        f"POST /api/v1/admin/orgs/{org.org_id}/import?dry_run=true HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {server_keys['ADMIN_TOKEN']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {IMPORT_MAX_BYTES + 1}\r\n\r\n"
    ))
    try:
        head = _response_head(sock)  # no body sent at all
    finally:
        sock.close()
    assert head.startswith("HTTP/1.1 413"), head[:200]
