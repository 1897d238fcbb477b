"""The chart builder's "Where?" question: which columns name places with shapes (the dataset's
own polygons, or a public boundaries dataset whose names match most of the column's,
case-insensitively), the classed shades and their key, the takeaway, the table of every area
with the names that matched nothing, and no map (nor any word of it) from boundaries the
reader may not see."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth_headers import basic_auth  # type: ignore[import-not-found]
from statedata.catalog import DatasetMetadata
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish
from statedata.web.choropleth import (
    SHADES,
    Shapes,
    class_of,
    classes,
    for_vega,
    places_query,
    shade_classes,
    shapes_query,
)

HX = {"HX-Request": "true"}
SHAPES_TITLE = "Qwzx Town Shapes"


def _square(x: int, y: int) -> list:
    """A 0.1-degree square in Connecticut, its ring anticlockwise as GeoJSON files have it."""
    west, south = -73.5 + x / 10, 41.2 + y / 10
    return [
        [
            [west, south],
            [west + 0.1, south],
            [west + 0.1, south + 0.1],
            [west, south + 0.1],
            [west, south],
        ]
    ]


def _shapes(write_file, name: str, towns: list[str], extra: dict | None = None):  # type: ignore[no-untyped-def]
    features = [
        {
            "type": "Feature",
            "properties": {"town": town, **((extra or {}).get(town, {}))},
            "geometry": {"type": "Polygon", "coordinates": _square(i % 4, i // 4)},
        }
        for i, town in enumerate(towns)
    ]
    return write_file(name, json.dumps({"type": "FeatureCollection", "features": features}))


@pytest.fixture
def boundaries(installation, agency, write_file, portal):  # type: ignore[no-untyped-def]
    """Public town shapes: five of the six towns of `portal.towns` (one in capitals), and one
    town the cases dataset has no rows for."""
    towns = ["ANDOVER", "Ansonia", "Avon", "Bethel", "Canton", "Hartford"]
    path = _shapes(write_file, "shapes.geojson", towns)
    return publish(
        installation,
        open_table(path),
        new=NewDataset(DatasetMetadata(title=SHAPES_TITLE, category="Government"), agency),
    ).dataset_id


def _form_questions(html: str) -> list[str]:
    select = re.search(r'<select id="chart-question".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"', select)


def _spec(html: str) -> dict:
    found = re.search(r'class="chart-spec">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def _title(html: str) -> str:
    return re.search(r'id="chart-takeaway"[^>]*>(.*?)</h3>', html).group(1).replace("&#39;", "'")


def test_queries_name_only_dictionary_columns():
    params = places_query("town", "sum(`cases`)")
    assert params["$group"] == "lower(`town`)"
    assert set(re.findall(r"`([^`]*)`", " ".join(params.values()))) == {"town", "cases"}
    shapes = shapes_query(Shapes("abcd-2345", "Shapes", "name", "the_geom", own=False))
    assert set(re.findall(r"`([^`]*)`", " ".join(shapes.values()))) == {"name", "the_geom"}
    assert not re.search(r"\d[eE][-+]?\d", shapes["$select"])


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=300))
def test_classes_hold_every_value_once_in_order_and_none_empty(values):
    edges = classes(values)
    assert edges == sorted(edges)
    assert 2 <= len(edges) <= len(SHADES) + 1
    assert edges[0] == min(values) and edges[-1] == max(values)
    counts = [0] * (len(edges) - 1)
    for value in values:
        counts[class_of(value, edges)] += 1
    assert all(counts) and sum(counts) == len(values)
    for value in values:
        position = class_of(value, edges)
        assert edges[position] <= value
        assert value < edges[position + 1] or position == len(edges) - 2


def test_the_key_names_each_shade_and_its_range():
    values = [float(v) for v in range(1, 101)]
    _, key = shade_classes(values, "town")
    assert [k.shade for k in key] == SHADES
    assert key[0].label == "1 to under 21 (20 towns)"
    assert key[-1].label.endswith("to 100 (20 towns)")
    _, few = shade_classes([3.0, 3.0, 9.0], "town")
    # Two values, two classes: the lightest and the darkest shade, each a single value.
    assert [(k.label, k.word) for k in few] == [
        ("3 (2 towns)", "lightest"),
        ("9 (1 town)", "darkest"),
    ]


def test_rings_are_turned_the_way_d3_draws_them():
    turned = for_vega({"type": "Polygon", "coordinates": _square(0, 0)})
    ring = turned["coordinates"][0][0]
    twice_area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
    assert turned["type"] == "MultiPolygon" and twice_area < 0  # clockwise
    assert for_vega({"type": "MultiPolygon", "coordinates": [turned["coordinates"][0]]}) == turned


def test_a_map_of_towns_from_a_boundaries_dataset(client, portal, boundaries):
    page = client.get(f"/d/{portal.towns}", follow_redirects=True)
    assert "places" in _form_questions(page.text)
    assert "For a map, a column of places: town." in page.text
    answer = client.get(
        f"/d/{portal.towns}/chart?chart=places&x=town&measure=sum&y=cases", headers=HX
    )
    assert answer.status_code == 200, answer.text
    # Andover 3, Ansonia 12, Avon 7, Bethel 0, Canton 5; the shapes name Andover in capitals.
    assert _title(answer.text) == "Ansonia has the most total cases: 12; Bethel has the fewest: 0"
    assert "Total cases by town for 5 of 6 areas, from 0 to 12 (middle value 5)" in answer.text
    assert (
        "1 name in town matched no area and is left off the map: O'Brien Corner."
        in answer.text.replace("&#39;", "'")
    )
    table = re.search(r'<caption id="chart-table-caption">.*?</table>', answer.text, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == 6
    assert "<td>ANDOVER</td>" in table
    assert 'Hartford</td><td class="num">no data</td><td>striped (no data)</td>' in table
    key = re.search(r'<table class="chart-key">.*?</table>', answer.text, re.S).group(0)
    assert "No data" in key and key.count("<tr>") == 7  # heading, five values, no data
    spec = _spec(answer.text)
    features = spec["data"]["values"]
    assert len(features) == 6
    nodata = [f for f in features if f["properties"]["shade"] < 0]
    assert [f["properties"]["name"] for f in nodata] == ["Hartford"]
    shaded, striped = spec["layer"][0], spec["layer"][1]
    assert shaded["encoding"]["color"]["legend"] is None  # the key is the table
    assert striped["mark"]["fill"]["gradient"] == "linear"  # stripes, never a shade
    assert SHAPES_TITLE in answer.text  # the figure says where the shapes come from
    assert answer.headers["HX-Push-Url"].endswith("chart=places&x=town&measure=sum&y=cases#chart")


def test_a_map_of_the_datasets_own_shapes(installation, agency, write_file, client):
    towns = ["Hartford", "Hartford", "Bristol", "Avon"]
    extra = {"Hartford": {"trees": 5}, "Bristol": {"trees": 2}, "Avon": {"trees": 9}}
    path = _shapes(write_file, "own.geojson", towns, extra)
    dataset_id = publish(
        installation,
        open_table(path),
        new=NewDataset(DatasetMetadata(title="Street trees", category="Government"), agency),
    ).dataset_id
    page = client.get(f"/d/{dataset_id}/chart?chart=places&x=town&measure=sum&y=trees")
    assert page.status_code == 200, page.text
    assert "places" in _form_questions(page.text)
    # Hartford's two shapes are one area, drawn twice in its shade.
    assert _title(page.text) == "Hartford has the most total trees: 10; Bristol has the fewest: 2"
    features = _spec(page.text)["data"]["values"]
    assert [f["properties"]["name"] for f in features].count("Hartford") == 2
    assert "The areas are the shapes of" in page.text and "Street trees" in page.text


def test_a_column_that_names_no_places_is_refused_plainly(client, portal, boundaries):
    answer = client.get(f"/d/{portal.towns}/chart?chart=places&x=county&measure=count", headers=HX)
    assert answer.status_code == 400
    assert "county does not name places with shapes: for a map pick town." in answer.text


def test_no_places_no_question(client, portal):
    page = client.get(f"/d/{portal.towns}", follow_redirects=True)
    assert "places" not in _form_questions(page.text)
    answer = client.get(f"/d/{portal.towns}/chart?chart=places&x=town&measure=count", headers=HX)
    assert answer.status_code == 400
    assert "no places the portal has shapes for" in answer.text


def test_protected_boundaries_are_never_borrowed_nor_named(
    installation, agency, write_file, client, portal
):
    path = _shapes(write_file, "secret.geojson", ["Andover", "Ansonia", "Avon", "Bethel", "Canton"])
    publish(
        installation,
        open_table(path),
        new=NewDataset(
            DatasetMetadata(title=SHAPES_TITLE, category="Government", classification="protected"),
            agency,
        ),
    )
    for headers in ({}, basic_auth(portal.staff_key)):
        page = client.get(f"/d/{portal.towns}", headers=headers, follow_redirects=True)
        assert "places" not in _form_questions(page.text)
        answer = client.get(
            f"/d/{portal.towns}/chart?chart=places&x=town&measure=count",
            headers={**HX, **headers},
        )
        assert answer.status_code == 400
        assert SHAPES_TITLE not in answer.text and SHAPES_TITLE not in page.text


def test_a_protected_dataset_with_shapes_draws_nothing_for_the_public(
    installation, agency, write_file, client, portal
):
    towns = ["Hartford", "Bristol", "Avon"]
    path = _shapes(write_file, "private.geojson", towns)
    dataset_id = publish(
        installation,
        open_table(path),
        new=NewDataset(
            DatasetMetadata(title=SHAPES_TITLE, category="Government", classification="protected"),
            agency,
        ),
    ).dataset_id
    answer = client.get(f"/d/{dataset_id}/chart?chart=places&x=town&measure=count", headers=HX)
    assert answer.status_code == 404 and SHAPES_TITLE not in answer.text
    staff = client.get(
        f"/d/{dataset_id}/chart?chart=places&x=town&measure=count",
        headers={**HX, **basic_auth(portal.staff_key)},
    )
    # The agency's own staff map their own protected shapes.
    assert staff.status_code == 200
    assert _title(staff.text) == "Every area with data has the same rows: 1"
