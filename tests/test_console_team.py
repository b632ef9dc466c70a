"""The web console in a real browser (Chromium driven by Playwright), as a team uses it: sign-in,
the provenance tree, edit → preview → save, locks, stale writes, history and rollback, live
updates, integrations, runs — and that values are always text, never markup."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import browser_fixture, console_fixture  # noqa: F401 - the fixtures "browser", "console"

pytestmark = pytest.mark.slow

TOKEN_KEY = "config-service.token"


def _lock(org, node: str, paths: list[str]) -> None:
    response = org.admin.put(org.node_path(node) + "/locks", json={"locked_paths": paths})
    assert response.status_code == 200, response.text


def _writer(org, node: str = "sre") -> str:
    return org.token(node, ["config:read", "config:write"])


def test_team_signs_in_and_sees_where_each_value_comes_from(org, console):
    org.patch(org.org_id, {"model": "gpt-4o", "tools": {"think": True, "web_search": True}})
    _lock(org, org.org_id, ["/model"])
    org.add_node("sre")
    org.patch("sre", {"tools": {"web_search": False, "deploy": True}})
    token = org.token("sre")  # default scopes: config:read secrets:read runs:write
    console.sign_in(token)
    page = console.page
    expect(page.get_by_role("link", name="Effective config")).to_have_attribute("aria-current", "page")
    expect(page.locator(".who")).to_contain_text("team")
    expect(page.get_by_role("region", name="Effective config")).to_be_visible()
    model = console.leaf("/model")
    expect(model).to_contain_text('"gpt-4o"')
    expect(model).to_contain_text(f"{org.org_id} · v2")
    expect(model).to_contain_text(f"locked by {org.org_id}")
    expect(console.leaf("/tools/deploy")).to_contain_text("own · v2")
    web_search = console.leaf("/tools/web_search")
    expect(web_search).to_contain_text("false")
    expect(web_search).to_contain_text(f"overrides {org.org_id} = true")
    # without config:write the editor is not offered
    expect(page.get_by_role("button", name="Edit")).to_be_disabled()

    # the token lives in this tab's sessionStorage only: no cookie, no URL, no localStorage
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == token
    assert page.context.cookies() == []
    assert page.evaluate("localStorage.length") == 0
    api_calls = [r for r in console.requests if "/api/v1/" in r.url]
    assert api_calls
    for request in console.requests:
        assert token not in request.url
    for request in api_calls:
        assert request.headers.get("authorization") == f"Bearer {token}", request.url
    # every read of the effective config asks for it masked
    reads = [r.url for r in api_calls if "/config/me/effective" in r.url or "/config/me/watch" in r.url]
    assert reads and all("secrets=masked" in url for url in reads), reads


def test_sign_out_forgets_the_token(org, console):
    org.add_node("sre")
    console.sign_in(org.token("sre"))
    page = console.page
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Token")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_bad_token_is_refused_with_a_message(console):
    page = console.page
    console.open("")
    page.get_by_label("Token").fill("nope.nope.nope")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None


def test_edit_preview_then_save(org, console):
    org.add_node("sre")
    org.add_node("sre-child", "sre")
    org.patch("sre", {"model": "a", "tools": {"x": 1}})
    console.sign_in(_writer(org))
    page = console.page
    page.get_by_role("button", name="Edit").click()
    editor = page.locator("textarea")
    expect(editor).to_have_value(json.dumps({"model": "a", "tools": {"x": 1}}, indent=2) + "\n")

    editor.fill('{"model": ')  # invalid JSON is refused before anything is sent
    expect(page.get_by_text("Invalid JSON")).to_be_visible()
    expect(page.get_by_role("button", name="Preview")).to_be_disabled()
    expect(page.get_by_role("button", name="Save")).to_be_disabled()
    editor.fill("[1, 2]")
    expect(page.get_by_text("must be a JSON object")).to_be_visible()

    editor.fill('{"model": "b", "tools": {"x": 1}, "extra": true}')
    page.get_by_role("button", name="Save").click()  # nothing is saved unseen: Save shows the preview first
    preview = page.get_by_role("region", name="Preview of the change")
    expect(preview).to_be_visible()
    expect(page.get_by_text("Check the preview below, then Save to apply it.")).to_be_visible()
    assert org.own("sre")["version"] == 2
    page.get_by_role("button", name="Preview").click()
    expect(preview).to_contain_text("/model")
    expect(preview).to_contain_text('"b"')
    expect(preview).to_contain_text("/extra")
    expect(preview.locator(".blast")).to_contain_text("sre-child")  # the blast radius names the descendant
    expect(preview.locator(".blast")).to_contain_text("2 of 2 nodes in this subtree change")
    assert org.own("sre")["version"] == 2  # a preview writes nothing

    page.get_by_text("Add a reason").click()
    page.get_by_label("Reason (optional)").fill("try model b")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text("version 3")
    own = org.own("sre")
    assert own["version"] == 3
    assert own["config"] == {"model": "b", "tools": {"x": 1}, "extra": True}
    expect(console.leaf("/model")).to_contain_text('"b"')
    history = org.admin.get(org.node_path("sre") + "/history").json()["items"]
    assert history[0]["reason"] == "try model b"


def test_a_lock_blocks_a_team_edit_and_names_the_path(org, console):
    org.patch(org.org_id, {"agents": {"planner": {"model": "approved"}}})
    _lock(org, org.org_id, ["/agents/planner/model"])
    org.add_node("sre")
    console.sign_in(_writer(org))
    page = console.page
    page.get_by_role("button", name="Edit").click()
    page.locator("textarea").fill('{"agents": {"planner": {"model": "mine"}}}')
    page.get_by_role("button", name="Preview").click()
    refused = page.get_by_role("region", name="Preview of the change").get_by_role("alert")
    expect(refused).to_contain_text("locked_path")
    expect(refused).to_contain_text("/agents/planner/model")
    page.get_by_role("button", name="Save").click()
    error = page.locator(".editor-result").get_by_role("alert")
    expect(error).to_contain_text("/agents/planner/model")
    expect(error).to_contain_text("locked")
    assert org.own("sre")["version"] == 1  # nothing was written


def test_a_concurrent_change_says_to_reload(org, console):
    org.add_node("sre")
    org.patch("sre", {"model": "a"})
    console.sign_in(_writer(org))
    page = console.page
    page.get_by_role("button", name="Edit").click()
    page.locator("textarea").fill('{"model": "mine"}')
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="Preview of the change")).to_be_visible()
    assert org.patch("sre", {"model": "theirs"}).status_code == 200  # someone else, meanwhile
    page.get_by_role("button", name="Save").click()
    error = page.locator(".editor-result").get_by_role("alert")
    expect(error).to_contain_text("precondition_failed")
    expect(error).to_contain_text("reload")
    assert org.own("sre")["config"] == {"model": "theirs"}  # their change was not overwritten
    error.get_by_role("button", name="Reload").click()
    expect(page.locator("textarea")).to_have_value(json.dumps({"model": "theirs"}, indent=2) + "\n")


def test_history_shows_each_diff_and_rollback_asks_first(org, console):
    org.add_node("sre")
    org.patch("sre", {"model": "a"}, reason="first model")
    org.patch("sre", {"model": "b"})
    console.sign_in(_writer(org))
    page = console.page
    page.get_by_role("link", name="History").click()
    versions = page.locator("li.version")
    expect(versions).to_have_count(3)
    v2 = page.locator('li.version[data-version="2"]')
    expect(v2).to_contain_text("/model")
    expect(v2).to_contain_text('"a"')
    expect(v2).to_contain_text("first model")
    expect(page.locator('li.version[data-version="3"]')).to_contain_text("current")

    v2.get_by_role("button", name="Rollback").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Rollback to version 2?")
    expect(dialog).to_contain_text("/model")  # what the rollback would change, before confirming
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert org.own("sre")["version"] == 3

    v2.get_by_role("button", name="Rollback").click()
    page.get_by_role("button", name="Rollback").first.click()  # the page behind the dialog is hidden
    expect(page.get_by_role("status").filter(has_text="Rolled back")).to_contain_text("version 4")
    own = org.own("sre")
    assert own["version"] == 4 and own["config"] == {"model": "a"}
    expect(versions).to_have_count(4)

    page.get_by_label("From version").fill("2")
    page.get_by_label("To version").fill("3")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".compare-result")).to_contain_text('"b"')


def test_history_has_one_rollback_control_for_the_chosen_version(org, console):
    org.add_node("sre")
    for model in ("a", "b", "c"):
        org.patch("sre", {"model": model})
    console.sign_in(_writer(org))
    page = console.page
    page.get_by_role("link", name="History").click()
    expect(page.locator("li.version")).to_have_count(4)
    # DESIGN §12.1 names one "Rollback" control: by default it rolls back to the version before the current
    rollback = page.get_by_role("button", name="Rollback", exact=True)
    expect(rollback).to_have_count(1)
    expect(page.locator('li.version[data-version="3"]').get_by_role("button", name="Rollback")).to_be_visible()
    # choosing an older version moves the control there
    page.get_by_role("button", name="v2", exact=True).click()
    expect(page.get_by_role("button", name="v2", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(rollback).to_have_count(1)
    page.get_by_role("button", name="Rollback", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Rollback to version 2?")
    dialog.get_by_role("button", name="Rollback").click()
    expect(page.get_by_role("status").filter(has_text="Rolled back")).to_contain_text("version 5")
    own = org.own("sre")
    assert own["version"] == 5 and own["config"] == {"model": "a"}
    expect(page.locator("li.version")).to_have_count(5)
    expect(page.get_by_role("button", name="Rollback", exact=True)).to_have_count(1)


def test_config_values_are_text_never_markup(org, console):
    org.add_node("sre")
    payload = '<img src=x onerror="window.__xss=1;alert(1)">'
    org.patch("sre", {"note": payload, "<script>window.__xss=2</script>": "<b>bold</b>"})
    console.sign_in(_writer(org))
    page = console.page
    expect(page.get_by_text(json.dumps(payload))).to_be_visible()
    expect(page.get_by_text("<script>window.__xss=2</script>")).to_be_visible()
    page.get_by_role("button", name="Edit").click()
    page.locator("textarea").fill(json.dumps({"note": payload + "!", "<script>window.__xss=2</script>": "<b>x</b>"}))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="Preview of the change")).to_contain_text("onerror")
    page.get_by_role("link", name="History").click()
    expect(page.locator('li.version[data-version="2"]')).to_contain_text("onerror")
    assert page.locator("main img, main script, main b").count() == 0
    assert page.evaluate("window.__xss") is None
    assert console.dialogs == []


def test_a_change_made_elsewhere_appears_without_a_reload(org, console):
    org.add_node("sre")
    org.patch("sre", {"model": "before"})
    console.sign_in(org.token("sre"))
    page = console.page
    expect(page.locator(".live-pill")).to_have_text("live")
    expect(console.leaf("/model")).to_contain_text('"before"')
    page.evaluate("window.__marker = 'same page'")
    assert org.patch("sre", {"model": "after", "added": 1}).status_code == 200  # another client
    expect(console.leaf("/model")).to_contain_text('"after"')
    expect(console.leaf("/added")).to_contain_text("1")
    expect(page.locator(".meta")).to_contain_text("own version 3")
    assert page.evaluate("window.__marker") == "same page"
    # an ancestor's change reaches the team's page too
    org.patch(org.org_id, {"from_root": "yes"})
    expect(console.leaf("/from_root")).to_contain_text(f"{org.org_id} · v2")


def test_a_revoked_token_returns_to_the_sign_in_page(org, console):
    org.add_node("sre")
    console.sign_in(org.token("sre"))
    page = console.page
    expect(page.locator(".live-pill")).to_have_text("live")
    token_id = org.admin.get(f"/admin/orgs/{org.org_id}/tokens").json()["items"][0]["id"]
    revoked = org.admin.post(f"/admin/orgs/{org.org_id}/teams/sre/tokens/{token_id}/revoke")
    assert revoked.status_code == 204
    expect(page.get_by_role("status").filter(has_text="no longer accepted")).to_be_visible()
    expect(page.get_by_label("Token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_integration_form_writes_secrets_it_never_shows(org, console, server):
    org.add_node("sre")
    token = _writer(org)
    console.sign_in(token)
    page = console.page
    page.get_by_role("link", name="Integrations").click()
    coralogix = page.locator('details.integration[data-id="coralogix"]')
    expect(coralogix).to_contain_text("not configured")
    coralogix.locator("summary").click()
    expect(coralogix.get_by_label("API Key")).to_have_attribute("type", "password")
    expect(coralogix.get_by_label("Team ID")).to_have_attribute("type", "number")
    coralogix.get_by_label("Domain").fill("cx498.coralogix.com")
    coralogix.get_by_role("button", name="Save Coralogix").click()
    expect(coralogix).to_contain_text("incomplete")  # the key, required, is still missing
    coralogix.get_by_label("API Key").fill("cxup-secret-4242")
    coralogix.get_by_label("Team ID").fill("1.5")  # not an integer: the service's 422, next to the field
    coralogix.get_by_role("button", name="Save Coralogix").click()
    team_id_field = coralogix.locator(".field").filter(has=page.get_by_label("Team ID"))
    expect(team_id_field.locator(".field-error")).to_contain_text("team_id")
    assert "api_key" not in org.own("sre")["config"]["integrations"]["coralogix"]  # nothing written
    coralogix.get_by_label("Team ID").fill("")
    coralogix.get_by_role("button", name="Save Coralogix").click()
    expect(coralogix.locator("summary")).to_contain_text("configured")
    expect(coralogix).to_contain_text("set")
    assert "cxup-secret-4242" not in page.content()
    own = org.own("sre")["config"]["integrations"]["coralogix"]
    assert own == {"domain": "cx498.coralogix.com", "api_key": "********"}
    with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {org.token('sre')}"}) as agent:
        plain = agent.get("/config/me").json()["effective_config"]
    assert plain["integrations"]["coralogix"]["api_key"] == "cxup-secret-4242"


def test_agent_runs_with_stats(org, console):
    org.add_node("sre")
    token = org.token("sre")
    with org.client(token) as agent:
        first = agent.post("/agent-runs", json={"agent_name": "planner"}).json()
        agent.patch(f"/agent-runs/{first['id']}", json={"status": "success"})
        agent.post("/agent-runs", json={"agent_name": "investigator"})
    console.sign_in(token)
    page = console.page
    page.get_by_role("link", name="Agent runs").click()
    stats = page.locator(".stats")
    expect(stats.locator(".stat").first).to_contain_text("2")
    expect(stats).to_contain_text("success")
    runs = page.get_by_role("region", name="Agent runs")
    expect(runs).to_contain_text("planner")
    expect(runs).to_contain_text("investigator")
    expect(runs).to_contain_text("running")


def test_every_leaf_shows_at_once_with_the_node_that_set_it_and_its_lock(org, console):
    """DESIGN §12.1: every leaf shows the node that set it and a lock badge — without a click
    first, however deep it sits (the tree is collapsible, not collapsed)."""
    org.patch(org.org_id, {"agents": {"planner": {"model": "gpt-4o", "limits": {"max_steps": 12}}}})
    _lock(org, org.org_id, ["/agents/planner/model"])
    org.add_node("sre")
    org.patch("sre", {"agents": {"planner": {"temperature": 0.1}}})
    console.sign_in(org.token("sre"))
    page = console.page
    model = console.leaf("/agents/planner/model")
    expect(model).to_be_visible()
    expect(model.get_by_text(f"locked by {org.org_id}")).to_be_visible()
    expect(page.get_by_text("locked by")).to_have_count(1)  # the one lock badge; nothing else reads alike
    expect(console.leaf("/agents/planner/limits/max_steps")).to_be_visible()
    temperature = console.leaf("/agents/planner/temperature")
    expect(temperature).to_be_visible()
    expect(temperature).to_contain_text("sre · own · v2")  # its own value names the node too
    # a branch that appears later (a live change) shows open as well
    org.patch(org.org_id, {"agents": {"writer": {"prompt": {"style": "terse"}}}})
    expect(console.leaf("/agents/writer/prompt/style")).to_be_visible()
    # and the tree still folds
    page.get_by_role("button", name="Collapse all").click()
    expect(model).to_be_hidden()
    page.locator('li.branch[data-path="/agents"] > details > summary').click()
    page.locator('li.branch[data-path="/agents/planner"] > details > summary').click()
    expect(model).to_be_visible()
    expect(console.leaf("/agents/planner/limits/max_steps")).to_be_hidden()
    page.get_by_role("button", name="Expand all").click()
    expect(console.leaf("/agents/planner/limits/max_steps")).to_be_visible()


def test_the_json_editor_is_the_one_textbox_while_editing(org, console):
    """A test (or a screen reader's form mode) that asks for "the textbox" finds the JSON editor;
    the optional reason is one click further."""
    org.add_node("sre")
    org.patch("sre", {"model": "a"})
    console.sign_in(_writer(org))
    page = console.page
    page.get_by_role("button", name="Edit").click()
    page.get_by_role("textbox").fill('{"model": "b"}')
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="Preview of the change")).to_contain_text('"b"')
    page.get_by_text("Add a reason").click()
    page.get_by_label("Reason (optional)").fill("why not")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text("version 3")
    assert org.admin.get(org.node_path("sre") + "/history").json()["items"][0]["reason"] == "why not"
