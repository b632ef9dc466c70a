"""Admin operations (org admin within its org, global admin anywhere): orgs, nodes, any node's
config, locks, tokens, audit, routing claims, config as code. Built as `Call`s like `operations`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from config_service_client import models as m
from config_service_client.calls import (
    Call,
    as_text,
    change_call,
    compact,
    get,
    model,
    nothing,
    path,
    preview_call,
    quote_etag,
    reason_header,
    rollback_call,
)

Changes = Mapping[str, Any] | list[Any]
Document = Mapping[str, Any] | str | bytes | m.OrgExport
JSON_MEDIA = "application/json"
YAML_MEDIA = "application/yaml"


def _node(org_id: str, node_id: str, *rest: Any) -> str:
    return path("admin", "orgs", org_id, "nodes", node_id, *rest)


def _org(org_id: str, *rest: Any) -> str:
    return path("admin", "orgs", org_id, *rest)


# ---- orgs and nodes ---------------------------------------------------------------------


def orgs(*, limit: int | None = None, cursor: str | None = None) -> Call[m.OrgPage]:
    """Every org (global admin) or the caller's own (org admin), newest first."""
    return get("/admin/orgs", model(m.OrgPage), limit=limit, cursor=cursor)


def org(org_id: str) -> Call[m.Org]:
    return get(_org(org_id), model(m.Org))


def create_org(org_id: str, *, name: str | None = None) -> Call[m.Org]:
    """Create an org (global admin): its root node, own config `{}` at version 1."""
    return Call("POST", "/admin/orgs", model(m.Org), body=compact(org_id=org_id, name=name))


def delete_org(org_id: str, *, cascade: bool = False) -> Call[None]:
    """Delete an org and everything in it (`cascade=True` when it has teams); revokes its tokens."""
    return Call("DELETE", _org(org_id), nothing, params={"cascade": cascade or None})


def nodes(org_id: str, *, limit: int | None = None, cursor: str | None = None) -> Call[m.NodePage]:
    return get(_org(org_id, "nodes"), model(m.NodePage), limit=limit, cursor=cursor)


def node(org_id: str, node_id: str) -> Call[m.Node]:
    return get(_node(org_id, node_id), model(m.Node))


def create_node(
    org_id: str, node_id: str, *, parent_node_id: str | None = None, name: str | None = None,
    reason: str | None = None,
) -> Call[m.Node]:
    """Add a team under `parent_node_id` (default: the org root)."""
    body = compact(node_id=node_id, parent_node_id=parent_node_id, name=name, reason=reason)
    return Call("POST", _org(org_id, "nodes"), model(m.Node), body=body)


def update_node(
    org_id: str, node_id: str, *, name: str | None = None, parent_node_id: str | None = None,
    reason: str | None = None,
) -> Call[m.Node]:
    """Rename (`name`) and/or move (`parent_node_id`) a node."""
    body = compact(name=name, parent_node_id=parent_node_id, reason=reason)
    return Call("PATCH", _node(org_id, node_id), model(m.Node), body=body)


def delete_node(org_id: str, node_id: str, *, cascade: bool = False) -> Call[None]:
    """Delete a node (`cascade=True` with its subtree); revokes the subtree's tokens."""
    return Call("DELETE", _node(org_id, node_id), nothing, params={"cascade": cascade or None})


def tree(org_id: str) -> Call[m.Tree]:
    return get(_org(org_id, "tree"), model(m.Tree))


# ---- any node's config ------------------------------------------------------------------


def node_config(org_id: str, node_id: str) -> Call[m.OwnConfig]:
    """The node's own config (secrets masked), its version and locks."""
    return get(_node(org_id, node_id, "config"), model(m.OwnConfig))


def node_patch(
    org_id: str, node_id: str, changes: Changes, *, if_match: str | None = None, reason: str | None = None
) -> Call[m.WriteResult]:
    """As `patch`, on any node. `if_match`: the own version (`"3"`), `"v3"` or the effective etag."""
    return change_call("PATCH", _node(org_id, node_id, "config"), model(m.WriteResult), changes,
                       if_match=if_match, reason=reason)


def node_put(
    org_id: str, node_id: str, config: Mapping[str, Any], *, if_match: str | None = None, reason: str | None = None
) -> Call[m.WriteResult]:
    return change_call("PUT", _node(org_id, node_id, "config"), model(m.WriteResult), config,
                       if_match=if_match, reason=reason)


def node_rollback(
    org_id: str, node_id: str, version: int, *, restore_secrets: bool = False, if_match: str | None = None,
    reason: str | None = None,
) -> Call[m.WriteResult]:
    return rollback_call(_node(org_id, node_id, "config", "rollback"), model(m.WriteResult), version,
                         restore_secrets=restore_secrets, if_match=if_match, reason=reason)


