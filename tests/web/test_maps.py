"""The dataset page's map section: which columns locate a dataset, the places query (each place
once, with its rows), the sentence and table that stand in for the map, and no map at all for
a dataset without places or for a viewer who may not read the rows."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from statedata.api.app import create_app
from statedata.catalog import DatasetMetadata
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish
from statedata.web.maps import places_query

PLACES = [
    ("Hartford monitor", 41.7637, -72.6851),
    ("Hartford monitor", 41.7637, -72.6851),
    ("Hartford monitor", 41.7637, -72.6851),
    ("New Haven monitor", 41.3083, -72.9279),
    ("Groton monitor", 41.3501, -72.0787),
    ("Nowhere", None, -72.0),
    ("Off the planet", 123.0, -72.0),
]


@pytest.fixture
def monitors(installation, agency, write_file):  # type: ignore[no-untyped-def]
    lines = ["site,latitude,longitude,aqi"]
    lines += [f"{s},{'' if a is None else a},{o},40" for s, a, o in PLACES]
    path = write_file("monitors.csv", "\n".join(lines) + "\n")
    return publish(
        installation,
        open_table(path),
        new=NewDataset(
            DatasetMetadata(title="Air monitors", category="Environment and Natural Resources"),
            agency,
        ),
    ).dataset_id


def test_places_query_names_only_the_location_columns():
    from statedata.web.maps import Location

    params = places_query(Location("points", latitude="lat", longitude="lon", label="site"))
    assert params["$group"] == "`lat`, `lon`"
    assert "min(`site`) AS name" in params["$select"]
    assert set(re.findall(r"`([^`]*)`", " ".join(params.values()))) == {"lat", "lon", "site"}


def test_the_map_section_says_what_the_map_shows(installation, monitors):  # type: ignore[no-untyped-def]
    with TestClient(create_app(installation)) as client:
        page = client.get(f"/d/{monitors}", follow_redirects=True)
    assert page.status_code == 200
    summary = re.search(r'id="map-summary">(.*?)</p>', page.text).group(1)
    # The row without a latitude and the one off the planet are left out.
    assert summary.startswith("3 places are on the map (5 rows), between 41.31° N and 41.76° N")
    assert "The most rows are at Hartford monitor: 3." in summary
    table = re.search(r'<caption id="map-table-caption">.*?</table>', page.text, re.S).group(0)
    assert table.count("<tr>") == 4  # the header and three places
    source = re.search(r'data-source="([^"]*)"', page.text).group(1).replace("&amp;", "&")
    assert source.startswith(f"/resource/{monitors}.json?")
    with TestClient(create_app(installation)) as client:
        rows = client.get(source).json()
    assert (rows[0]["name"], rows[0]["n"]) == ("Hartford monitor", "3")


def test_no_map_without_places_or_without_access(client, portal, staff):  # type: ignore[no-untyped-def]
    towns = client.get(f"/d/{portal.towns}", follow_redirects=True)
    assert towns.status_code == 200 and 'id="map"' not in towns.text
    secret = client.get(f"/d/{portal.secret}", follow_redirects=True)
    assert 'id="map"' not in secret.text


def test_a_dataset_with_shapes_maps_its_geojson(installation, agency, write_file):  # type: ignore[no-untyped-def]
    square = [[[-72.7, 41.7], [-72.6, 41.7], [-72.6, 41.8], [-72.7, 41.8], [-72.7, 41.7]]]
    features = [
        {
            "type": "Feature",
            "properties": {"town": town},
            "geometry": {"type": "Polygon", "coordinates": square},
        }
        for town in ("Hartford", "West Hartford")
    ]
    path = write_file(
        "towns.geojson", json.dumps({"type": "FeatureCollection", "features": features})
    )
    dataset_id = publish(
        installation,
        open_table(path),
        new=NewDataset(DatasetMetadata(title="Town shapes", category="Government"), agency),
    ).dataset_id
    with TestClient(create_app(installation)) as client:
        page = client.get(f"/d/{dataset_id}", follow_redirects=True)
        assert "2 features with a place on the map." in page.text
        assert 'data-kind="geometry"' in page.text
        source = re.search(r'data-source="([^"]*)"', page.text).group(1).replace("&amp;", "&")
        assert source.startswith(f"/resource/{dataset_id}.geojson?")
        drawn = client.get(source).json()
    assert [f["geometry"]["type"] for f in drawn["features"]] == ["Polygon", "Polygon"]
    assert "<td>West Hartford</td>" in page.text
