"""The tour of the README, end to end against a real server."""

from __future__ import annotations

import json
import re
import sys


def test_tour(org, admin):
    org.add_node("sre")
    assert org.patch(org.org_id, {"tools": {"think": True, "web_search": True}, "model": "gpt-4o"}).status_code == 200
    assert org.put("sre", {"tools": {"web_search": False}, "model": None}).status_code == 200
    with org.team_client("sre") as team:
        body = team.get("/config/me").json()
    assert body["effective_config"] == {"tools": {"think": True, "web_search": False}}
    assert body["hierarchy"] == [org.org_id, "sre"]


def test_health_ready_metrics(server, anon):
    import httpx

    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    metrics = httpx.get(server.url + "/metrics").text
    assert "config_service_http_requests_total" in metrics


# The README and the SDK's README, followed literally (tests/readme_support.py): every command of
# "From the terminal", "From agent code" and the CLI part of "Config as code", and the SDK's
# complete agent — online, then with the service unreachable.

def _key(command: str) -> str:
    """A command without its trailing comment (two spaces, then `#`)."""
    return re.split(r"\s{2,}#", command)[0]


EDITOR = "import sys; open(sys.argv[1], 'a').write('limits:\\n  steps: 5\\n')"


def test_readme_terminal_agent_code_and_config_as_code(tmp_path, server, server_keys):
    from tests.readme_support import Reader, blocks, commands
    from tests.support import unique_id

    reader = Reader(tmp_path, server.url, server_keys["ADMIN_TOKEN"], renames={"globex": unique_id("globex")},
                    env={"EDITOR": f"{sys.executable} -c \"{EDITOR}\""})
    out = {}
    for block in blocks("README.md", "From the terminal", "bash"):
        for command in commands(block):
            if "config watch" in command:  # runs until Ctrl-C: tests/test_cli_client.py drives it
                continue
            out[_key(command)] = reader.sh(command).stdout
    assert "└── sre" in out["config-service node tree --org globex"]
    shown = out["config-service --profile globex-sre config get"]
    assert '"model": "gpt-4o"' in shown and "webhook_token" not in shown  # set afterwards
    own = out["config-service --profile globex-sre config get --own"]
    assert '"webhook_token": "********"' in own and "hunter2" not in own
    assert "+limits:" in out["config-service --profile globex-sre config edit"]
    got = json.loads(out["config-service --profile globex-sre config get --json"])
    assert got["effective_config"]["tools"] == {"think": True, "deploy": True}  # rolled back to 2: no limits
    assert got["effective_config"]["notifications"]["webhook_token"] == "********"

    example = blocks("README.md", "From agent code", "python")[0]
    for command in commands(blocks("README.md", "From agent code", "bash")[0]):
        reader.sh(command)
    ran = reader.python(example)
    assert ran.returncode == 0, ran.stderr
    version, config = ran.stdout.split(" ", 1)
    assert int(version) == got["version"] and "'model': 'gpt-4o'" in config
    assert "'webhook_token': 'hunter2'" in config  # secrets:read: the plaintext (and the 0600 file)
    saved = tmp_path / ".cache" / "sre-agent" / "config.json"
    assert saved.stat().st_mode & 0o777 == 0o600

    plan = {}
    for command in commands(blocks("README.md", "Config as code", "bash")[0]):
        plan[_key(command)] = reader.sh(command).stdout
    assert "~ /model: gpt-4o-mini" in plan["config-service import next.yaml --org globex --plan"]
    assert "1 updated" in plan['config-service import next.yaml --org globex --apply -m "PR #42"']
    applied = plan["config-service import globex.yaml --org globex-staging --apply --yes"]
    assert "--secret /notifications/webhook_token" in applied  # the secret the promotion could not carry


def test_sdk_readme_complete_agent_online_then_offline(tmp_path, server, server_keys):
    from tests.readme_support import Reader, blocks, commands
    from tests.support import free_port, unique_id

    org_id = unique_id("agent")
    reader = Reader(tmp_path, server.url, server_keys["ADMIN_TOKEN"])
    setup = commands(blocks("clients/python/README.md", "A complete agent", "bash")[0])
    created = [c for c in setup if " org create " in c]
    assert created, setup
    reader.renames = {created[0].split(" org create ")[1].split()[0]: org_id}
    for command in setup:
        reader.sh(command)
    agent = blocks("clients/python/README.md", "A complete agent", "python")[0]

    online = reader.python(agent)
    assert online.returncode == 0, online.stderr
    lines = online.stdout.splitlines()
    assert lines[0] == "model: gpt-4o" and lines[1].startswith("run ") and " recorded against config " in lines[1]
    assert lines[2].startswith("config version 1 -> {'model': 'gpt-4o'")

    # the service unreachable: the agent starts from its last known good config and says so
    offline = reader.python(agent, extra={"CONFIG_SERVICE_URL": f"http://127.0.0.1:{free_port()}"})
    assert offline.returncode == 0, offline.stderr
    lines = offline.stdout.splitlines()
    assert lines[0].startswith("starting with the last known good config from ") and lines[1] == "model: gpt-4o"
    assert lines[2] == "run not recorded: service unreachable" and "Traceback" not in offline.stderr
