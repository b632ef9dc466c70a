"""The installed `config-service export` / `import --plan | --apply` against the real server
(DESIGN §12.2, §12.4): files in YAML and JSON, the plan for people and as the API's JSON, a
round trip into an empty org, refusals that write nothing, and the org taken from the token."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.cli_support import Cli
from tests.conftest import Org
from tests.transfer_http import document, export, node, promoted


@pytest.fixture()
def cli(tmp_path, server, server_keys) -> Cli:
    return Cli(tmp_path, server.url, server_keys["ADMIN_TOKEN"])


def build(org: Org) -> None:
    """Four levels, a tombstone, locks, a secret and a routing claim."""
    org.add_node("platform", name="Platform team")
    org.add_node("sre", "platform")
    org.add_node("oncall", "sre")
    assert org.put(org.org_id, {"model": "gpt-4o", "tools": {"think": True}}).status_code == 200
    assert org.put("sre", {"token": {"$secret": "sre-secret"}, "routing": {"slack_channel_ids": ["C-" + org.org_id]},
                           "tools": {"think": None}}).status_code == 200
    assert org.put("oncall", {"limits": {"steps": 3}}).status_code == 200
    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]}).status_code == 200


def flat(text: str) -> str:
    return " ".join(text.split())


def test_export_to_files_in_yaml_and_json(cli, org, tmp_path):
    build(org)
    as_yaml = tmp_path / "org.yaml"
    result = cli.ok("export", "--org", org.org_id, "-o", str(as_yaml))
    assert f"wrote {as_yaml}" in result.stderr and result.stdout == ""
    assert as_yaml.read_bytes() == export(org, "application/yaml").content  # YAML by default, the server's bytes
    assert b"sre-secret" not in as_yaml.read_bytes() and b"'********'" in as_yaml.read_bytes()
    as_json = tmp_path / "org.json"
    cli.ok("export", "--org", org.org_id, "-o", str(as_json), "--format", "json")
    assert as_json.read_bytes() == export(org).content
    assert json.loads(as_json.read_text())["nodes"][0]["locked_paths"] == ["/model"]
    assert cli.ok("export", "--org", org.org_id).stdout.encode() == as_yaml.read_bytes()  # the terminal: YAML too
    assert cli.json("export", "--org", org.org_id) == json.loads(as_json.read_text())
    assert cli.run("export", "--org", org.org_id, "--format", "toml").returncode == 2
    missing = cli.run("export", "--org", org.org_id + "-gone")
    assert missing.returncode == 1 and "not_found" in missing.stderr


def test_export_help_says_it_is_not_a_backup_of_secrets(cli):
    text = flat(cli.ok("export", "--help").stdout)
    assert "An export is NOT a backup of secrets: secrets leave only as masks" in text
    assert "deleting an org destroys its data key, so its secrets cannot come back from a file" in text
    assert "exits 1 when the plan has errors" in flat(cli.ok("import", "--help").stdout)


def test_plan_for_people_and_as_the_apis_json(cli, org, make_org, tmp_path):
    build(org)
    file = tmp_path / "org.yaml"
    cli.ok("export", "--org", org.org_id, "-o", str(file))
    target = make_org("plan")
    human = cli.ok("import", str(file), "--plan", "--org", target.org_id).stdout
    assert f"Import plan for org {target.org_id}: 3 to create, 1 to update, 0 to move, 0 to delete" in human
    assert "+ create  platform  under " + target.org_id in human and '"Platform team"' in human
    assert "+ create  sre  under platform" in human and "+ create  oncall  under sre" in human
    assert "+ /model: gpt-4o" in human and "lock + /model" in human and "+ /limits: {\"steps\": 3}" in human
    assert re.search(r"Secrets this org lacks.*\n\s+sre /token", human)
    assert "error" not in human.lower()
    api = cli.json("import", str(file), "--plan", "--org", target.org_id)
    assert set(api) == {"based_on", "changes", "needs_secret", "errors", "kept"}
    assert api["needs_secret"] == [{"node_id": "sre", "path": "/token"}]
    assert [c["action"] for c in api["changes"]] == ["update", "create", "create", "create"]
    assert export(target).json()["nodes"] == [export(target).json()["nodes"][0]], "a plan writes nothing"


def test_apply_yes_into_an_empty_org_round_trips(cli, org, make_org, tmp_path):
    build(org)
    file = tmp_path / "org.json"
    cli.ok("export", "--org", org.org_id, "-o", str(file), "--format", "json")
    target = make_org("copy")
    result = cli.ok("import", str(file), "--apply", "--yes", "--org", target.org_id, "-m", "rebuild from git")
    assert f"Applied to {target.org_id}: 3 created, 1 updated, 0 moved, 0 deleted" in result.stdout
    write_secret = f"config-service config set sre --org {target.org_id} --secret /token"
    assert write_secret in result.stdout
    source = json.loads(file.read_text())
    assert export(target).json() == promoted(source, target.org_id, target.org_id,
                                             [{"node_id": "sre", "path": "/token"}])
    cli.ok(*write_secret.split()[1:], input="new-secret\n")  # the line it printed, as printed
    assert export(target).json() == promoted(source, target.org_id, target.org_id, [])
    history = target.admin.get(target.node_path("oncall") + "/history").json()["items"]
    assert history[0]["reason"] == "rebuild from git"
    again = cli.ok("import", str(file), "--apply", "--org", target.org_id)  # nothing to do: never asks
    assert "No changes: the org already matches the document." in again.stdout
    replan = cli.json("import", str(file), "--plan", "--org", target.org_id)
    assert {c["action"] for c in replan["changes"]} == {"unchanged"}


def test_apply_json_from_stdin_prints_the_applied_answer(cli, org, make_org):
    build(org)
    yaml_text = cli.ok("export", "--org", org.org_id).stdout
    target = make_org("stdin")
    asks = cli.run("import", "-", "--apply", "--org", target.org_id, input=yaml_text)
    assert asks.returncode == 2 and "add --yes" in asks.stderr  # stdin holds the document, not an answer
    result = cli.ok("import", "-", "--apply", "--yes", "--json", "--org", target.org_id, input=yaml_text)
    answer = json.loads(result.stdout)  # stdout: the API's answer alone; the plan went to stderr
    assert set(answer) == {"based_on", "changes", "needs_secret", "errors", "kept", "new_based_on"}
    assert "Import plan for org" in result.stderr
    assert yaml.safe_load(export(target, "application/yaml").text)["nodes"][1]["node_id"] == "platform"


def test_a_document_with_an_error_exits_1_and_writes_nothing(cli, org, tmp_path):
    org.add_node("sre")
    assert org.admin.put(org.node_path(org.org_id) + "/locks", json={"locked_paths": ["/model"]}).status_code == 200
    before = export(org).content
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(document(org.org_id, node(org.org_id, None, {"model": "a"}, ["/model"]),
                                        node("sre", org.org_id, {"model": "mine"}), node("new", "sre"))))
    planned = cli.run("import", str(file), "--plan", "--org", org.org_id)
    assert planned.returncode == 1, "a plan with errors fails, so CI can gate on it"
    assert "1 error: the import would be refused as a whole" in planned.stdout
    assert "sre: " in planned.stdout and "at /model (locked_path)" in planned.stdout
    as_json = cli.run("import", str(file), "--plan", "--json", "--org", org.org_id)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["errors"][0]["code"] == "locked_path"
    applied = cli.run("import", str(file), "--apply", "--yes", "--org", org.org_id)
    assert applied.returncode == 1 and "nothing was applied" in applied.stderr
    assert export(org).content == before


def test_declining_the_confirmation_exits_1_and_writes_nothing(cli, org, tmp_path):
    org.add_node("sre")
    before = export(org).content
    file = tmp_path / "next.yaml"
    file.write_text(f"format: config-service/v1\norg: {{org_id: {org.org_id}, name: x}}\nnodes:\n"
                    f"- {{node_id: {org.org_id}, parent_node_id: null, name: x, config: {{model: b}}, "
                    "locked_paths: []}\n")
    declined = cli.run("import", str(file), "--apply", "--prune", "--org", org.org_id, input="n\n")
    assert declined.returncode == 1 and "cancelled; nothing changed" in declined.stderr
    assert "- delete  sre" in declined.stdout and "+ /model: b" in declined.stdout
    assert export(org).content == before
    cli.ok("import", str(file), "--apply", "--prune", "--org", org.org_id, input="y\n")
    assert [n["node_id"] for n in export(org).json()["nodes"]] == [org.org_id]


def test_the_org_comes_from_an_org_admin_token_and_usage_errors(cli, org, tmp_path):
    build(org)
    as_org_admin = cli.as_(org.admin_token())
    exported = as_org_admin.ok("export", "--format", "json").stdout
    assert json.loads(exported)["org"]["org_id"] == org.org_id
    file = tmp_path / "own.json"
    file.write_text(exported)
    assert {c["action"] for c in as_org_admin.json("import", str(file), "--plan")["changes"]} == {"unchanged"}
    no_org = cli.run("export")
    assert no_org.returncode == 2 and "--org" in no_org.stderr
    assert cli.run("import", str(file), "--org", org.org_id).returncode == 2  # neither --plan nor --apply
    assert cli.run("import", str(file), "--plan", "--apply", "--org", org.org_id).returncode == 2
    assert cli.run("import", str(tmp_path / "missing.yaml"), "--plan", "--org", org.org_id).returncode == 2
    malformed = tmp_path / "broken.yaml"
    malformed.write_text("format: [unclosed\n")
    refused = cli.run("import", str(malformed), "--plan", "--org", org.org_id)
    assert refused.returncode == 1 and "invalid_json" in refused.stderr