def node_preview(
    org_id: str, node_id: str, changes: Changes | None = None, *, rollback_to: int | None = None,
    restore_secrets: bool = False,
) -> Call[m.Preview]:
    """The blast radius of a write to the node: it and its descendants whose effective config would change."""
    return preview_call(_node(org_id, node_id, "config", "preview"), model(m.Preview), changes, rollback_to,
                        restore_secrets)


def node_history(
    org_id: str, node_id: str, *, limit: int | None = None, cursor: str | None = None, include_full: bool = False
) -> Call[m.HistoryPage]:
    return get(_node(org_id, node_id, "history"), model(m.HistoryPage), limit=limit, cursor=cursor,
               include_full=include_full or None)


def node_version(org_id: str, node_id: str, number: int) -> Call[m.HistoryItem]:
    return get(_node(org_id, node_id, "history", number), model(m.HistoryItem))


def node_diff(org_id: str, node_id: str, from_version: int, to_version: int | None = None) -> Call[m.VersionDiff]:
    return get(_node(org_id, node_id, "diff"), model(m.VersionDiff), **{"from": from_version, "to": to_version})


def node_explain(org_id: str, node_id: str) -> Call[m.Explanation]:
    return get(_node(org_id, node_id, "explain"), model(m.Explanation))


def node_effective(org_id: str, node_id: str) -> Call[m.EffectiveConfig]:
    """Any node's effective config (secrets always masked for admins)."""
    return get(_node(org_id, node_id, "effective"), model(m.EffectiveConfig))


def node_raw(org_id: str, node_id: str) -> Call[m.RawConfig]:
    return get(_node(org_id, node_id, "raw"), model(m.RawConfig))


def node_integration_health(org_id: str, node_id: str) -> Call[m.HealthReport]:
    return get(_node(org_id, node_id, "integrations", "health"), model(m.HealthReport))


def locks(org_id: str, node_id: str) -> Call[m.Locks]:
    return get(_node(org_id, node_id, "locks"), model(m.Locks))


def set_locks(org_id: str, node_id: str, locked_paths: list[str], *, reason: str | None = None) -> Call[m.Locks]:
    """Replace the node's locked paths (JSON Pointers): nodes below cannot change them."""
    body = compact(locked_paths=list(locked_paths), reason=reason)
    return Call("PUT", _node(org_id, node_id, "locks"), model(m.Locks), body=body)


# ---- tokens -----------------------------------------------------------------------------


def issue_token(
    org_id: str, node_id: str, *, scopes: list[str] | None = None, description: str | None = None,
    expires_in_days: int | None = None,
) -> Call[m.TokenIssued]:
    """A team token (shown once). Default scopes `config:read secrets:read runs:write`."""
    body = compact(scopes=scopes, description=description, expires_in_days=expires_in_days)
    return Call("POST", _org(org_id, "teams", node_id, "tokens"), model(m.TokenIssued), body=body)


def tokens(
    org_id: str, node_id: str | None = None, *, limit: int | None = None, cursor: str | None = None
) -> Call[m.TokenPage]:
    """Team tokens of one node, or of the whole org without `node_id`; newest first, revoked ones included."""
    if node_id is None:
        return get(_org(org_id, "tokens"), model(m.TokenPage), limit=limit, cursor=cursor)
    return get(_org(org_id, "teams", node_id, "tokens"), model(m.TokenPage), limit=limit, cursor=cursor)


def revoke_token(org_id: str, node_id: str, token_id: str | uuid.UUID) -> Call[None]:
    return Call("POST", _org(org_id, "teams", node_id, "tokens", token_id, "revoke"), nothing)


def issue_admin_token(
    org_id: str, *, description: str | None = None, expires_in_days: int | None = None
) -> Call[m.TokenIssued]:
    """An org-admin token (global admin only), shown once."""
    body = compact(description=description, expires_in_days=expires_in_days)
    return Call("POST", _org(org_id, "admin-tokens"), model(m.TokenIssued), body=body)


def admin_tokens(org_id: str, *, limit: int | None = None, cursor: str | None = None) -> Call[m.TokenPage]:
    return get(_org(org_id, "admin-tokens"), model(m.TokenPage), limit=limit, cursor=cursor)


def revoke_admin_token(org_id: str, token_id: str | uuid.UUID) -> Call[None]:
    return Call("POST", _org(org_id, "admin-tokens", token_id, "revoke"), nothing)


# ---- audit and routing claims -------------------------------------------------------------


