"""The tour of the README, end to end against a real server."""

from __future__ import annotations


def test_tour(org, admin):
    org.add_node("sre")
    assert org.patch(org.org_id, {"tools": {"think": True, "web_search": True}, "model": "gpt-4o"}).status_code == 200
    assert org.put("sre", {"tools": {"web_search": False}, "model": None}).status_code == 200
    with org.team_client("sre") as team:
        body = team.get("/config/me").json()
    assert body["effective_config"] == {"tools": {"think": True, "web_search": False}}
    assert body["hierarchy"] == [org.org_id, "sre"]


def test_health_ready_metrics(server, anon):
    import httpx

    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    metrics = httpx.get(server.url + "/metrics").text
    assert "config_service_http_requests_total" in metrics
