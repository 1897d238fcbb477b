"""SODA 2.1 reads over a real server, driven by sodapy and plain HTTP, with every answer
compared to the same question asked of DuckDB directly."""

from __future__ import annotations

import csv
import io

import duckdb
import pytest
from sodapy import Socrata

from statedata.catalog import DatasetMetadata, service
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish
from statedata.storage.versions import version_rows_sql

TOWNS = [
    ("Andover", "Tolland", 3, 1.5, "2024-01-02"),
    ("Ansonia", "New Haven", 12, None, "2024-01-03"),
    ("Avon", "Hartford", 7, 0.25, "2024-01-04"),
    ("Bethel", "Fairfield", 0, 2.0, "2024-01-05"),
    ("Canton", "Hartford", 5, 3.75, "2024-02-01"),
]


@pytest.fixture
def towns(installation, agency, write_file) -> str:
    lines = ["town,county,cases,rate,reported"]
    for town, county, cases, rate, day in TOWNS * 300:  # 1,500 rows: more than one page
        lines.append(f"{town},{county},{cases},{'' if rate is None else rate},{day}")
    path = write_file("towns.csv", "\n".join(lines) + "\n")
    metadata = DatasetMetadata(title="Cases by town")
    return publish(installation, open_table(path), new=NewDataset(metadata, agency)).dataset_id


@pytest.fixture
def client(live_server):
    socrata = Socrata(live_server.url.removeprefix("http://"), None, timeout=30)
    socrata.uri_prefix = "http://"
    yield socrata
    socrata.close()


def duck(installation, dataset_id: str, sql: str) -> list[tuple]:
    with installation.catalog.session() as session:
        version = service.get_dataset(session, dataset_id).current_version
        rows = version_rows_sql(installation, version)
    return duckdb.connect().execute(sql.replace("ROWS", f"({rows})")).fetchall()


def test_get_with_each_clause_matches_duckdb(client, installation, towns):
    got = client.get(
        towns,
        select="county, sum(cases) AS total",
        where="cases > 0",
        group="county",
        order="total DESC",
        **{"$having": "sum(cases) > 1000"},  # sodapy has no keyword for $having
    )
    expected = duck(
        installation,
        towns,
        "SELECT county, sum(cases) FROM ROWS WHERE cases > 0 "
        "GROUP BY county HAVING sum(cases) > 1000 ORDER BY 2 DESC",
    )
    assert [(r["county"], int(r["total"])) for r in got] == expected


def test_numbers_are_strings_and_nulls_left_out(client, towns):
    rows = client.get(towns, where="town = 'Ansonia'", limit=1)
    assert rows == [
        {
            "town": "Ansonia",
            "county": "New Haven",
            "cases": "12",
            "reported": "2024-01-03T00:00:00.000",
        }
    ]


def test_default_limit_and_stable_paging(client, installation, towns):
    assert len(client.get(towns)) == 1000
    everything = client.get_all(towns)
    assert len(list(everything)) == 1500
    page = client.get(towns, limit=10, offset=1490, select=":id, town")
    expected = duck(
        installation, towns, 'SELECT ":id", town FROM ROWS ORDER BY ":id" LIMIT 10 OFFSET 1490'
    )
    assert [(int(r[":id"]), r["town"]) for r in page] == expected


def test_simple_filters_and_q(client, towns):
    assert {r["town"] for r in client.get(towns, county="Hartford")} == {"Avon", "Canton"}
    assert {r["town"] for r in client.get(towns, q="haven")} == {"Ansonia"}


def test_whole_query(http, towns):
    response = http.get(
        f"/resource/{towns}.json",
        params={"$query": "SELECT town, cases WHERE cases >= 7 ORDER BY cases DESC, town LIMIT 2"},
    )
    assert response.status_code == 200
    assert response.json() == [
        {"town": "Ansonia", "cases": "12"},
        {"town": "Ansonia", "cases": "12"},
    ]


