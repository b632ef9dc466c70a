"""PURE: which life of an org (or node) id a row belongs to (issue 10: a reused id is another tenant).

An org id, like a node id, can be deleted and taken again; the new org is another tenant. Rows
that outlive their org — audit events, tokens (revoked, kept listable) — carry the `node_uid`
of the org's root (`org_uid`) and, for team tokens, of their node (`node_uid`). A row belongs
to an incarnation when it carries its uid, or when it carries none (written before these
columns existed, or by the previous release during a rolling deploy) and was written at or
after the incarnation's creation — the rule the migration backfills with, applied to what it
could not fill. A former incarnation (its root is gone) is known by its uid only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Incarnation:
    uid: uuid.UUID  # the root's (an org) or the node's node_uid
    created_at: datetime | None  # its creation; None for a former incarnation (known by uid only)


@dataclass(frozen=True)
class NodeIdentity:
    """A node as it exists now: what a token or event issued for it is tied to."""

    org_id: str
    node_id: str
    node_uid: uuid.UUID
    org_uid: uuid.UUID  # the root's node_uid (= node_uid for the root itself)
