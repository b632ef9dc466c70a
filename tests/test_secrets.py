"""Secrets at rest and in views (DESIGN §8): envelopes, masks, plaintext only where allowed."""

from __future__ import annotations

import base64
import re
import secrets as pysecrets
import time

import psycopg
import pytest

from config_service.kit.secret_leaves import MASK

ENVELOPE = re.compile(r"^\$enc:v1:[0-9a-f]{16}:[A-Za-z0-9+/=]+$")


def plain(prefix: str) -> str:
    return f"{prefix}-{pysecrets.token_hex(8)}"


def stored_own(db: psycopg.Connection, org_id: str, node_id: str) -> dict:
    return db.execute(
        "SELECT config_json FROM node_configurations WHERE org_id = %s AND node_id = %s", (org_id, node_id)
    ).fetchone()[0]


@pytest.fixture()
def team_org(org):
    org.add_node("sre")
    return org


def test_catalog_secret_field_is_sealed_at_rest_and_revealed_only_to_secrets_read(team_org, db) -> None:
    org = team_org
    api_key = plain("cx-key")
    response = org.patch(org.org_id, {"integrations": {"coralogix": {"api_key": api_key,
        "domain": "cx498.coralogix.com"}}})
    assert response.status_code == 200, response.text
    assert response.json()["config"]["integrations"]["coralogix"]["api_key"] == MASK
    assert api_key not in response.text

    stored = stored_own(db, org.org_id, org.org_id)["integrations"]["coralogix"]
    assert ENVELOPE.match(stored["api_key"]), stored
    assert stored["domain"] == "cx498.coralogix.com"
    key_id = stored["api_key"].split(":")[2]
    assert db.execute("SELECT count(*) FROM org_keys WHERE org_id = %s AND key_id = %s", (org.org_id,
        key_id)).fetchone()[0] == 1

    with org.team_client("sre") as reader:  # default scopes include secrets:read
        me = reader.get("/config/me")
        assert me.status_code == 200
        assert me.json()["effective_config"]["integrations"]["coralogix"]["api_key"] == api_key
        assert me.headers["cache-control"] == "no-store"
        effective = reader.get("/config/me/effective")
        assert effective.json()["effective_config"]["integrations"]["coralogix"]["api_key"] == api_key
        raw = reader.get("/config/me/raw")
        assert api_key not in raw.text and MASK in raw.text
    with org.team_client("sre", ["config:read"]) as masked:
        me = masked.get("/config/me")
        assert me.json()["effective_config"]["integrations"]["coralogix"]["api_key"] == MASK
        assert "no-store" not in me.headers.get("cache-control", "")
    assert org.effective("sre")["integrations"]["coralogix"]["api_key"] == MASK


def test_dollar_secret_anywhere_is_sealed(team_org, db) -> None:
    org = team_org
    webhook = plain("hook")
    response = org.patch("sre", {"notifications": {"webhook": {"token": {"$secret": webhook}}, "plain": "visible"}})
    assert response.status_code == 200, response.text
    stored = stored_own(db, org.org_id, "sre")
    assert ENVELOPE.match(stored["notifications"]["webhook"]["token"])
    assert stored["notifications"]["plain"] == "visible"
    with org.team_client("sre") as reader:
        assert reader.get("/config/me").json()["effective_config"]["notifications"]["webhook"]["token"] == webhook
    history = org.admin.get(org.node_path("sre") + "/history", params={"include_full": True}).text
    assert webhook not in history and MASK in history


@pytest.mark.parametrize(
    "config, path",
    [
        ({"x": "$enc:v1:abcdef0123456789:AAAA"}, "/x"),
        ({"x": {"$secret": "$enc:v1:abc:AAAA"}}, "/x"),
        ({"x": {"$secret": 5}}, "/x"),
        ({"x": {"$secret": "a", "other": 1}}, "/x"),
        ({"x": {"$secret": ""}}, "/x"),
        ({"x": [{"$secret": "in-a-list"}]}, "/x/0"),
        ({"x": ["$enc:v1:abcdef0123456789:AAAA"]}, "/x/0"),
        ({"x": MASK}, "/x"),
        ({"x": {"$secret": MASK}}, "/x"),
    ],
)
def test_forged_envelopes_masks_without_secret_and_malformed_secrets_are_422(team_org, db, config, path) -> None:
    org = team_org
    response = org.patch("sre", config)
    assert response.status_code == 422, response.text
    assert response.json()["path"] == path
    assert stored_own(db, org.org_id, "sre") == {}


