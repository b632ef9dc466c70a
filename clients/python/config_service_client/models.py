"""Typed results: the API's response shapes (DESIGN §7–§10, §12.4).

Every model ignores fields it does not know, so a newer server never breaks an older SDK.
`api_json` keeps the JSON exactly as the server sent it (the CLI's `--json` prints it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    _api_json: Any = PrivateAttr(default=None)

    @classmethod
    def from_api(cls, data: Any) -> Any:
        model = cls.model_validate(data)
        model._api_json = data
        return model

    @property
    def api_json(self) -> Any:
        """The JSON the server sent (unchanged); the model's own dump when it was built locally."""
        return self._api_json if self._api_json is not None else self.model_dump(mode="json")


# ---- identity ---------------------------------------------------------------------------


class Me(ApiModel):
    role: str
    auth_kind: str
    org_id: str | None
    team_node_id: str | None
    subject: str
    can_write: bool
    scopes: list[str]
    permissions: list[str]


# ---- config -----------------------------------------------------------------------------


class EffectiveConfig(ApiModel):
    org_id: str
    node_id: str
    version: int
    etag: str
    effective_config: dict[str, Any]
    hierarchy: list[str]
    stale: bool = Field(default=False, description="SDK only: read from the last-known-good file, not the service")
    saved_at: datetime | None = Field(default=None, description="SDK only: when a stale copy was saved")


class ConfigUpdate(ApiModel):
    """The data of an SSE `config` event."""

    etag: str
    version: int
    effective_config: dict[str, Any]


class LineageEntry(ApiModel):
    node_id: str
    node_type: str
    name: str
    parent_node_id: str | None
    version: int


class RawConfig(ApiModel):
    lineage: list[LineageEntry]
    configs: dict[str, dict[str, Any]]


class OwnConfig(ApiModel):
    org_id: str
    node_id: str
    version: int
    config: dict[str, Any]
    locked_paths: list[str]
    updated_at: datetime
    updated_by: str | None


class WriteResult(ApiModel):
    org_id: str
    node_id: str
    version: int
    etag: str
    changed: bool
    config: dict[str, Any]


class HistoryItem(ApiModel):
    version: int
    changed_at: datetime
    changed_by: str | None
    reason: str | None
    diff: list[dict[str, Any]]
    config: dict[str, Any] | None = None


class HistoryPage(ApiModel):
    items: list[HistoryItem]
    next_cursor: str | None = None


class VersionDiff(ApiModel):
    org_id: str
    node_id: str
    from_version: int
    to_version: int
    diff: list[dict[str, Any]]


class Override(ApiModel):
    node_id: str
    value: Any = None


class ExplainEntry(ApiModel):
    value: Any = None
    node_id: str
    version: int | None = None
    locked_by: str | None = None
    secret: bool = False
    fingerprint: str | None = None
    overrides: list[Override] = Field(default_factory=list)


class Explanation(ApiModel):
    paths: dict[str, ExplainEntry]


class PreviewError(ApiModel):
    code: str
    detail: str
    path: str | None = None
    holder: dict[str, Any] | None = None


class AffectedNode(ApiModel):
    node_id: str
    diff: list[dict[str, Any]]


class Preview(ApiModel):
    based_on: str
    affected: list[AffectedNode]
    unaffected_count: int
    errors: list[PreviewError]


class Locks(ApiModel):
    org_id: str
    node_id: str
    locked_paths: list[str]


# ---- orgs and nodes ---------------------------------------------------------------------


class Org(ApiModel):
    org_id: str
    name: str
    node_uid: str
    created_at: datetime
    updated_at: datetime


class OrgPage(ApiModel):
    items: list[Org]
    next_cursor: str | None = None


class Node(ApiModel):
    org_id: str
    node_id: str
    node_uid: str
    name: str
    node_type: str
    parent_node_id: str | None
    created_at: datetime
    updated_at: datetime


class NodePage(ApiModel):
    items: list[Node]
    next_cursor: str | None = None


class TreeNode(ApiModel):
    node_id: str
    name: str
    node_type: str
    parent_node_id: str | None
    children: list[TreeNode] = Field(default_factory=list)


class Tree(ApiModel):
    org_id: str
    root: TreeNode


# ---- tokens and audit -------------------------------------------------------------------


class TokenIssued(ApiModel):
    """The only time a token is shown."""

    id: str
    token: str
    token_hint: str
    org_id: str
    team_node_id: str | None
    description: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None


class TokenInfo(ApiModel):
    id: str
    token_hint: str
    org_id: str
    team_node_id: str | None
    description: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: str | None


class TokenPage(ApiModel):
    items: list[TokenInfo]
    next_cursor: str | None = None


class AuditEvent(ApiModel):
    id: int
    at: datetime
    org_id: str | None
    actor: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]


