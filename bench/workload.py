"""The benchmark's workload: one org whose root config is ≈ 32 KB (6 agents with ≈ 4 KB prompts,
a 20-tool dict, integrations, routing), 10 units, teams under the units (≈ 2 KB and ≈ 1 KB own
configs) and a chain of 8 nodes below the root (a team at depth 8).

The org and its root config go through the API (validated, as a deployment writes them); units,
teams and the chain are inserted with SQL — `generate_series` for the teams, so 10,000 teams
seed in seconds. Seeded nodes get versions 1 (`{}`) and 2 (their config), as if created and then
written once, and their routing claims are inserted into `routing_keys` like a write does.
"""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import psycopg

from config_service.routing.keys import claims

ORG = "bench"
UNITS = 10
CHAIN_DEPTH = 8
N = "@@"  # placeholder for a node's number in the templates (no letters: routing keys may be lower-cased)
SCOPES = ["config:read", "config:write", "secrets:read", "runs:write"]
TOOLS = [
    "think", "web_search", "kubectl", "logs_query", "metrics_query", "traces_query", "deploy", "rollback",
    "feature_flags", "pagerduty", "slack_post", "github_search", "github_pr", "jira", "confluence",
    "runbook", "sql_readonly", "http_probe", "dns_lookup", "cost_report",
]
AGENTS = ["triage", "investigator", "remediator", "summarizer", "planner", "reviewer"]
_WORDS = (
    "incident alert latency error budget service owner deploy rollback canary metric trace log span "
    "region cluster pod node queue backlog retry timeout saturation capacity dependency upstream "
    "downstream customer impact severity escalate mitigate verify evidence hypothesis summary"
).split()


