"""Every authorisation decision, in one place (DESIGN §4). Tested as a matrix."""

from __future__ import annotations

from config_service.auth.principal import Kind, Principal
from config_service.errors import Forbidden, InsufficientScope, InvalidRequest


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


def require_team(principal: Principal, scope: str | None = None) -> None:
    """A team token (optionally with `scope`), acting on its own node."""
    if principal.kind is not Kind.TEAM:
        raise Forbidden("this call needs a team token; admins use /admin/orgs/{org}/nodes/{node}/…")
    if scope is not None:
        require_scope(principal, scope)


def require_scope(principal: Principal, scope: str) -> None:
    if principal.kind is Kind.TEAM and scope not in principal.scopes:
        raise InsufficientScope(f"this token lacks the '{scope}' scope")


def require_node_reader(principal: Principal, org_id: str, node_id: str, scope: str) -> None:
    """An admin of the org, or the team token of exactly this node holding `scope`."""
    if principal.kind is Kind.TEAM:
        if principal.org_id != org_id or principal.node_id != node_id:
            raise Forbidden("a team token can only reach its own node")
        require_scope(principal, scope)
        return
    require_org_admin(principal, org_id)


def require_internal_or_admin(principal: Principal) -> None:
    if principal.kind in (Kind.INTERNAL, Kind.GLOBAL_ADMIN):
        return
    raise Forbidden("this call needs the internal service token or the global admin token")


def require_internal(principal: Principal) -> None:
    if principal.kind is not Kind.INTERNAL:
        raise Forbidden("this call needs the internal service token")


def require_run_writer(principal: Principal) -> None:
    """Recording and finishing runs: a team token with `runs:write`, or the internal token."""
    if principal.kind is Kind.TEAM:
        require_scope(principal, "runs:write")
    elif principal.kind is not Kind.INTERNAL:
        raise Forbidden("runs are recorded with a team token (runs:write) or the internal service token")


def run_owner(principal: Principal, org_id: str | None, node_id: str | None) -> tuple[str, str]:
    """The (org, node) a new run belongs to: the team's own, or what the internal caller names."""
    require_run_writer(principal)
    if principal.kind is Kind.TEAM:
        if (org_id and org_id != principal.org_id) or (node_id and node_id != principal.node_id):
            raise Forbidden("a team token can only record runs of its own node")
        return principal.org_id, principal.node_id
    if not org_id or not node_id:
        raise InvalidRequest("the internal token must name org_id and team_node_id", path="/org_id")
    return org_id, node_id


def run_reader(principal: Principal, org_id: str | None, node_id: str | None) -> tuple[str, str | None]:
    """Which runs a principal lists: a team its own node's; the others name what they want."""
    if principal.kind is Kind.TEAM:
        if (org_id and org_id != principal.org_id) or (node_id and node_id != principal.node_id):
            raise Forbidden("a team token can only read its own runs")
        return principal.org_id, principal.node_id
    if principal.kind is Kind.ORG_ADMIN:
        org_id = org_id or principal.org_id
        require_org_admin(principal, org_id)
        return org_id, node_id
    if not org_id:
        raise InvalidRequest("org_id is required for this token", path="org_id")
    if principal.kind is Kind.INTERNAL and not node_id:
        raise InvalidRequest("team_node_id is required for the internal token", path="team_node_id")
    return org_id, node_id
