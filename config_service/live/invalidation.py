"""PURE: what one change-log event makes stale (DESIGN §10)."""

from __future__ import annotations

from dataclasses import dataclass, field

from config_service.kit.changelog import ChangeEvent


@dataclass
class Effects:
    """Subtrees whose effective configs are stale, streams to close, tokens to forget."""

    stale_subtrees: set[tuple[str, str]] = field(default_factory=set)  # (org, node): node and below
    gone_subtrees: set[tuple[str, str]] = field(default_factory=set)  # watchers there get `gone`
    stale_orgs: set[str] = field(default_factory=set)  # whole org: config and tokens
    revoked_tokens: set[str] = field(default_factory=set)  # token ids
    token_orgs: set[str] = field(default_factory=set)  # forget every cached token of the org

    def merge(self, other: Effects) -> None:
        self.stale_subtrees |= other.stale_subtrees
        self.gone_subtrees |= other.gone_subtrees
        self.stale_orgs |= other.stale_orgs
        self.revoked_tokens |= other.revoked_tokens
        self.token_orgs |= other.token_orgs

    def __bool__(self) -> bool:
        return bool(
            self.stale_subtrees or self.gone_subtrees or self.stale_orgs or self.revoked_tokens or self.token_orgs
        )


_CONFIG_ACTIONS = {"config.written", "config.rolled_back", "locks.changed"}


def effects_of(event: ChangeEvent) -> Effects:
    effects = Effects()
    org, target = event.org_id, event.target_id
    if org is None:
        return effects
    if event.action in _CONFIG_ACTIONS and target:
        effects.stale_subtrees.add((org, target))
    elif event.action in ("node.moved", "node.deleted") and target:
        effects.stale_subtrees.add((org, target))
        effects.gone_subtrees.add((org, target))
        if event.action == "node.deleted":
            effects.token_orgs.add(org)  # the subtree's tokens were revoked with it
    elif event.action == "org.deleted":
        effects.stale_orgs.add(org)
        effects.token_orgs.add(org)
    elif event.action == "secrets.reencrypted":
        effects.stale_subtrees.add((org, org))  # new envelopes everywhere: new etags for the whole tree
    elif event.action == "token.revoked" and target:
        effects.revoked_tokens.add(target)
    return effects