def audit(
    org_id: str,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[m.AuditPage]:
    """The org's audit log, newest first (`since` inclusive, `until` exclusive)."""
    return get(_org(org_id, "audit"), model(m.AuditPage), actor=actor, action=action, target_id=target_id,
               since=since, until=until, limit=limit, cursor=cursor)


def export_audit(
    org_id: str,
    *,
    format: Literal["csv", "json"] = "json",  # noqa: A002 - the API's parameter name
    actor: str | None = None,
    action: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Call[str]:
    """The whole (filtered) log as CSV or JSON text."""
    call = get(_org(org_id, "audit", "export"), as_text, format=format, actor=actor, action=action,
               target_id=target_id, since=since, until=until)
    return Call(call.method, call.path, call.parse, params=call.params, retry_safe=True, text=True)


def routing_claims(
    org_id: str, *, node_id: str | None = None, kind: str | None = None, limit: int | None = None,
    cursor: str | None = None,
) -> Call[m.RoutingClaimPage]:
    """Every routing claim of the org (`kind`, `value`, `node_id`), by kind then value."""
    return get(_org(org_id, "routing"), model(m.RoutingClaimPage), node_id=node_id, kind=kind, limit=limit,
               cursor=cursor)


# ---- config as code (DESIGN §12.4) --------------------------------------------------------


def export_org(
    org_id: str, *, format: Literal["json", "yaml"] = "json"  # noqa: A002 - what the caller picks
) -> Call[m.OrgExport]:
    """The org as one document: every node (parents first), its own config and locked paths.
    `OrgExport.content` is the server's bytes (byte-identical for one state); `.document` the
    parsed JSON. Not a backup of secrets: they leave only as masks, and deleting an org destroys
    its data key, so its secrets cannot come back from a file."""
    if format not in ("json", "yaml"):
        raise ValueError("format is 'json' or 'yaml'")
    kind: Literal["json", "yaml"] = format

    def parse(content: bytes) -> m.OrgExport:
        return m.OrgExport(kind, content)

    return Call("GET", _org(org_id, "export"), parse, headers={"Accept": YAML_MEDIA if kind == "yaml" else JSON_MEDIA},
                retry_safe=True, raw=True)


def plan_import(
    org_id: str, document: Document, *, prune: bool = False, content_type: str | None = None
) -> Call[m.ImportPlan]:
    """Dry run of an import: per node create / update / move / delete (with `prune`) /
    unchanged, with its diff and lock changes; `needs_secret`; `errors`. Writes nothing.

    `document`: a mapping (sent as JSON), an `OrgExport` (as exported, e.g. from another org:
    promotion), or the text / bytes of a file — sent unchanged, as `content_type`, by default
    JSON when it starts with `{` and YAML otherwise."""
    body, media = _document_body(document, content_type)
    return Call("POST", _org(org_id, "import"), model(m.ImportPlan), params={"dry_run": True, "prune": prune or None},
                body=body, content_type=media, retry_safe=True)


def apply_import(
    org_id: str, document: Document, *, if_match: str, prune: bool = False, reason: str | None = None,
    content_type: str | None = None,
) -> Call[m.AppliedImport]:
    """Apply an import in one transaction, all or nothing. `if_match`: the plan's `based_on`
    (412 `PreconditionFailed` when the org changed since; `"*"` applies blind). A plan with
    errors raises `ImportRefused` (its `errors`), and nothing is written. `reason` goes to every
    version and audit event (printable ASCII: it travels in a header). Retried only with a
    `based_on`: a second attempt after a lost answer cannot apply twice (it answers 412)."""
    body, media = _document_body(document, content_type)
    headers = {"If-Match": quote_etag(if_match)}
    if reason is not None:
        headers["X-Change-Reason"] = reason_header(reason)
    return Call("POST", _org(org_id, "import"), model(m.AppliedImport), params={"prune": prune or None}, body=body,
                content_type=media, headers=headers, retry_safe=if_match.strip() != "*")


def _document_body(document: Document, content_type: str | None) -> tuple[Any, str]:
    """What to send for a document, and its Content-Type."""
    if isinstance(document, m.OrgExport):
        return document.content, content_type or document.media_type
    if isinstance(document, str | bytes):
        content = document.encode("utf-8") if isinstance(document, str) else document
        return content, content_type or _sniffed(content)
    if isinstance(document, Mapping):
        if content_type not in (None, JSON_MEDIA):
            raise ValueError("a mapping is sent as JSON; give YAML as text or bytes")
        return dict(document), JSON_MEDIA
    raise TypeError("a document is a mapping, an OrgExport, or the text or bytes of a file")


def _sniffed(content: bytes) -> str:
    start = content.removeprefix(b"\xef\xbb\xbf").lstrip()
    return JSON_MEDIA if start.startswith(b"{") else YAML_MEDIA

