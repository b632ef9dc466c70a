"""The installed `config-service` client commands against the real server: --json output parsed,
exit codes 0/1/2/3, human output, profiles, edit with a scripted $EDITOR."""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

from tests.cli_support import COMMAND, Cli
from tests.support import free_port


@pytest.fixture()
def cli(tmp_path, server, server_keys) -> Cli:
    return Cli(tmp_path, server.url, server_keys["ADMIN_TOKEN"])


@pytest.fixture()
def team(org, cli) -> Cli:
    org.add_node("sre")
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True}})
    return cli.as_(org.token("sre", ["config:read", "config:write", "secrets:read", "runs:write"]))


def test_login_from_stdin_writes_a_private_profile(tmp_path, server, org):
    org.add_node("sre")
    token = org.token("sre")
    cli = Cli(tmp_path, server.url)
    result = cli.ok("login", "--profile", "work", input=token + "\n")
    assert "Logged in" in result.stdout and token not in result.stdout + result.stderr
    directory = tmp_path / "xdg" / "config-service"
    file = directory / "config.toml"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700 and stat.S_IMODE(file.stat().st_mode) == 0o600
    me = Cli(tmp_path).json("--profile", "work", "whoami")
    assert (me["org_id"], me["team_node_id"]) == (org.org_id, "sre")
    os.chmod(file, 0o644)
    refused = Cli(tmp_path).run("--profile", "work", "whoami")
    assert refused.returncode == 2 and "chmod 600" in refused.stderr


def test_the_command_line_wins_over_a_named_profile_and_the_environment(tmp_path, server, org):
    org.add_node("sre")
    org.add_node("data")
    cli = Cli(tmp_path, server.url)
    cli.ok("login", "--profile", "work", input=org.token("sre") + "\n")
    data = org.token("data")
    # environment + named profile: the profile's token; --token on the line: that token
    env = {"CONFIG_SERVICE_TOKEN": data}
    assert Cli(tmp_path).json("--profile", "work", "whoami", env=env)["team_node_id"] == "sre"
    assert Cli(tmp_path).json("--profile", "work", "--token", data, "whoami")["team_node_id"] == "data"


def test_login_never_takes_the_token_from_argv_nor_saves_a_bad_one(tmp_path, server):
    cli = Cli(tmp_path, server.url)
    assert cli.run("login", "--token", "x.y.z").returncode == 2
    bad = cli.run("login", input="org.node.wrong\n")
    assert bad.returncode == 1 and "unauthenticated" in bad.stderr
    assert not (tmp_path / "xdg" / "config-service" / "config.toml").exists()


def test_a_token_is_not_sent_over_http_to_another_host(tmp_path):
    cli = Cli(tmp_path, "http://config.example.invalid:8080", "t.k.n")
    refused = cli.run("whoami")
    assert refused.returncode == 2 and "refusing to send a token over plain http" in refused.stderr
    tried = cli.run("whoami", "--insecure")  # allowed now; the host does not exist
    assert tried.returncode == 3


def test_exit_codes(cli, team, tmp_path):
    assert team.run("config", "get", "--json").returncode == 0
    missing = team.run("config", "diff", "1", "99")
    assert missing.returncode == 1 and "not_found" in missing.stderr and "version 99" in missing.stderr
    assert team.run("config", "get", "--own", "--raw").returncode == 2
    assert team.run("config", "no-such-command").returncode == 2
    assert team.run("config", "set", "a..b=1").returncode == 2
    offline = Cli(tmp_path, f"http://127.0.0.1:{free_port()}", "a.b.c").run("config", "get")
    assert offline.returncode == 3 and "cannot reach" in offline.stderr


def test_config_get_json_is_the_api_json(team, org):
    view = team.json("config", "get")
    assert view["effective_config"] == {"model": "gpt-4o", "tools": {"think": True}}
    assert set(view) == {"org_id", "node_id", "version", "etag", "effective_config", "hierarchy"}
    assert team.json("config", "get", "--raw")["configs"][org.org_id]["model"] == "gpt-4o"
    assert team.json("config", "get", "--own") == {}
    human = team.ok("config", "get").stdout
    assert '"model": "gpt-4o"' in human and f"{org.org_id} > sre" in human


