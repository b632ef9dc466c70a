"""The shapes of the config-as-code answers (DESIGN §12.4), for the OpenAPI document. The
answers themselves are built by `plan.Plan.view` and `endpoints.plan_view`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class LockChanges(BaseModel):
    added: list[str]
    removed: list[str]


class ChangeView(BaseModel):
    node_id: str
    action: Literal["create", "update", "move", "delete", "unchanged"]
    diff: list[dict[str, Any]] = Field(description="RFC 6902 from the node's own config to the new one, masked")
    locks: LockChanges


class SecretNeeded(BaseModel):
    node_id: str
    path: str = Field(description="JSON Pointer in the node's own config of a masked secret this org lacks")


class PlanErrorView(BaseModel):
    node_id: str
    code: str = Field(description="the problem code the write would answer with (e.g. locked_path, routing_conflict)")
    detail: str
    path: str | None = None
    holder: dict[str, Any] | None = None


class PlanView(BaseModel):
    based_on: str = Field(description="the org's tree state the plan was made against: `If-Match` of the apply")
    changes: list[ChangeView]
    needs_secret: list[SecretNeeded]
    errors: list[PlanErrorView]
    kept: list[str] = Field(description="nodes the document lacks, kept (without `prune=true`)")


class AppliedView(PlanView):
    new_based_on: str = Field(description="the org's tree state after the import")
