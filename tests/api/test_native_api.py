"""The native API over a real server on loopback: catalog, downloads, errors, OpenAPI."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pytest

from statedata.catalog import DatasetMetadata, service
from statedata.config import DEFAULT_CATEGORIES
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish

CSV = (
    "town,county,cases,rate,reported\n"
    "Andover,Tolland,3,1.25,2024-01-02\n"
    'Ansonia,"New Haven",12,,2024-01-03\n'
    "Avon,Hartford,7,0.5,2024-01-04\n"
)


@pytest.fixture
def published(installation, agency, write_file) -> str:
    path = write_file("towns.csv", CSV)
    metadata = DatasetMetadata(
        title="Cases by town",
        category="Health and Human Services",
        tags=["covid"],
        update_frequency="daily",
        row_identifier="town",
    )
    return publish(installation, open_table(path), new=NewDataset(metadata, agency)).dataset_id


@pytest.fixture
def protected(installation, agency, write_file) -> str:
    path = write_file("secret.csv", "person,diagnosis\nJane Roe,flu\n")
    metadata = DatasetMetadata(title="Case reports", classification="protected")
    return publish(installation, open_table(path), new=NewDataset(metadata, agency)).dataset_id


def test_health(http):
    assert http.get("/api/v1/health").json()["status"] == "ok"


def test_dataset_list_and_detail(http, published):
    listing = http.get("/api/v1/datasets").json()
    assert listing["total"] == 1
    summary = listing["results"][0]
    assert summary["id"] == published and summary["row_count"] == 3
    assert summary["update_frequency"] == {"code": "R/P1D", "name": "daily"}
    detail = http.get(f"/api/v1/datasets/{published}").json()
    assert [c["field_name"] for c in detail["columns"]] == [
        "town",
        "county",
        "cases",
        "rate",
        "reported",
    ]
    assert detail["versions"][0]["number"] == 1
    assert detail["downloads"]["csv"].endswith(f"/api/v1/datasets/{published}/rows.csv")
    assert detail["agency"]["code"] == "DPH"


def test_csv_download_is_identical_in_content(http, published):
    response = http.get(f"/api/v1/datasets/{published}/rows.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    downloaded = list(csv.reader(io.StringIO(response.text)))
    original = list(csv.reader(io.StringIO(CSV)))
    assert downloaded[0] == original[0]
    normalise = lambda rows: [
        [str(float(v)) if v.replace(".", "").isdigit() else v for v in r] for r in rows
    ]
    assert normalise(downloaded[1:]) == normalise(original[1:])


def test_json_download(http, published):
    rows = http.get(f"/api/v1/datasets/{published}/rows.json").json()
    assert rows[1] == {
        "town": "Ansonia",
        "county": "New Haven",
        "cases": 12,
        "rate": None,
        "reported": "2024-01-03",
    }


def test_parquet_download(http, published, tmp_path):
    response = http.get(f"/api/v1/datasets/{published}/rows.parquet")
    assert response.status_code == 200
    path = tmp_path / "d.parquet"
    path.write_bytes(response.content)
    rows = duckdb.connect().execute(f"SELECT town, cases FROM read_parquet('{path}')").fetchall()
    assert rows == [("Andover", 3), ("Ansonia", 12), ("Avon", 7)]
    columns = [
        d[0] for d in duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}')").description
    ]
    assert ":id" not in columns


def test_download_serves_the_new_version_after_publish(http, installation, published, write_file):
    publish(
        installation,
        open_table(
            write_file(
                "v2.csv", "town,county,cases,rate,reported\nBethel,Fairfield,1,1,2024-02-01\n"
            )
        ),
        dataset_id=published,
    )
    assert http.get(f"/api/v1/datasets/{published}/rows.json").json()[0]["town"] == "Bethel"


def test_non_public_dataset_is_not_served_anywhere(http, protected):
    for path in ("", "/rows.csv", "/rows.json", "/rows.parquet"):
        response = http.get(f"/api/v1/datasets/{protected}{path}")
        assert response.status_code == 404
        assert response.json()["code"] == "dataset.missing"
        assert "Jane" not in response.text and "diagnosis" not in response.text
    assert protected not in http.get("/api/v1/datasets").text
    assert protected not in http.get("/data.json").text
    assert http.get("/api/v1/agencies").json()["results"][0]["dataset_count"] == 0


def test_dataset_without_rows_says_so(http, installation, agency):
    with installation.catalog.session() as session:
        dataset_id = service.create_dataset(
            session, DatasetMetadata(title="Links only"), agency, DEFAULT_CATEGORIES
        ).id
    response = http.get(f"/api/v1/datasets/{dataset_id}/rows.csv")
    assert response.status_code == 404 and "no rows" in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/datasets/abcd-1234", 404, "dataset.missing"),
        ("/api/v1/datasets?limit=0", 400, "request.invalid"),
        ("/api/v1/datasets?limit=abc", 400, "request.invalid"),
        ("/no/such/page", 404, "not-found"),
    ],
)
def test_errors_are_json_with_code_and_message(http, path, status, code):
    response = http.get(path)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["message"]


def test_openapi_lists_the_routes(http):
    spec = http.get("/api/openapi.json").json()
    for path in (
        "/api/v1/datasets",
        "/api/v1/datasets/{dataset_id}",
        "/api/v1/agencies",
        "/api/v1/datasets/{dataset_id}/rows.csv",
        "/data.json",
    ):
        assert path in spec["paths"]
    json.dumps(spec)
