"""Operations of a team (its own node), runs, routing and the integration catalog.

Each function builds one `Call`; `Client` and `AsyncClient` expose it as a method of the same
name and signature (see `admin_operations` for the admin calls).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from config_service_client import models as m
from config_service_client.calls import (
    Call,
    change_call,
    compact,
    get,
    model,
    path,
    preview_call,
    rollback_call,
)

Changes = Mapping[str, Any] | list[Any]
ME = "/config/me"


def whoami() -> Call[m.Me]:
    """Who the token is: role, org, node, scopes (`GET /auth/me`)."""
    return get("/auth/me", model(m.Me))


def effective(*, masked: bool = False) -> Call[m.EffectiveConfig]:
    """The team's effective config. Plaintext secrets with `secrets:read` unless `masked=True`
    (`?secrets=masked`, what a display should use). Cached by ETag; with `last_known_good`, a
    successful unmasked read is saved and returned (`stale=True`) while the service is unreachable."""
    call = get(ME + "/effective", model(m.EffectiveConfig), secrets="masked" if masked else None)
    return Call(call.method, call.path, call.parse, params=call.params, retry_safe=True, own_effective=not masked)


def raw() -> Call[m.RawConfig]:
    """The own configs of every node on the lineage (secrets masked, tombstones as null)."""
    return get(ME + "/raw", model(m.RawConfig))


def explain() -> Call[m.Explanation]:
    """Where each effective value comes from (node, version, lock, overridden values)."""
    return get(ME + "/explain", model(m.Explanation))


def patch(changes: Changes, *, if_match: str | None = None, reason: str | None = None) -> Call[m.WriteResult]:
    """Change the own config: a mapping is a merge patch (RFC 7396: `None` deletes a key), a list
    an RFC 6902 JSON Patch. `if_match`: the effective etag or `"v<version>"` (then a retry is safe)."""
    return change_call("PATCH", ME, model(m.WriteResult), changes, if_match=if_match, reason=reason)


def put(config: Mapping[str, Any], *, if_match: str | None = None, reason: str | None = None) -> Call[m.WriteResult]:
    """Replace the own config whole (`None` values are tombstones)."""
    return change_call("PUT", ME, model(m.WriteResult), config, if_match=if_match, reason=reason)


def history(
    *, limit: int | None = None, cursor: str | None = None, include_full: bool = False
) -> Call[m.HistoryPage]:
    """Versions of the own config, newest first (`next_cursor` continues)."""
    return get(ME + "/history", model(m.HistoryPage), limit=limit, cursor=cursor, include_full=include_full or None)


def version(number: int) -> Call[m.HistoryItem]:
    """One version of the own config, with its content."""
    return get(path("config", "me", "history", number), model(m.HistoryItem))


def diff(from_version: int, to_version: int | None = None) -> Call[m.VersionDiff]:
    """The RFC 6902 diff between two versions of the own config (`to_version`: default the current one)."""
    return get(ME + "/diff", model(m.VersionDiff), **{"from": from_version, "to": to_version})


def rollback(
    version: int, *, restore_secrets: bool = False, if_match: str | None = None, reason: str | None = None
) -> Call[m.WriteResult]:
    """Make version N's content the own config again, as a new version (secrets keep today's values
    unless `restore_secrets`)."""
    return rollback_call(ME + "/rollback", model(m.WriteResult), version, restore_secrets=restore_secrets,
                         if_match=if_match, reason=reason)


def preview(
    changes: Changes | None = None, *, rollback_to: int | None = None, restore_secrets: bool = False
) -> Call[m.Preview]:
    """Dry run of a write (needs `config:write`): which nodes' effective configs would change, and
    every problem the write would meet. Give `changes` (as `patch`) or `rollback_to`."""
    return preview_call(ME + "/preview", model(m.Preview), changes, rollback_to, restore_secrets)


def integration_health() -> Call[m.HealthReport]:
    """Configured / incomplete / not_configured for every catalog integration, on the team's effective config."""
    return get("/integrations/health", model(m.HealthReport))


