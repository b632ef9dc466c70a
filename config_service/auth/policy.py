"""Every authorisation decision, in one place (DESIGN §4). Tested as a matrix (tests/test_auth_matrix.py).

Routes state what they need with the `Annotated` dependencies of `auth.dependencies`, each of
which calls one `require_*` here before the handler runs; the few decisions that depend on
what a request names (a run's owner, a lookup's org) or on a row (a run) are the functions
below the dependencies' ones, called by the code that has those values.
"""

from __future__ import annotations

from dataclasses import dataclass

from config_service.auth.principal import Kind, Principal, Scope, TeamCaller
from config_service.errors import Forbidden, InsufficientScope, InvalidRequest

# ---- what the route dependencies decide -----------------------------------------------------------


def require_global_admin(principal: Principal) -> None:
    if principal.kind is not Kind.GLOBAL_ADMIN:
        raise Forbidden("this call needs the global admin token")


def require_admin(principal: Principal) -> None:
    """The global admin or an org admin (of any org; the caller narrows to its own)."""
    if principal.kind not in (Kind.GLOBAL_ADMIN, Kind.ORG_ADMIN):
        raise Forbidden("this call needs an admin token")


def require_org_admin(principal: Principal, org_id: str) -> None:
    """Global admin, or the admin of exactly this org."""
    if principal.kind is Kind.GLOBAL_ADMIN:
        return
    if principal.kind is Kind.ORG_ADMIN and principal.org_id == org_id:
        return
    if principal.kind is Kind.ORG_ADMIN:
        raise Forbidden("an org-admin token cannot act on another org")
    raise Forbidden("this call needs an admin token")


def require_scope(principal: Principal, scope: str) -> None:
    if principal.kind is Kind.TEAM and scope not in principal.scopes:
        raise InsufficientScope(f"this token lacks the '{scope}' scope")


def team_caller(principal: Principal, scope: Scope) -> TeamCaller:
    """A team token holding `scope`, acting on its own node (`/config/me…`)."""
    if principal.kind is not Kind.TEAM:
        raise Forbidden("this call needs a team token; admins use /admin/orgs/{org}/nodes/{node}/…")
    require_scope(principal, scope)
    if principal.org_id is None or principal.node_id is None:
        raise RuntimeError("a team principal without its org and node")
    return TeamCaller(principal, principal.org_id, principal.node_id)


def require_node_reader(principal: Principal, org_id: str, node_id: str, scope: str) -> None:
    """An admin of the org, or the team token of exactly this node holding `scope`."""
    if principal.kind is Kind.TEAM:
        if principal.org_id != org_id or principal.node_id != node_id:
            raise Forbidden("a team token can only reach its own node")
        require_scope(principal, scope)
        return
    require_org_admin(principal, org_id)


def require_internal(principal: Principal) -> None:
    if principal.kind is not Kind.INTERNAL:
        raise Forbidden("this call needs the internal service token")


def require_identified(principal: Principal) -> None:
    """`/auth/me`: every principal but a named internal caller, which may do nothing but its
    few calls (DESIGN §4) — not even ask who it is."""
    if principal.kind is Kind.NAMED_INTERNAL:
        raise Forbidden("a named internal caller may only look up routes and record runs")


def require_internal_run_writer(principal: Principal) -> None:
    """The existing clients' internal run forms (`/internal/agent-runs…` writes): the internal
    service token, or a named internal caller."""
    if not principal.is_internal:
        raise Forbidden("this call needs the internal service token")


def require_cleanup(principal: Principal) -> None:
    """Timing out stale runs of every org: the internal service (token or named), the global admin."""
    if principal.is_internal or principal.kind is Kind.GLOBAL_ADMIN:
        return
    raise Forbidden("this call needs the internal service token or the global admin token")


def require_exchanger(principal: Principal) -> None:
    """Exchanging for a short-lived team token (DESIGN §9)."""
    if principal.kind not in (Kind.INTERNAL, Kind.GLOBAL_ADMIN):
        raise Forbidden("only the internal service token or the global admin can exchange for a team token")


def require_routing_caller(principal: Principal) -> None:
    """Routing lookups: the internal service (token or named), the global admin, or an org admin
    (in its org, `lookup_org`)."""
    if not principal.is_internal and principal.kind not in (Kind.GLOBAL_ADMIN, Kind.ORG_ADMIN):
        raise Forbidden("routing lookups need the internal service token or an admin token")


