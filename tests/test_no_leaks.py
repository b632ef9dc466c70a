"""No token ever appears in the server log, in audit_events, or in an error body (DESIGN §4, §13).

A dedicated server logs at DEBUG, so the check holds at the most talkative level.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from config_service.db.urls import libpq_url
from tests.support import ServerProcess, clean_env, new_keys, unique_id


@pytest.fixture()
def debug_server(database_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    keys = new_keys()
    env = clean_env() | keys | {"DATABASE_URL": database_url, "LOG_LEVEL": "DEBUG", "LAST_USED_FLUSH_SECONDS": "0.2",
                                "AUTH_FAILURE_LIMIT": "1000000"}  # near misses by the dozen, all from one address
    server = ServerProcess(env=env, log_path=tmp_path / "server.log").start()
    yield server, keys
    server.stop()


def near_misses(token: str) -> list[str]:
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    candidates = [flipped, token[:-1], token + "x", token.swapcase(), "x" + token, token.replace(".", "..", 1),
                  token + " ", "Bearer " + token]
    return [c for c in dict.fromkeys(candidates) if c.strip() != token]


def test_no_token_leaks(debug_server, database_url: str) -> None:
    server, keys = debug_server
    admin_token, internal_token = keys["ADMIN_TOKEN"], keys["INTERNAL_SERVICE_TOKEN"]
    bodies: list[str] = []
    presented: list[str] = []

    def call(method: str, path: str, token: str | None = None, *, header: str = "Authorization",
        **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            presented.append(token)
            headers[header] = f"Bearer {token}" if header == "Authorization" else token
        response = httpx.request(method, server.api + path, headers=headers, timeout=30, **kwargs)
        if response.status_code >= 400:
            bodies.append(response.text)
            assert response.headers["content-type"] == "application/problem+json", response.text
        bodies.append(json.dumps(dict(response.headers)))
        return response

    org_id = unique_id("leak")
    assert call("POST", "/admin/orgs", admin_token, json={"org_id": org_id}).status_code == 201
    assert call("POST", f"/admin/orgs/{org_id}/nodes", admin_token, json={"node_id": "sre"}).status_code == 201

    # Issue: the token is in the 201 body, once; everything else must never show it.
    issued = call("POST", f"/admin/orgs/{org_id}/teams/sre/tokens", admin_token,
                  json={"description": "agent", "scopes": ["config:read", "config:write"]})
    assert issued.status_code == 201
    team_token, team_token_id = issued.json()["token"], issued.json()["id"]
    issued = call("POST", f"/admin/orgs/{org_id}/admin-tokens", admin_token, json={"description": "ops"})
    assert issued.status_code == 201
    org_token, org_token_id = issued.json()["token"], issued.json()["id"]
    tokens = {"admin": admin_token, "internal": internal_token, "team": team_token, "org_admin": org_token}

    # Use, and config writes (by the team and the org admin).
    assert call("GET", "/config/me", team_token).status_code == 200
    assert call("PATCH", "/config/me", team_token, json={"config": {"model": "gpt-4o"},
        "reason": "r"}).status_code == 200
    assert call("GET", f"/admin/orgs/{org_id}/nodes", org_token).status_code == 200
    assert call("PUT", f"/admin/orgs/{org_id}/nodes/sre/config", org_token,
                json={"config": {"tools": {"think": True}}}).status_code == 200
    assert call("PATCH", f"/admin/orgs/{org_id}/nodes/{org_id}/config", admin_token,
                json={"config": {"notes": "token-like text sk_live_abc"}}).status_code == 200
    assert call("GET", "/auth/me", internal_token).status_code == 200
    assert call("GET", "/auth/me", internal_token, header="X-Internal-Service").status_code == 200

    # Refusals: near misses of every token, the wrong scheme, the wrong principal, a token in the query.
    for name, token in tokens.items():
        for miss in near_misses(token):
            response = call("GET", "/auth/me", miss)
            assert response.status_code == 401, (name, miss, response.text)
        response = httpx.get(server.api + "/auth/me", headers={"Authorization": f"Basic {token}"})
        assert response.status_code == 401
        bodies.append(response.text)
        response = httpx.get(server.api + "/auth/me", params={"access_token": token})
        assert response.status_code == 401
        bodies.append(response.text)
    assert call("GET", "/admin/orgs", team_token).status_code == 403
    assert call("GET", f"/admin/orgs/{unique_id('other')}/nodes", org_token).status_code == 403
    assert call("GET", "/config/me", internal_token).status_code == 403
    assert call("PATCH", "/config/me", team_token, content=b"{not json").status_code == 400

    # Revoke, and use after revocation.
    assert call("POST", f"/admin/orgs/{org_id}/teams/sre/tokens/{team_token_id}/revoke", admin_token).status_code == 204
    assert call("POST", f"/admin/orgs/{org_id}/admin-tokens/{org_token_id}/revoke", admin_token).status_code == 204
    assert call("GET", "/config/me", team_token).status_code == 401
    assert call("GET", f"/admin/orgs/{org_id}/nodes", org_token).status_code == 401

    # Let the batched last_used_at writes and their logs happen, then stop: every line is flushed.
    listing = call("GET", f"/admin/orgs/{org_id}/teams/sre/tokens", admin_token).json()
    bodies.append(json.dumps(listing))
    server.stop()
    log = server.log_text()
    assert "access refused" in log  # the refusals were logged, just without the tokens

    secrets_ = set(tokens.values()) | {t.rsplit(".", 1)[1] for t in (team_token, org_token)} | set(presented)
    with psycopg.connect(libpq_url(database_url)) as conn:
        audit = conn.execute(
            "SELECT row_to_json(a)::text FROM audit_events a WHERE org_id = %s OR org_id IS NULL", (org_id,)
        ).fetchall()
        stored = conn.execute(
            "SELECT row_to_json(t)::text FROM team_tokens t WHERE org_id = %s UNION ALL "
            "SELECT row_to_json(t)::text FROM org_admin_tokens t WHERE org_id = %s", (org_id, org_id)
        ).fetchall()
    audit_text = "\n".join(row[0] for row in audit)
    assert "token.issued" in audit_text and "token.revoked" in audit_text
    stored_text = "\n".join(row[0] for row in stored)
    assert len(stored) == 2
    for secret in secrets_:
        assert secret not in log, f"a token is in the server log: {secret[:6]}…"
        assert secret not in audit_text, f"a token is in audit_events: {secret[:6]}…"
        assert secret not in stored_text, f"a token is stored in plain text: {secret[:6]}…"
        for body in bodies:
            assert secret not in body, f"a token is in a response: {secret[:6]}… in {body[:200]}"