def test_config_set_pairs_file_stdin_and_secret(team, org, tmp_path):
    team.ok("config", "set", "tools.deploy=true", "limits.steps=5", "owner=sre team", "-m", "pairs")
    assert org.own("sre")["config"] == {"tools": {"deploy": True}, "limits": {"steps": 5}, "owner": "sre team"}
    doc = tmp_path / "extra.yaml"
    doc.write_text("notifications:\n  channel: '#sre'\nlimits:\n  steps: 7\n")
    team.ok("config", "set", "-f", str(doc))
    team.ok("config", "set", "-", input='{"owner": null}')
    assert org.own("sre")["config"] == {"tools": {"deploy": True}, "limits": {"steps": 7},
                                        "notifications": {"channel": "#sre"}}
    result = team.ok("config", "set", "--secret", "integrations.openai.api_key", input="sk-very-secret\n")
    assert "sk-very-secret" not in result.stdout + result.stderr
    assert team.json("config", "get", "--reveal")["effective_config"]["integrations"]["openai"]["api_key"] == (
        "sk-very-secret")
    assert team.json("config", "get")["effective_config"]["integrations"]["openai"]["api_key"] == "********"
    written = team.json("config", "set", "x=1")
    assert written["changed"] is True and written["config"]["x"] == 1


def test_history_diff_explain_rollback(team, org):
    team.ok("config", "set", "model=claude", "-m", "try claude")
    team.ok("config", "set", "model=o3")
    history = team.json("config", "history")
    assert [i["version"] for i in history["items"]] == [3, 2, 1] and history["items"][1]["reason"] == "try claude"
    assert "try claude" in team.ok("config", "history").stdout
    diff = team.json("config", "diff", "2", "3")
    assert diff["diff"] == [{"op": "replace", "path": "/model", "value": "o3"}]
    assert "~ /model: o3" in team.ok("config", "diff", "2", "3").stdout
    explained = team.json("config", "explain", "model")
    assert list(explained["paths"]) == ["/model"] and explained["paths"]["/model"]["node_id"] == "sre"
    declined = team.run("config", "rollback", "2", input="n\n")
    assert declined.returncode == 1 and org.own("sre")["config"] == {"model": "o3"}
    done = team.ok("config", "rollback", "2", "--yes")
    assert "Blast radius" in done.stdout and org.own("sre")["config"] == {"model": "claude"}


def test_config_edit_with_a_scripted_editor(team, org, tmp_path):
    org.add_node("oncall", parent="sre")
    team.ok("config", "set", "model=claude", "tools.web=false")
    editor = tmp_path / "editor.py"
    editor.write_text(textwrap.dedent("""
        import sys
        path = sys.argv[1]
        text = open(path).read()
        open(path, "w").write(text.replace("claude", "mistral"))
    """))
    result = team.ok("config", "edit", "--yes", "-m", "edited", env={"EDITOR": f"{sys.executable} {editor}"})
    assert "-model: claude" in result.stdout and "+model: mistral" in result.stdout
    assert "Blast radius: 2 nodes would change" in result.stdout and "oncall" in result.stdout
    assert org.own("sre")["config"] == {"model": "mistral", "tools": {"web": False}}
    declined = team.run("config", "edit", input="n\n", env={"EDITOR": f"{sys.executable} {editor}"})
    assert "no changes" in declined.stderr  # nothing left to replace: nothing to save
    editor.write_text(editor.read_text().replace('"claude", "mistral"', '"mistral", "gemini"'))
    refused = team.run("config", "edit", input="n\n", env={"EDITOR": f"{sys.executable} {editor}"})
    assert refused.returncode == 1 and org.own("sre")["config"]["model"] == "mistral"


