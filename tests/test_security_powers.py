"""Powers that are not bugs, and the trail they leave (docs/SECURITY.md): an admin can mint a team
token that reads plaintext secrets; the issue and the reads are in the audit log."""

from __future__ import annotations


def test_an_admin_minted_secrets_read_token_is_audited_and_so_are_its_reads(org):
    org.add_node("sre")
    org.patch("sre", {"integrations": {"openai": {"api_key": {"$secret": "sk-audited-0000"}}}})
    with org.client(org.admin_token()) as org_admin:
        issued = org_admin.post(
            f"/admin/orgs/{org.org_id}/teams/sre/tokens", json={"scopes": ["config:read", "secrets:read"]}
        )
    assert issued.status_code == 201
    with org.client(issued.json()["token"]) as team:
        read = team.get("/config/me")
    assert read.json()["effective_config"]["integrations"]["openai"]["api_key"] == "sk-audited-0000"

    audit = org.admin.get(f"/admin/orgs/{org.org_id}/audit", params={"limit": 500}).json()["items"]
    minted = next(e for e in audit if e["action"] == "token.issued" and e["target_id"] == issued.json()["id"])
    assert minted["actor"].startswith(f"org-admin:{org.org_id}:")
    assert "secrets:read" in minted["details"]["scopes"]
    reads = [e for e in audit if e["action"] == "secrets.read" and e["target_id"] == issued.json()["id"]]
    assert len(reads) == 1 and reads[0]["actor"].startswith(f"team:{org.org_id}/sre:")
    assert "sk-audited-0000" not in str(audit) and issued.json()["token"] not in str(audit)