def test_mask_keeps_the_secret_and_same_plaintext_is_sealed_anew(team_org, db) -> None:
    org = team_org
    token = plain("xoxb")
    assert org.patch("sre", {"integrations": {"slack": {"bot_token": token}}}).status_code == 200
    before = stored_own(db, org.org_id, "sre")
    own = org.own("sre")["config"]
    assert own["integrations"]["slack"]["bot_token"] == MASK
    # PUT back what was read (masked): nothing changes
    response = org.put("sre", own)
    assert response.status_code == 200 and response.json()["changed"] is False
    assert stored_own(db, org.org_id, "sre") == before
    # the same plaintext again is sealed anew: a change, so `changed` says nothing about the
    # stored secret (DESIGN §8, no oracle)
    response = org.patch("sre", {"integrations": {"slack": {"bot_token": token}}})
    assert response.status_code == 200 and response.json()["changed"] is True
    after = stored_own(db, org.org_id, "sre")
    assert ENVELOPE.match(after["integrations"]["slack"]["bot_token"])
    assert after["integrations"]["slack"]["bot_token"] != before["integrations"]["slack"]["bot_token"]
    # a mask elsewhere in the same write still refers to nothing
    response = org.patch("sre", {"integrations": {"slack": {"signing_secret": MASK}}})
    assert response.status_code == 422 and response.json()["path"] == "/integrations/slack/signing_secret"


def test_etag_changes_when_a_secret_changes(team_org) -> None:
    org = team_org
    assert org.patch("sre", {"integrations": {"openai": {"api_key": plain("sk")}}}).status_code == 200
    with org.team_client("sre") as reader:
        first = reader.get("/config/me").json()["etag"]
        assert org.patch("sre", {"integrations": {"openai": {"api_key": plain("sk")}}}).json()["changed"] is True
        second = reader.get("/config/me").json()["etag"]
        assert first != second
        # the admin's masked view has the same etag as the plaintext one (the etag is of the content)
        assert org.admin.get(org.node_path("sre") + "/effective").json()["etag"] == second


def test_rollback_keeps_current_secrets_unless_restore_secrets(team_org) -> None:
    org = team_org
    old, new = plain("old-key"), plain("new-key")
    assert org.patch("sre", {"integrations": {"anthropic": {"api_key": old}}, "model": "a"}).status_code == 200
    version_old = org.own("sre")["version"]
    assert org.patch("sre", {"integrations": {"anthropic": {"api_key": new}}, "model": "b"}).status_code == 200
    with org.team_client("sre") as reader:
        response = org.admin.post(org.node_path("sre") + "/config/rollback", json={"version": version_old})
        assert response.status_code == 200, response.text
        effective = reader.get("/config/me").json()["effective_config"]
        assert effective["model"] == "a"
        assert effective["integrations"]["anthropic"]["api_key"] == new  # the rotated key does not come back
        response = org.admin.post(
            org.node_path("sre") + "/config/rollback", json={"version": version_old, "restore_secrets": True}
        )
        assert response.status_code == 200, response.text
        assert reader.get("/config/me").json()["effective_config"]["integrations"]["anthropic"]["api_key"] == old


def test_a_copied_envelope_does_not_decrypt(make_org, db) -> None:
    a, b = make_org("cpa"), make_org("cpb")
    for org in (a, b):
        org.add_node("sre")
    secret_a = plain("a-only")
    assert a.patch(a.org_id, {"vault": {"token": {"$secret": secret_a}}}).status_code == 200
    assert b.patch(b.org_id, {"vault": {"token": {"$secret": plain("b")}}}).status_code == 200
    assert a.patch("sre", {"vault": {"token": {"$secret": plain("a-team")}}}).status_code == 200
    envelope = stored_own(db, a.org_id, a.org_id)["vault"]["token"]

    # copied (by someone with database access) into another org, and into another node of the same org
    for org, node in ((b, b.org_id), (a, "sre")):
        db.execute(
            "UPDATE node_configurations SET config_json = jsonb_set(config_json, '{vault,token}', to_jsonb(%s::text)) "
            "WHERE org_id = %s AND node_id = %s",
            (envelope, org.org_id, node),
        )
        db.execute("SELECT pg_notify('config_service_changes', '0')")
    for org in (b, a):
        with org.team_client("sre") as reader:
            response = reader.get("/config/me")
            assert response.status_code == 200
            assert secret_a not in response.text
            assert response.json()["effective_config"]["vault"]["token"] == MASK
    # and a client cannot write it either
    response = b.patch("sre", {"vault": {"token": envelope}})
    assert response.status_code == 422 and secret_a not in response.text