def test_admin_edit_is_conditional_on_the_version_it_read(cli, org, tmp_path):
    org.add_node("sre")
    editor = tmp_path / "slow_editor.py"
    # the editor writes the file, and meanwhile someone else changes the node
    editor.write_text(textwrap.dedent(f"""
        import sys, httpx
        httpx.patch({org.server.api!r} + "/admin/orgs/{org.org_id}/nodes/sre/config",
                    headers={{"Authorization": "Bearer {org.admin.headers['authorization'].split()[1]}"}},
                    json={{"config": {{"concurrent": True}}}})
        open(sys.argv[1], "w").write("mine: true\\n")
    """))
    result = cli.run("config", "edit", "sre", "--org", org.org_id, "--yes",
                     env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.returncode == 1 and "precondition_failed" in result.stderr
    assert org.own("sre")["config"] == {"concurrent": True}


def test_orgs_nodes_tree_and_locks(cli, tmp_path):
    from tests.support import unique_id

    org_id = unique_id("cli")
    assert cli.json("org", "create", org_id, "--name", "CLI org")["org_id"] == org_id
    assert org_id in {o["org_id"] for o in cli.json("org", "list", "--limit", "500")["items"]}
    cli.ok("node", "add", "sre", "--org", org_id)
    cli.ok("node", "add", "oncall", "--org", org_id, "--parent", "sre")
    cli.ok("node", "add", "payments", "--org", org_id)
    assert cli.json("node", "move", "oncall", "--to", "payments", "--org", org_id)["parent_node_id"] == "payments"
    # `--parent`, as `node add` names it, works too
    assert cli.json("node", "move", "oncall", "--parent", "sre", "--org", org_id)["parent_node_id"] == "sre"
    cli.ok("node", "move", "oncall", "--to", "payments", "--org", org_id)
    tree = cli.json("node", "tree", "--org", org_id)
    assert {c["node_id"] for c in tree["root"]["children"]} == {"sre", "payments"}
    drawn = cli.ok("node", "tree", "--org", org_id).stdout
    assert org_id in drawn and "└── oncall" in drawn
    assert cli.json("locks", "set", "--org", org_id, "/model", "tools.deploy")["locked_paths"] == [
        "/model", "/tools/deploy"]
    assert cli.json("locks", "get", "--org", org_id)["locked_paths"] == ["/model", "/tools/deploy"]
    assert cli.json("locks", "set", "--org", org_id, "--node", "sre", "limits")["node_id"] == "sre"
    assert cli.json("locks", "get", "sre", "--org", org_id)["locked_paths"] == ["/limits"]
    # like `locks get NODE`, a node may lead the paths when they are JSON Pointers
    assert cli.json("locks", "set", "sre", "/limits", "/model", "--org", org_id)["node_id"] == "sre"
    assert cli.json("locks", "get", "sre", "--org", org_id)["locked_paths"] == ["/limits", "/model"]
    assert cli.json("locks", "get", "--org", org_id)["locked_paths"] == ["/model", "/tools/deploy"]
    both = cli.run("locks", "set", "sre", "/model", "--node", "sre", "--org", org_id)
    assert both.returncode == 2 and "--node" in both.stderr
    kept = cli.run("node", "rm", "payments", "--org", org_id, "--cascade", input="n\n")
    assert kept.returncode == 1
    has_children = cli.run("node", "rm", "payments", "--org", org_id, "--yes")
    assert has_children.returncode == 1 and "has_children" in has_children.stderr
    assert "--cascade" in has_children.stderr and "?cascade" not in has_children.stderr  # the CLI's flag
    cli.ok("node", "rm", "payments", "--org", org_id, "--cascade", "--yes")
    assert {n["node_id"] for n in cli.json("node", "list", "--org", org_id)["items"]} == {org_id, "sre"}
    org_has_teams = cli.run("org", "delete", org_id, "--yes")
    assert org_has_teams.returncode == 1 and "has_children" in org_has_teams.stderr
    assert "--cascade" in org_has_teams.stderr and "?cascade" not in org_has_teams.stderr
    cli.ok("org", "delete", org_id, "--cascade", "--yes")
    assert cli.run("org", "list").returncode == 0


def test_tokens_issue_list_revoke(cli, org):
    org.add_node("sre")
    token = cli.ok("token", "issue", "sre", "--org", org.org_id, "--scope", "config:read").stdout.strip()
    assert token.startswith(f"{org.org_id}.sre.") and "\n" not in token
    assert cli.as_(token).json("whoami")["scopes"] == ["config:read"]
    issued = cli.json("token", "issue", "sre", "--org", org.org_id, "-d", "second")
    listed = cli.json("token", "list", "--org", org.org_id)
    assert {t["id"] for t in listed["items"]} >= {issued["id"]}
    assert "second" in cli.ok("token", "list", "sre", "--org", org.org_id).stdout
    cli.ok("token", "revoke", issued["id"], "--org", org.org_id, "--yes")
    assert cli.as_(issued["token"]).run("whoami").returncode == 1
    admin_token = cli.ok("token", "issue", "--admin", "--org", org.org_id).stdout.strip()
    as_org_admin = cli.as_(admin_token)
    assert as_org_admin.json("node", "list")["items"][0]["node_id"] == org.org_id  # --org from the token


def test_audit_listing_and_export(cli, org):
    org.patch(org.org_id, {"model": "x"}, reason="for the audit")
    page = cli.json("audit", "--org", org.org_id, "--action", "config.written")
    assert page["items"] and {e["action"] for e in page["items"]} == {"config.written"}
    exported = cli.ok("audit", "--org", org.org_id, "--export", "csv").stdout
    assert "config.written" in {r["action"] for r in csv.DictReader(io.StringIO(exported))}
    assert "config.written" in cli.ok("audit", "--org", org.org_id).stdout


def test_runs_routing_integrations(cli, team, org):
    run = team.json("runs", "list")
    assert run["total"] == 0
    client_run = org.client(team.token).post("/agent-runs", json={"agent_name": "triage"}).json()
    listed = team.json("runs", "list")
    assert [r["id"] for r in listed["runs"]] == [client_run["id"]]
    assert team.json("runs", "show", client_run["id"])["agent_name"] == "triage"
    assert team.json("runs", "stats")["by_status"]["running"] == 1
    assert "triage" in team.ok("runs", "list").stdout
    assert cli.json("runs", "list", "--org", org.org_id, "--node", "sre")["total"] == 1
    team.ok("config", "set", 'routing.slack_channel_ids=["C0SRE"]')
    found = cli.json("routing", "lookup", "slack_channel_id=C0SRE", "--org", org.org_id)
    assert (found["found"], found["team_node_id"]) == (True, "sre")
    assert cli.json("routing", "claims", "--org", org.org_id)["items"] == [
        {"kind": "slack_channel_ids", "value": "C0SRE", "node_id": "sre"}]
    catalog = team.json("integrations", "list")
    assert "coralogix" in {i["id"] for i in catalog["items"]}
    health = team.json("integrations", "health")
    assert health["integrations"]["coralogix"]["status"] == "not_configured"
    assert "coralogix" in team.ok("integrations", "health").stdout


def test_global_options_anywhere_and_whoami(cli, org):
    me = cli.json("whoami")
    assert me["role"] == "admin" and me["auth_kind"] == "global_admin"
    elsewhere = Cli(cli.home).run("whoami", "--json", "--url", cli.url, "--token", cli.token)
    assert elsewhere.returncode == 0 and '"role": "admin"' in elsewhere.stdout


def test_config_watch_prints_each_change(team, org):
    proc = subprocess.Popen([str(COMMAND), "config", "watch", "--json"], env=team.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        first = json.loads(lines.get(timeout=20))
        assert first["effective_config"]["model"] == "gpt-4o"
        org.patch("sre", {"model": "watched"})
        second = json.loads(lines.get(timeout=20))
        assert second["effective_config"]["model"] == "watched" and second["version"] == first["version"] + 1
    finally:
        proc.terminate()
        proc.wait(10)
