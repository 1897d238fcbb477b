"""The portal's pages, rendered by the real app over a small catalog on SQLite and
PostgreSQL: what each page shows, to whom, at which address, and what it counts."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from statedata.catalog.vocab import HIGH_VALUE_CRITERIA
from statedata.metrics.usage import usage_totals

SECRET_TITLE = "Qwerty Protected Caseload"


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page's visible words, tags removed, entities decoded, spaces collapsed."""
    words = re.sub(r"<[^>]+>", " ", response.text)
    return re.sub(r"\s+", " ", html.unescape(words))


def test_home_shows_search_categories_agencies_and_recent_data(client: TestClient, portal):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = text_of(response)
    assert '<form class="search-form" action="/browse"' in response.text
    # Three datasets anyone may see: the towns, the deprecated one and the late one.
    assert "Health and Human Services 3 datasets" in page
    assert "Department of Public Health 3 datasets" in page
    assert "Cases by town" in page and "Clinic inspections" in page
    assert SECRET_TITLE not in response.text
    assert 'href="/metrics"' in response.text
    for landmark in ("<header", "<nav", "<main", "<footer", 'class="skip-link" href="#main"'):
        assert landmark in response.text


def test_home_shows_staff_their_agency_protected_data(client: TestClient, portal, staff):
    page = text_of(client.get("/", headers=staff))
    assert SECRET_TITLE in page
    assert "Health and Human Services 4 datasets" in page


def test_most_used_counts_page_views(client: TestClient, portal):
    assert "No dataset has been used" in client.get("/").text
    for _ in range(2):
        assert client.get(f"/d/{portal.towns}", follow_redirects=True).status_code == 200
    client.app.state.usage.flush()
    page = text_of(client.get("/"))
    assert "Most used" in page and "Cases by town 2 uses" in page


def test_short_address_redirects_to_the_data_ct_gov_address(client: TestClient, portal):
    response = client.get(f"/d/{portal.towns}")
    assert response.status_code == 301
    canonical = f"/Health-and-Human-Services/Cases-by-town/{portal.towns}"
    assert response.headers["location"] == canonical
    wrong = client.get(f"/Business/some-old-title/{portal.towns}?page=2")
    assert wrong.status_code == 301
    assert wrong.headers["location"] == canonical + "?page=2"
    assert client.get(canonical).status_code == 200


