"""`config-service runs list|show|stats`, beside the server's `runs prune|cleanup-stale`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from config_service.cli.client import output
from config_service.cli.client.common import Json, Org
from config_service.cli.client.session import session

Node = Annotated[str | None, typer.Option("--node", help="The team (admins; default: your token's own).")]
Since = Annotated[datetime | None, typer.Option("--since", help="Created at or after.")]
Until = Annotated[datetime | None, typer.Option("--until", help="Created before.")]


def _scope(ctx: typer.Context, node: str | None, org: str | None) -> tuple[str | None, str | None]:
    """(org, team) to filter on: none for a team's own runs; an admin's org, and a node if named."""
    if node is None and org is None:
        return None, None
    target = session(ctx).target(node, org)
    return (None, None) if target.is_me else (target.org_id, node)


def list_runs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="running, success, error, timeout.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent.")] = None,
    since: Since = None,
    until: Until = None,
    node: Node = None,
    org: Org = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=500)] = None,
    offset: Annotated[int | None, typer.Option("--offset", min=0)] = None,
    json_: Json = False,
) -> None:
    """Agent runs, newest first."""
    org_id, node_id = _scope(ctx, node, org)
    page = session(ctx).client().runs(status=status, agent_name=agent, since=since, until=until, org_id=org_id,
                                      team_node_id=node_id, limit=limit, offset=offset)
    if json_:
        output.print_json(page.api_json)
        return
    output.table(
        ["id", "team", "agent", "status", "started", "seconds", "config"],
        ((r.id, r.team_node_id, r.agent_name, r.status, r.created_at.isoformat(timespec="seconds"),
          None if r.duration_seconds is None else round(r.duration_seconds, 3), (r.config_version or "")[:12] or None)
         for r in page.runs),
        title=f"runs ({len(page.runs)} of {page.total})",
    )


def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    config: Annotated[bool, typer.Option("--config", help="The effective config the run read (masked).")] = False,
    json_: Json = False,
) -> None:
    """One run (or, with --config, the config it read)."""
    client = session(ctx).client()
    if config:
        snapshot = client.run_config(run_id)
        if json_:
            output.print_json(snapshot.api_json)
        else:
            output.note(f"run {snapshot.run_id} read {snapshot.org_id}/{snapshot.node_id} at {snapshot.config_version}")
            output.document(snapshot.effective_config)
        return
    run = client.get_run(run_id)
    if json_:
        output.print_json(run.api_json)
        return
    output.fields([
        ("id", run.id), ("team", f"{run.org_id}/{run.team_node_id}"), ("agent", run.agent_name),
        ("status", run.status), ("started", run.created_at.isoformat()),
        ("finished", run.completed_at.isoformat() if run.completed_at else None),
        ("seconds", run.duration_seconds), ("config", run.config_version), ("trigger", run.trigger_source),
        ("correlation", run.correlation_id), ("input", run.input_message), ("output", run.output),
    ])


def stats(
    ctx: typer.Context,
    since: Since = None,
    until: Until = None,
    node: Node = None,
    org: Org = None,
    json_: Json = False,
) -> None:
    """Counts by status and p50/p95 duration, overall and per agent."""
    org_id, node_id = _scope(ctx, node, org)
    result = session(ctx).client().run_stats(since=since, until=until, org_id=org_id, team_node_id=node_id)
    if json_:
        output.print_json(result.api_json)
        return
    rows = [("(all)", result.by_status, result.duration)] + [
        (name, agent.by_status, agent.duration) for name, agent in sorted(result.agents.items())]
    output.table(
        ["agent", "running", "success", "error", "timeout", "p50 s", "p95 s"],
        ((name, counts.get("running", 0), counts.get("success", 0), counts.get("error", 0), counts.get("timeout", 0),
          duration.p50, duration.p95) for name, counts, duration in rows),
        title="runs",
    )


def register(root: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    runs = groups["runs"]  # the server's group (prune, cleanup-stale): one `runs` for both
    runs.command("list")(list_runs)
    runs.command("show")(show)
    runs.command("stats")(stats)
