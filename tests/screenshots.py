"""`make screenshots`: PNGs of the console's main pages, from a real server with demo data.

    python -m tests.screenshots docs/ui

Starts its own server (production mode, fresh keys) on a database of its own — the embedded
PostgreSQL, or the server named by DATABASE_URL — seeds a demo org and drives Chromium through the
console as a person would. Nothing else is written: the database is dropped afterwards.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import httpx

from config_service import bootstrap
from tests.browser import chromium, seed_demo, sign_in
from tests.support import ServerProcess, admin_database_url, clean_env, create_database, drop_database, new_keys

WIDE = {"width": 1280, "height": 860}
NARROW = {"width": 390, "height": 844}


def capture(out: Path, base_url: str, admin_token: str, org_id: str, team_token: str) -> list[Path]:
    saved: list[Path] = []
    with chromium() as browser:
        context = browser.new_context(viewport=WIDE, device_scale_factor=1)
        page = context.new_page()

        def shot(name: str, full_page: bool = True) -> None:
            page.evaluate("window.scrollTo(0, 0)")  # a sticky header would otherwise land mid-page
            page.mouse.move(0, 0)  # no hover highlight on the last button clicked
            page.wait_for_timeout(250)  # let the last paint settle
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=full_page)
            saved.append(path)

        page.goto(base_url + "/ui/")
        page.get_by_role("button", name="Sign in").wait_for()
        shot("sign-in", full_page=False)

        sign_in(page, base_url, team_token)
        page.locator(".live-pill[data-state=live]").wait_for()
        page.get_by_role("button", name="Expand all").click()
        shot("team-config")

        page.get_by_role("button", name="Collapse all").click()
        page.get_by_role("button", name="Edit").click()
        editor = page.locator("textarea")
        own = json.loads(editor.input_value())
        own["tools"]["web_search"] = True
        own["agents"]["planner"] = {"temperature": 0.1}
        own["model"] = "gpt-4.1"
        editor.fill(json.dumps(own, indent=2))
        page.get_by_text("Add a reason").click()
        page.get_by_label("Reason (optional)").fill("try gpt-4.1 for the sre agents")
        page.get_by_role("button", name="Preview").click()
        page.get_by_role("region", name="Preview of the change").wait_for()
        page.locator(".blast-node").first.locator("summary").click()
        shot("team-preview")

        page.get_by_role("link", name="History").click()
        page.locator("li.version").first.wait_for()
        shot("team-history")

        page.get_by_role("link", name="Integrations").click()
        page.locator('details.integration[data-id="coralogix"] summary').click()
        shot("team-integrations", full_page=False)

        page.set_viewport_size(NARROW)
        page.get_by_role("link", name="Effective config").click()
        page.locator(".tree-root").wait_for()
        shot("team-config-narrow", full_page=False)
        page.set_viewport_size(WIDE)

        page.get_by_role("button", name="Sign out").click()
        sign_in(page, base_url, admin_token)
        page.goto(f"{base_url}/ui/#/orgs/{org_id}/tree")
        page.locator("li[data-node]").first.wait_for()
        shot("admin-tree", full_page=False)

        page.get_by_role("link", name="Tokens").click()
        page.locator("table").first.wait_for()
        shot("admin-tokens")

        page.get_by_role("link", name="Audit").click()
        page.locator("table").first.wait_for()
        shot("admin-audit", full_page=False)
        context.close()
    return saved


def main(out_dir: str = "docs/ui") -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pg_admin = admin_database_url()
    database = create_database(pg_admin, prefix="cs_screens")
    server = None
    try:
        bootstrap.upgrade(database)
        keys = new_keys()
        env = clean_env() | keys | {
            "CONFIG_SERVICE_ENV": "production", "DATABASE_URL": database, "LOG_LEVEL": "WARNING",
        }
        log = Path(tempfile.mkdtemp(prefix="cs-screens-")) / "server.log"
        server = ServerProcess(env=env, log_path=log).start()
        with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {keys['ADMIN_TOKEN']}"}) as admin:
            demo = seed_demo(admin, "acme")
        for path in capture(out, server.url, keys["ADMIN_TOKEN"], demo.org_id, demo.team_token):
            print(path)
    finally:
        if server is not None:
            server.stop()
        drop_database(pg_admin, database)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
