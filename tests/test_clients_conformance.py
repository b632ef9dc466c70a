"""DESIGN §12.2 / §12.3 statements not proved elsewhere: an admin's `config set NODE` (pairs and
`--secret`), `config get --effective`, a 5xx → exit 3 with detail and code, a 412's `current` from
the real server; a reason checked before it travels in a header, and `config edit -m` taking any text."""

from __future__ import annotations

import sys
import textwrap

import pytest

import config_service_client as sdk
from tests.cli_support import Cli
from tests.sdk_support import LocalServer, Reply


@pytest.fixture()
def cli(tmp_path, server, server_keys) -> Cli:
    return Cli(tmp_path, server.url, server_keys["ADMIN_TOKEN"])


def test_admin_config_set_names_the_node_and_org(cli, org):
    org.add_node("sre")
    written = cli.json("config", "set", "sre", "--org", org.org_id, "model=o3", "limits.steps=3")
    assert (written["node_id"], written["config"]) == ("sre", {"model": "o3", "limits": {"steps": 3}})
    cli.ok("config", "set", "sre", "--org", org.org_id, "--secret", "hook.key", input="s3cret\n")
    assert org.own("sre")["config"]["hook"] == {"key": "********"}
    effective = cli.json("config", "get", "--effective", "sre", "--org", org.org_id)
    assert effective["effective_config"]["model"] == "o3" and "s3cret" not in str(effective)


@pytest.mark.parametrize("status", [500, 502])
def test_a_server_failure_exits_3_with_detail_and_code(tmp_path, status):
    problem = {"type": "about:blank", "title": "boom", "status": status, "detail": "it broke", "code": "internal_error"}
    with LocalServer(lambda seen: Reply(status, problem)) as s:
        result = Cli(tmp_path, s.url, "o.n.t").run("whoami")
    assert result.returncode == 3 and "it broke" in result.stderr and "internal_error" in result.stderr


def test_a_412_carries_the_current_validator(org):
    org.add_node("sre")
    client = sdk.Client(org.server.url, org.token("sre", ["config:read", "config:write"]))
    stale = client.effective().etag
    client.patch({"a": 1})
    now = client.effective().etag
    with pytest.raises(sdk.PreconditionFailed) as caught:
        client.patch({"a": 2}, if_match=stale)
    assert caught.value.current == now


def test_a_header_reason_is_checked_before_sending():
    seen = []
    with LocalServer(lambda s: seen.append(s) or Reply(200, {})) as s:
        client = sdk.Client(s.url, "o.n.t", retries=0)
        for reason in ("déploiement", "two\nlines"):
            with pytest.raises(ValueError, match="X-Change-Reason"):
                client.patch([{"op": "add", "path": "/a", "value": 1}], reason=reason)
    assert seen == []


def test_config_edit_takes_any_reason(tmp_path, server, org):
    org.add_node("sre")
    org.put("sre", {"model": "claude", "gone": None, "key": {"$secret": "s3cret"}})
    team = Cli(tmp_path, server.url, org.token("sre", ["config:read", "config:write", "secrets:read"]))
    editor = tmp_path / "editor.py"
    editor.write_text(textwrap.dedent("""
        import sys
        path = sys.argv[1]
        text = open(path).read()
        open(path, "w").write(text.replace("claude", "mistral"))
    """))
    result = team.run("config", "edit", "--yes", "-m", "essai de mistral – été",
                      env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.returncode == 0, result.stderr
    assert org.own("sre")["config"] == {"model": "mistral", "gone": None, "key": "********"}  # tombstone kept
    assert team.json("config", "get", "--reveal")["effective_config"]["key"] == "s3cret"  # the mask kept it
    assert team.json("config", "history")["items"][0]["reason"] == "essai de mistral – été"


HTML = b"<!doctype html><title>Welcome to nginx!</title>"


@pytest.mark.parametrize("body", [HTML, {"hello": "world"}, [1, 2]])
def test_an_answer_that_is_not_the_services_is_a_typed_error(body):
    """`base_url` pointing at another web server: a 200 that is not the API's JSON raises
    `UnexpectedResponse` naming the call, not a JSON or validation traceback."""
    with LocalServer(lambda seen: Reply(200, body, {"Content-Type": "text/html"})) as s:
        client = sdk.Client(s.url, "o.n.t")
        with pytest.raises(sdk.UnexpectedResponse) as raised:
            client.effective()
    assert isinstance(raised.value, sdk.ConfigServiceError)
    assert "/api/v1/config/me" in str(raised.value) and "service root" in str(raised.value)


def test_the_cli_says_a_wrong_url_is_not_the_service(tmp_path):
    with LocalServer(lambda seen: Reply(200, HTML, {"Content-Type": "text/html"})) as s:
        result = Cli(tmp_path, s.url, "o.n.t").run("whoami")
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "service root" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_stops_a_command_quietly(tmp_path):
    """Ctrl-C while a command waits for the service: exit 130, no traceback."""
    import signal
    import socket
    import subprocess
    import time

    from tests.cli_support import COMMAND

    with socket.socket() as listener:  # accepts connections and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        cli = Cli(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}", "o.n.t")
        process = subprocess.Popen([str(COMMAND), "whoami"], env=cli.env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(2)  # the command is waiting for an answer
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
