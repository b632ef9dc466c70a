"""Tokens and scopes (DESIGN §4): issuing, scopes, expiry, revocation, storage, rotation, /auth/me."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support import ServerProcess, clean_env, unique_id

DEFAULT_SCOPES = ["config:read", "runs:write", "secrets:read"]
ALL_SCOPES = ["config:read", "config:write", "runs:write", "secrets:read"]
ME_FIELDS = {"role", "auth_kind", "org_id", "team_node_id", "subject", "can_write", "scopes", "permissions"}


def hmac_hex(pepper: str, token: str) -> str:
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def issue(org, node_id: str, **body) -> dict:
    response = org.admin.post(f"/admin/orgs/{org.org_id}/teams/{node_id}/tokens", json={"description": "t", **body})
    assert response.status_code == 201, response.text
    return response.json()


def issue_admin(org, **body) -> dict:
    response = org.admin.post(f"/admin/orgs/{org.org_id}/admin-tokens", json={"description": "t", **body})
    assert response.status_code == 201, response.text
    return response.json()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---- issuing -----------------------------------------------------------------------------


def test_team_token_format_and_default_scopes(org):
    org.add_node("sre")
    issued = issue(org, "sre")
    assert set(issued) >= {"id", "token", "token_hint", "scopes", "expires_at"}
    org_part, node_part, random = issued["token"].split(".")
    assert (org_part, node_part) == (org.org_id, "sre")
    assert len(random) >= 22  # ≥ 128 bits of URL-safe base64
    assert set(random) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert issued["token_hint"] == random[:4]
    assert sorted(issued["scopes"]) == DEFAULT_SCOPES
    assert issued["expires_at"] is None
    assert uuid.UUID(issued["id"])

    with org.client(issued["token"]) as team:
        me = team.get("/auth/me").json()
    assert sorted(me["scopes"]) == DEFAULT_SCOPES
    assert me["can_write"] is False


def test_two_tokens_are_different(org):
    org.add_node("sre")
    a, b = issue(org, "sre"), issue(org, "sre")
    assert a["token"] != b["token"] and a["id"] != b["id"]


def test_config_write_only_when_asked_for(org):
    org.add_node("sre")
    with org.team_client("sre") as reader:
        refused = reader.patch("/config/me", json={"config": {"model": "x"}})
        assert refused.status_code == 403
        assert refused.json()["code"] == "insufficient_scope"
        assert reader.put("/config/me", json={"config": {"model": "x"}}).json()["code"] == "insufficient_scope"
        assert reader.post("/config/me/rollback", json={"version": 1}).json()["code"] == "insufficient_scope"
    assert org.own("sre")["version"] == 1

    issued = issue(org, "sre", scopes=["config:read", "config:write"])
    assert sorted(issued["scopes"]) == ["config:read", "config:write"]
    with org.client(issued["token"]) as writer:
        response = writer.patch("/config/me", json={"config": {"model": "x"}})
        assert response.status_code == 200, response.text
        assert writer.get("/auth/me").json()["can_write"] is True
        # this token was not given secrets:read nor runs:write
        assert sorted(writer.get("/auth/me").json()["scopes"]) == ["config:read", "config:write"]
    assert org.own("sre")["config"] == {"model": "x"}


def test_a_token_without_config_read_cannot_read(org):
    org.add_node("sre")
    issued = issue(org, "sre", scopes=["runs:write"])
    with org.client(issued["token"]) as team:
        for path in ("/config/me", "/config/me/raw", "/config/me/history"):
            response = team.get(path)
            assert response.status_code == 403, path
            assert response.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize("scopes", [["config:read", "config:admin"], ["*"], ["CONFIG:READ"], [], "config:read"])
def test_unknown_or_empty_scopes_are_422(org, scopes):
    org.add_node("sre")
    response = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={"scopes": scopes})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert org.admin.get(f"/admin/orgs/{org.org_id}/teams/sre/tokens").json()["items"] == []


def test_expires_in_days(org):
    org.add_node("sre")
    before = datetime.now(UTC)
    issued = issue(org, "sre", expires_in_days=7)
    expires = parse_time(issued["expires_at"])
    assert before + timedelta(days=7) - timedelta(seconds=5) <= expires <= datetime.now(UTC) + timedelta(days=7)
    with org.client(issued["token"]) as team:
        assert team.get("/config/me").status_code == 200
    for bad in (0, -1, "soon", 100000):
        response = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={"expires_in_days": bad})
        assert response.status_code == 422, (bad, response.text)


def test_token_for_a_missing_node_is_404(org):
    response = org.admin.post(f"/admin/orgs/{org.org_id}/teams/ghost/tokens", json={})
    assert response.status_code == 404
    assert org.admin.get(f"/admin/orgs/{org.org_id}/teams/ghost/tokens").status_code == 404


def test_org_admin_tokens_are_issued_by_the_global_admin_only(org, make_org):
    issued = issue_admin(org)
    org_part, random = issued["token"].split(".")
    assert org_part == org.org_id and len(random) >= 22
    assert issued["token_hint"] == random[:4]
    with org.client(issued["token"]) as org_admin:
        refused = org_admin.post(f"/admin/orgs/{org.org_id}/admin-tokens", json={"description": "more"})
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
        # but it may issue tokens for the teams of its org
        org.add_node("sre")
        team = org_admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={})
        assert team.status_code == 201, team.text
        listed = org_admin.get(f"/admin/orgs/{org.org_id}/admin-tokens")
        assert listed.status_code == 200
        other = make_org("other")
        assert org_admin.get(f"/admin/orgs/{other.org_id}/admin-tokens").status_code == 403
    assert [t["id"] for t in listed.json()["items"]] == [issued["id"]]
    assert org.admin.post(f"/admin/orgs/{unique_id('ghost')}/admin-tokens", json={}).status_code == 404


def test_team_tokens_are_issued_per_node_by_the_org_admin(org):
    org.add_node("sre")
    with org.client(org.admin_token()) as org_admin:
        issued = org_admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={"scopes": ["config:read"]})
    assert issued.status_code == 201
    events = org.admin.get(f"/admin/orgs/{org.org_id}/audit", params={"action": "token.issued"}).json()["items"]
    team_event = next(e for e in events if e["target_id"] == issued.json()["id"])
    assert team_event["actor"].startswith(f"org-admin:{org.org_id}:")
    assert issued.json()["token"] not in str(events)


# ---- revocation and expiry ------------------------------------------------------------------


def test_revoke_team_token(org, admin):
    org.add_node("sre")
    issued = issue(org, "sre")
    keep = issue(org, "sre")
    base = f"/admin/orgs/{org.org_id}/teams/sre/tokens"
    with org.client(issued["token"]) as team, org.client(keep["token"]) as kept:
        assert team.get("/config/me").status_code == 200
        revoked = admin.post(f"{base}/{issued['id']}/revoke")
        assert revoked.status_code == 204
        assert revoked.content == b""
        assert team.get("/config/me").status_code == 401
        assert team.get("/auth/me").status_code == 401
        assert kept.get("/config/me").status_code == 200
    # revoking again is harmless; an unknown id is 404
    assert admin.post(f"{base}/{issued['id']}/revoke").status_code == 204
    assert admin.post(f"{base}/{uuid.uuid4()}/revoke").status_code == 404
    assert admin.post(f"{base}/not-a-uuid/revoke").status_code == 422

    listed = {t["id"]: t for t in admin.get(base).json()["items"]}
    assert listed[issued["id"]]["revoked_at"] is not None
    assert listed[keep["id"]]["revoked_at"] is None
    events = admin.get(f"/admin/orgs/{org.org_id}/audit", params={"action": "token.revoked"}).json()["items"]
    assert [e["target_id"] for e in events] == [issued["id"]]


def test_a_token_is_revoked_only_through_its_own_node(org, admin):
    org.add_node("a")
    org.add_node("b")
    issued = issue(org, "a")
    response = admin.post(f"/admin/orgs/{org.org_id}/teams/b/tokens/{issued['id']}/revoke")
    assert response.status_code == 404
    with org.client(issued["token"]) as team:
        assert team.get("/config/me").status_code == 200


def test_revoke_org_admin_token(org, admin):
    issued = issue_admin(org)
    with org.client(issued["token"]) as org_admin:
        assert org_admin.get(f"/admin/orgs/{org.org_id}/nodes").status_code == 200
        assert admin.post(f"/admin/orgs/{org.org_id}/admin-tokens/{issued['id']}/revoke").status_code == 204
        assert org_admin.get(f"/admin/orgs/{org.org_id}/nodes").status_code == 401
    assert admin.post(f"/admin/orgs/{org.org_id}/admin-tokens/{uuid.uuid4()}/revoke").status_code == 404


def test_expired_tokens_are_401(org, db, internal):
    """Expiry is checked on every request, also for a token whose lookup is cached."""
    org.add_node("sre")
    short = internal.post(
        "/internal/tokens/exchange", json={"org_id": org.org_id, "team_node_id": "sre", "ttl_seconds": 1}
    ).json()
    admin_token = issue_admin(org, expires_in_days=1)
    db.execute("UPDATE org_admin_tokens SET expires_at = now() - interval '1 second' WHERE id = %s",
               (admin_token["id"],))
    with org.client(short["token"]) as t, org.client(admin_token["token"]) as a:
        assert t.get("/config/me").status_code == 200
        assert a.get(f"/admin/orgs/{org.org_id}/nodes").status_code == 401
        time.sleep(max(0.0, datetime.fromisoformat(short["expires_at"]).timestamp() - time.time()) + 0.05)
        assert t.get("/config/me").status_code == 401


def test_expired_revoked_malformed_and_unknown_tokens_get_the_same_401(org, admin, server, db, server_keys):
    org.add_node("sre")
    org.add_node("other")
    expired, revoked, valid = issue(org, "sre"), issue(org, "sre"), issue(org, "sre")
    expired_admin, revoked_admin = issue_admin(org), issue_admin(org)
    db.execute("UPDATE team_tokens SET expires_at = now() - interval '1 hour' WHERE id = %s", (expired["id"],))
    db.execute("UPDATE org_admin_tokens SET expires_at = now() - interval '1 hour' WHERE id = %s",
               (expired_admin["id"],))
    assert admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{revoked['id']}/revoke").status_code == 204
    assert admin.post(f"/admin/orgs/{org.org_id}/admin-tokens/{revoked_admin['id']}/revoke").status_code == 204
    random = valid["token"].split(".")[2]

    credentials = {
        "expired team": f"Bearer {expired['token']}",
        "expired org admin": f"Bearer {expired_admin['token']}",
        "revoked team": f"Bearer {revoked['token']}",
        "revoked org admin": f"Bearer {revoked_admin['token']}",
        "unknown team": f"Bearer {org.org_id}.sre.{secrets.token_urlsafe(24)}",
        "unknown org admin": f"Bearer {org.org_id}.{secrets.token_urlsafe(24)}",
        "valid random, other node": f"Bearer {org.org_id}.other.{random}",
        "valid random, as admin token": f"Bearer {org.org_id}.{random}",
        "unknown dotless": "Bearer " + secrets.token_urlsafe(24).replace(".", "_"),
        "admin token with a suffix": f"Bearer {server_keys['ADMIN_TOKEN']}x",
        "malformed four parts": f"Bearer a.b.c.{random}",
        "malformed empty part": f"Bearer {org.org_id}..{random}",
        "malformed trailing dot": f"Bearer {org.org_id}.sre.",
        "malformed bad id": f"Bearer bad!org.sre.{random}",
        "malformed too long": "Bearer " + "x" * 5000,
        "only dots": "Bearer ...",
        "empty bearer": "Bearer",
        "no scheme": valid["token"][:-1],
        "basic scheme": "Basic dXNlcjpwYXNz",
    }
    reference = httpx.get(server.api + "/config/me")  # no credentials at all
    assert reference.status_code == 401
    assert reference.json()["code"] == "unauthenticated"
    assert reference.headers["content-type"].startswith("application/problem+json")
    for name, value in credentials.items():
        response = httpx.get(server.api + "/config/me", headers={"Authorization": value})
        assert response.status_code == 401, name
        assert response.content == reference.content, name
        assert response.headers.get("www-authenticate") == reference.headers.get("www-authenticate"), name
        assert response.headers["content-type"] == reference.headers["content-type"], name
    # the same on an admin path
    admin_ref = httpx.get(server.api + f"/admin/orgs/{org.org_id}/nodes")
    for name in ("expired org admin", "revoked org admin", "unknown org admin", "malformed four parts"):
        response = httpx.get(server.api + f"/admin/orgs/{org.org_id}/nodes",
            headers={"Authorization": credentials[name]})
        assert response.status_code == 401 and response.content == admin_ref.content, name
    # the one valid token still works, and a rejected token never appears in the body
    with org.client(valid["token"]) as team:
        assert team.get("/config/me").status_code == 200
    assert random not in reference.text


# ---- storage ---------------------------------------------------------------------------


def test_only_hmac_digests_are_stored(org, admin, db, server_keys):
    org.add_node("sre")
    team = issue(org, "sre")
    org_admin = issue_admin(org)
    pepper = server_keys["TOKEN_PEPPER"]

    for table, issued in (("team_tokens", team), ("org_admin_tokens", org_admin)):
        token = issued["token"]
        random = token.rsplit(".", 1)[1]
        row = db.execute(f"SELECT t::text, token_hash, token_hint FROM {table} t WHERE id = %s", (issued["id"],
            )).fetchone()
        assert row is not None
        text, token_hash, token_hint = row
        assert token not in text and random not in text
        assert token_hash == hmac_hex(pepper, token)
        assert len(token_hash) == 64 and all(c in "0123456789abcdef" for c in token_hash)
        assert token_hint == random[:4]
        # no row of any token table holds the random part
        leaks = db.execute(
            "SELECT (SELECT count(*) FROM team_tokens t WHERE strpos(t::text, %(r)s) > 0)"
            " + (SELECT count(*) FROM org_admin_tokens t WHERE strpos(t::text, %(r)s) > 0)"
            " + (SELECT count(*) FROM audit_events t WHERE strpos(t::text, %(r)s) > 0)",
            {"r": random},
        ).fetchone()[0]
        assert leaks == 0, table


def test_listings_never_show_the_token(org, admin):
    org.add_node("sre")
    team = issue(org, "sre", scopes=["config:read"], expires_in_days=3)
    org_admin = issue_admin(org)

    listed = admin.get(f"/admin/orgs/{org.org_id}/teams/sre/tokens")
    assert listed.status_code == 200
    body = listed.json()
    assert body["next_cursor"] is None
    (item,) = body["items"]
    assert "token" not in item
    assert team["token"].split(".")[2] not in listed.text
    assert item["id"] == team["id"]
    assert item["token_hint"] == team["token_hint"]
    assert item["scopes"] == ["config:read"]
    assert item["team_node_id"] == "sre" and item["org_id"] == org.org_id
    assert item["expires_at"] is not None and item["revoked_at"] is None and item["last_used_at"] is None
    assert item["description"] == "t"

    admins = admin.get(f"/admin/orgs/{org.org_id}/admin-tokens")
    assert admins.status_code == 200
    assert [t["id"] for t in admins.json()["items"]] == [org_admin["id"]]
    assert "token" not in admins.json()["items"][0]
    assert org_admin["token"].split(".")[1] not in admins.text


def poll(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_last_used_at_is_recorded_in_batches(org, db):
    org.add_node("sre")
    team = issue(org, "sre")
    org_admin = issue_admin(org)

    def last_used(table: str, token_id: str):
        return db.execute(f"SELECT last_used_at FROM {table} WHERE id = %s", (token_id,)).fetchone()[0]

    assert last_used("team_tokens", team["id"]) is None
    with org.client(team["token"]) as t, org.client(org_admin["token"]) as a:
        assert t.get("/config/me").status_code == 200
        assert a.get(f"/admin/orgs/{org.org_id}/nodes").status_code == 200
        first = poll(lambda: last_used("team_tokens", team["id"]))
        assert first is not None, "last_used_at was not recorded within 5 s"
        assert poll(lambda: last_used("org_admin_tokens", org_admin["id"])) is not None
        assert abs((datetime.now(UTC) - first).total_seconds()) < 30

        # further use within the minute does not write again
        for _ in range(5):
            assert t.get("/config/me").status_code == 200
        time.sleep(1.2)  # more than two flush intervals of the test server
        assert last_used("team_tokens", team["id"]) == first

    listed = org.admin.get(f"/admin/orgs/{org.org_id}/teams/sre/tokens").json()["items"]
    assert listed[0]["last_used_at"] is not None


def test_a_rejected_token_does_not_count_as_used(org, db):
    org.add_node("sre")
    team = issue(org, "sre")
    assert org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{team['id']}/revoke").status_code == 204
    with org.client(team["token"]) as t:
        assert t.get("/config/me").status_code == 401
    time.sleep(1.2)
    assert db.execute("SELECT last_used_at FROM team_tokens WHERE id = %s", (team["id"],)).fetchone()[0] is None


# ---- pepper rotation ----------------------------------------------------------------------


def test_pepper_rotation_rehashes_on_use(org, db, database_url, server_keys, tmp_path):
    org.add_node("sre")
    old = server_keys["TOKEN_PEPPER"]
    new = secrets.token_urlsafe(32)
    team = issue(org, "sre")
    org_admin = issue_admin(org)
    untouched = issue(org, "sre")

    env = clean_env() | server_keys | {
        "CONFIG_SERVICE_ENV": "production",
        "DATABASE_URL": database_url,
        "TOKEN_PEPPER": new,
        "TOKEN_PEPPER_PREVIOUS": old,
        "LAST_USED_FLUSH_SECONDS": "0.5",
    }
    rotated = ServerProcess(env=env, log_path=tmp_path / "rotated.log").start()
    try:
        def row(table: str, token_id: str):
            return db.execute(f"SELECT token_hash, pepper_id FROM {table} WHERE id = %s", (token_id,)).fetchone()

        old_team_row = row("team_tokens", team["id"])
        assert old_team_row[0] == hmac_hex(old, team["token"])

        headers = {"Authorization": f"Bearer {team['token']}"}
        response = httpx.get(rotated.api + "/config/me", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["node_id"] == "sre"
        new_team_row = row("team_tokens", team["id"])
        assert new_team_row[0] == hmac_hex(new, team["token"])
        assert new_team_row[1] != old_team_row[1]
        # and it keeps working under the new pepper
        assert httpx.get(rotated.api + "/config/me", headers=headers).status_code == 200

        admin_headers = {"Authorization": f"Bearer {org_admin['token']}"}
        assert httpx.get(rotated.api + f"/admin/orgs/{org.org_id}/nodes", headers=admin_headers).status_code == 200
        assert row("org_admin_tokens", org_admin["id"])[0] == hmac_hex(new, org_admin["token"])

        # a token not used yet keeps its old digest until it is used
        assert row("team_tokens", untouched["id"])[0] == hmac_hex(old, untouched["token"])

        # tokens issued by the rotated server are hashed with the new pepper
        issued = httpx.post(
            rotated.api + f"/admin/orgs/{org.org_id}/teams/sre/tokens",
            headers={"Authorization": f"Bearer {server_keys['ADMIN_TOKEN']}"}, json={},
        )
        assert issued.status_code == 201
        assert row("team_tokens", issued.json()["id"])[0] == hmac_hex(new, issued.json()["token"])

        # a revoked token stays revoked under either pepper
        assert org.admin.post(
            f"/admin/orgs/{org.org_id}/teams/sre/tokens/{untouched['id']}/revoke").status_code == 204
        assert httpx.get(rotated.api + "/config/me",
                         headers={"Authorization": f"Bearer {untouched['token']}"}).status_code == 401
    finally:
        rotated.stop()


# ---- /auth/me ----------------------------------------------------------------------------


def test_auth_me_global_admin(admin):
    me = admin.get("/auth/me")
    assert me.status_code == 200
    body = me.json()
    assert set(body) == ME_FIELDS
    assert body["role"] == "admin"
    assert body["auth_kind"] == "global_admin"
    assert body["org_id"] is None and body["team_node_id"] is None
    assert body["subject"] == "admin"
    assert body["can_write"] is True
    assert sorted(body["scopes"]) == ALL_SCOPES
    assert isinstance(body["permissions"], list) and body["permissions"]


def test_auth_me_org_admin(org):
    issued = issue_admin(org)
    with org.client(issued["token"]) as client:
        body = client.get("/auth/me").json()
    assert set(body) == ME_FIELDS
    assert body["role"] == "admin"
    assert body["auth_kind"] == "org_admin"
    assert body["org_id"] == org.org_id and body["team_node_id"] is None
    assert org.org_id in body["subject"] and issued["id"] in body["subject"]
    assert issued["token"] not in body["subject"]
    assert body["can_write"] is True
    assert sorted(body["scopes"]) == ALL_SCOPES
    assert any(org.org_id in p for p in body["permissions"])


@pytest.mark.parametrize("scopes, can_write", [(None, False), (ALL_SCOPES, True), (["config:read"], False)])
def test_auth_me_team(org, scopes, can_write):
    org.add_node("sre")
    issued = issue(org, "sre", **({"scopes": scopes} if scopes else {}))
    with org.client(issued["token"]) as client:
        body = client.get("/auth/me").json()
    assert set(body) == ME_FIELDS
    assert body["role"] == "team"
    assert body["auth_kind"] == "team"
    assert body["org_id"] == org.org_id and body["team_node_id"] == "sre"
    assert issued["id"] in body["subject"] and issued["token"].split(".")[2] not in body["subject"]
    assert body["can_write"] is can_write
    assert sorted(body["scopes"]) == sorted(scopes or DEFAULT_SCOPES)
    assert isinstance(body["permissions"], list) and len(body["permissions"]) == len(body["scopes"])


@pytest.mark.parametrize("how", ["bearer", "header"])
def test_auth_me_internal_service(server, server_keys, how):
    token = server_keys["INTERNAL_SERVICE_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"} if how == "bearer" else {"X-Internal-Service": token}
    response = httpx.get(server.api + "/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ME_FIELDS
    assert body["role"] == "internal"
    assert body["auth_kind"] == "internal_service"
    assert body["org_id"] is None and body["team_node_id"] is None
    assert body["subject"] == "internal"
    assert body["can_write"] is False
    assert body["scopes"] == []
    assert token not in response.text


def test_auth_me_rejects_a_wrong_internal_header(server, server_keys):
    response = httpx.get(server.api + "/auth/me",
        headers={"X-Internal-Service": server_keys["INTERNAL_SERVICE_TOKEN"] + "x"})
    assert response.status_code == 401
    # the admin token is not an internal-service token
    response = httpx.get(server.api + "/auth/me", headers={"X-Internal-Service": server_keys["ADMIN_TOKEN"]})
    assert response.status_code == 401


def test_token_listing_pages_newest_first(org, admin):
    org.add_node("sre")
    ids = [issue(org, "sre")["id"] for _ in range(3)]
    base = f"/admin/orgs/{org.org_id}/teams/sre/tokens"
    first = admin.get(base, params={"limit": 2}).json()
    assert [t["id"] for t in first["items"]] == ids[:0:-1]
    assert first["next_cursor"]
    second = admin.get(base, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [t["id"] for t in second["items"]] == ids[:1]
    assert second["next_cursor"] is None
    assert admin.get(base, params={"limit": 501}).status_code == 422
    assert admin.get(base, params={"cursor": "garbage!"}).status_code == 422


def test_a_bad_bearer_is_not_rescued_by_the_internal_header(server, server_keys):
    internal = server_keys["INTERNAL_SERVICE_TOKEN"]
    response = httpx.get(
        server.api + "/auth/me", headers={"Authorization": "Bearer not-a-token", "X-Internal-Service": internal}
    )
    assert response.status_code == 401
    # a valid bearer wins over the header; a non-bearer Authorization leaves the header to decide
    both = httpx.get(
        server.api + "/auth/me",
        headers={"Authorization": f"Bearer {server_keys['ADMIN_TOKEN']}", "X-Internal-Service": internal},
    )
    assert both.json()["auth_kind"] == "global_admin"
    basic = httpx.get(server.api + "/auth/me", headers={"Authorization": "Basic eDp5", "X-Internal-Service": internal})
    assert basic.status_code == 200 and basic.json()["auth_kind"] == "internal_service"


async def test_last_used_survives_a_failed_flush(org, db, database_url):
    """A flush that cannot reach the database keeps its entries for the next round."""
    from config_service.auth.principal import Kind, Principal
    from config_service.db.engine import Database, make_engine
    from config_service.db.urls import with_database
    from config_service.tokens.service import LastUsedRecorder

    org.add_node("sre")
    issued = issue(org, "sre")
    recorder = LastUsedRecorder()
    recorder.touch(Principal(Kind.TEAM, org_id=org.org_id, node_id="sre", token_id=uuid.UUID(issued["id"])))

    unreachable = Database(make_engine(with_database(database_url, "cs_does_not_exist_" + uuid.uuid4().hex[:8])))
    real = Database(make_engine(database_url))
    try:
        with pytest.raises(Exception):  # noqa: B017,PT011 - whatever the driver raises
            await recorder.flush_in(unreachable)
        assert db.execute("SELECT last_used_at FROM team_tokens WHERE id = %s", (issued["id"],)).fetchone()[0] is None
        assert await recorder.flush_in(real) == 1
        assert db.execute("SELECT last_used_at FROM team_tokens WHERE id = %s", (issued["id"],)).fetchone()[0]
        assert await recorder.flush_in(real) == 0
    finally:
        await unreachable.dispose()
        await real.dispose()


def test_the_issue_body_may_be_omitted(org, admin):
    org.add_node("sre")
    team = admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens")
    assert team.status_code == 201, team.text
    assert sorted(team.json()["scopes"]) == DEFAULT_SCOPES and team.json()["expires_at"] is None
    org_admin = admin.post(f"/admin/orgs/{org.org_id}/admin-tokens")
    assert org_admin.status_code == 201, org_admin.text
    with org.client(team.json()["token"]) as t, org.client(org_admin.json()["token"]) as a:
        assert t.get("/config/me").status_code == 200
        assert a.get("/auth/me").json()["auth_kind"] == "org_admin"
    # a body that is not an object is still refused
    assert admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens", json=["config:read"]).status_code == 422


def test_refusals_are_logged_without_the_token(org, server):
    org.add_node("sre")
    issued = issue(org, "sre")
    assert org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{issued['id']}/revoke").status_code == 204
    unknown = f"{org.org_id}.sre.{secrets.token_urlsafe(24)}"
    for token in (issued["token"], unknown):
        assert httpx.get(server.api + "/config/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    time.sleep(0.2)
    log = server.log_text()
    assert "access refused" in log
    for token in (issued["token"], unknown):
        assert token.rsplit(".", 1)[1] not in log
