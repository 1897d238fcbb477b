"""GET /api/v1/search on a real server: the JSON shape, filters from repeated parameters,
what an API key opens, plain 400s, and the Discovery API's q going through the same search."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth_headers import basic_auth  # type: ignore[import-not-found]
from statedata.access.accounts import add_user, create_key
from statedata.catalog import DatasetMetadata, service

SECRET = "Zyxwv Protected Caseload"


@pytest.fixture
def world(installation):
    cats = installation.settings.categories
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOT", "Department of Transportation")
        made = {}
        for title, agency, category, tags, extra in [
            ("Restaurant Inspections", "DPH", "Health and Human Services", ["food"], {}),
            ("Food Recalls", "DPH", "Business", ["food"], {"high_value_criteria": ["F"]}),
            ("Traffic Crashes", "DOT", "Transportation", ["safety"], {}),
            (SECRET, "DPH", "Health and Human Services", ["food"], {"classification": "private"}),
        ]:
            metadata = DatasetMetadata(
                title=title,
                description=f"About {title.lower()} in every town.",
                category=category,
                tags=tags,
                update_frequency="R/P1M",
                **extra,
            )
            made[title] = service.create_dataset(session, metadata, agency, cats).id
        add_user(session, "dph.publisher", "publisher", "DPH")
        key, secret = create_key(session, "dph.publisher")
    return {"ids": made, "staff": basic_auth(f"{key.key_id}:{secret}")}


def test_search_answers_hits_facets_and_corrections(http, world):
    response = http.get("/api/v1/search", params={"q": "restuarant inspections"})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    assert body["corrected_query"] == "restaurant inspections"
    hit = body["hits"][0]
    assert hit["id"] == world["ids"]["Restaurant Inspections"]
    assert hit["url"] == f"/d/{hit['id']}"
    assert hit["agency"] == "DPH" and hit["agency_name"] == "Department of Public Health"
    assert hit["freshness"] == "fresh" and hit["update_frequency"] == "R/P1M"
    assert "<mark>inspections</mark>" in hit["snippet"]
    assert body["facets"]["agency"] == [
        {"value": "DPH", "label": "Department of Public Health", "count": 1}
    ]
    assert set(body["facets"]) == {
        "agency",
        "category",
        "tag",
        "frequency",
        "freshness",
        "classification",
        "high_value",
        "disaggregated_by",
    }


def test_filters_repeat_and_combine(http, world):
    body = http.get(
        "/api/v1/search", params=[("agency", "DPH"), ("agency", "DOT"), ("tag", "food")]
    ).json()
    assert {h["title"] for h in body["hits"]} == {"Restaurant Inspections", "Food Recalls"}
    body = http.get(
        "/api/v1/search", params={"high_value": "yes", "frequency": "monthly", "sort": "title"}
    ).json()
    assert [h["title"] for h in body["hits"]] == ["Food Recalls"]
    body = http.get("/api/v1/search", params={"sort": "title", "page": 2, "page_size": 2}).json()
    assert body["total"] == 3 and [h["title"] for h in body["hits"]] == ["Traffic Crashes"]


def test_a_private_dataset_is_found_only_by_its_agency(http, world):
    anonymous = http.get("/api/v1/search", params={"q": "zyxwv"}).json()
    assert anonymous["total"] == 0 and anonymous["hits"] == []
    assert "zyxwv" not in http.get("/api/v1/search", params={"q": "zyxwv"}).text.lower()
    everything = http.get("/api/v1/search").json()
    assert {f["value"]: f["count"] for f in everything["facets"]["tag"]} == {"food": 2, "safety": 1}
    staff = http.get("/api/v1/search", params={"q": "zyxwv"}, headers=world["staff"]).json()
    assert [h["title"] for h in staff["hits"]] == [SECRET]
    assert staff["hits"][0]["classification"] == "private"


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "newest"},
        {"page": "0"},
        {"page_size": "500"},
        {"page": "many"},
        {"frequency": "sometimes"},
        {"q": "x" * 501},
        {"page": "200", "page_size": "100"},
    ],
)
def test_bad_requests_get_a_plain_400(http, world, params):
    response = http.get("/api/v1/search", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] and body["message"]


@pytest.mark.parametrize("q", ['title:"x', "(((", "a AND OR NOT", "*", "\\", "é~2^3", "-+"])
def test_query_syntax_is_just_text(http, world, q):
    response = http.get("/api/v1/search", params={"q": q})
    assert response.status_code == 200, response.text


def test_discovery_api_q_uses_the_same_search(http, world):
    body = http.get("/api/catalog/v1", params={"q": "restaurants"}).json()
    assert [r["resource"]["name"] for r in body["results"]] == ["Restaurant Inspections"]
    body = http.get("/api/catalog/v1", params={"q": "restuarant"}).json()
    assert [r["resource"]["name"] for r in body["results"]] == ["Restaurant Inspections"]
    body = http.get("/api/catalog/v1", params={"q": "zyxwv"}).json()
    assert body["resultSetSize"] == 0


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.text(max_size=80),
    sort=st.sampled_from(["relevance", "updated", "title", "views", "newest", ""]),
    tag=st.text(max_size=20),
)
def test_random_text_never_gets_a_500(http, world, q, sort, tag):
    response = http.get("/api/v1/search", params={"q": q, "sort": sort, "tag": tag})
    assert response.status_code in (200, 400), response.text
    assert response.json()["code" if response.status_code == 400 else "total"] is not None
