"""Orgs and their trees (DESIGN §2, §7 admin): create, list, get, tree, rename, move, delete."""

from __future__ import annotations

import uuid

import pytest

from tests.support import unique_id


def audit_actions(admin, org_id: str, **params) -> list[dict]:
    response = admin.get(f"/admin/orgs/{org_id}/audit", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def node_ids(admin, org_id: str) -> list[str]:
    response = admin.get(f"/admin/orgs/{org_id}/nodes")
    assert response.status_code == 200, response.text
    return [n["node_id"] for n in response.json()["items"]]


# ---- orgs ---------------------------------------------------------------------------------


def test_create_org_returns_the_root_with_an_empty_config_at_version_1(admin, db):
    org_id = unique_id("acme")
    refused = admin.post("/admin/orgs", json={"org_id": org_id, "name": "Acme Inc", "unknown_field": 1})
    assert refused.status_code == 422 and refused.json()["path"] == "/unknown_field"
    response = admin.post("/admin/orgs", json={"org_id": org_id, "name": "Acme Inc"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["org_id"] == org_id
    assert body["name"] == "Acme Inc"
    assert uuid.UUID(body["node_uid"])
    assert body["created_at"] and body["updated_at"]

    nodes = admin.get(f"/admin/orgs/{org_id}/nodes").json()["items"]
    assert len(nodes) == 1
    root = nodes[0]
    assert root["node_id"] == org_id and root["node_type"] == "org" and root["parent_node_id"] is None
    assert root["node_uid"] == body["node_uid"]

    own = admin.get(f"/admin/orgs/{org_id}/nodes/{org_id}/config").json()
    assert own["version"] == 1 and own["config"] == {}

    row = db.execute("SELECT node_type, parent_node_id, name FROM org_nodes WHERE org_id = %s", (org_id,)).fetchall()
    assert row == [("org", None, "Acme Inc")]

    got = admin.get(f"/admin/orgs/{org_id}")
    assert got.status_code == 200 and got.json()["node_uid"] == body["node_uid"]


def test_org_name_defaults_to_the_id(admin):
    org_id = unique_id("noname")
    response = admin.post("/admin/orgs", json={"org_id": org_id})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == org_id


def test_create_existing_org_is_409_conflict(admin, org):
    response = admin.post("/admin/orgs", json={"org_id": org.org_id})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "bad",
    ["has.dot", "_leading", "-leading", "", "x" * 65, "spa ce", "slash/x", "ünï", "a+b"],
)
def test_create_org_with_a_bad_id_is_422(admin, bad):
    response = admin.post("/admin/orgs", json={"org_id": bad})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


def test_create_org_with_the_longest_valid_id(admin):
    org_id = ("z" + uuid.uuid4().hex * 2)[:64]
    assert len(org_id) == 64
    response = admin.post("/admin/orgs", json={"org_id": org_id})
    assert response.status_code == 201, response.text
    assert admin.delete(f"/admin/orgs/{org_id}").status_code == 204


def test_only_the_global_admin_creates_orgs(org):
    with org.client(org.admin_token()) as org_admin:
        response = org_admin.post("/admin/orgs", json={"org_id": unique_id("sneaky")})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_list_orgs_global_admin_sees_all_org_admin_only_its_own(admin, make_org):
    a, b = make_org("lista"), make_org("listb")
    listed = admin.get("/admin/orgs", params={"limit": 500})
    assert listed.status_code == 200
    body = listed.json()
    assert set(body) >= {"items", "next_cursor"}
    ids = [o["org_id"] for o in body["items"]]
    assert a.org_id in ids and b.org_id in ids

    with a.client(a.admin_token()) as org_admin:
        own = org_admin.get("/admin/orgs")
    assert own.status_code == 200
    assert [o["org_id"] for o in own.json()["items"]] == [a.org_id]


def test_delete_org_with_teams_needs_cascade(admin, org, db):
    org_uid = admin.get(f"/admin/orgs/{org.org_id}").json()["node_uid"]
    org.add_node("sre")
    org.add_node("sre-child", parent="sre")
    team_token = org.token("sre")
    admin_token = org.admin_token()

    refused = admin.delete(f"/admin/orgs/{org.org_id}")
    assert refused.status_code == 409
    assert refused.json()["code"] == "has_children"
    assert len(node_ids(admin, org.org_id)) == 3

    with org.client(team_token) as team, org.client(admin_token) as org_admin:
        assert team.get("/config/me").status_code == 200
        # an org admin cannot delete its own org: that is the global admin's call
        assert org_admin.delete(f"/admin/orgs/{org.org_id}?cascade=true").status_code == 403

        assert admin.delete(f"/admin/orgs/{org.org_id}", params={"cascade": "true"}).status_code == 204

        assert team.get("/config/me").status_code == 401
        assert org_admin.get("/auth/me").status_code == 401

    assert admin.get(f"/admin/orgs/{org.org_id}").status_code == 404
    assert admin.get(f"/admin/orgs/{org.org_id}/nodes").status_code == 404
    assert db.execute("SELECT count(*) FROM org_nodes WHERE org_id = %s", (org.org_id,)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM node_configurations WHERE org_id = %s", (org.org_id,)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM node_config_versions WHERE org_id = %s", (org.org_id,)).fetchone()[0] == 0
    unrevoked = db.execute(
        "SELECT (SELECT count(*) FROM team_tokens WHERE org_id = %(o)s AND revoked_at IS NULL)"
        " + (SELECT count(*) FROM org_admin_tokens WHERE org_id = %(o)s AND revoked_at IS NULL)",
        {"o": org.org_id},
    ).fetchone()[0]
    assert unrevoked == 0

    # audit events stay, and say what happened: the global admin reads the deleted org's log by
    # its uid (the id alone names the org that has it now: none)
    assert admin.get(f"/admin/orgs/{org.org_id}/audit").status_code == 404
    actions = [e["action"] for e in audit_actions(admin, org.org_id, org_uid=org_uid)]
    assert actions[0] == "org.deleted"
    assert "org.created" in actions and actions.count("node.created") == 2
    deleted = audit_actions(admin, org.org_id, action="org.deleted", org_uid=org_uid)[0]
    assert deleted["actor"] == "admin" and deleted["target_id"] == org.org_id


def test_delete_org_with_only_its_root_needs_no_cascade(admin, org):
    assert admin.delete(f"/admin/orgs/{org.org_id}").status_code == 204
    assert admin.get(f"/admin/orgs/{org.org_id}").status_code == 404
    # and the id can be taken again, with a fresh root
    again = admin.post("/admin/orgs", json={"org_id": org.org_id})
    assert again.status_code == 201
    assert org.own(org.org_id)["version"] == 1


def test_delete_missing_org_is_404(admin):
    response = admin.delete(f"/admin/orgs/{unique_id('ghost')}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_org_audit_has_org_created(admin, org):
    events = audit_actions(admin, org.org_id, action="org.created")
    assert len(events) == 1
    assert events[0]["target_id"] == org.org_id and events[0]["actor"] == "admin"


# ---- nodes: create ---------------------------------------------------------------------


def test_create_node_defaults(org, admin):
    response = admin.post(f"/admin/orgs/{org.org_id}/nodes", json={"node_id": "sre"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["org_id"] == org.org_id
    assert body["node_id"] == "sre"
    assert body["name"] == "sre"
    assert body["node_type"] == "team"
    assert body["parent_node_id"] == org.org_id
    assert uuid.UUID(body["node_uid"])
    assert set(body) >= {"created_at", "updated_at"}

    own = org.own("sre")
    assert own["version"] == 1 and own["config"] == {}

    created = audit_actions(admin, org.org_id, action="node.created")
    assert [e["target_id"] for e in created] == ["sre"]


def test_parent_id_is_an_alias_of_parent_node_id(org, admin):
    org.add_node("parent")
    response = admin.post(
        f"/admin/orgs/{org.org_id}/nodes",
        json={"node_id": "kid", "parent_id": "parent", "name": "The Kid", "node_type": "team"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["parent_node_id"] == "parent"
    assert body["name"] == "The Kid"
    assert org.effective("kid") == {}
    raw = admin.get(org.node_path("kid") + "/raw").json()
    assert [e["node_id"] for e in raw["lineage"]] == [org.org_id, "parent", "kid"]


@pytest.mark.parametrize("node_type", ["org", "root", ""])
def test_node_type_other_than_team_is_422(org, admin, node_type):
    response = admin.post(f"/admin/orgs/{org.org_id}/nodes", json={"node_id": "x", "node_type": node_type})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert admin.get(org.node_path("x")).status_code == 404


def test_create_existing_node_is_409_conflict(org, admin):
    org.add_node("sre")
    for node_id in ("sre", org.org_id):
        response = admin.post(f"/admin/orgs/{org.org_id}/nodes", json={"node_id": node_id})
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "conflict"


@pytest.mark.parametrize("bad", ["has.dot", "_x", "-x", "", "y" * 65, "sp ace", "a/b", "é"])
def test_create_node_with_a_bad_id_is_422(org, admin, bad):
    response = admin.post(f"/admin/orgs/{org.org_id}/nodes", json={"node_id": bad})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert node_ids(admin, org.org_id) == [org.org_id]


def test_create_node_with_a_bad_parent_id_is_422(org, admin):
    response = admin.post(f"/admin/orgs/{org.org_id}/nodes", json={"node_id": "ok", "parent_node_id": "a.b"})
    assert response.status_code == 422


def test_valid_id_forms(org):
    for node_id in ("A", "9lives", "a_b-c", "Z" * 64):
        org.add_node(node_id)


def test_missing_parent_is_404(org, admin):
    response = admin.post(f"/admin/orgs/{org.org_id}/nodes", json={"node_id": "orphan", "parent_node_id": "nope"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert admin.get(org.node_path("orphan")).status_code == 404


def test_create_node_in_missing_org_is_404(admin):
    response = admin.post(f"/admin/orgs/{unique_id('ghost')}/nodes", json={"node_id": "x"})
    assert response.status_code == 404


def test_a_bad_org_id_in_the_path_is_422(admin):
    assert admin.get("/admin/orgs/bad.org/nodes").status_code == 422
    assert admin.get("/admin/orgs/ok-org/nodes/bad.node").status_code == 422


def chain(org, length: int, prefix: str = "d") -> list[str]:
    """Create nodes d2 .. d<length> so that d<n> is at depth n (the root is depth 1)."""
    ids = []
    parent = org.org_id
    for depth in range(2, length + 1):
        node_id = f"{prefix}{depth}"
        org.add_node(node_id, parent=parent)
        ids.append(node_id)
        parent = node_id
    return ids


def test_create_deeper_than_32_is_422(org, admin):
    ids = chain(org, 32)
    assert ids[-1] == "d32"
    raw = admin.get(org.node_path("d32") + "/raw").json()
    assert len(raw["lineage"]) == 32
    response = admin.post(f"/admin/orgs/{org.org_id}/nodes", json={"node_id": "d33", "parent_node_id": "d32"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert admin.get(org.node_path("d33")).status_code == 404


# ---- nodes: read -----------------------------------------------------------------------


def test_get_list_and_tree(org, admin):
    org.add_node("b-team", name="B team")
    org.add_node("a-team")
    org.add_node("a-sub", parent="a-team")

    got = admin.get(org.node_path("a-sub"))
    assert got.status_code == 200
    assert got.json()["parent_node_id"] == "a-team" and got.json()["name"] == "a-sub"
    assert admin.get(org.node_path("nope")).status_code == 404

    listing = admin.get(f"/admin/orgs/{org.org_id}/nodes").json()
    assert listing["next_cursor"] is None
    by_id = {n["node_id"]: n for n in listing["items"]}
    assert set(by_id) == {org.org_id, "a-team", "b-team", "a-sub"}
    assert by_id[org.org_id]["node_type"] == "org"
    assert by_id["b-team"]["name"] == "B team"

    tree = admin.get(f"/admin/orgs/{org.org_id}/tree")
    assert tree.status_code == 200
    body = tree.json()
    assert body["org_id"] == org.org_id

    def shape(node):
        return {node["node_id"]: [shape(c) for c in node["children"]]}

    assert shape(body["root"]) == {org.org_id: [{"a-team": [{"a-sub": []}]}, {"b-team": []}]}
    assert body["root"]["node_type"] == "org" and body["root"]["parent_node_id"] is None
    a_team = body["root"]["children"][0]
    assert a_team["children"][0]["parent_node_id"] == "a-team"
    assert body["root"]["children"][1]["name"] == "B team"


def test_tree_of_missing_org_is_404(admin):
    assert admin.get(f"/admin/orgs/{unique_id('ghost')}/tree").status_code == 404


# ---- nodes: rename and move ------------------------------------------------------------


def test_rename(org, admin):
    org.add_node("sre")
    response = admin.patch(org.node_path("sre"), json={"name": "Site Reliability", "reason": "clearer"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Site Reliability"
    assert response.json()["parent_node_id"] == org.org_id
    assert admin.get(org.node_path("sre")).json()["name"] == "Site Reliability"

    events = audit_actions(admin, org.org_id, action="node.renamed")
    assert len(events) == 1
    assert events[0]["target_id"] == "sre"
    assert events[0]["details"]["before"] == "sre" and events[0]["details"]["after"] == "Site Reliability"

    # the same name again changes nothing and writes no event
    assert admin.patch(org.node_path("sre"), json={"name": "Site Reliability"}).status_code == 200
    assert len(audit_actions(admin, org.org_id, action="node.renamed")) == 1


def test_move_changes_the_lineage_and_effective_config(org, admin):
    org.add_node("a")
    org.add_node("b")
    org.add_node("leaf", parent="a")
    assert org.patch("a", {"from": "a"}).status_code == 200
    assert org.patch("b", {"from": "b"}).status_code == 200
    assert org.effective("leaf") == {"from": "a"}

    response = admin.patch(org.node_path("leaf"), json={"parent_node_id": "b"})
    assert response.status_code == 200, response.text
    assert response.json()["parent_node_id"] == "b"
    assert org.effective("leaf") == {"from": "b"}
    raw = admin.get(org.node_path("leaf") + "/raw").json()
    assert [e["node_id"] for e in raw["lineage"]] == [org.org_id, "b", "leaf"]

    # parent_id works as the alias here too
    assert admin.patch(org.node_path("leaf"), json={"parent_id": "a"}).json()["parent_node_id"] == "a"

    moves = audit_actions(admin, org.org_id, action="node.moved")
    assert len(moves) == 2
    assert moves[-1]["details"]["from"] == "a" and moves[-1]["details"]["to"] == "b"


def test_rename_and_move_in_one_request(org, admin):
    org.add_node("a")
    org.add_node("x")
    response = admin.patch(org.node_path("x"), json={"name": "X", "parent_node_id": "a"})
    assert response.status_code == 200
    assert response.json()["name"] == "X" and response.json()["parent_node_id"] == "a"
    actions = {e["action"] for e in audit_actions(admin, org.org_id)}
    assert {"node.renamed", "node.moved"} <= actions


def test_move_under_own_descendant_or_itself_is_409_cycle(org, admin):
    org.add_node("top")
    org.add_node("mid", parent="top")
    org.add_node("low", parent="mid")
    for target in ("low", "mid", "top"):
        # "top" itself is the degenerate case: a node under itself
        response = admin.patch(org.node_path("top"), json={"parent_node_id": target})
        assert response.status_code == 409, (target, response.text)
        assert response.json()["code"] == "cycle"
    assert admin.get(org.node_path("top")).json()["parent_node_id"] == org.org_id
    assert admin.get(org.node_path("mid")).json()["parent_node_id"] == "top"
    assert audit_actions(admin, org.org_id, action="node.moved") == []


def test_a_refused_move_also_undoes_the_rename_of_the_same_request(org, admin):
    org.add_node("top")
    org.add_node("mid", parent="top")
    response = admin.patch(org.node_path("top"), json={"name": "renamed", "parent_node_id": "mid"})
    assert response.status_code == 409
    assert admin.get(org.node_path("top")).json()["name"] == "top"
    assert audit_actions(admin, org.org_id, action="node.renamed") == []


def test_move_to_missing_parent_is_404(org, admin):
    org.add_node("a")
    response = admin.patch(org.node_path("a"), json={"parent_node_id": "ghost"})
    assert response.status_code == 404
    assert admin.get(org.node_path("a")).json()["parent_node_id"] == org.org_id


def test_move_of_a_missing_node_is_404(org, admin):
    assert admin.patch(org.node_path("ghost"), json={"name": "x"}).status_code == 404


def test_the_root_cannot_be_moved(org, admin):
    org.add_node("a")
    response = admin.patch(org.node_path(org.org_id), json={"parent_node_id": "a"})
    assert response.status_code in (409, 422), response.text
    assert admin.get(org.node_path(org.org_id)).json()["parent_node_id"] is None


def test_move_whose_subtree_would_end_deeper_than_32_is_422(org, admin):
    chain(org, 31)  # d2..d31
    org.add_node("m1")
    org.add_node("m2", parent="m1")  # a subtree of height 1
    response = admin.patch(org.node_path("m1"), json={"parent_node_id": "d31"})  # m2 would be at depth 33
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert admin.get(org.node_path("m1")).json()["parent_node_id"] == org.org_id

    ok = admin.patch(org.node_path("m1"), json={"parent_node_id": "d30"})  # m2 at depth 32
    assert ok.status_code == 200, ok.text
    raw = admin.get(org.node_path("m2") + "/raw").json()
    assert len(raw["lineage"]) == 32


# ---- nodes: delete ---------------------------------------------------------------------


def test_delete_with_children_needs_cascade(org, admin, db):
    org.add_node("parent")
    org.add_node("child", parent="parent")
    org.add_node("grandchild", parent="child")
    org.add_node("sibling")

    refused = admin.delete(org.node_path("parent"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "has_children"
    assert admin.get(org.node_path("grandchild")).status_code == 200

    assert admin.delete(org.node_path("parent"), params={"cascade": "true"}).status_code == 204
    assert sorted(node_ids(admin, org.org_id)) == sorted([org.org_id, "sibling"])
    for gone in ("parent", "child", "grandchild"):
        assert admin.get(org.node_path(gone)).status_code == 404
    rows = db.execute(
        "SELECT count(*) FROM node_configurations WHERE org_id = %s AND node_id = ANY(%s)",
        (org.org_id, ["parent", "child", "grandchild"]),
    ).fetchone()[0]
    assert rows == 0

    deleted = audit_actions(admin, org.org_id, action="node.deleted")
    assert len(deleted) == 1
    assert deleted[0]["target_id"] == "parent"
    assert sorted(deleted[0]["details"]["deleted"]) == ["child", "grandchild", "parent"]


def test_delete_a_leaf(org, admin):
    org.add_node("leaf")
    assert admin.delete(org.node_path("leaf")).status_code == 204
    assert admin.get(org.node_path("leaf")).status_code == 404
    assert admin.delete(org.node_path("leaf")).status_code == 404


def test_the_root_is_not_deleted_through_the_node_path(org, admin):
    response = admin.delete(org.node_path(org.org_id), params={"cascade": "true"})
    assert response.status_code == 422
    assert admin.get(f"/admin/orgs/{org.org_id}").status_code == 200


def test_delete_revokes_the_subtree_tokens(org, admin, db):
    org.add_node("parent")
    org.add_node("child", parent="parent")
    org.add_node("other")
    parent_token, child_token, other_token = org.token("parent"), org.token("child"), org.token("other")
    with org.client(parent_token) as p, org.client(child_token) as c, org.client(other_token) as o:
        assert p.get("/config/me").status_code == 200
        assert c.get("/config/me").status_code == 200
        assert admin.delete(org.node_path("parent"), params={"cascade": "true"}).status_code == 204
        assert p.get("/config/me").status_code == 401
        assert c.get("/config/me").status_code == 401
        assert c.get("/auth/me").status_code == 401
        assert o.get("/config/me").status_code == 200

        # a node recreated with the same id does not bring the old tokens back
        org.add_node("child")
        assert c.get("/config/me").status_code == 401

    revoked = db.execute(
        "SELECT team_node_id, revoked_at IS NOT NULL FROM team_tokens WHERE org_id = %s ORDER BY team_node_id",
        (org.org_id,),
    ).fetchall()
    assert revoked == [("child", True), ("other", False), ("parent", True)]


def test_a_recreated_node_is_new(org, admin, db):
    old = org.add_node("sre")
    assert org.patch("sre", {"model": "a"}).status_code == 200
    assert org.patch("sre", {"model": "b"}).status_code == 200
    assert org.own("sre")["version"] == 3

    assert admin.delete(org.node_path("sre")).status_code == 204
    new = org.add_node("sre")
    assert new["node_uid"] != old["node_uid"]

    own = org.own("sre")
    assert own["version"] == 1 and own["config"] == {}
    assert org.effective("sre") == {}
    history = admin.get(org.node_path("sre") + "/history").json()["items"]
    assert [h["version"] for h in history] == [1]
    versions = db.execute(
        "SELECT version FROM node_config_versions WHERE org_id = %s AND node_id = 'sre'", (org.org_id,)
    ).fetchall()
    assert versions == [(1,)]

    actions = [e["action"] for e in audit_actions(admin, org.org_id, target_id="sre")]
    assert actions[:2] == ["node.created", "node.deleted"]
    assert actions.count("node.created") == 2


def test_tree_changes_are_audited_with_the_actor(org, admin):
    org_admin_token = org.admin_token()
    with org.client(org_admin_token) as org_admin:
        assert org_admin.post(f"/admin/orgs/{org.org_id}/nodes", json={"node_id": "n"}).status_code == 201
        assert org_admin.patch(org.node_path("n"), json={"name": "N"}).status_code == 200
        org.add_node("p")
        assert org_admin.patch(org.node_path("n"), json={"parent_node_id": "p"}).status_code == 200
        assert org_admin.delete(org.node_path("n")).status_code == 204
        events = audit_actions(org_admin, org.org_id, target_id="n")
    assert [e["action"] for e in events] == ["node.deleted", "node.moved", "node.renamed", "node.created"]
    assert all(e["actor"].startswith(f"org-admin:{org.org_id}:") for e in events)
    assert all(org_admin_token not in str(e) for e in events)


# ---- listings ----------------------------------------------------------------------------


def test_node_listing_pages_with_a_cursor(org, admin):
    for i in range(6):
        org.add_node(f"n{i}")
    path = f"/admin/orgs/{org.org_id}/nodes"
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        response = admin.get(path, params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 3
        seen += [n["node_id"] for n in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen[0] == org.org_id  # the root comes first
    assert sorted(seen) == sorted([org.org_id] + [f"n{i}" for i in range(6)])
    assert len(seen) == len(set(seen))

    for bad in ({"limit": 0}, {"limit": 501}, {"limit": "x"}, {"cursor": "not-a-cursor"}):
        response = admin.get(path, params=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["code"] == "invalid_request"


def test_org_listing_pages_newest_first(admin, make_org):
    made = [make_org("page").org_id for _ in range(3)]
    first = admin.get("/admin/orgs", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = admin.get("/admin/orgs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    ids = [o["org_id"] for o in first["items"] + second["items"]]
    assert ids[:3] == made[::-1]
    assert admin.get("/admin/orgs", params={"cursor": "Zm9v"}).status_code == 422


MISSING_ORG_ROUTES = [
    ("GET", ""), ("DELETE", ""), ("GET", "/nodes"), ("POST", "/nodes"), ("GET", "/tree"), ("GET", "/nodes/x"),
    ("GET", "/tokens"), ("GET", "/admin-tokens"), ("POST", "/admin-tokens"), ("GET", "/routing"),
    ("GET", "/audit"), ("GET", "/audit/export"), ("GET", "/agent-runs"), ("POST", "/teams/x/tokens"),
    ("GET", "/teams/x/tokens"), ("GET", "/nodes/x/config"), ("GET", "/nodes/x/effective"),
]


@pytest.mark.parametrize(("method", "suffix"), MISSING_ORG_ROUTES)
def test_a_missing_org_is_named_as_an_org(admin, method, suffix):
    org_id = unique_id("nosuch")
    body = {"node_id": "x"} if method == "POST" and suffix == "/nodes" else None
    response = admin.request(method, f"/admin/orgs/{org_id}{suffix}", json=body)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"] == f"org '{org_id}' does not exist"