def test_csv_and_headers(http, towns):
    response = http.get(f"/resource/{towns}.csv", params={"$select": "town, rate", "$limit": 3})
    assert response.status_code == 200
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["town", "rate"],
        ["Andover", "1.5"],
        ["Ansonia", ""],
        ["Avon", "0.25"],
    ]
    assert response.headers["X-SODA2-Fields"] == '["town","rate"]'
    assert response.headers["X-SODA2-Types"] == '["text","number"]'
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Socrata-RequestId"]
    again = http.get(
        f"/resource/{towns}.csv",
        params={"$select": "town, rate", "$limit": 3},
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


def test_system_fields_on_request(client, towns):
    row = client.get(towns, limit=1, exclude_system_fields=False)[0]
    assert row[":id"] == "1" and row[":created_at"].endswith("Z")
    assert ":id" not in client.get(towns, limit=1)[0]


def test_one_row_by_id(http, towns):
    row = http.get(f"/resource/{towns}/2.json").json()
    assert row["town"] == "Ansonia"
    assert http.get(f"/resource/{towns}/999999.json").status_code == 404


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$where": "population > 5"}, "query.soql.no-such-column"),
        ({"$select": "frobnicate(town)"}, "query.soql.no-such-function"),
        ({"$select": "sum(town)"}, "query.soql.type-mismatch"),
        ({"$select": "town, count(*)"}, "query.soql.column-not-in-group-bys"),
        ({"$where": "cases >"}, "query.compiler.malformed"),
        ({"$limit": "50001"}, "query.too-many-rows"),
    ],
)
def test_bad_queries_get_socratas_error_shape(http, towns, params, code):
    response = http.get(f"/resource/{towns}.json", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and body["error"] is True and body["message"]


def test_unknown_dataset_and_protected_dataset(http, installation, agency, write_file):
    assert http.get("/resource/abcd-2345.json").json()["code"] == "dataset.missing"
    path = write_file("p.csv", "person,diagnosis\nJane Roe,flu\n")
    hidden = publish(
        installation,
        open_table(path),
        new=NewDataset(DatasetMetadata(title="P", classification="personal"), agency),
    ).dataset_id
    response = http.get(f"/resource/{hidden}.json", params={"$where": "diagnosis = 'flu'"})
    assert response.status_code == 404
    assert "Jane" not in response.text and "diagnosis" not in response.text


def test_sodapy_error_carries_the_message(client, towns):
    from requests.exceptions import HTTPError

    with pytest.raises(HTTPError, match="population"):
        client.get(towns, where="population > 5")


def test_geojson_and_within_box(http, installation, agency, write_file):
    import json

    features = [
        {
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        }
        for name, lon, lat in [
            ("Hartford", -72.68, 41.76),
            ("New Haven", -72.93, 41.31),
            ("Boston", -71.06, 42.36),
        ]
    ]
    path = write_file(
        "places.geojson", json.dumps({"type": "FeatureCollection", "features": features})
    )
    dataset_id = publish(
        installation, open_table(path), new=NewDataset(DatasetMetadata(title="Places"), agency)
    ).dataset_id
    inside = http.get(
        f"/resource/{dataset_id}.geojson",
        params={"$where": "within_box(geometry, 42.1, -73.8, 40.9, -71.7)"},
    )
    assert inside.status_code == 200, inside.text
    collection = inside.json()
    assert collection["type"] == "FeatureCollection"
    assert sorted(f["properties"]["name"] for f in collection["features"]) == [
        "Hartford",
        "New Haven",
    ]
    assert collection["features"][0]["geometry"]["type"] == "Point"
    as_csv = http.get(
        f"/resource/{dataset_id}.csv", params={"name": "Boston", "$select": "name, geometry"}
    )
    assert as_csv.text.splitlines() == ["name,geometry", "Boston,POINT (-71.06 42.36)"]
    as_json = http.get(f"/resource/{dataset_id}.json", params={"name": "Boston"}).json()
    assert as_json[0]["geometry"] == {"type": "Point", "coordinates": [-71.06, 42.36]}


INDEXED = [
    {"$where": "county='Hartford'", "$limit": "7", "$offset": "150"},
    {"$where": "county='Hartford' AND town='Avon'", "$order": ":id", "$offset": "20"},
    {"$q": "new haven", "$limit": "5", "$offset": "250"},
    {"$q": "AVON", "$limit": "3"},
    {"$limit": "4", "$offset": "1497"},
    {"$where": "county='Nowhere'"},
]


def test_answers_are_the_same_once_the_version_is_indexed(live_server, http, installation, towns):
    from statedata.storage.indexes import sidecar_path
    from statedata.storage.versions import version_path

    def ask() -> list:
        return [http.get(f"/resource/{towns}.json", params=p).json() for p in INDEXED]

    before = ask()
    engine = live_server.server.config.app.state.query_engine
    assert engine.indexes.wait(60)
    with installation.catalog.session() as session:
        version = service.get_dataset(session, towns).current_version
        assert sidecar_path(version_path(installation, version)).is_dir()
    assert ask() == before
    assert [len(rows) for rows in before] == [7, 280, 5, 3, 3, 0]
    again = http.get(f"/resource/{towns}.json", params={"$where": "county='Hartford'"})
    assert again.status_code == 200
    for offset in ("-1", "ten"):
        bad = http.get(f"/resource/{towns}.json", params={"$q": "avon", "$offset": offset})
        assert bad.status_code == 400 and bad.json()["code"] == "query.compiler.malformed"
