"""The web console in a real browser, as admins use it: orgs, the org tree, a node's page and
its locks, tokens, the audit log, routing — and the limits of an org admin. Also the pages'
security (CSP in force), the offline docs, the narrow layout and the keyboard."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import browser_fixture, console_fixture  # noqa: F401 - the fixtures "browser", "console"
from tests.support import unique_id

pytestmark = pytest.mark.slow


def test_global_admin_creates_an_org_and_shapes_its_tree(console, server_keys, admin):
    console.sign_in(server_keys["ADMIN_TOKEN"])
    page = console.page
    expect(page.locator(".who")).to_contain_text("global admin")
    org_id = unique_id("ui")
    page.get_by_label("Org ID").fill(org_id)
    page.get_by_label("Name").fill("Console Org")
    page.get_by_role("button", name="Create org").click()
    expect(page.get_by_role("status").filter(has_text="created")).to_contain_text(org_id)
    page.get_by_role("link", name=org_id).click()
    expect(page.get_by_role("link", name="Org tree")).to_have_attribute("aria-current", "page")

    def add(node: str, parent: str) -> None:
        page.get_by_label("Node ID").fill(node)
        page.get_by_label("Parent").select_option(parent)
        page.get_by_role("button", name="Add node").click()
        expect(page.locator(f'li[data-node="{node}"]')).to_be_visible()

    add("team-a", org_id)
    add("team-b", "team-a")
    add("team-c", "team-a")
    nodes = f"/admin/orgs/{org_id}/nodes"
    assert admin.get(f"{nodes}/team-b").json()["parent_node_id"] == "team-a"

    # move team-b under the root
    page.locator('li[data-node="team-b"] .tree-node').get_by_role("button", name="Move").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("New parent").select_option(org_id)
    dialog.get_by_role("button", name="Move").click()
    expect(page.get_by_role("status").filter(has_text="moved")).to_be_visible()
    assert admin.get(f"{nodes}/team-b").json()["parent_node_id"] == org_id

    # deleting a node with children needs the explicit cascade confirmation
    page.locator('li[data-node="team-a"] > .tree-node').get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("team-c")
    confirm = dialog.get_by_role("button", name="Delete")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Also delete its 1 descendant (cascade)").check()
    confirm.click()
    expect(page.locator('li[data-node="team-a"]')).to_have_count(0)
    assert admin.get(f"{nodes}/team-a").status_code == 404
    assert admin.get(f"{nodes}/team-c").status_code == 404
    assert admin.get(f"{nodes}/team-b").status_code == 200

    # and deleting the org (cascade, confirmed)
    page.get_by_role("link", name="Orgs").click()
    page.get_by_role("row").filter(has_text=org_id).get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("checkbox").check()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status").filter(has_text="deleted")).to_contain_text(org_id)
    assert admin.get(f"/admin/orgs/{org_id}").status_code == 404


def test_global_admin_picks_the_org_its_pages_are_about(make_org, console, server_keys):
    older = make_org("older")
    newest = make_org("newest")
    newest.add_node("fresh-team")
    console.sign_in(server_keys["ADMIN_TOKEN"])
    page = console.page
    page.get_by_role("link", name="Org tree").click()  # the newest org, without choosing one first
    expect(page.locator('li[data-node="fresh-team"]')).to_be_visible()
    page.get_by_label("Org", exact=True).select_option(older.org_id)
    expect(page.locator("main h1")).to_have_text(older.org_id)
    page.get_by_role("link", name="Tokens").click()
    assert page.evaluate("location.hash") == f"#/orgs/{older.org_id}/tokens"


def test_org_admin_sees_only_its_own_org(make_org, console):
    mine = make_org("mine")
    mine.add_node("sre")
    other = make_org("other")
    other.add_node("secret-team")
    other.patch(other.org_id, {"marker": "other-org-data"})
    console.sign_in(mine.admin_token())
    page = console.page
    expect(page.locator(".who")).to_contain_text("org admin")
    expect(page.locator('li[data-node="sre"]')).to_be_visible()  # lands on its org's tree
    page.get_by_role("link", name="Orgs").click()
    expect(page.get_by_role("link", name=mine.org_id)).to_be_visible()
    expect(page.get_by_text(other.org_id)).to_have_count(0)
    for route in ("tree", f"nodes/{other.org_id}", "tokens", "audit", "routing"):
        console.open(f"#/orgs/{other.org_id}/{route}")
        expect(page.get_by_role("alert").first).to_contain_text("forbidden")
        assert "secret-team" not in page.content() and "other-org-data" not in page.content()


def test_issue_a_token_once_then_revoke_it(org, console, server):
    org.add_node("sre")
    console.sign_in(org.admin_token())
    page = console.page
    page.get_by_role("link", name="Tokens").click()
    page.get_by_label("Node", exact=True).select_option("sre")
    page.get_by_label("Description").fill("ci agent")
    page.get_by_label("config:write").check()
    page.get_by_role("button", name="Issue token").click()
    shown = page.get_by_label("New token")
    expect(shown).to_be_visible()
    token = shown.input_value()
    assert token.startswith(f"{org.org_id}.sre.")
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".copy-note")).to_have_text("Copied.")
    with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {token}"}) as agent:
        assert agent.get("/auth/me").json()["scopes"] == ["config:read", "config:write", "runs:write", "secrets:read"]
        row = page.get_by_role("row").filter(has_text="ci agent")
        expect(row).to_contain_text("active")
        page.get_by_role("button", name="Done").click()
        assert token not in page.content()  # shown once: gone from the page
        row.get_by_role("button", name="Revoke").click()
        expect(row).to_contain_text("revoked")
        assert agent.get("/auth/me").status_code == 401
    page.reload()
    expect(page.get_by_role("row").filter(has_text="ci agent")).to_contain_text("revoked")
    assert token not in page.content()


def test_audit_filters_and_exports(org, console):
    org.add_node("sre")
    org.add_node("ops")
    org.patch("sre", {"model": "a"}, reason="audited change")
    console.sign_in(org.admin_token())
    page = console.page
    page.get_by_role("link", name="Audit").click()
    events = page.get_by_role("region", name="Audit events")
    expect(events).to_contain_text("config.written")
    page.get_by_label("Action").fill("node.created")
    page.get_by_role("button", name="Apply filters").click()
    expect(events.locator("tbody tr")).to_have_count(2)
    expect(events).not_to_contain_text("config.written")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert {row["action"] for row in rows} == {"node.created"} and len(rows) == 2
    assert csv_download.value.suggested_filename == f"audit-{org.org_id}.csv"
    page.get_by_label("Action").fill("")
    page.get_by_label("Target").fill("sre")
    with page.expect_download() as json_download:
        page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(Path(json_download.value.path()).read_text())
    items = exported["items"] if isinstance(exported, dict) else exported
    assert items and all(item["target_id"] == "sre" for item in items)
    assert any(item["details"].get("reason") == "audited change" for item in items)


def test_admin_opens_a_node_edits_it_and_its_locks(org, console, admin):
    org.add_node("sre")
    org.patch(org.org_id, {"model": "a"})
    console.sign_in(org.admin_token())
    page = console.page
    page.locator('li[data-node="sre"] .node-link').click()
    expect(page.locator(".page-title h1")).to_have_text("sre")
    expect(console.leaf("/model")).to_contain_text(f"{org.org_id} · v2")
    page.get_by_role("button", name="Edit").click()
    page.locator("textarea").fill('{"model": "b"}')
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="Preview of the change")).to_contain_text('"b"')
    page.get_by_role("button", name="Save").click()
    expect(console.leaf("/model")).to_contain_text("own · v2")
    assert org.own("sre")["config"] == {"model": "b"}
    page.get_by_text("Own config as stored (JSON)").click()
    expect(page.locator(".own-view pre")).to_have_text(json.dumps({"model": "b"}, indent=2))

    # a change by another client shows on the admin's page too, without a reload
    org.patch("sre", {"live": True})
    expect(console.leaf("/live")).to_contain_text("true")

    page.get_by_role("link", name="Locks").click()
    page.get_by_label("Locked paths (one JSON Pointer per line)").fill("/model\n/tools/deploy")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text("2 locked paths")
    locks = admin.get(org.node_path("sre") + "/locks").json()["locked_paths"]
    assert sorted(locks) == ["/model", "/tools/deploy"]
    page.get_by_label("Locked paths (one JSON Pointer per line)").fill("not-a-pointer")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not-a-pointer")

    page.get_by_role("link", name="History").click()
    expect(page.locator("li.version")).to_have_count(3)


def test_routing_claims_and_the_lookup_tester(org, console):
    org.add_node("sre")
    org.patch("sre", {"routing": {"slack_channel_ids": ["C0SRE"], "services": ["Checkout"]}})
    console.sign_in(org.admin_token())
    page = console.page
    page.get_by_role("link", name="Routing").click()
    claims = page.get_by_role("region", name="Routing claims")
    expect(claims.locator("tbody tr")).to_have_count(2)
    expect(claims).to_contain_text("C0SRE")
    page.get_by_label("Identifier").select_option("service")
    page.get_by_label("Value").fill("checkout")
    page.get_by_role("button", name="Look up").click()
    result = page.locator(".lookup-result")
    expect(result).to_contain_text("found")
    expect(result).to_contain_text("sre")
    expect(result).to_contain_text("service = checkout")
    page.get_by_label("Value").fill("nobody")
    page.get_by_role("button", name="Look up").click()
    expect(result).to_contain_text("not found")


# ---- security, docs, layout, keyboard --------------------------------------------------------


def test_the_csp_is_sent_and_enforced(org, console):
    org.add_node("sre")
    response = console.page.goto(console.base_url + "/ui/")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    console.sign_in(org.token("sre"))
    # markup that slipped in anyway could not run: inline script and inline handlers are blocked
    ran = console.page.evaluate("""() => {
        const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s);
        const d = document.createElement('div');
        d.setAttribute('onclick', 'window.__inline = 2'); document.body.append(d);
        d.click();
        return window.__inline ?? null;
    }""")
    assert ran is None


@pytest.mark.parametrize("path, ready", [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_docs_render_with_nothing_from_another_host(console, path, ready):
    page = console.page
    finished: list[str] = []
    failed: list[tuple[str, str | None]] = []
    page.on("requestfinished", lambda request: finished.append(request.url))
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))
    page.goto(console.base_url + path)
    expect(page.locator(ready).first).to_contain_text("Config Service")
    assert any(url.endswith("/openapi.json") for url in finished)
    local = (console.base_url, "data:", "blob:")
    assert [url for url in finished if not url.startswith(local)] == []
    # ReDoc's bundle asks its CDN for a logo: the docs' CSP stops it in the browser, before any network
    assert all(failure == "csp" for url, failure in failed if not url.startswith(local)), failed


def test_narrow_screens_do_not_scroll_sideways(org, console, server_keys):
    org.add_node("sre")
    org.patch("sre", {"a_rather_long_key_name_for_a_phone": "and a rather long value " * 8,
                      "routing": {"services": ["checkout"]}})
    page = console.page
    page.set_viewport_size({"width": 390, "height": 844})
    console.sign_in(org.token("sre", ["config:read", "config:write"]))
    for link, ready in (("Effective config", ".tree-root"), ("History", "li.version"),
                        ("Integrations", "details.integration"), ("Agent runs", ".stats")):
        page.get_by_role("link", name=link).click()
        page.locator(ready).first.wait_for()
        document_scroll, document_client, main_scroll, main_client = console.overflow()
        assert document_scroll <= document_client and main_scroll <= main_client, (link, console.overflow())
    page.get_by_role("link", name="Effective config").click()
    page.get_by_role("button", name="Edit").click()
    page.get_by_role("button", name="Preview").wait_for()
    assert console.overflow()[0] <= console.overflow()[1]
    page.get_by_role("button", name="Sign out").click()
    console.sign_in(server_keys["ADMIN_TOKEN"])
    for route, ready in (("tree", "li[data-node]"), ("tokens", "table"), ("audit", "table"), ("routing", "table"),
                         ("nodes/sre", ".tree-root")):
        console.open(f"#/orgs/{org.org_id}/{route}")
        page.locator(ready).first.wait_for()
        document_scroll, document_client, main_scroll, main_client = console.overflow()
        assert document_scroll <= document_client and main_scroll <= main_client, (route, console.overflow())


def test_keyboard_alone_signs_in_and_moves_around(org, console):
    org.add_node("sre")
    token = org.token("sre")
    page = console.page
    console.open("")
    expect(page.get_by_label("Token")).to_be_focused()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "History":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")
    assert page.evaluate("location.hash") == "#/history"


def test_an_org_admin_revokes_the_one_team_token_by_the_name_revoke(org, console, server):
    """The Tokens page of an org admin lists its own admin token too; the one team token's button
    is still the only one a strict `get_by_role("button", name="Revoke")` finds."""
    org.add_node("sre")
    console.sign_in(org.admin_token())
    page = console.page
    page.get_by_role("link", name="Tokens").click()
    page.get_by_label("Node", exact=True).select_option("sre")
    page.get_by_role("button", name="Issue token").click()
    token = page.get_by_label("New token").input_value()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("row").filter(has_text="sre")).to_contain_text("active")
    page.get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="revoked")).to_be_visible()
    with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {token}"}) as agent:
        assert agent.get("/auth/me").status_code == 401
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # its own token still works
    # the org-admin tokens are one click away
    page.locator("summary").filter(has_text="Org-admin tokens").click()
    expect(page.get_by_role("region", name="Org-admin tokens")).to_contain_text("active")


def test_admin_node_pages_read_masked_and_name_their_controls(org, console):
    """DESIGN §12.1: the console always reads with `?secrets=masked` (the admin's node page too);
    the Locks page saves with a button named Save; the org tree is a region named Org tree."""
    org.add_node("sre")
    org.patch("sre", {"integrations": {"coralogix": {"api_key": "cxup-never-on-screen"}}})
    console.sign_in(org.admin_token())
    page = console.page
    expect(page.get_by_role("region", name="Org tree")).to_contain_text("sre")
    page.get_by_role("region", name="Org tree").get_by_role("link", name="sre").click()
    expect(console.leaf("/integrations/coralogix/api_key")).to_contain_text("********")
    reads = [r.url for r in console.requests if r.url.split("?")[0].endswith(("/effective", "/watch"))]
    assert reads and all("secrets=masked" in url for url in reads), reads
    assert "cxup-never-on-screen" not in page.content()
    page.get_by_role("link", name="Locks").click()
    page.get_by_label("Locked paths").fill("/model")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text("1 locked path")


def test_an_org_created_in_the_console_is_the_one_its_org_pages_open(make_org, console, server_keys):
    make_org("older")
    console.sign_in(server_keys["ADMIN_TOKEN"])
    page = console.page
    org_id = unique_id("fresh")
    page.get_by_label("Org ID").fill(org_id)
    page.get_by_role("button", name="Create org").click()
    expect(page.get_by_role("status").filter(has_text="created")).to_contain_text(org_id)
    page.get_by_role("link", name="Org tree").click()
    expect(page.locator("main h1")).to_have_text(org_id)
    page.get_by_label("Node ID").fill("team-a")
    page.get_by_role("button", name="Add node").click()
    expect(page.get_by_role("region", name="Org tree")).to_contain_text("team-a")
