from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from config_service.auth.dependencies import Identified
from config_service.auth.principal import ALL_SCOPES, Principal
from config_service.http import ClientInputRoute

router = APIRouter(tags=["auth"], route_class=ClientInputRoute)


class Me(BaseModel):
    role: str
    auth_kind: str
    org_id: str | None
    team_node_id: str | None
    subject: str
    can_write: bool
    scopes: list[str]
    permissions: list[str]


@router.get("/auth/me", response_model=Me, operation_id="auth_me")
async def auth_me(principal: Identified) -> Me:
    """The calling principal. Admins hold every team scope within their reach. (A named internal
    caller gets 403: it may only look up routes and record runs.)"""
    return me(principal)


def me(principal: Principal) -> Me:
    scopes = sorted(principal.scopes) if principal.kind == "team" else (
        sorted(str(scope) for scope in ALL_SCOPES) if principal.is_admin else []
    )
    return Me(
        role=principal.role,
        auth_kind=principal.kind.value,
        org_id=principal.org_id,
        team_node_id=principal.node_id,
        subject=principal.subject,
        can_write=principal.can_write,
        scopes=scopes,
        permissions=principal.permissions(),
    )
