"""Every rule a config write must pass, in one place (DESIGN §5, §6, §8, §9).

`configs.service.write` runs `RULES` over a `Draft` and raises the first problem;
`configs.service.preview` runs the same `RULES` over the same kind of `Draft` (`dry_run`: it
seals and claims nothing) and collects every problem. A rule added to `RULES` is met by every
write and shown by every preview (tests/test_checks.py adds one and sees it in both).

A rule is an async function of the draft that returns the problems it finds (`[]`: none).
Some rules also *make* what later ones check — the new own config from the change, its
sealed form — and when such a rule fails, nothing is left to check: it `stops` the run.
Rules marked `if_changed` run only when the new own config differs from the old one (an
unchanged config is answered `changed: false` by the write, and has no blast radius).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.auth.principal import Principal
from config_service.configs import repository, sealing
from config_service.configs.changes import Change, ChangeError, Rollback, ShapeError, TestFailed, TooLarge
from config_service.configs.merge import Descendant, Layer, MergeState, lock_violation, oversized
from config_service.errors import (
    AppError,
    InvalidConfig,
    InvalidRequest,
    LockedPath,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
)
from config_service.keys import ConfigKeys
from config_service.kit import jsondoc, secret_leaves
from config_service.routing import service as routing

MAX_OWN_CONFIG_BYTES = jsondoc.MAX_OWN_CONFIG_BYTES
MAX_EFFECTIVE_BYTES = 1024 * 1024

Problems = list[AppError]


class DraftLineage(Protocol):
    """The lineage and subtree a draft is checked against (the write's is locked; see
    `configs.service`)."""

    def ancestor_locks(self) -> list[tuple[str, str]]:
        """(path, locking node) of every lock above the node."""
        ...

    async def layers(self) -> list[Layer]:
        """The lineage as merge layers with every own config (the node's as stored), root first."""
        ...

    async def node_state(self, own: dict[str, Any]) -> MergeState:
        """The node's merged (sealed) state with `own` as its own config."""
        ...

    async def descendants(self) -> list[Descendant]:
        """Every node below the node, parents before children."""
        ...


@dataclass
class Draft:
    """A would-be write of `change` to `node`, filled in as the rules run."""

    session: AsyncSession
    keys: ConfigKeys
    principal: Principal
    org_id: str
    node: repository.LineageHead
    old_own: dict[str, Any]
    change: Change
    lineage: DraftLineage
    dry_run: bool  # a preview: seals nothing (new secrets become placeholders), claims nothing
    # a dry run of a planned set of changes (an import): who holds each routing identifier once
    # they are all made; None: the org as it is now
    claims_after: routing.ClaimsAfter | None = None
    lenient_integrations: bool = False  # the compat mount: unknown integration fields are kept (D10)
    new_own: dict[str, Any] = field(default_factory=dict)  # set by `change_applies`
    size_checked: dict[str, Any] | None = None  # the own config `own_size` measured
    too_large: bool = False  # … and found too large
    endpoints: list[tuple[str, str]] = field(default_factory=list)  # endpoint fields the change sets
    catalog: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # the schemas they were checked on
    _unchanged: bool | None = None

    @property
    def unchanged(self) -> bool:
        """The final new own config equals the old one (asked once the rules that make it ran)."""
        if self._unchanged is None:
            self._unchanged = jsondoc.canonical(self.old_own) == jsondoc.canonical(self.new_own)
        return self._unchanged


# ---- the rules, in the order they run ---------------------------------------------------------------


def change_error(exc: ChangeError) -> AppError:
    """The problem a change that cannot be applied is answered with."""
    path = exc.path if exc.path is not None else ""
    if isinstance(exc, TestFailed):
        return PreconditionFailed(str(exc), path=path)
    if isinstance(exc, ShapeError):
        return InvalidConfig(str(exc), path=path)
    if isinstance(exc, TooLarge):
        return PayloadTooLarge(str(exc), path=path)
    return InvalidRequest(str(exc), path=path)


async def change_applies(d: Draft) -> Problems:
    """The change turns the old own config into the new one; a rollback's version exists (its
    secrets stay the current ones unless `restore_secrets`)."""
    change = d.change
    try:
        if isinstance(change, Rollback):
            stored = await repository.get_version(d.session, d.org_id, d.node.node_id, change.version)
            if stored is None:
                return [NotFound(f"node '{d.node.node_id}' has no version {change.version}")]
            if change.restore_secrets:
                d.new_own = stored.config_json
            else:
                d.new_own = secret_leaves.keep_current_secrets(stored.config_json, d.old_own)
        else:
            d.new_own = change.apply(d.old_own)
    except ChangeError as exc:
        return [change_error(exc)]
    return []


def shape_problem(config: Any, *, what: str = "config") -> AppError | None:
    """A JSON object, nesting ≤ 32, keys ≤ 256 characters, no NUL (DESIGN §6)."""
    if not isinstance(config, dict):
        return InvalidConfig(f"{what} must be a JSON object", path="")
    problem = jsondoc.find_shape_problem(config)
    if problem is not None:
        path, message = problem
        return InvalidConfig(f"{what} at {path}: {message}", path=path)
    return None


def size_problem(config: dict[str, Any]) -> AppError | None:
    """An own config of at most 256 KiB (DESIGN §6)."""
    size = jsondoc.encoded_size(config)
    if size > MAX_OWN_CONFIG_BYTES:
        return PayloadTooLarge(f"own config would be {size} bytes; the limit is {MAX_OWN_CONFIG_BYTES}")
    return None


async def own_shape(d: Draft) -> Problems:
    problem = shape_problem(d.new_own)
    return [problem] if problem is not None else []


async def own_size(d: Draft) -> Problems:
    problem = size_problem(d.new_own)
    d.size_checked, d.too_large = d.new_own, problem is not None
    return [problem] if problem is not None else []


def _lock_problems(d: Draft, new_own: dict[str, Any]) -> Problems:
    return [
        LockedPath(f"'{path}' is locked at '{holder}'", path=path)
        for path, holder in d.lineage.ancestor_locks()
        if lock_violation(d.old_own, new_own, [(path, holder)]) is not None
    ]


async def secrets_sealed(d: Draft) -> Problems:
    """Masks resolve to the stored secret, no envelope is forged, changed integration fields fit
    the catalog, and every new secret is sealed (a placeholder in a dry run). A change refused
    here that also writes into a locked path is refused as that, whatever else is wrong."""
    try:
        d.new_own, d.endpoints, d.catalog = await sealing.settle_and_seal(
            d.session, d.keys, d.org_id, d.node, d.old_own, d.new_own,
            from_history=isinstance(d.change, Rollback), dry_run=d.dry_run, lenient=d.lenient_integrations,
        )
    except InvalidConfig as exc:
        return _lock_problems(d, d.new_own) or [exc]
    return []


async def sealed_size(d: Draft) -> Problems:
    """Resolved masks and sealed secrets are longer than what `own_size` measured."""
    if d.size_checked is None or d.new_own is d.size_checked or d.too_large:
        return []  # measured as it is, or already refused as too large
    return await own_size(d)


async def locks_kept(d: Draft) -> Problems:
    """No inherited locked path changes (DESIGN §5 rule 6): every lock it would break."""
    return _lock_problems(d, d.new_own)


async def credentials_stay(d: Draft) -> Problems:
    """An integration endpoint set below the node that supplies its secret needs the secret
    rewritten with it (DESIGN §8: a credential is never redirected)."""
    if not d.endpoints:
        return []
    problem = sealing.rebind_problem(await d.lineage.layers(), d.new_own, d.endpoints, d.catalog)
    return [problem] if problem is not None else []


async def routing_claims(d: Draft) -> Problems:
    """Routing identifiers are well-formed and nobody else's (DESIGN §9); a write claims them."""
    return await routing.claim_problems(
        d.session, d.principal, d.org_id, d.node.node_id, d.new_own,
        is_root=d.node.parent_node_id is None, old_own=d.old_own, dry_run=d.dry_run, after=d.claims_after,
    )


async def subtree_size(d: Draft) -> Problems:
    """No effective config in the node's subtree exceeds 1 MiB. Every descendant counts, not
    only the node: a write that shrinks the node's own effective config can still grow a
    descendant's (a big scalar becoming a small object that a child's object now merges into)."""
    state = await d.lineage.node_state(d.new_own)
    below = await d.lineage.descendants() if d.node.has_children else []
    return [
        InvalidConfig(f"the effective config of '{node_id}' would be {size} bytes; the limit is {MAX_EFFECTIVE_BYTES}",
                      path="")
        for node_id, size in oversized(d.node.node_id, state, below, max_bytes=MAX_EFFECTIVE_BYTES)
    ]


@dataclass(frozen=True)
class Rule:
    check: Callable[[Draft], Awaitable[Problems]]
    stops: bool = False  # its problem leaves nothing for the later rules to check
    if_changed: bool = False  # only for a change that changes the own config


RULES: tuple[Rule, ...] = (
    Rule(change_applies, stops=True),
    Rule(own_shape, stops=True),
    Rule(own_size),  # too big is still a config whose blast radius a preview can show
    Rule(secrets_sealed, stops=True),
    Rule(sealed_size),
    Rule(locks_kept),
    Rule(credentials_stay, stops=True),
    Rule(routing_claims, if_changed=True),
    Rule(subtree_size, if_changed=True),
)


async def run(d: Draft, *, first: bool) -> tuple[Problems, bool]:
    """Run `RULES` over the draft: every problem (or, `first`, only the first one found), and
    whether the run was stopped by a rule whose problem leaves nothing more to check."""
    problems: Problems = []
    for rule in RULES:  # the module's tuple, looked up on every run
        if rule.if_changed and d.unchanged:
            continue
        found = await rule.check(d)
        if found:
            if first:
                return found[:1], True
            problems += found
            if rule.stops:
                return problems, True
    return problems, False
