"""`secrets.read` is audited at most once per token per hour (DESIGN §8)."""

from __future__ import annotations

import asyncio
import base64
import secrets as pysecrets
import uuid

from config_service.auth.principal import Kind, Principal
from config_service.db.engine import Database, make_engine
from config_service.secrets.service import Vault, note_secret_read
from tests.support import unique_id


def _vault() -> Vault:
    return Vault.from_settings(base64.b64encode(pysecrets.token_bytes(32)).decode())


def test_note_secret_read_once_per_token_per_hour_across_instances(database_url: str, db) -> None:
    org_id = unique_id("audit")
    token_id = uuid.uuid4()
    principal = Principal(Kind.TEAM, org_id=org_id, node_id="sre", token_id=token_id,
        scopes=frozenset({"secrets:read"}))
    other = Principal(Kind.TEAM, org_id=org_id, node_id="sre", token_id=uuid.uuid4(),
        scopes=frozenset({"secrets:read"}))

    async def run() -> list[bool]:
        database = Database(make_engine(database_url, pool_size=2))
        one, two = _vault(), _vault()  # two instances
        try:
            return [
                await note_secret_read(database, one, principal),
                await note_secret_read(database, one, principal),
                await note_secret_read(database, two, principal),  # the other instance asks the log
                await note_secret_read(database, two, other),
            ]
        finally:
            await database.dispose()

    assert asyncio.run(run()) == [True, False, False, True]
    rows = db.execute(
        "SELECT actor, target_type, target_id, details FROM audit_events WHERE org_id = %s AND action = 'secrets.read' "
        "ORDER BY id", (org_id,)
    ).fetchall()
    assert [r[2] for r in rows] == [str(token_id), str(other.token_id)]
    assert rows[0][1] == "token" and rows[0][3] == {"node_id": "sre"}


def test_plaintext_read_is_audited(org) -> None:
    org.add_node("sre")
    assert org.patch("sre", {"k": {"$secret": "audited-" + pysecrets.token_hex(4)}}).status_code == 200
    with org.team_client("sre") as reader:
        assert reader.get("/config/me").status_code == 200
        assert reader.get("/config/me").status_code == 200
    events = org.admin.get(f"/admin/orgs/{org.org_id}/audit", params={"action": "secrets.read"}).json()["items"]
    assert len(events) == 1


def test_reads_without_secrets_or_without_scope_are_not_audited(org) -> None:
    org.add_node("plain")
    org.add_node("sre")
    org.patch("sre", {"k": {"$secret": "s-" + pysecrets.token_hex(4)}})
    with org.team_client("plain") as reader:
        assert reader.get("/config/me").status_code == 200
    with org.team_client("sre", scopes=["config:read"]) as masked:
        body = masked.get("/config/me").json()
        assert body["effective_config"]["k"] == "********"
    events = org.admin.get(f"/admin/orgs/{org.org_id}/audit", params={"action": "secrets.read"}).json()["items"]
    assert events == []


def test_watch_with_plaintext_is_audited(org, server) -> None:
    from tests.live_support import SSEReader

    org.add_node("sre")
    org.patch("sre", {"k": {"$secret": "w-" + pysecrets.token_hex(4)}})
    reader = SSEReader(server.api + "/config/me/watch", {"Authorization": f"Bearer {org.token('sre')}"}).start()
    assert reader.next()["event"] == "config"
    events = org.admin.get(f"/admin/orgs/{org.org_id}/audit", params={"action": "secrets.read"}).json()["items"]
    assert len(events) == 1
