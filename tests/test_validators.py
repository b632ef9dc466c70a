"""Validators of config writes (DESIGN §6, §7; issue 10): every config write accepts `If-Match`
with the node's effective etag or `"v<version>"`, the admin node routes also the bare
`"<version>"`; every 412 carries the current validator — in `ETag` (quoted) and as `current` in
the problem (bare) — in the form that route's reads give: the own version on the admin node
routes, the effective etag on `/config/me`. The same for rollback and preview."""

from __future__ import annotations

import pytest

WRITER = ["config:read", "config:write"]
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


@pytest.fixture()
def node(org):
    org.add_node("sre")
    assert org.patch("sre", {"a": 1}).status_code == 200  # version 2
    return org


def _stale_412(response, current: str) -> None:
    assert response.status_code == 412, response.text
    problem = response.json()
    assert problem["code"] == "precondition_failed"
    assert problem["current"] == current
    assert response.headers["etag"] == f'"{current}"'


def test_the_admin_write_accepts_the_etag_its_own_answer_carries(node):
    url = node.node_path("sre") + "/config"
    first = node.patch("sre", {"b": 1})
    assert first.headers["etag"] == '"3"'
    # the body's etag (the effective one) is a validator of this route too
    second = node.admin.patch(url, json={"config": {"c": 1}}, headers={"If-Match": f'"{first.json()["etag"]}"'})
    assert second.status_code == 200, second.text
    # and so are "v<version>" and the bare version
    third = node.admin.patch(url, json={"config": {"d": 1}}, headers={"If-Match": '"v4"'})
    assert third.status_code == 200, third.text
    fourth = node.admin.put(url, json={"config": {"e": 1}}, headers={"If-Match": '"5"'})
    assert fourth.status_code == 200, fourth.text
    legacy = node.admin.put(url, json={"patch": {"f": 1}}, headers={"If-Match": f'"{fourth.json()["etag"]}"'})
    assert legacy.status_code == 200, legacy.text


@pytest.mark.parametrize("stale", ['"1"', '"v1"', '"not-the-etag"'])
def test_an_admin_412_names_the_own_version(node, stale):
    url = node.node_path("sre") + "/config"
    _stale_412(node.admin.patch(url, json={"config": {"b": 1}}, headers={"If-Match": stale}), "2")
    _stale_412(node.admin.put(url, json={"config": {"b": 1}}, headers={"If-Match": stale}), "2")
    _stale_412(node.admin.post(url + "/rollback", json={"version": 1}, headers={"If-Match": stale}), "2")
    _stale_412(node.admin.post(url + "/preview", json={"config": {"b": 1}}, headers={"If-Match": stale}), "2")
    assert node.own("sre")["version"] == 2


def test_a_412_lets_the_client_retry_with_the_current_validator(node):
    url = node.node_path("sre") + "/config"
    refused = node.admin.patch(url, json={"config": {"b": 1}}, headers={"If-Match": '"1"'})
    retried = node.admin.patch(url, json={"config": {"b": 1}}, headers={"If-Match": refused.headers["etag"]})
    assert retried.status_code == 200 and retried.json()["version"] == 3
    with node.team_client("sre", WRITER) as team:
        refused = team.patch("/config/me", json={"config": {"c": 1}}, headers={"If-Match": '"v1"'})
        assert refused.status_code == 412
        retried = team.patch("/config/me", json={"config": {"c": 1}}, headers={"If-Match": refused.headers["etag"]})
        assert retried.status_code == 200, retried.text


def test_a_team_412_names_the_effective_etag(node):
    with node.team_client("sre", WRITER) as team:
        etag = team.get("/config/me").json()["etag"]
        for stale in ('"v1"', '"2"', '"stale"'):  # the bare version is not a validator of /config/me
            _stale_412(team.patch("/config/me", json={"config": {"b": 1}}, headers={"If-Match": stale}), etag)
            _stale_412(team.put("/config/me", json={"config": {"b": 1}}, headers={"If-Match": stale}), etag)
            _stale_412(team.post("/config/me/rollback", json={"version": 1}, headers={"If-Match": stale}), etag)
            _stale_412(team.post("/config/me/preview", json={"config": {"b": 1}}, headers={"If-Match": stale}),
                       etag)
        assert team.post("/config/me/preview", json={"config": {"b": 1}},
                         headers={"If-Match": f'"{etag}"'}).status_code == 200
        assert team.post("/config/me/preview", json={"config": {"b": 1}},
                         headers={"If-Match": '"v2"'}).status_code == 200


def test_a_failed_json_patch_test_is_a_412_with_the_current_validator_too(node):
    body = '[{"op": "test", "path": "/a", "value": 2}, {"op": "replace", "path": "/a", "value": 3}]'
    response = node.admin.patch(node.node_path("sre") + "/config", content=body, headers=JSON_PATCH)
    _stale_412(response, "2")
    assert response.json()["path"] == "/0"
    with node.team_client("sre", WRITER) as team:
        etag = team.get("/config/me").json()["etag"]
        _stale_412(team.patch("/config/me", content=body, headers=JSON_PATCH), etag)


def test_a_preview_with_a_matching_validator_answers(node):
    url = node.node_path("sre") + "/config/preview"
    etag = node.admin.get(node.node_path("sre") + "/effective").json()["etag"]
    for tag in ('"2"', '"v2"', f'"{etag}"', "*"):
        response = node.admin.post(url, json={"config": {"b": 1}}, headers={"If-Match": tag})
        assert response.status_code == 200, (tag, response.text)
        assert response.json()["based_on"] == etag
