"""Replaying IncidentFox's client calls (tests/compat_calls.py) against a real server on the mount."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.compat_calls import CALLS
from tests.support import ServerProcess, unique_id

MOUNT = "/compat/incidentfox"
BY_ID = {call["id"]: call for call in CALLS}


def call(call_id: str) -> dict[str, Any]:
    return BY_ID[call_id]


@dataclass
class PeerWorld:
    """An IncidentFox-style tenant made through the mount: org `slack-<W>` bound to workspace W
    with its team `default`, and the credentials the peer's clients hold."""

    server: ServerProcess
    values: dict[str, str]
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.server.url + MOUNT, timeout=30)

    def close(self) -> None:
        self.http.close()

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    def fill(self, value: Any, extra: dict[str, str] | None = None) -> Any:
        values = {**self.values, **(extra or {})}
        if isinstance(value, str):
            for key, replacement in values.items():
                value = value.replace("{" + key + "}", replacement)
            return value
        if isinstance(value, dict):
            return {self.fill(k, extra): self.fill(v, extra) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v, extra) for v in value]
        return value

    def send(self, entry: dict[str, Any], **extra: str) -> httpx.Response:
        """The call exactly as the peer's client sends it, placeholders filled."""
        kwargs: dict[str, Any] = {
            "headers": self.fill(entry["headers"], extra),
            "params": self.fill(entry["query"], extra),
        }
        if entry["body"] is not None:
            kwargs["content"] = json.dumps(self.fill(entry["body"], extra)).encode()
        return self.http.request(entry["method"], self.fill(entry["path"], extra), **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call of ours with the global admin token; `path` below the server's root (`/api/v1/…`
        is our root API, `/compat/incidentfox/api/v1/…` the mount)."""
        headers = {"Authorization": f"Bearer {self['ADMIN_TOKEN']}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.server.url + path, headers=headers, timeout=30, **kwargs)


def make_world(server: ServerProcess, keys: dict[str, str]) -> PeerWorld:
    workspace = "T" + secrets.token_hex(5).upper()
    org = f"slack-{workspace}"
    world = PeerWorld(server, {
        "ADMIN_TOKEN": keys["ADMIN_TOKEN"],
        "INTERNAL_TOKEN": keys["INTERNAL_SERVICE_TOKEN"],
        "WORKSPACE": workspace,
        "ORG": org,
        "TEAM": "default",
        "NEW_TEAM": unique_id("team"),
        "CHANNEL": "C" + secrets.token_hex(5).upper(),
        "REPO": f"acme/{unique_id('repo')}",
        "RUN_ID": secrets.token_hex(4),
        "SESSION_ID": f"{datetime.now(UTC).timestamp():.6f}",
        # one per world, so that a call sent twice is the same call (the peer's retries are)
        "UUID": str(uuid.uuid4()),
        "NOW": datetime.now(UTC).replace(tzinfo=None).isoformat(),  # the clients' `datetime.utcnow()`
    })
    assert world.send(call("slackbot.org_create")).status_code == 201
    assert world.send(call("slackbot.team_create")).status_code == 201
    for name, scopes in (("TEAM_TOKEN", None), ("WRITER_TOKEN", ["config:read", "config:write", "secrets:read",
                                                                   "runs:write"])):
        body = {} if scopes is None else {"scopes": scopes}
        response = world.admin("POST", f"/api/v1/admin/orgs/{org}/teams/default/tokens", json=body)
        assert response.status_code == 201, response.text
        world.values[name] = response.json()["token"]
    response = world.admin("POST", f"/api/v1/admin/orgs/{org}/admin-tokens", json={})
    assert response.status_code == 201, response.text
    world.values["ORG_ADMIN_TOKEN"] = response.json()["token"]
    return world


def worlds(server: ServerProcess, keys: dict[str, str]) -> Iterator[PeerWorld]:
    world = make_world(server, keys)
    yield world
    world.close()


def _present(body: Any, path: str) -> list[Any]:
    """The values at a `reads` path (`a.b`, `a[].f`, `[].f`); fails when a step is missing."""
    current = [body]
    for step in path.split("."):
        nxt = []
        for value in current:
            if step.endswith("[]"):
                key = step[:-2]
                value = value[key] if key else value
                assert isinstance(value, list), f"{path}: {step} is not a list"
                nxt.extend(value)
            else:
                assert isinstance(value, dict) and step in value, f"{path}: no '{step}' in {str(value)[:200]}"
                nxt.append(value[step])
        current = nxt
    return current


def assert_reads(response: httpx.Response, reads: list[str]) -> None:
    """Every field the client reads is there, with the shape it expects."""
    for path in reads:
        if path.startswith("text:"):
            assert path[5:] in response.text, (path, response.text[:300])
        elif path == "[]":
            assert isinstance(response.json(), list), response.text[:300]
        elif path.startswith("[]."):
            rows = response.json()
            assert isinstance(rows, list) and rows, response.text[:300]
            for row in rows:
                assert path[3:] in row, (path, row)
        else:
            _present(response.json(), path)
