"""Orgs and their trees (DESIGN §7 admin): create, list, rename, move, delete."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.audit import service as audit
from config_service.auth import policy
from config_service.auth.principal import Principal
from config_service.configs import service as configs
from config_service.db import locks
from config_service.errors import Conflict, Cycle, HasChildren, InvalidRequest, NotFound, node_not_found, org_not_found
from config_service.kit import paging
from config_service.kit.limits import MAX_TREE_DEPTH
from config_service.kit.tenancy import Incarnation, NodeIdentity
from config_service.models import OrgNode
from config_service.orgs import repository
from config_service.orgs.schemas import (
    NodeCreate,
    NodeList,
    NodeOut,
    NodeUpdate,
    OrgCreate,
    OrgList,
    OrgOut,
    TreeNode,
    TreeOut,
)
from config_service.tokens import service as tokens


def _org_out(node: OrgNode) -> OrgOut:
    return OrgOut(
        org_id=node.org_id, name=node.name, node_uid=node.node_uid, created_at=node.created_at,
        updated_at=node.updated_at
    )


def node_out(node: OrgNode) -> NodeOut:
    return NodeOut.model_validate(node, from_attributes=True)


async def get_org_or_404(session: AsyncSession, org_id: str) -> OrgNode:
    """The org's root node (404 naming the org)."""
    root = await repository.get(session, org_id, org_id)
    if root is None:
        raise org_not_found(org_id)
    return root


async def get_node_or_404(session: AsyncSession, org_id: str, node_id: str) -> OrgNode:
    """A node of an org; the 404 names the org when that is what is missing."""
    node = await repository.get(session, org_id, node_id)
    if node is None:
        if node_id == org_id or await repository.get(session, org_id, org_id) is None:
            raise org_not_found(org_id)
        raise node_not_found(org_id, node_id)
    return node


def incarnation(node: OrgNode) -> Incarnation:
    """The life of this node's (or org's, given its root) id that exists now (`kit.tenancy`)."""
    return Incarnation(node.node_uid, node.created_at)


async def org_incarnation(session: AsyncSession, org_id: str, org_uid: uuid.UUID | None = None) -> Incarnation:
    """The current org of this id (404 when there is none), or the one whose root was `org_uid`
    (a former org is known by its uid only)."""
    if org_uid is None:
        return incarnation(await get_org_or_404(session, org_id))
    root = await repository.get(session, org_id, org_id)
    if root is not None and root.node_uid == org_uid:
        return incarnation(root)
    return Incarnation(org_uid, None)


async def hold_node(session: AsyncSession, org_id: str, node_id: str) -> NodeIdentity:
    """The node as it exists now, with the org lock held shared until the caller's transaction
    ends: no tree change (a delete) runs meanwhile, so what the caller ties to the node (a token)
    can never outlive it into a node or org that reuses its id."""
    await locks.lock_org(session, org_id, shared=True)
    found = await repository.identity(session, org_id, node_id)
    if found is None:
        await get_node_or_404(session, org_id, node_id)  # raises the 404 that says what is missing
        raise RuntimeError("a node without its org root")
    node, root = found
    return NodeIdentity(org_id, node_id, node.node_uid, root.node_uid)


async def create_org(session: AsyncSession, principal: Principal, body: OrgCreate) -> OrgOut:
    await locks.lock_org(session, body.org_id, shared=False)
    if await repository.get(session, body.org_id, body.org_id) is not None:
        raise Conflict(f"org '{body.org_id}' already exists")
    root = await repository.add(
        session,
        OrgNode(
            org_id=body.org_id,
            node_id=body.org_id,
            parent_node_id=None,
            node_type="org",
            name=body.name or body.org_id,
        ),
    )
    await configs.create_initial(session, body.org_id, body.org_id, principal.subject)
    await audit.record(
        session, principal, "org.created", org_id=body.org_id, target_type="org", target_id=body.org_id,
        details={"name": root.name},
    )
    return _org_out(root)