def require_run_writer(principal: Principal) -> None:
    """Recording and finishing runs and their tool calls: a team token with `runs:write`, or the
    internal service (token or named)."""
    if principal.kind is Kind.TEAM:
        require_scope(principal, Scope.RUNS_WRITE)
    elif not principal.is_internal:
        raise Forbidden("runs are recorded with a team token (runs:write) or the internal service token")


def require_run_reader(principal: Principal) -> None:
    """Reading runs and tool calls: every kind of principal within its reach (`run_reader`,
    `may_see_run`) but a named internal caller, which records runs and never reads them."""
    if principal.kind is Kind.NAMED_INTERNAL:
        raise Forbidden("a named internal caller records runs but cannot read them; use the internal token")


@dataclass(frozen=True)
class NodeCaller:
    """Who acts on the node that `/config/me` names on the compat mount: a team token on its own
    node, or (`as_admin`) an admin of the org that `X-Org-Id` names."""

    principal: Principal
    org_id: str
    node_id: str
    as_admin: bool


def header_caller(principal: Principal, scope: Scope, org_id: str | None, node_id: str | None) -> NodeCaller:
    """`/config/me` on the compat mount. Without node headers, exactly the team route's decision.
    With them (the caller's dependency has validated both ids), the headers only pick the node:
    an admin of that org acts there as an admin; a team token must name its own node (else 403);
    nobody else may use them. Headers never authenticate: the caller is already a principal."""
    if org_id is None or node_id is None:
        team = team_caller(principal, scope)
        return NodeCaller(principal, team.org_id, team.node_id, as_admin=False)
    if principal.kind is Kind.TEAM:
        if principal.org_id != org_id or principal.node_id != node_id:
            raise Forbidden("X-Org-Id / X-Team-Node-Id name another node than this team token's")
        require_scope(principal, scope)
        return NodeCaller(principal, org_id, node_id, as_admin=False)
    if principal.kind in (Kind.GLOBAL_ADMIN, Kind.ORG_ADMIN):
        require_org_admin(principal, org_id)
        return NodeCaller(principal, org_id, node_id, as_admin=True)
    raise Forbidden("X-Org-Id / X-Team-Node-Id need an admin token of that org (or the node's team token)")


# ---- decisions on what a request names or a row holds ---------------------------------------------


def may_reveal(principal: Principal, secrets: str | None = None) -> bool:
    """May this caller see plaintext secrets? Only a team token with `secrets:read`, and only in
    its own effective config (every other read, admins' included, is masked) — and not when the
    read asks for `secrets=masked` (the console's and the CLI's displays)."""
    return principal.kind is Kind.TEAM and Scope.SECRETS_READ in principal.scopes and secrets != "masked"


def masks_secret_copies(principal: Principal) -> bool:
    """Are copies of the lineage's secret values masked in the run data this caller records?

    Only for callers that hold plaintext already — a team token with `secrets:read`, the
    internal token (it can exchange for one) and the named internal callers (the agents that
    carry the secrets they were given). For a caller without plaintext access a mask would be an
    oracle (DESIGN §8): it writes a guess and reads back whether it came out as `********`; its
    data is stored as sent, which discloses nothing it did not already know."""
    if principal.kind is Kind.TEAM:
        return Scope.SECRETS_READ in principal.scopes
    return principal.kind in (Kind.INTERNAL, Kind.NAMED_INTERNAL)


def orgs_visible_to(principal: Principal) -> str | None:
    """The one org an org admin lists; None: every org (the global admin)."""
    return principal.org_id if principal.kind is Kind.ORG_ADMIN else None


EXCHANGE_SCOPES = frozenset({Scope.CONFIG_READ, Scope.SECRETS_READ, Scope.RUNS_WRITE})


def exchange_scopes(requested: list[str] | None) -> list[str]:
    """The scopes a token exchange (or a lookup's `issue_token`) grants: what was asked, by
    default `config:read secrets:read runs:write` — never `config:write` (DESIGN §4, §9). Asking
    for more is refused as an invalid request naming the scope (Vault answers a token request
    beyond its role's policies with 400, not 403: the caller may exchange, just not for that)."""
    scopes = sorted(str(s) for s in (requested if requested is not None else EXCHANGE_SCOPES))
    beyond = [s for s in scopes if s not in EXCHANGE_SCOPES]
    if beyond:
        raise InvalidRequest(
            f"an exchanged token cannot have {', '.join(beyond)}; it may have "
            f"{', '.join(sorted(EXCHANGE_SCOPES))} (an org admin issues write tokens)",
            path="/scopes",
        )
    return scopes