def test_dataset_page_reads_in_order_summary_publisher_freshness_dictionary(
    client: TestClient, portal
):
    response = client.get(f"/d/{portal.towns}", follow_redirects=True)
    assert response.status_code == 200
    page = text_of(response)
    order = [
        "How many cases each town reported, by day.",
        "6 rows in 5 columns, published by the Department of Public Health.",
        "Published by Department of Public Health",
        "Updated Weekly",
        "On time? Fresh On time. The next update is due by",
        "Look at the data",
        "What each column means",
        "Download",
        "Use this data in your code",
    ]
    positions = [page.find(words) for words in order]
    assert -1 not in positions, [w for w, p in zip(order, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    assert f"B: {HIGH_VALUE_CRITERIA['B']}" in page
    # The data dictionary lists every column by its API name.
    for name in ("town", "county", "cases", "rate", "reported"):
        assert f"<code>{name}</code>" in response.text


def test_dataset_page_links_every_download(client: TestClient, portal):
    response = client.get(f"/d/{portal.towns}", follow_redirects=True)
    for link in ("rows.csv", "rows.json", "rows.parquet"):
        href = f"/api/v1/datasets/{portal.towns}/{link}"
        assert f'href="{href}"' in response.text
        assert client.get(href).status_code == 200
    # No geometry, so no GeoJSON.
    assert ".geojson" not in response.text


def test_snippets_name_this_portal_and_the_dataset(client: TestClient, portal):
    response = client.get(f"/d/{portal.towns}", follow_redirects=True)
    page = html.unescape(response.text)
    assert f"curl 'http://testserver/resource/{portal.towns}.json?$limit=5'" in page
    assert 'client = Socrata("testserver", None)' in page
    assert 'client.uri_prefix = "http://"' in page
    assert f'read.socrata("http://testserver/resource/{portal.towns}.json")' in page


def test_protected_dataset_is_the_same_404_as_a_missing_one(client: TestClient, portal):
    missing = client.get("/d/zzzz-2222")
    assert missing.status_code == 404
    for path in (
        f"/d/{portal.secret}",
        f"/Health-and-Human-Services/Qwerty-Protected-Caseload/{portal.secret}",
        f"/Business/anything/{portal.secret}",
        f"/d/{portal.secret}/preview",
    ):
        hidden = client.get(path)
        assert hidden.status_code == 404, path
        assert hidden.text == missing.text
        assert "Qwerty" not in hidden.text and "location" not in hidden.headers


def test_staff_of_the_agency_see_the_protected_dataset_and_its_rows(
    client: TestClient, portal, staff
):
    response = client.get(f"/d/{portal.secret}", headers=staff, follow_redirects=True)
    assert response.status_code == 200
    assert SECRET_TITLE in response.text
    assert "qq-private-value" in response.text


def test_deprecated_dataset_shows_why_and_its_replacement(client: TestClient, portal):
    response = client.get(f"/d/{portal.old}", follow_redirects=True)
    page = text_of(response)
    assert "This dataset is no longer kept up to date (deprecated)." in page
    assert "Why: Counted in a way that was changed." in page
    assert "Use instead: Cases by town" in page
    assert f'href="/Health-and-Human-Services/Cases-by-town/{portal.towns}"' in response.text
    assert "No rows have been published yet." in page
    # An active dataset has no banner.
    assert 'class="notice"' not in client.get(f"/d/{portal.towns}", follow_redirects=True).text


def test_page_views_are_counted_per_dataset_per_day_and_not_as_api_calls(
    client: TestClient, portal
):
    for _ in range(3):
        client.get(f"/d/{portal.towns}", follow_redirects=True)
    client.get(f"/d/{portal.secret}")  # a 404 counts nothing
    client.get(f"/d/{portal.towns}/preview")  # the table's own requests are not views
    client.app.state.usage.flush()
    with portal.installation.catalog.session() as session:
        assert usage_totals(session, portal.towns) == {
            "api_call": 0,
            "download": 0,
            "page_view": 3,
        }
        assert sum(usage_totals(session, portal.secret).values()) == 0


def test_agency_page_scores_freshness_and_lists_late_datasets(client: TestClient, portal):
    response = client.get("/agencies/DPH")
    assert response.status_code == 200
    page = text_of(response)
    assert "3 datasets published by the Department of Public Health." in page
    assert "1 of 2 datasets with a schedule are on time" in page
    assert re.search(r"Fresh 1 ", page) and re.search(r"Stale 1 ", page)
    late = page[page.index("Late datasets") :]
    assert "Clinic inspections Weekly" in late
    assert SECRET_TITLE not in response.text
    assert client.get("/agencies/NOPE").status_code == 404
    assert "Department of Public Health" in client.get("/agencies").text


def test_glossary_explains_the_plan_s_words(client: TestClient):
    page = text_of(client.get("/glossary"))
    for term in (
        "Open data",
        "Public data",
        "Protected data",
        "Personal data",
        "Private data",
        "High-value data",
        "Data lifecycle",
        "Update frequency",
        "Metadata",
        "API",
    ):
        assert term in page, term
    for letter, criterion in HIGH_VALUE_CRITERIA.items():
        assert f"{letter}. {criterion}." in page
    for status in ("Fresh", "Due", "Overdue", "Stale", "No schedule", "Not updated"):
        assert status in page


def test_api_paths_still_answer_json(client: TestClient, portal):
    assert client.get("/api").json()["links"]["datasets"] == "/api/v1/datasets"
    assert client.get("/api/v1/nothing-here").json()["code"] == "not-found"
    assert client.get(f"/api/views/{portal.towns}.json").status_code == 200


def test_static_files_are_served_from_the_package(client: TestClient):
    css = client.get("/static/portal.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
    assert client.get("/static/portal.js").status_code == 200