async def list_orgs(
    session: AsyncSession, principal: Principal, *, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> OrgList:
    """Every org (global admin) or only the caller's own (org admin), newest first."""
    only = policy.orgs_visible_to(principal)
    after = paging.decode_keyset_cursor(cursor) if cursor else None
    rows, more = paging.page(await repository.list_roots(session, only, limit=limit + 1, after=after), limit)
    next_cursor = paging.keyset_cursor(rows[-1].created_at, rows[-1].org_id) if more else None
    return OrgList(items=[_org_out(node) for node in rows], next_cursor=next_cursor)


async def get_org(session: AsyncSession, org_id: str) -> OrgOut:
    return _org_out(await get_org_or_404(session, org_id))


async def delete_org(session: AsyncSession, principal: Principal, org_id: str, *, cascade: bool) -> list[str]:
    """Delete the whole org; returns the ids of the tokens it revoked."""
    await locks.lock_org(session, org_id, shared=False)  # tree changes exclude each other and config writes
    root = await get_org_or_404(session, org_id)
    nodes = await repository.list_nodes(session, org_id)
    if len(nodes) > 1 and not cascade:
        raise HasChildren(f"org '{org_id}' has {len(nodes) - 1} teams; pass ?cascade=true to delete them too")
    revoked = await tokens.revoke_all_of_org(session, org_id)
    await repository.delete_org(session, org_id)
    await repository.destroy_org_data(session, org_id)
    await audit.record(
        session, principal, "org.deleted", org_id=org_id, target_type="org", target_id=org_id,
        details={"nodes_deleted": len(nodes), "tokens_revoked": len(revoked)}, org_uid=root.node_uid,
    )
    return [str(t) for t in revoked]


async def create_node(session: AsyncSession, principal: Principal, org_id: str, body: NodeCreate) -> NodeOut:
    await locks.lock_org(session, org_id, shared=False)  # tree changes exclude each other and config writes
    await get_org_or_404(session, org_id)
    parent_id = body.parent_node_id or org_id
    if await repository.get(session, org_id, parent_id) is None:
        raise NotFound(f"parent node '{parent_id}' does not exist in org '{org_id}'")
    if await repository.get(session, org_id, body.node_id) is not None:
        raise Conflict(f"node '{body.node_id}' already exists in org '{org_id}'")
    if await repository.depth(session, org_id, parent_id) + 1 > MAX_TREE_DEPTH:
        raise InvalidRequest(f"a node under '{parent_id}' would be deeper than {MAX_TREE_DEPTH} levels",
            path="/parent_node_id")
    node = await repository.add(
        session,
        OrgNode(
            org_id=org_id,
            node_id=body.node_id,
            parent_node_id=parent_id,
            node_type="team",
            name=body.name or body.node_id,
        ),
    )
    await configs.create_initial(session, org_id, body.node_id, principal.subject)
    await audit.record(
        session, principal, "node.created", org_id=org_id, target_type="node", target_id=body.node_id,
        details={"parent_node_id": parent_id, "name": node.name, "reason": body.reason},
    )
    return node_out(node)


async def list_nodes(
    session: AsyncSession, org_id: str, *, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> NodeList:
    """Every node of the org, the root included (first), oldest first."""
    await get_org_or_404(session, org_id)
    after = paging.decode_keyset_cursor(cursor) if cursor else None
    rows, more = paging.page(await repository.list_nodes(session, org_id, limit=limit + 1, after=after), limit)
    next_cursor = paging.keyset_cursor(rows[-1].created_at, rows[-1].node_id) if more else None
    return NodeList(items=[node_out(n) for n in rows], next_cursor=next_cursor)


async def tree(session: AsyncSession, org_id: str) -> TreeOut:
    await get_org_or_404(session, org_id)
    nodes = await repository.list_nodes(session, org_id)
    children: dict[str | None, list[OrgNode]] = {}
    for n in nodes:
        children.setdefault(n.parent_node_id, []).append(n)

    def build(n: OrgNode) -> TreeNode:
        kids = sorted(children.get(n.node_id, []), key=lambda c: c.node_id)
        return TreeNode(
            node_id=n.node_id, name=n.name, node_type=n.node_type, parent_node_id=n.parent_node_id,
            children=[build(k) for k in kids],
        )

    root = next(n for n in nodes if n.parent_node_id is None)
    return TreeOut(org_id=org_id, root=build(root))


async def update_node(
    session: AsyncSession, principal: Principal, org_id: str, node_id: str, body: NodeUpdate
) -> tuple[NodeOut, bool]:
    """Rename and/or move. Returns the node and whether it moved."""
    await locks.lock_org(session, org_id, shared=False)  # tree changes exclude each other and config writes
    node = await get_node_or_404(session, org_id, node_id)
    moved = False
    fields = body.model_fields_set
    if "name" in fields and body.name is not None and body.name != node.name:
        before = node.name
        await repository.rename(session, node, body.name)
        await audit.record(
            session, principal, "node.renamed", org_id=org_id, target_type="node", target_id=node_id,
            details={"before": before, "after": body.name, "reason": body.reason},
        )
    if "parent_node_id" in fields and body.parent_node_id is not None and body.parent_node_id != node.parent_node_id:
        await _move(session, principal, org_id, node, body.parent_node_id, reason=body.reason, check_depth=True)
        moved = True
    return node_out(node), moved


async def move_node(
    session: AsyncSession, principal: Principal, org_id: str, node_id: str, parent_node_id: str, *,
    reason: str | None, check_depth: bool = True,
) -> None:
    """Move a node under another (audited `node.moved`). `check_depth=False` is for a caller that
    judged the depth of the tree its changes leave (an import: a series of moves may pass through
    a deeper intermediate shape)."""
    await locks.lock_org(session, org_id, shared=False)  # tree changes exclude each other and config writes
    node = await get_node_or_404(session, org_id, node_id)
    if parent_node_id != node.parent_node_id:
        await _move(session, principal, org_id, node, parent_node_id, reason=reason, check_depth=check_depth)


async def _move(
    session: AsyncSession, principal: Principal, org_id: str, node: OrgNode, new_parent: str, *,
    reason: str | None, check_depth: bool,
) -> None:
    node_id = node.node_id
    if node.parent_node_id is None:
        raise InvalidRequest("the org root cannot be moved", path="/parent_node_id")
    if await repository.get(session, org_id, new_parent) is None:
        raise NotFound(f"parent node '{new_parent}' does not exist in org '{org_id}'")
    subtree = await repository.subtree_ids(session, org_id, node_id)
    if new_parent in {nid for nid, _ in subtree}:
        raise Cycle(f"'{new_parent}' is '{node_id}' or one of its descendants")
    if check_depth:
        height = max(below for _, below in subtree)
        new_depth = await repository.depth(session, org_id, new_parent) + 1 + height
        if new_depth > MAX_TREE_DEPTH:
            raise InvalidRequest(
                f"after the move the subtree would reach depth {new_depth}; the limit is {MAX_TREE_DEPTH}",
                path="/parent_node_id",
            )
    before = node.parent_node_id
    await repository.move(session, node, new_parent)
    await audit.record(
        session, principal, "node.moved", org_id=org_id, target_type="node", target_id=node_id,
        details={"from": before, "to": new_parent, "subtree": [nid for nid, _ in subtree][:1000], "reason": reason},
    )


async def delete_node(
    session: AsyncSession, principal: Principal, org_id: str, node_id: str, *, cascade: bool,
    reason: str | None = None,
) -> list[str]:
    """Delete a node (and with `cascade` its subtree); returns the revoked token ids."""
    await locks.lock_org(session, org_id, shared=False)  # tree changes exclude each other and config writes
    node = await get_node_or_404(session, org_id, node_id)
    if node.parent_node_id is None:
        raise InvalidRequest("the org root is deleted with DELETE /admin/orgs/{org}", path="")
    subtree = await repository.subtree_ids(session, org_id, node_id)
    if len(subtree) > 1 and not cascade:
        raise HasChildren(f"node '{node_id}' has descendants; pass ?cascade=true to delete them too")
    ids = [nid for nid, _ in subtree]
    revoked = await tokens.revoke_for_nodes(session, org_id, ids)
    await repository.delete_nodes(session, org_id, ids)
    await audit.record(
        session, principal, "node.deleted", org_id=org_id, target_type="node", target_id=node_id,
        details={"deleted": ids[:1000], "tokens_revoked": len(revoked), **({"reason": reason} if reason else {})},
    )
    return [str(t) for t in revoked]