class AuditPage(ApiModel):
    items: list[AuditEvent]
    next_cursor: str | None = None


# ---- routing ----------------------------------------------------------------------------


class RoutingClaim(ApiModel):
    kind: str
    value: str
    node_id: str


class RoutingClaimPage(ApiModel):
    items: list[RoutingClaim]
    next_cursor: str | None = None


class LookupResult(ApiModel):
    found: bool
    org_id: str | None
    team_node_id: str | None
    matched_by: str | None
    matched_value: str | None
    tried: list[str]
    ambiguous: list[str] | None
    team_token: str | None
    team_token_expires_at: str | None = None


# ---- runs -------------------------------------------------------------------------------

RunStatus = Literal["success", "error", "timeout"]


class Run(ApiModel):
    id: str
    org_id: str
    team_node_id: str
    agent_name: str
    status: str
    input_message: str | None
    output: str | None
    duration_seconds: float | None
    created_at: datetime
    completed_at: datetime | None
    correlation_id: str | None
    trigger_source: str | None
    idempotency_key: str | None
    config_version: str | None
    config_versions: dict[str, int] | None
    metadata: dict[str, Any] | None


class RunPage(ApiModel):
    runs: list[Run]
    total: int
    limit: int
    offset: int


class Duration(ApiModel):
    p50: float | None
    p95: float | None


class AgentStats(ApiModel):
    by_status: dict[str, int]
    duration: Duration


class RunStats(ApiModel):
    by_status: dict[str, int]
    duration: Duration
    agents: dict[str, AgentStats]


class RunConfig(ApiModel):
    run_id: str
    org_id: str
    node_id: str
    config_version: str | None
    config_versions: dict[str, int] | None
    effective_config: dict[str, Any]
    hierarchy: list[str]


# ---- integrations -----------------------------------------------------------------------


class IntegrationField(ApiModel):
    name: str
    type: str
    required: bool
    display_name: str
    description: str
    secret: bool
    endpoint: bool
    example: Any = None
    options: list[str] | None = None


class IntegrationSchema(ApiModel):
    id: str
    name: str
    description: str | None
    category: str | None
    logo_url: str | None
    fields: list[IntegrationField]
    built_in: bool
    created_at: datetime
    updated_at: datetime


class IntegrationCatalog(ApiModel):
    items: list[IntegrationSchema]
    next_cursor: str | None = None


class IntegrationHealth(ApiModel):
    status: str
    fields_configured: list[str]
    missing_fields: list[str]
    sources: dict[str, str]


class HealthReport(ApiModel):
    integrations: dict[str, IntegrationHealth]


# ---- config as code (DESIGN §12.4) --------------------------------------------------------


@dataclass(frozen=True)
class OrgExport:
    """An org's document as the server sent it: `content` holds its exact bytes (write them to a
    file as they are: two exports of one state are byte-identical), `document` the parsed form.
    The SDK carries no YAML parser, so `document` is for a JSON export only; a YAML export is
    text (`text`) for git, or for your own YAML reader."""

    format: Literal["json", "yaml"]
    content: bytes

    @property
    def media_type(self) -> str:
        return "application/yaml" if self.format == "yaml" else "application/json"

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    @property
    def document(self) -> dict[str, Any]:
        """The parsed document (`{format, org, nodes}`) of a JSON export; ValueError for YAML."""
        if self.format != "json":
            raise ValueError("a YAML export is text: export with format='json' for the parsed document")
        parsed: dict[str, Any] = json.loads(self.content)
        return parsed


class LockChanges(ApiModel):
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class PlanChange(ApiModel):
    """One node's change: `action` is create, update, move, delete or unchanged (a plain string,
    so that an action a newer server adds still reads); `diff` is RFC 6902 over its own config."""

    node_id: str
    action: str
    diff: list[dict[str, Any]] = Field(default_factory=list)
    locks: LockChanges = Field(default_factory=LockChanges)


class SecretNeeded(ApiModel):
    """A masked secret the target org lacks: the path stays unset until it is written."""

    node_id: str
    path: str


class PlanError(PreviewError):
    """What a write would refuse (a preview error) and the node it is about."""

    node_id: str


class ImportPlan(ApiModel):
    """`plan_import`'s answer. `based_on` names the org state it was made against: apply with it
    as `if_match`. A plan with `errors` would be refused as a whole."""

    based_on: str
    changes: list[PlanChange]
    needs_secret: list[SecretNeeded] = Field(default_factory=list)
    errors: list[PlanError] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)

    @property
    def pending(self) -> list[PlanChange]:
        """The changes that would write something (every action but `unchanged`)."""
        return [change for change in self.changes if change.action != "unchanged"]

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)


class AppliedImport(ImportPlan):
    """`apply_import`'s answer: the plan that was applied, and the org's `new_based_on`."""

    new_based_on: str
