"""Browser support for the console's end-to-end tests (fixtures `browser`, `console`: a test
module imports `browser_fixture, console_fixture`) and
`make screenshots` (`chromium`, `sign_in`, `seed_demo`).

Playwright drives the machine's Debian `chromium` (Playwright's own browser download cannot work
here); `.ci/run` and the Makefile install it when it is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("chromium is not installed: `apt-get install -y chromium` (make test does it)")


@contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, base_url: str, token: str) -> None:
    """Open the console and sign in through its form (the way a person does)."""
    page.goto(base_url + "/ui/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


@dataclass
class Demo:
    """An org with a small tree, config on every level, a lock, a secret, routing and runs."""

    org_id: str
    team_token: str  # sre, with config:write
    reader_token: str  # sre, default scopes
    org_admin_token: str


def seed_demo(admin: httpx.Client, org_id: str) -> Demo:
    def ok(response: httpx.Response) -> dict:
        assert response.status_code in (200, 201, 204), response.text
        return response.json() if response.content else {}

    ok(admin.post("/admin/orgs", json={"org_id": org_id, "name": "Acme Corp"}))
    nodes = f"/admin/orgs/{org_id}/nodes"
    ok(admin.post(nodes, json={"node_id": "platform", "name": "Platform"}))
    ok(admin.post(nodes, json={"node_id": "sre", "parent_node_id": "platform", "name": "Site Reliability"}))
    ok(admin.post(nodes, json={"node_id": "sre-oncall", "parent_node_id": "sre", "name": "On-call"}))
    ok(admin.post(nodes, json={"node_id": "payments", "name": "Payments"}))

    def patch(node: str, config: dict, reason: str) -> None:
        ok(admin.patch(f"{nodes}/{node}/config", json={"config": config, "reason": reason}))

    patch(org_id, {
        "model": "gpt-4o",
        "agents": {"planner": {"model": "gpt-4o", "temperature": 0.2, "max_steps": 12},
                   "investigator": {"model": "gpt-4o-mini", "tools": ["logs", "metrics", "traces"]}},
        "tools": {"web_search": True, "think": True},
        "integrations": {"coralogix": {"api_key": "cxup_org_key_1234", "domain": "cx498.coralogix.com"}},
        "notifications": {"slack": {"channel": "#incidents"}},
    }, "org defaults")
    locks = {"locked_paths": ["/agents/planner/model"], "reason": "approved model"}
    ok(admin.put(f"{nodes}/{org_id}/locks", json=locks))
    patch("platform", {"tools": {"deploy": False}, "agents": {"planner": {"max_steps": 20}}}, "platform guardrails")
    patch("sre", {
        "tools": {"web_search": False, "deploy": True},
        "routing": {"slack_channel_ids": ["C0SRE"], "services": ["checkout", "payments-api"]},
        "integrations": {"coralogix": {"team_id": 50007}},
    }, "sre overrides")
    patch("sre", {
        "notifications": {"slack": {"channel": "#sre-alerts"}},
        "agents": {"investigator": {"tools": ["logs", "metrics", "traces", "k8s"]}},
    }, "k8s access for the investigator")
    patch("sre-oncall", {"agents": {"planner": {"temperature": 0.0}}}, "deterministic on-call planner")
    patch("payments", {"routing": {"github_repos": ["acme/payments"]}}, "payments routing")

    team = f"/admin/orgs/{org_id}/teams/sre/tokens"
    team_token = ok(admin.post(team, json={"description": "console (sre lead)",
                                          "scopes": ["config:read", "config:write", "runs:write"]}))["token"]
    reader_token = ok(admin.post(team, json={"description": "planner agent"}))["token"]
    admin_tokens = f"/admin/orgs/{org_id}/admin-tokens"
    org_admin_token = ok(admin.post(admin_tokens, json={"description": "platform team"}))["token"]

    with httpx.Client(base_url=str(admin.base_url), headers={"Authorization": f"Bearer {reader_token}"}) as agent:
        for name, status in (("planner", "success"), ("planner", "success"), ("investigator", "error"),
                             ("planner", "timeout"), ("investigator", "success"), ("planner", None)):
            run = ok(agent.post("/agent-runs", json={"agent_name": name, "input_message": "why is checkout slow?",
                                                     "trigger_source": "slack"}))
            if status:
                ok(agent.patch(f"/agent-runs/{run['id']}", json={"status": status, "output": "done"}))
    return Demo(org_id, team_token, reader_token, org_admin_token)


# ---- pytest fixtures for the console's tests (imported by tests/test_console_*.py) ----------

class Console:
    """One browser tab on the console, with what it saw: page errors, native dialogs, requests."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list = []
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("dialog", self._dialog)
        page.on("request", lambda request: self.requests.append(request))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def sign_in(self, token: str) -> None:
        sign_in(self.page, self.base_url, token)

    def open(self, hash_route: str) -> None:
        self.page.goto(f"{self.base_url}/ui/{hash_route}")

    def leaf(self, pointer: str):
        return self.page.locator(f'.tree li.leaf[data-path="{pointer}"]')

    def overflow(self) -> list[int]:
        """Widths: [document scroll, document client, main scroll, main client]."""
        return self.page.evaluate(
            "() => { const m = document.querySelector('main');"
            " return [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
            " m.scrollWidth, m.clientWidth]; }"
        )


# Module scope, not session: while a sync Playwright is open its event loop counts as running in
# this thread, and the suite's asyncio tests (asyncio.run, pytest-asyncio) could not run after it.
@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    with chromium() as launched:
        yield launched


@pytest.fixture(name="console")
def console_fixture(browser, server):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = Console(context.new_page(), server.url)
    yield tab
    context.close()
    assert tab.page_errors == [], tab.page_errors
