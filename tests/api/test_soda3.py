"""SODA 3: a SoQL statement in a JSON body, paged in a total order; CSV export; an app token or
API key required."""

from __future__ import annotations

import csv
import io

import pytest

from statedata.access.accounts import add_user
from statedata.catalog import DatasetMetadata
from statedata.catalog.models import AppToken
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish

TOKEN = {"X-App-Token": "test-app"}


@pytest.fixture(autouse=True)
def registered_token(installation):
    """The app token the tests send, registered as a developer would register it."""
    with installation.catalog.session() as session:
        developer = add_user(session, "app.developer", "analyst")
        session.add(AppToken(token="test-app", user=developer, name="Tests"))


@pytest.fixture
def towns(installation, agency, write_file) -> str:
    lines = ["town,cases"] + [f"T{i:03d},{i % 7}" for i in range(250)]
    path = write_file("t.csv", "\n".join(lines) + "\n")
    return publish(
        installation, open_table(path), new=NewDataset(DatasetMetadata(title="T"), agency)
    ).dataset_id


def test_query_pages_cover_every_row_once(http, towns):
    seen = []
    for number in range(1, 5):
        body = {
            "query": "SELECT town WHERE cases > 2",
            "page": {"pageNumber": number, "pageSize": 50},
        }
        response = http.post(f"/api/v3/views/{towns}/query.json", json=body, headers=TOKEN)
        assert response.status_code == 200, response.text
        seen += [r["town"] for r in response.json()]
    expected = [f"T{i:03d}" for i in range(250) if i % 7 > 2]
    assert seen == expected  # :id order, no row twice, none missed


def test_synthetic_fields_and_statement_limits(http, towns):
    body = {
        "query": "SELECT town, cases ORDER BY cases DESC, town LIMIT 3",
        "includeSynthetic": True,
    }
    rows = http.post(f"/api/v3/views/{towns}/query.json", json=body, headers=TOKEN).json()
    assert [r["town"] for r in rows] == ["T006", "T013", "T020"]
    everything = http.post(
        f"/api/v3/views/{towns}/query.json", json={"includeSynthetic": True}, headers=TOKEN
    ).json()
    assert ":id" in everything[0] and len(everything) == 250


def test_export_csv(http, towns):
    response = http.get(
        f"/api/v3/views/{towns}/export.csv",
        params={"query": "SELECT town WHERE cases = 0"},
        headers=TOKEN,
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["town"] and len(rows) == 1 + len([i for i in range(250) if i % 7 == 0])
    posted = http.post(
        f"/api/v3/views/{towns}/export.csv", json={"query": "SELECT count(*) AS n"}, headers=TOKEN
    )
    assert posted.text.splitlines() == ["n", "250"]


def test_anonymous_soda3_is_refused(http, towns):
    response = http.post(f"/api/v3/views/{towns}/query.json", json={"query": "SELECT *"})
    assert response.status_code == 401 and response.json()["code"] == "authentication.required"
    assert http.get(f"/api/v3/views/{towns}/export.csv").status_code == 401


def test_bad_statement_and_page(http, towns):
    bad = http.post(
        f"/api/v3/views/{towns}/query.json", json={"query": "SELECT nope"}, headers=TOKEN
    )
    assert bad.status_code == 400 and bad.json()["code"] == "query.soql.no-such-column"
    big = http.post(
        f"/api/v3/views/{towns}/query.json",
        json={"page": {"pageNumber": 1, "pageSize": 10**6}},
        headers=TOKEN,
    )
    assert big.status_code == 400 and "pageSize" in big.json()["message"]
    malformed = http.post(
        f"/api/v3/views/{towns}/query.json",
        content=b"{",
        headers={**TOKEN, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400


def test_an_unregistered_app_token_is_refused(http, towns):
    answer = http.post(
        f"/api/v3/views/{towns}/query.json",
        json={"query": "SELECT town"},
        headers={"X-App-Token": "not-registered"},
    )
    assert answer.status_code == 403
    assert "not registered" in answer.json()["message"]
