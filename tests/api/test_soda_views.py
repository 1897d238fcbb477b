"""Socrata's metadata doors, driven by the real sodapy client: view metadata and the
Discovery API (`datasets()`, paged by resultSetSize)."""

from __future__ import annotations

import pytest
from sodapy import Socrata

from statedata.catalog import DatasetMetadata, service
from statedata.config import DEFAULT_CATEGORIES
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish


@pytest.fixture
def client(live_server):
    domain = live_server.url.removeprefix("http://")
    socrata = Socrata(domain, None, timeout=30)
    socrata.uri_prefix = "http://"
    yield socrata
    socrata.close()


@pytest.fixture
def catalog(installation, agency, write_file) -> str:
    with installation.catalog.session() as session:
        for i in range(7):
            service.create_dataset(
                session,
                DatasetMetadata(
                    title=f"School enrollment {2015 + i}",
                    category="Education",
                    tags=["schools"],
                    description="Students enrolled by district.",
                ),
                agency,
                DEFAULT_CATEGORIES,
            )
        service.create_dataset(
            session,
            DatasetMetadata(title="Secret", classification="private"),
            agency,
            DEFAULT_CATEGORIES,
        )
    metadata = DatasetMetadata(
        title="Cases by town",
        category="Health and Human Services",
        tags=["covid"],
        update_frequency="daily",
        description="Daily cases.",
    )
    path = write_file("towns.csv", "town,cases\nAndover,3\nAvon,7\n")
    return publish(installation, open_table(path), new=NewDataset(metadata, agency)).dataset_id


def test_get_metadata(client, catalog):
    view = client.get_metadata(catalog)
    assert view["id"] == catalog and view["name"] == "Cases by town"
    assert view["attribution"] == "Department of Public Health"
    assert [(c["fieldName"], c["dataTypeName"]) for c in view["columns"]] == [
        ("town", "text"),
        ("cases", "number"),
    ]
    assert view["metadata"]["custom_fields"]["Publishing Details"]["Update Frequency"] == "Daily"
    assert (
        view["metadata"]["custom_fields"]["Basic Descriptive"]["Agency"]
        == "Department of Public Health"
    )
    assert isinstance(view["rowsUpdatedAt"], int) and isinstance(view["viewLastModified"], int)


def test_datasets_pages_through_the_whole_catalog(client, catalog):
    everything = client.datasets(limit=3)
    assert len(everything) == 3
    titles = sorted(r["resource"]["name"] for r in client.datasets())
    assert len(titles) == 8 and "Secret" not in titles


def test_datasets_filters(client, catalog):
    by_category = client.datasets(categories=["Education"])
    assert len(by_category) == 7
    by_query = client.datasets(q="cases")
    assert [r["resource"]["id"] for r in by_query] == [catalog]
    by_ids = client.datasets(ids=[catalog])
    assert by_ids[0]["resource"]["columns_field_name"] == ["town", "cases"]
    assert client.datasets(attribution="Department of Public Health", tags=["covid"])[0][
        "permalink"
    ].endswith(catalog)


def test_non_public_view_is_missing(http, installation, agency):
    with installation.catalog.session() as session:
        hidden = service.create_dataset(
            session,
            DatasetMetadata(title="Secret", classification="protected"),
            agency,
            DEFAULT_CATEGORIES,
        ).id
    for path in (f"/api/views/{hidden}.json", f"/api/views/metadata/v1/{hidden}"):
        response = http.get(path)
        assert response.status_code == 404 and response.json()["code"] == "dataset.missing"
    assert hidden not in http.get("/api/views/metadata/v1").text


def test_bad_catalog_order_is_a_400(http):
    response = http.get("/api/catalog/v1", params={"order": "colour"})
    assert response.status_code == 400 and "Cannot order by 'colour'" in response.json()["message"]