def integrations(*, category: str | None = None) -> Call[m.IntegrationCatalog]:
    """The integration catalog (no token needed)."""
    return get("/integrations/schemas", model(m.IntegrationCatalog), category=category)


def integration(schema_id: str) -> Call[m.IntegrationSchema]:
    return get(path("integrations", "schemas", schema_id), model(m.IntegrationSchema))


# ---- runs -------------------------------------------------------------------------------


def start_run(
    agent_name: str,
    *,
    input_message: str | None = None,
    correlation_id: str | None = None,
    trigger_source: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    config_version: str | None = None,
    org_id: str | None = None,
    team_node_id: str | None = None,
    idempotency_key: str | None = None,
) -> Call[m.Run]:
    """Record a `running` run. `config_version`: the etag the agent read (default: the current one).
    Always sent with an `Idempotency-Key` (a new one unless given), so a retry returns the same run."""
    body = compact(
        agent_name=agent_name, input_message=input_message, correlation_id=correlation_id,
        trigger_source=trigger_source, metadata=dict(metadata) if metadata is not None else None,
        config_version=config_version, org_id=org_id, team_node_id=team_node_id,
    )
    key = idempotency_key or uuid.uuid4().hex
    return Call("POST", "/agent-runs", model(m.Run), body=body, headers={"Idempotency-Key": key}, retry_safe=True)


def finish_run(
    run_id: str | uuid.UUID,
    status: Literal["success", "error", "timeout"] = "success",
    *,
    output: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Call[m.Run]:
    """Finish a run (409 `run_finished` if it already is)."""
    body = compact(status=status, output=output, metadata=dict(metadata) if metadata is not None else None)
    return Call("PATCH", path("agent-runs", run_id), model(m.Run), body=body)


def get_run(run_id: str | uuid.UUID) -> Call[m.Run]:
    return get(path("agent-runs", run_id), model(m.Run))


def run_config(run_id: str | uuid.UUID) -> Call[m.RunConfig]:
    """The effective config a run read (masked), rebuilt from its lineage versions."""
    return get(path("agent-runs", run_id, "config"), model(m.RunConfig))


def runs(
    *,
    status: str | None = None,
    agent_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    config_version: str | None = None,
    org_id: str | None = None,
    team_node_id: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Call[m.RunPage]:
    """Runs, newest first (`total` counts every match). Admins and the internal token name the team."""
    return get("/agent-runs", model(m.RunPage), status=status, agent_name=agent_name, since=since, until=until,
               config_version=config_version, org_id=org_id, team_node_id=team_node_id, limit=limit, offset=offset)


def run_stats(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    org_id: str | None = None,
    team_node_id: str | None = None,
) -> Call[m.RunStats]:
    """Counts by status and p50/p95 duration, overall and per agent."""
    return get("/agent-runs/stats", model(m.RunStats), since=since, until=until, org_id=org_id,
               team_node_id=team_node_id)


# ---- routing and token exchange -----------------------------------------------------------


def lookup(
    identifiers: Mapping[str, str] | None = None,
    *,
    org_id: str | None = None,
    issue_token: bool = False,
    **more: str,
) -> Call[m.LookupResult]:
    """Find the team owning a Slack channel, service, repo, … e.g. `lookup(slack_channel_id="C0SRE")`.
    With `issue_token=True` (internal token or global admin) the answer carries a short-lived team token."""
    body: dict[str, Any] = {"identifiers": {**(identifiers or {}), **more}}
    if org_id is not None:
        body["org_id"] = org_id
    if issue_token:
        body["issue_token"] = True
    # a lookup is a read unless it mints a token
    return Call("POST", "/internal/routing/lookup", model(m.LookupResult), body=body, retry_safe=not issue_token)


def exchange_token(
    org_id: str, team_node_id: str, *, ttl_seconds: int | None = None, scopes: list[str] | None = None
) -> Call[m.TokenIssued]:
    """A team token valid for at most 15 minutes (internal token or global admin)."""
    body = compact(org_id=org_id, team_node_id=team_node_id, ttl_seconds=ttl_seconds, scopes=scopes)
    return Call("POST", "/internal/tokens/exchange", model(m.TokenIssued), body=body)