def lookup_org(principal: Principal, org_id: str | None, *, issue_token: bool) -> str | None:
    """The org a routing lookup is confined to (None: any). An org admin's is always its own; a
    named internal caller never gets a token out of it."""
    if principal.kind is Kind.NAMED_INTERNAL and issue_token:
        raise Forbidden("issue_token needs the internal service token or the global admin")
    if principal.kind is not Kind.ORG_ADMIN:
        return org_id
    org_id = org_id or principal.org_id
    require_org_admin(principal, org_id or "")
    if issue_token:
        raise Forbidden("issue_token needs the internal service token or the global admin")
    return org_id


def may_read_other_incarnations(principal: Principal) -> bool:
    """An org id deleted and taken again is another tenant: its admins read only the current
    org's audit log; the global admin also a former one's (`org_uid`) or every one's."""
    return principal.kind is Kind.GLOBAL_ADMIN


def audit_incarnation(principal: Principal, org_uid: str | None) -> str | None:
    """The `org_uid` an audit read may ask for: none (the current org) for everyone, a former
    org's uid or `all` for the global admin only."""
    if org_uid is not None and not may_read_other_incarnations(principal):
        raise Forbidden("only the global admin reads another org of this id's audit log (org_uid)")
    return org_uid


def may_bind_workspaces(principal: Principal) -> bool:
    """Binding Slack workspaces to an org (`routing.slack_workspace_ids` of its root)."""
    return principal.kind is Kind.GLOBAL_ADMIN


def node_creation(principal: Principal, node_type: str) -> None:
    """The compat mount's node route also creates orgs (`node_type: "org"`): the global admin's
    power alone, as `POST /admin/orgs`. Other node types need what the route's `OrgAdmin` checked."""
    if node_type == "org":
        require_global_admin(principal)


def run_owner(principal: Principal, org_id: str | None, node_id: str | None) -> tuple[str, str]:
    """The (org, node) a new run belongs to: the team's own, or what the internal caller (token
    or named) names."""
    require_run_writer(principal)
    if principal.kind is Kind.TEAM:
        if principal.org_id is None or principal.node_id is None:
            raise RuntimeError("a team principal without its org and node")
        if (org_id and org_id != principal.org_id) or (node_id and node_id != principal.node_id):
            raise Forbidden("a team token can only record runs of its own node")
        return principal.org_id, principal.node_id
    if not org_id or not node_id:
        raise InvalidRequest("the internal token must name org_id and team_node_id", path="/org_id")
    return org_id, node_id


def run_reader(principal: Principal, org_id: str | None, node_id: str | None) -> tuple[str, str | None]:
    """Which runs a principal lists: a team its own node's; the others name what they want (the
    internal token and the global admin at least the org)."""
    require_run_reader(principal)
    if principal.kind is Kind.TEAM:
        if principal.org_id is None:
            raise RuntimeError("a team principal without its org")
        if (org_id and org_id != principal.org_id) or (node_id and node_id != principal.node_id):
            raise Forbidden("a team token can only read its own runs")
        return principal.org_id, principal.node_id
    if principal.kind is Kind.ORG_ADMIN:
        org_id = org_id or principal.org_id
        require_org_admin(principal, org_id or "")
        assert org_id is not None  # require_org_admin passed: the admin's own org
        return org_id, node_id
    if not org_id:
        raise InvalidRequest("org_id is required for this token", path="org_id")
    return org_id, node_id


def may_see_run(principal: Principal, org_id: str, node_id: str) -> bool:
    """A run of (org, node): a team sees its own node's, an org admin its org's, the global admin
    and the internal service every run — a named internal caller only to finish it and record its
    tool calls (its route dependencies let it read nothing). (Whether a team's node is still the
    run's is checked by the runs service: a re-created node id never inherits old runs.)"""
    if principal.kind is Kind.TEAM:
        return principal.org_id == org_id and principal.node_id == node_id
    if principal.kind is Kind.ORG_ADMIN:
        return principal.org_id == org_id
    return True


def bound_to_node(principal: Principal) -> bool:
    """A team token reaches one node as it exists now: a node id deleted and created again is
    another node, whose token never sees the old one's runs."""
    return principal.kind is Kind.TEAM
