"""A broken link gets the portal's own page in a browser, JSON for an API client."""

from __future__ import annotations


def test_a_browser_gets_the_not_found_page(client):
    page = client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<main" in page.text


def test_api_clients_and_api_paths_keep_json(client):
    assert client.get("/no/such/page").headers["content-type"] == "application/json"
    api = client.get("/api/v1/nothing", headers={"Accept": "text/html"})
    assert (api.status_code, api.json()["code"]) == (404, "not-found")
