"""`/metrics` is unauthenticated (DESIGN §13), so it must not tell who uses the service: no label
names an org, a node, a token or a client (issue 10, finding 10). Labels carry route templates,
statuses, problem codes and fixed reasons only."""

from __future__ import annotations

import re
import secrets

import httpx

from tests.live_support import SSEReader

ALLOWED_LABELS = {"method", "route", "status", "code", "result", "state", "cap", "limit", "reason", "le"}
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>.*)\})? ")
LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def test_metrics_carry_no_org_node_token_or_client(org, server, internal):
    org.add_node("metrics-sre-node")
    org.patch("metrics-sre-node", {"routing": {"services": [f"svc-{org.org_id}"]}})
    issued = org.admin.post(f"/admin/orgs/{org.org_id}/teams/metrics-sre-node/tokens", json={}).json()
    with org.client(issued["token"]) as team:
        assert team.get("/config/me").status_code == 200
        assert team.get(f"/admin/orgs/{org.org_id}/nodes").status_code == 403
    reader = SSEReader(server.api + "/config/me/watch", {"Authorization": f"Bearer {issued['token']}"}).start()
    assert reader.next()["event"] == "config"
    bogus = f"{org.org_id}.metrics-sre-node.{secrets.token_urlsafe(24)}"
    assert httpx.get(server.api + "/config/me", headers={"Authorization": f"Bearer {bogus}"}).status_code == 401
    assert httpx.get(server.api + f"/admin/orgs/{org.org_id}/no-such/{issued['id']}").status_code == 404
    assert internal.post("/internal/routing/lookup",
                         json={"identifiers": {"service": f"svc-{org.org_id}"}, "issue_token": True}).status_code == 200
    org.admin.post(f"/admin/orgs/{org.org_id}/teams/metrics-sre-node/tokens/{issued['id']}/revoke")

    text = httpx.get(server.url + "/metrics").text
    for secret_ish in (org.org_id, "metrics-sre-node", issued["id"], issued["token_hint"], issued["token"], bogus,
                       "127.0.0.1"):
        assert secret_ish not in text, secret_ish
    seen: set[str] = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        sample = SAMPLE.match(line)
        assert sample, line
        for label in LABEL.finditer(sample.group("labels") or ""):
            seen.add(label.group("key"))
            if label.group("key") == "route":
                value = label.group("value")
                assert value == "unmatched" or value.startswith("/"), line
    assert seen <= ALLOWED_LABELS, seen - ALLOWED_LABELS
