"""No oracle (DESIGN §8): nothing a principal without plaintext access receives depends on a
secret's plaintext. Each channel is tried with the right guess on one node and a wrong guess on
a twin node holding the same secret: the two answers must be alike.

The attacker is a team token with `config:write` but without `secrets:read` (and, where it says
so, the org admin, whose every view is masked)."""

from __future__ import annotations

import queue
import secrets as pysecrets

import pytest

from config_service.kit.secret_leaves import MASK
from tests.live_support import SSEReader

WRITER_SCOPES = ["config:read", "config:write", "runs:write"]  # no secrets:read
ROOT_SECRET = "org-openai-" + pysecrets.token_hex(8)
TEAM_SECRET = "team-deploy-" + pysecrets.token_hex(8)
WRONG = "not-it-" + pysecrets.token_hex(8)
GUESSES = {"a": "right", "b": "wrong"}


def guess(node: str, secret: str) -> str:
    return secret if GUESSES[node] == "right" else WRONG


@pytest.fixture()
def twins(org):
    """Root supplies an integration secret; twins `a` and `b` each hold the same own secret."""
    assert org.patch(org.org_id, {"integrations": {"openai": {"api_key": ROOT_SECRET}}}).status_code == 200
    for node in ("a", "b"):
        org.add_node(node)
        response = org.patch(node, {"deploy": {"token": {"$secret": TEAM_SECRET}}, "model": "gpt-4o"})
        assert response.status_code == 200, response.text
    return org


def _alike(first: dict, second: dict, *ignored: str) -> None:
    """The two answers differ at most in the named members (random tags)."""
    assert {k: v for k, v in first.items() if k not in ignored} == {k: v for k, v in second.items() if k not in ignored}


def test_a_secret_write_always_seals_anew_so_changed_never_tells(twins, db):
    org = twins
    answers = {}
    for node in ("a", "b"):
        before = db.execute("SELECT config_json FROM node_configurations WHERE org_id = %s AND node_id = %s",
                            (org.org_id, node)).fetchone()[0]
        with org.team_client(node, WRITER_SCOPES) as team:
            etag = team.get("/config/me").json()["etag"]
            response = team.patch("/config/me", json={"config": {"deploy": {"token": {"$secret": guess(node,
                TEAM_SECRET)}}}})
        assert response.status_code == 200, response.text
        answers[node] = response.json()
        assert answers[node]["changed"] is True and answers[node]["version"] == 3
        assert answers[node]["etag"] != etag
        after = db.execute("SELECT config_json FROM node_configurations WHERE org_id = %s AND node_id = %s",
                           (org.org_id, node)).fetchone()[0]
        assert after["deploy"]["token"] != before["deploy"]["token"], "a fresh envelope every time"
    _alike(answers["a"], answers["b"], "node_id", "etag")
    # the same for an admin writing a catalog secret field in plain form at the root
    response = org.patch(org.org_id, {"integrations": {"openai": {"api_key": ROOT_SECRET}}})
    assert response.status_code == 200 and response.json()["changed"] is True


def test_the_etag_of_an_overridden_inherited_secret_changes_for_any_guess(twins):
    org = twins
    for node in ("a", "b"):
        with org.team_client(node, WRITER_SCOPES) as team:
            before = team.get("/config/me")
            response = team.patch("/config/me", json={"config": {"integrations": {"openai": {"api_key": guess(node,
                ROOT_SECRET)}}}})
            assert response.status_code == 200 and response.json()["changed"] is True
            after = team.get("/config/me")
            assert after.json()["etag"] != before.json()["etag"], f"{GUESSES[node]} guess"
            assert after.headers["etag"] != before.headers["etag"]
            # …and a conditional read cannot tell either: the old tag no longer matches
            assert team.get("/config/me", headers={"If-None-Match": before.headers["etag"]}).status_code == 200
        # one etag for the masked and the revealed view
        with org.team_client(node) as reader:
            assert reader.get("/config/me").json()["etag"] == after.json()["etag"]
        assert org.admin.get(org.node_path(node) + "/effective").json()["etag"] == after.json()["etag"]