def test_an_envelope_copied_below_masks_it_in_that_lineage_but_not_above(make_org, db) -> None:
    """The copy rule holds with merged lineages cached level by level: the copy at another path
    of a child makes the root's secret masked in the child's view (both places), while the root's
    own view still opens it."""
    org = make_org("cpc")
    org.add_node("sre")
    secret = plain("root-only")
    assert org.patch(org.org_id, {"vault": {"token": {"$secret": secret}}}).status_code == 200
    with org.team_client(org.org_id) as root_reader, org.team_client("sre") as reader:
        # warm every cache: the root's merged state is now held for the child's lineage too
        assert root_reader.get("/config/me").json()["effective_config"]["vault"]["token"] == secret
        assert reader.get("/config/me").json()["effective_config"]["vault"]["token"] == secret
        assert org.patch("sre", {"note": "warm"}).status_code == 200
        envelope = stored_own(db, org.org_id, org.org_id)["vault"]["token"]
        db.execute(
            "UPDATE node_configurations SET config_json = config_json || jsonb_build_object('copy', %s::text) "
            "WHERE org_id = %s AND node_id = 'sre'",
            (envelope, org.org_id),
        )
        db.execute("SELECT pg_notify('config_service_changes', '0')")
        for _attempt in range(50):
            effective = reader.get("/config/me").json()["effective_config"]
            if "copy" in effective:
                break
            time.sleep(0.1)
        assert effective["copy"] == MASK and effective["vault"]["token"] == MASK
        assert root_reader.get("/config/me").json()["effective_config"]["vault"]["token"] == secret
        # a write below goes through the same merged state: its etag is the one a read then shows
        response = org.patch("sre", {"note": "after the copy"})
        assert response.status_code == 200
        read = reader.get("/config/me")
        assert read.json()["etag"] == response.json()["etag"] and secret not in read.text


def test_deleting_an_org_destroys_its_key(make_org, db) -> None:
    org = make_org("del")
    assert org.patch(org.org_id, {"k": {"$secret": plain("gone")}}).status_code == 200
    assert db.execute("SELECT count(*) FROM org_keys WHERE org_id = %s", (org.org_id,)).fetchone()[0] == 1
    assert org.admin.delete(f"/admin/orgs/{org.org_id}").status_code == 204
    assert db.execute("SELECT count(*) FROM org_keys WHERE org_id = %s", (org.org_id,)).fetchone()[0] == 0


def test_envelopes_are_leaves_in_merge_and_tombstones_hide_inherited_secrets(team_org) -> None:
    org = team_org
    org_secret = plain("org-pd")
    assert org.patch(org.org_id, {"integrations": {"pagerduty": {"api_key": org_secret,
        "from_email": "a@example.com"}}}).status_code == 200
    with org.team_client("sre") as reader:
        assert reader.get("/config/me").json()["effective_config"]["integrations"]["pagerduty"]["api_key"] == org_secret
        team_secret = plain("team-pd")
        assert org.patch("sre", {"integrations": {"pagerduty": {"api_key": team_secret}}}).status_code == 200
        effective = reader.get("/config/me").json()["effective_config"]["integrations"]["pagerduty"]
        assert effective == {"api_key": team_secret, "from_email": "a@example.com"}
        assert org.put("sre", {"integrations": {"pagerduty": {"api_key": None}}}).status_code == 200
        assert "api_key" not in reader.get("/config/me").json()["effective_config"]["integrations"]["pagerduty"]


def test_json_patch_cannot_move_a_secret_elsewhere(team_org) -> None:
    org = team_org
    assert org.patch("sre", {"a": {"$secret": plain("mv")}}).status_code == 200
    for op in ({"op": "copy", "from": "/a", "path": "/b"}, {"op": "move", "from": "/a", "path": "/b"}):
        response = org.admin.patch(
            org.node_path("sre") + "/config", content=__import__("json").dumps([op]),
            headers={"Content-Type": "application/json-patch+json"},
        )
        assert response.status_code == 422, response.text
    # a failing `test` op does not echo the stored envelope
    response = org.admin.patch(
        org.node_path("sre") + "/config", content=b'[{"op": "test", "path": "/a", "value": "guess"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert response.status_code == 412 and "$enc:" not in response.text


def test_master_key_wraps_the_org_key(team_org, db, server_keys) -> None:
    from config_service.kit import crypto

    org = team_org
    assert org.patch("sre", {"x": {"$secret": plain("w")}}).status_code == 200
    key_id, wrapped = db.execute("SELECT key_id, wrapped_key FROM org_keys WHERE org_id = %s", (org.org_id,)).fetchone()
    master = crypto.MasterKey.from_b64(server_keys["SECRETS_KEY"])
    assert crypto.wrapped_by(wrapped) == master.kid
    assert len(crypto.unwrap_key([master], wrapped, org.org_id, key_id)) == 32
    other = crypto.MasterKey.from_b64(base64.b64encode(pysecrets.token_bytes(32)).decode())
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_key([other], wrapped, org.org_id, key_id)
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_key([master], wrapped, "another-org", key_id)
