"""Helpers for the config-as-code tests over HTTP (tests/test_transfer_api.py, test_transfer_http.py)."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx

from tests.conftest import Org

MASK = "********"


def node(node_id: str, parent: str | None, config: dict[str, Any] | None = None, locks: list[str] | None = None,
         name: str | None = None) -> dict[str, Any]:
    return {"node_id": node_id, "parent_node_id": parent, "name": name or node_id,
            "config": config if config is not None else {}, "locked_paths": locks or []}


def document(root: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    return {"format": "config-service/v1", "org": {"org_id": root, "name": root}, "nodes": list(nodes)}


def export(org: Org, accept: str | None = None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    response = org.admin.get(f"/admin/orgs/{org.org_id}/export", headers=headers)
    assert response.status_code == 200, response.text
    return response


def exported(org: Org) -> dict[str, Any]:
    return export(org).json()


def _body(doc: dict[str, Any] | bytes | str, content_type: str) -> dict[str, Any]:
    if isinstance(doc, dict):
        return {"content": json.dumps(doc).encode(), "headers": {"Content-Type": content_type}}
    content = doc.encode() if isinstance(doc, str) else doc
    return {"content": content, "headers": {"Content-Type": content_type}}


def plan(org: Org, doc: dict[str, Any] | bytes | str, *, prune: bool = False, content_type: str = "application/json",
         client: httpx.Client | None = None) -> httpx.Response:
    kwargs = _body(doc, content_type)
    params = {"dry_run": "true", **({"prune": "true"} if prune else {})}
    return (client or org.admin).post(f"/admin/orgs/{org.org_id}/import", params=params, **kwargs)


def planned(org: Org, doc: dict[str, Any], *, prune: bool = False) -> dict[str, Any]:
    response = plan(org, doc, prune=prune)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"based_on", "changes", "needs_secret", "errors", "kept"}
    assert response.headers["etag"] == f'"{body["based_on"]}"'
    return body


def apply(org: Org, doc: dict[str, Any] | bytes | str, if_match: str | None, *, prune: bool = False,
          content_type: str = "application/json", reason: str | None = None) -> httpx.Response:
    kwargs = _body(doc, content_type)
    if if_match is not None:
        kwargs["headers"]["If-Match"] = if_match
    if reason is not None:
        kwargs["headers"]["X-Change-Reason"] = reason
    params = {"prune": "true"} if prune else {}
    return org.admin.post(f"/admin/orgs/{org.org_id}/import", params=params, **kwargs)


def applied(org: Org, doc: dict[str, Any], *, prune: bool = False, reason: str | None = None) -> dict[str, Any]:
    """Plan, check it has no errors, apply with its based_on."""
    body = planned(org, doc, prune=prune)
    assert body["errors"] == [], body["errors"]
    response = apply(org, doc, f'"{body["based_on"]}"', prune=prune, reason=reason)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["changes"] == body["changes"] and result["based_on"] == body["based_on"]
    assert response.headers["etag"] == f'"{result["new_based_on"]}"'
    return result


def actions(plan_body: dict[str, Any]) -> dict[str, str]:
    return {change["node_id"]: change["action"] for change in plan_body["changes"]}


def remove_path(config: dict[str, Any], pointer: str) -> None:
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    target: Any = config
    for token in tokens[:-1]:
        target = target[token]
    del target[tokens[-1]]


def promoted(source: dict[str, Any], target_org: str, target_name: str,
             needs_secret: list[dict[str, str]]) -> dict[str, Any]:
    """What exporting the target should give after importing `source`: the root mapped to the
    target's (its id and name), and the secrets the target lacked left out."""
    doc = copy.deepcopy(source)
    root = doc["nodes"][0]["node_id"]
    doc["org"] = {"org_id": target_org, "name": target_name}
    for entry in doc["nodes"]:
        if entry["node_id"] == root:
            entry["node_id"], entry["name"] = target_org, target_name
        if entry["parent_node_id"] == root:
            entry["parent_node_id"] = target_org
    by_id = {entry["node_id"]: entry for entry in doc["nodes"]}
    for item in needs_secret:
        remove_path(by_id[item["node_id"]]["config"], item["path"])
    return doc


def without_masks(value: Any) -> Any:
    """`value` without its masked leaves (the secrets a copy lacks)."""
    if isinstance(value, dict):
        return {k: without_masks(v) for k, v in value.items() if v != MASK}
    if isinstance(value, list):
        return [without_masks(v) for v in value]
    return value


def audit(org: Org) -> list[dict[str, Any]]:
    response = org.admin.get(f"/admin/orgs/{org.org_id}/audit", params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def claims(org: Org) -> list[tuple[str, str, str]]:
    response = org.admin.get(f"/admin/orgs/{org.org_id}/routing", params={"limit": 500})
    assert response.status_code == 200, response.text
    return sorted((c["kind"], c["value"], c["node_id"]) for c in response.json()["items"])