def test_the_etag_changes_exactly_when_the_content_does(twins):
    org = twins
    etag = org.admin.get(org.node_path("a") + "/effective").json()["etag"]
    own = org.own("a")["config"]
    assert own["deploy"]["token"] == MASK
    unchanged = org.put("a", own)  # what was read, masks and all: no change
    assert unchanged.json()["changed"] is False and unchanged.json()["etag"] == etag
    assert org.admin.get(org.node_path("a") + "/effective").json()["etag"] == etag
    changed = org.patch("a", {"model": "gpt-5"})
    assert changed.json()["etag"] != etag


def test_explain_fingerprints_the_envelope_not_the_plaintext(twins):
    org = twins
    root_print = org.admin.get(org.node_path("a") + "/explain").json()["paths"]["/integrations/openai/api_key"]
    assert root_print["node_id"] == org.org_id
    prints = {}
    for node in ("a", "b"):
        with org.team_client(node, WRITER_SCOPES) as team:
            response = team.patch("/config/me", json={"config": {"integrations": {"openai": {"api_key": guess(node,
                ROOT_SECRET)}}}})
            assert response.status_code == 200, response.text
            entry = team.get("/config/me/explain").json()["paths"]["/integrations/openai/api_key"]
        assert entry["node_id"] == node and entry["value"] == MASK
        assert entry["fingerprint"] != root_print["fingerprint"], f"{GUESSES[node]} guess"
        prints[node] = entry["fingerprint"]
    assert prints["a"] != prints["b"]
    # two secrets of one plaintext at two places do not share a fingerprint either
    team_prints = {
        node: org.admin.get(org.node_path(node) + "/explain").json()["paths"]["/deploy/token"]["fingerprint"]
        for node in ("a", "b")
    }
    assert team_prints["a"] != team_prints["b"]


def test_preview_and_write_agree_for_any_guess(twins):
    org = twins
    previews = {}
    for node in ("a", "b"):
        body = {"config": {"deploy": {"token": {"$secret": guess(node, TEAM_SECRET)}}}}
        with org.team_client(node, WRITER_SCOPES) as team:
            preview = team.post("/config/me/preview", json=body)
            assert preview.status_code == 200, preview.text
            previews[node] = preview.json()
            write = team.patch("/config/me", json=body)
        assert write.json()["changed"] is True
        assert previews[node]["affected"] == [
            {"node_id": node, "diff": [{"op": "replace", "path": "/deploy/token", "value": MASK}]}
        ]
    _alike(previews["a"], previews["b"], "based_on", "affected")
    assert [a["diff"] for a in previews["a"]["affected"]] == [a["diff"] for a in previews["b"]["affected"]]


def test_history_records_every_secret_write_alike(twins):
    org = twins
    items = {}
    for node in ("a", "b"):
        with org.team_client(node, WRITER_SCOPES) as team:
            team.patch("/config/me", json={"config": {"deploy": {"token": {"$secret": guess(node, TEAM_SECRET)}}}})
            items[node] = team.get("/config/me/history", params={"include_full": True}).json()["items"]
        assert [i["version"] for i in items[node]] == [3, 2, 1]
        assert items[node][0]["diff"] == [{"op": "replace", "path": "/deploy/token", "value": MASK}]
        diff = org.admin.get(org.node_path(node) + "/diff", params={"from": 2, "to": 3}).json()["diff"]
        assert diff == [{"op": "replace", "path": "/deploy/token", "value": MASK}]
    for a, b in zip(items["a"], items["b"], strict=True):
        _alike(a, b, "changed_at", "changed_by")


def test_errors_do_not_depend_on_the_plaintext(twins):
    org = twins
    answers = {}
    for node in ("a", "b"):
        with org.team_client(node, WRITER_SCOPES) as team:
            response = team.patch(
                "/config/me",
                content=f'[{{"op": "test", "path": "/deploy/token", "value": "{guess(node, TEAM_SECRET)}"}}]',
                headers={"Content-Type": "application/json-patch+json"},
            )
        assert response.status_code == 412, response.text
        answers[node] = response.json()
        assert TEAM_SECRET not in response.text and WRONG not in response.text
    _alike(answers["a"], answers["b"], "current")