def _prose(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def root_config(rng: random.Random | None = None) -> dict[str, Any]:
    rng = rng or random.Random(7)
    agents = {
        name: {
            "enabled": True,
            "model": "claude-sonnet-4",
            "temperature": 0.2,
            "max_tokens": 8192,
            "prompt": _prose(rng, 4100),
            "tools": rng.sample(TOOLS, 8),
            "max_steps": 40,
        }
        for name in AGENTS
    }
    tools = {
        name: {"enabled": True, "timeout_seconds": 30, "rate_limit_per_minute": 60, "description": _prose(rng, 160)}
        for name in TOOLS
    }
    return {
        "agents": agents,
        "tools": tools,
        "integrations": {
            "coralogix": {"domain": "eu2.coralogix.com", "api_key": "cx-bench-" + "k" * 32},
            "statuspage": {"page_id": "bench-page", "api_key": {"$secret": "sp-bench-" + "s" * 24}},
            "runbooks": {"base_url": "https://runbooks.example.com", "space": "SRE"},
        },
        "routing": {"slack_channel_ids": ["C-BENCH-ORG"], "services": ["bench-platform"]},
        "notifications": {"default_slack_channel_id": "C-BENCH-ORG", "on_error": True, "digest": "daily"},
        "limits": {"max_concurrent_runs": 20, "run_timeout_seconds": 900, "max_tool_calls": 200},
        "feature_flags": {f"flag_{i}": i % 3 == 0 for i in range(20)},
    }


def unit_template() -> dict[str, Any]:
    rng = random.Random(11)
    return {
        "agents": {
            "triage": {"model": "claude-haiku-4", "extra_instructions": _prose(rng, 700)},
            "investigator": {"temperature": 0.1, "max_steps": 60},
        },
        "tools": {"deploy": {"enabled": False}, "sql_readonly": {"timeout_seconds": 60}},
        "routing": {"services": [f"unit-{N}-gateway"]},
        "notifications": {"default_slack_channel_id": f"C-UNIT-{N}"},
        "escalation": {"policy": f"unit-{N}-oncall", "levels": [{"after_minutes": m, "notify": f"tier-{m}"} for m in (5,
            15, 30)]},
        "runbook": _prose(rng, 800),
    }


def team_template() -> dict[str, Any]:
    rng = random.Random(13)
    return {
        "agents": {"triage": {"extra_instructions": _prose(rng, 650)}, "reviewer": {"enabled": False}},
        "tools": {"deploy": {"enabled": True}, "cost_report": None},
        "routing": {
            "slack_channel_ids": [f"C-TEAM-{N}"],
            "services": [f"team-{N}-api", f"team-{N}-worker"],
            "github_repos": [f"bench/team-{N}"],
        },
        "notifications": {"default_slack_channel_id": f"C-TEAM-{N}"},
        "limits": {"max_concurrent_runs": 5},
    }


def chain_template() -> dict[str, Any]:
    rng = random.Random(17)
    return {
        "agents": {"planner": {"temperature": 0.3, "extra_instructions": _prose(rng, 500)}},
        "tools": {"kubectl": {"timeout_seconds": 45}},
        "routing": {"services": [f"chain-{N}-svc"]},
        "level": {f"l{N}": True},
        "notes": _prose(rng, 300),
    }


def size(config: dict[str, Any]) -> int:
    return len(json.dumps(config, separators=(",", ":")))


def _texts(template: dict[str, Any]) -> tuple[str, str]:
    """The config and its RFC 6902 diff from `{}`, as JSON text with the placeholder."""
    diff = [{"op": "add", "path": f"/{key}", "value": value} for key, value in template.items()]
    return json.dumps(template), json.dumps(diff)


def _insert_numbered(
    conn: psycopg.Connection, template: dict[str, Any], lo: int, hi: int, *, prefix: str, name: str, parent_sql: str,
) -> None:
    """Nodes `<prefix><g>` for g in [lo, hi], own config = template with the placeholder → g."""
    config_text, diff_text = _texts(template)
    node = f"'{prefix}' || g"
    series = "FROM generate_series(%(lo)s::int, %(hi)s::int) g"
    params = {"org": ORG, "lo": lo, "hi": hi, "config": config_text, "diff": diff_text, "n": N}
    conn.execute(
        f"INSERT INTO org_nodes (org_id, node_id, parent_node_id, node_type, name, node_uid) "
        f"SELECT %(org)s, {node}, {parent_sql}, 'team', '{name} ' || g, gen_random_uuid() {series}",
        params,
    )
    conn.execute(
        f"INSERT INTO node_configurations (org_id, node_id, config_json, version, updated_by) "
        f"SELECT %(org)s, {node}, replace(%(config)s, %(n)s, g::text)::jsonb, 2, 'bench-seed' {series}",
        params,
    )
    conn.execute(
        f"INSERT INTO node_config_versions (org_id, node_id, version, config_json, diff, changed_by, reason) "
        f"SELECT %(org)s, {node}, 1, '{{}}'::jsonb, '[]'::jsonb, 'bench-seed', 'created' {series} UNION ALL "
        f"SELECT %(org)s, {node}, 2, replace(%(config)s, %(n)s, g::text)::jsonb, "
        f"replace(%(diff)s, %(n)s, g::text)::jsonb, 'bench-seed', 'bench seed' {series}",
        params,
    )
    for claim in sorted(claims(template)):
        conn.execute(
            "INSERT INTO routing_keys (org_id, key_type, key_norm, key_value, node_id) "
            "SELECT %(org)s, %(type)s, replace(%(norm)s, %(n)s, g::text), replace(%(value)s, %(n)s, g::text), "
            f"{node} {series}",
            params | {"type": claim.key_type, "norm": claim.key_norm, "value": claim.key_value},
        )


def team_id(number: int) -> str:
    return f"team-{number}"


def chain_leaf() -> str:
    return f"chain-{CHAIN_DEPTH}"


def seed_tree(conn: psycopg.Connection, teams: int) -> None:
    """Units, the first `teams` teams (spread over the units) and the chain, in one transaction."""
    with conn.transaction():
        _insert_numbered(conn, unit_template(), 1, UNITS, prefix="unit-", name="Unit", parent_sql="%(org)s")
        add_teams(conn, 1, teams, analyze=False)
        for depth in range(1, CHAIN_DEPTH + 1):  # one by one: each is the parent of the next
            parent = "%(org)s" if depth == 1 else "'chain-' || (g - 1)"
            _insert_numbered(conn, chain_template(), depth, depth, prefix="chain-", name="Chain", parent_sql=parent)
    conn.execute("ANALYZE")


def add_teams(conn: psycopg.Connection, lo: int, hi: int, *, analyze: bool = True) -> None:
    """Teams `team-lo` … `team-hi`, round-robin over the units."""
    if hi < lo:
        return
    _insert_numbered(conn, team_template(), lo, hi, prefix="team-", name="Team",
        parent_sql=f"'unit-' || (mod(g - 1, {UNITS}) + 1)")
    if analyze:
        conn.execute("ANALYZE")


def create_org(admin: httpx.Client) -> None:
    """The org and its root config, through the API."""
    response = admin.post("/admin/orgs", json={"org_id": ORG, "name": "Bench Org"})
    _expect(response, 201, "create the org")
    response = admin.patch(f"/admin/orgs/{ORG}/nodes/{ORG}/config", json={"config": root_config(),
        "reason": "bench seed"})
    _expect(response, 200, "write the root config")


def issue_tokens(admin: httpx.Client, node_ids: list[str], scopes: list[str] = SCOPES) -> list[str]:
    tokens = []
    for node_id in node_ids:
        response = admin.post(
            f"/admin/orgs/{ORG}/teams/{node_id}/tokens", json={"description": "bench", "scopes": scopes}
        )
        _expect(response, 201, f"issue a token for {node_id}")
        tokens.append(response.json()["token"])
    return tokens


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise RuntimeError(f"cannot {what}: HTTP {response.status_code} {response.text[:500]}")


def describe() -> dict[str, Any]:
    """Sizes of the workload's documents, for the report."""
    return {
        "org": ORG,
        "root_config_bytes": size(root_config()),
        "unit_config_bytes": size(unit_template()),
        "team_config_bytes": size(team_template()),
        "chain_config_bytes": size(chain_template()),
        "units": UNITS,
        "chain_depth": CHAIN_DEPTH,
    }
