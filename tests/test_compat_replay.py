"""Every call of IncidentFox's clients (tests/compat_calls.py), replayed with the peer's exact
method, path, headers and body against a real server on the mount `/compat/incidentfox`
(started with the named internal callers on), checking what the client reads from the answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.compat_calls import CALLS
from tests.compat_support import PeerWorld, assert_reads, call, worlds
from tests.support import unique_id

REPLAYED = [entry for entry in CALLS if entry["mount"] is not None]
NOT_SERVED = [entry for entry in CALLS if entry["mount"] is None and entry["issue11"] != "never_sent"]


@pytest.fixture()
def world(named_server, server_keys) -> Iterator[PeerWorld]:
    yield from worlds(named_server, server_keys)


# ---- what a call needs to exist before the client sends it --------------------------------------


def start_run(world: PeerWorld) -> dict[str, str]:
    response = world.send(call("agent.run_create"))
    assert response.status_code == 201, response.text
    return {}


def run_with_tool_calls(world: PeerWorld) -> dict[str, str]:
    start_run(world)
    response = world.send(call("agent.tool_calls"))
    assert response.status_code == 201, response.text
    return {}


def routed_channel_and_repo(world: PeerWorld) -> dict[str, str]:
    routing = {"slack_channel_ids": [world["CHANNEL"]], "github_repos": [world["REPO"]]}
    response = world.admin("PATCH", f"/api/v1/admin/orgs/{world['ORG']}/nodes/default/config",
                           json={"config": {"routing": routing}})
    assert response.status_code == 200, response.text
    return {}


def api_key_saved(world: PeerWorld) -> dict[str, str]:
    for setup in ("slackbot.config_patch_headers", "slackbot.save_api_key"):
        response = world.send(call(setup))
        assert response.status_code == 200, response.text
    return {}


def new_workspace(world: PeerWorld) -> dict[str, str]:
    workspace = "T" + unique_id("w").replace("-", "").upper()[:12]
    return {"WORKSPACE": workspace, "ORG": f"slack-{workspace}"}


def new_team(world: PeerWorld) -> dict[str, str]:
    return {"TEAM": world["NEW_TEAM"]}


SETUP: dict[str, Callable[[PeerWorld], dict[str, str]]] = {
    "agent.run_finish": start_run,
    "agent.tool_calls": start_run,
    "orchestrator.tool_calls_read": run_with_tool_calls,
    "internal.tool_calls_read": run_with_tool_calls,
    "agent.routing_lookup": routed_channel_and_repo,
    "orchestrator.routing_lookup": routed_channel_and_repo,
    "slackbot.workspace_config": api_key_saved,
    "pipeline.credentials": api_key_saved,
    "pipeline.v2_effective": api_key_saved,
    "pipeline.knowledge_tree_patch": api_key_saved,
    "slackbot.org_create": new_workspace,
    "slackbot.team_create": new_team,
}


@pytest.mark.parametrize("entry", REPLAYED, ids=lambda e: e["id"])
def test_the_client_gets_what_it_reads(world: PeerWorld, entry: dict) -> None:
    extra = SETUP.get(entry["id"], lambda w: {})(world)
    response = world.send(entry, **extra)
    expected = entry["mount"]
    assert response.status_code in expected["status"], f"{entry['id']}: {response.status_code} {response.text[:400]}"
    if entry["issue11"] != "refused":
        assert response.status_code in entry["client_ok"], entry["id"]
    assert_reads(response, expected.get("reads", []))

    body = response.json() if response.content else None
    if "auth_kind" in expected:
        assert body["auth_kind"] == expected["auth_kind"]
    if "permissions_include" in expected:
        assert expected["permissions_include"] in body["permissions"] and body["role"] == "admin"
    if "permissions_exclude" in expected:
        assert expected["permissions_exclude"] not in body["permissions"] and body["role"] == "admin"
    if expected.get("run_id_is_id"):
        assert body["id"] == world["RUN_ID"]
        finish = world.send(call("agent.run_finish"))
        assert finish.status_code == 200, finish.text  # the agent's finish finds the run by its own id
    if "duplicate_status" in expected:  # provisioning again: the bot sees "already exists" and goes on
        again = world.send(entry, **extra)
        assert again.status_code == expected["duplicate_status"], again.text
        assert expected["duplicate_text"] in again.text.lower()
    if expected.get("masked"):
        anthropic = body["effective_config"]["integrations"]["anthropic"]
        assert anthropic["api_key"] == "********" and anthropic["is_trial"] is False
    if expected.get("workspace_fallback"):  # an unrouted channel of the workspace: its default team
        assert body["found"] is True and body["team_node_id"] == "default" and body["org_id"] == world["ORG"]
        assert body["matched_by"] == "slack_workspace_id"


@pytest.mark.parametrize("entry", NOT_SERVED, ids=lambda e: e["id"])
def test_calls_for_features_we_lack_or_refuse_fail_cleanly(world: PeerWorld, entry: dict) -> None:
    """Unsupported and refused calls get a problem the client tolerates — never a success,
    never a 500 — and serve no credential to a name header."""
    extra = SETUP.get(entry["id"], lambda w: {})(world)
    response = world.send(entry, **extra)
    # a call with no credential at all (not even a name header) is 401 like any anonymous request
    anonymous = not {"authorization", "x-internal-service"} & {name.lower() for name in entry["headers"]}
    refusals = (401, 404, 405) if anonymous else (403, 404, 405)
    assert response.status_code in refusals, f"{entry['id']}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "compat-probe" not in response.text  # the anthropic key saved by the setups above
    own = world.admin("GET", f"/api/v1/admin/orgs/{world['ORG']}/nodes/{world['TEAM']}/config")
    assert own.status_code == 200 and "knowledge_tree" not in own.json()["config"]  # nothing written


def test_the_never_sent_raw_read_would_work_for_a_fixed_client(world: PeerWorld) -> None:
    entry = call("agent.raw_config")
    response = world.send(entry)
    assert response.status_code == 200, response.text
    assert_reads(response, entry["reads"])


def test_the_inventory_names_every_call_once() -> None:
    ids = [entry["id"] for entry in CALLS]
    assert len(ids) == len(set(ids)) == 49
    assert all(entry["issue11"] in ("works", "mount_shape", "named_caller", "new_route", "refused", "unsupported",
                                    "never_sent") for entry in CALLS)
