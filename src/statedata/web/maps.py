"""The map of a dataset page, for datasets with locations: a geometry column (drawn from
`/resource/{id}.geojson`) or latitude and longitude columns (each place once, with how many rows
are there, from `/resource/{id}.json`).

No base map tiles are reachable, so the map is the data alone on a plain background with a
scale, and it never stands alone: a sentence says what it shows and a table lists the places.
The table and sentence come from the same SoQL, run here by the SODA API's engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from statedata.catalog.models import Dataset
from statedata.query import QueryError
from statedata.query.functions import GEO_TYPES
from statedata.web.base import ENV, number, plural
from statedata.web.charts import IDENTIFIER, runner

LATITUDE = re.compile(r"^(lat|latitude)$|_(lat|latitude)$")
LONGITUDE = re.compile(r"^(lon|lng|long|longitude)$|_(lon|lng|long|longitude)$")
MOST_PLACES = 2000
TABLE_PLACES = 50


@dataclass(frozen=True)
class Location:
    """Where a dataset's rows are: a geometry column, or a latitude and a longitude."""

    kind: str  # "geometry" or "points"
    geometry: str = ""
    latitude: str = ""
    longitude: str = ""
    label: str = ""  # a column naming each place, when there is one
    label_name: str = ""


@dataclass
class MapView:
    location: Location
    source: str  # the SODA address the page's script draws
    summary: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


def locate(dataset: Dataset) -> Location | None:
    """The dataset's location columns, from its data dictionary; None when it has none."""
    columns = sorted(dataset.columns, key=lambda c: c.position)
    labels = [
        c for c in columns if c.data_type == "text" and not IDENTIFIER.search(c.field_name)
    ] or [c for c in columns if c.data_type == "text"]
    label = labels[0] if labels else None
    label_field = label.field_name if label else ""
    label_name = (label.display_name or label.field_name) if label else ""
    for column in columns:
        if column.data_type in GEO_TYPES:
            return Location(
                "geometry", geometry=column.field_name, label=label_field, label_name=label_name
            )
    numbers = [c.field_name for c in columns if c.data_type == "number"]
    lat = next((f for f in numbers if LATITUDE.search(f.lower())), None)
    lon = next((f for f in numbers if LONGITUDE.search(f.lower())), None)
    if lat and lon:
        return Location(
            "points", latitude=lat, longitude=lon, label=label_field, label_name=label_name
        )
    return None


def places_query(location: Location) -> dict[str, str]:
    """Each distinct place once, with its name and how many rows are there, most rows first."""
    lat, lon = f"`{location.latitude}`", f"`{location.longitude}`"
    name = f"min(`{location.label}`)" if location.label else "''"
    return {
        "$select": f"{lat} AS latitude, {lon} AS longitude, {name} AS name, count(*) AS n",
        "$where": (
            f"{lat} IS NOT NULL AND {lon} IS NOT NULL AND {lat} BETWEEN -90 AND 90 "
            f"AND {lon} BETWEEN -180 AND 180"
        ),
        "$group": f"{lat}, {lon}",
        "$order": "n DESC, name",
        "$limit": str(MOST_PLACES),
    }


def _degrees(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.2f}° {positive if value >= 0 else negative}"


def map_view(request: Request, dataset: Dataset, run: Any = None) -> MapView | None:
    """The map section's content, or None when the dataset has no locations. The page shows
    it only to a viewer who may read the rows (`readable`)."""
    location = locate(dataset)
    if location is None or dataset.current_version is None:
        return None
    run = run or runner(request, dataset)
    try:
        if location.kind == "points":
            return _points(dataset, location, run)
        return _shapes(dataset, location, run)
    except QueryError:
        return None


def _points(dataset: Dataset, location: Location, run: Any) -> MapView:
    params = places_query(location)
    rows = run(params)
    view = MapView(location, f"/resource/{dataset.id}.json?{urlencode(params)}")
    if not rows:
        view.summary = "No row has a place to show on a map."
        return view
    lats = [float(r[0]) for r in rows]
    lons = [float(r[1]) for r in rows]
    total = sum(int(r[3]) for r in rows)
    top = rows[0]
    where = f" {top[2]}" if top[2] else f" {_degrees(float(top[0]), 'N', 'S')}"
    capped = len(rows) == MOST_PLACES
    shown = (
        f"The {len(rows):,} places with the most rows are"
        if capped
        else (f"{plural(len(rows), 'place')} {'is' if len(rows) == 1 else 'are'}")
    )
    most = (
        f"The most rows are at{where}: {number(int(top[3]))}."
        if int(top[3]) > 1
        else "Each place has one row."
    )
    view.summary = (
        f"{shown} on the map ({plural(total, 'row')}), between "
        f"{_degrees(min(lats), 'N', 'S')} and {_degrees(max(lats), 'N', 'S')}, "
        f"{_degrees(min(lons), 'E', 'W')} and {_degrees(max(lons), 'E', 'W')}. {most}"
    )
    view.headers = [location.label_name or "Place", "Latitude", "Longitude", "Rows"]
    view.rows = [
        [str(r[2] or ""), number(float(r[0])), number(float(r[1])), number(int(r[3]))]
        for r in rows[:TABLE_PLACES]
    ]
    if len(rows) > TABLE_PLACES:
        view.note = (view.note + f" The table lists the {TABLE_PLACES} with the most rows.").strip()
    return view


def _shapes(dataset: Dataset, location: Location, run: Any) -> MapView:
    geometry = f"`{location.geometry}`"
    limit = {"$limit": str(MOST_PLACES), "$where": f"{geometry} IS NOT NULL"}
    view = MapView(location, f"/resource/{dataset.id}.geojson?{urlencode(limit)}")
    counted = run({"$select": "count(*) AS n", "$where": f"{geometry} IS NOT NULL"})
    total = int(counted[0][0]) if counted else 0
    view.summary = f"{plural(total, 'feature')} with a place on the map."
    if total > MOST_PLACES:
        view.note = f"The map shows the first {MOST_PLACES:,}."
    if location.label:
        names = run(
            {
                "$select": f"`{location.label}` AS name",
                "$where": f"{geometry} IS NOT NULL",
                "$limit": str(TABLE_PLACES),
            }
        )
        view.headers = [location.label_name]
        view.rows = [[str(r[0] or "")] for r in names]
        if total > TABLE_PLACES:
            view.note = (view.note + f" The table lists the first {TABLE_PLACES}.").strip()
    return view


ENV.globals["map_view"] = map_view