def test_a_lock_refuses_any_guess_alike(twins):
    """A secret a node held before its ancestor locked the path: rewriting it is refused whatever
    the guess (before, the right guess was "no change" and passed)."""
    org = twins
    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/deploy"]}).status_code == 200
    answers = {}
    for node in ("a", "b"):
        with org.team_client(node, WRITER_SCOPES) as team:
            response = team.patch("/config/me", json={"config": {"deploy": {"token": {"$secret": guess(node,
                TEAM_SECRET)}}}})
        assert response.status_code == 403 and response.json()["code"] == "locked_path", response.text
        answers[node] = response.json()
    assert answers["a"] == answers["b"]


def test_a_runs_config_version_changes_for_any_guess(twins):
    org = twins
    for node in ("a", "b"):
        with org.team_client(node, WRITER_SCOPES) as team:
            first = team.post("/agent-runs", json={"agent_name": "probe"}).json()["config_version"]
            team.patch("/config/me", json={"config": {"integrations": {"openai": {"api_key": guess(node,
                ROOT_SECRET)}}}})
            second = team.post("/agent-runs", json={"agent_name": "probe"}).json()["config_version"]
        assert first != second, f"{GUESSES[node]} guess"


def test_a_watch_stream_sees_a_new_event_for_any_guess(twins, server):
    org = twins
    for node in ("a", "b"):
        token = org.token(node, WRITER_SCOPES)
        reader = SSEReader(server.api + "/config/me/watch", {"Authorization": f"Bearer {token}"}).start()
        first = reader.next()
        assert first["event"] == "config"
        with org.client(token) as team:
            response = team.patch("/config/me", json={"config": {"deploy": {"token": {"$secret": guess(node,
                TEAM_SECRET)}}}})
            assert response.status_code == 200
        try:
            second = reader.next()
        except queue.Empty:
            pytest.fail(f"no event after a {GUESSES[node]} guess")
        assert second["event"] == "config" and second["id"] != first["id"]
        assert second["id"] == response.json()["etag"]
        org.admin.post(f"/admin/orgs/{org.org_id}/teams/{node}/tokens/{_token_id(org, node)}/revoke")
        reader.done.wait(5)


def _token_id(org, node: str) -> str:
    items = org.admin.get(f"/admin/orgs/{org.org_id}/teams/{node}/tokens").json()["items"]
    return items[0]["id"]


def test_run_data_is_stored_as_sent_by_a_caller_without_plaintext_access(twins):
    """Masking copies of secrets in run data would tell a guesser which guess was right: a team
    token without `secrets:read` gets its data back as it sent it, right guess or wrong."""
    org = twins
    shown = {}
    for node in ("a", "b"):
        text = f"deploy with {guess(node, TEAM_SECRET)}"
        with org.team_client(node, WRITER_SCOPES) as team:
            created = team.post("/agent-runs", json={"agent_name": "probe", "input_message": text,
                                                      "metadata": {"note": text}})
            assert created.status_code == 201, created.text
            run = team.get(f"/agent-runs/{created.json()['id']}").json()
        assert run["input_message"] == text and run["metadata"] == {"note": text}
        shown[node] = run["input_message"].replace(guess(node, TEAM_SECRET), "<guess>")
    assert shown["a"] == shown["b"]


def test_run_data_of_a_caller_holding_plaintext_has_its_secrets_masked(twins):
    """An agent that reads its secrets (`secrets:read`) and logs them never stores them."""
    org = twins
    with org.team_client("a") as agent:  # default scopes: secrets:read
        created = agent.post("/agent-runs", json={"agent_name": "probe", "input_message": f"key {TEAM_SECRET}"})
        assert created.status_code == 201, created.text
        assert TEAM_SECRET not in created.text and MASK in created.json()["input_message"]
