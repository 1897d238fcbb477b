"""The chart builder's "Where?" question: a choropleth map of a number per area, with its
classed key written out as a table, the areas and values as a table, a takeaway title and a
one-line summary.

Areas are polygons from the catalog: the dataset's own shapes, or a public boundaries dataset
whose column of names matches (case-insensitively) most of the names in a column of the
dataset. Both datasets are read as the viewer through access and the SODA engine's SoQL (the
`runner` of the chart builder); only dictionary field names and numbers reach the query.
Not here: the dataset page's map of points and shapes (`maps.py`).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.access import ANONYMOUS, Action, Actor, can, require
from statedata.access.policy import is_open
from statedata.access.reads import require_rows
from statedata.catalog import service
from statedata.catalog.models import Column, Dataset
from statedata.catalog.vocab import Classification
from statedata.errors import InvalidInput, StatedataError
from statedata.query import QueryError
from statedata.web.base import dataset_path, number, plural
from statedata.web.charts import (
    INK,
    Chart,
    ChartColumn,
    Choices,
    Question,
    _column,
    _measure,
    base_spec,
    runner,
)

QUESTION = Question("places", "Where: how do places compare?", "choropleth map", "place names")
# ColorBrewer's 5-class "Blues": sequential, one hue, readable with every common colour
# blindness. Each area is outlined (STROKE, 6:1 on white), so the lightest is still seen;
# the key and the table say the same as the shades.
SHADES = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
SHADE_WORDS = ["lightest", "light", "middle", "dark", "darkest"]
STROKE = "#565c65"
# Areas with no data: white with grey stripes, never a shade of the scale.
NO_DATA_FILL = {
    "gradient": "linear",
    "x1": 0,
    "y1": 0,
    "x2": 1,
    "y2": 1,
    "stops": [
        stop
        for i in range(12)
        for stop in (
            {"offset": i / 12, "color": "#ffffff"},
            {"offset": (i + 0.5) / 12, "color": "#ffffff"},
            {"offset": (i + 0.5) / 12, "color": "#a9aeb1"},
            {"offset": (i + 1) / 12, "color": "#a9aeb1"},
        )
    ],
}
MOST_AREAS = 500  # more shapes than this is not a map of places (parcels, say)
MOST_NAMES = 5000  # a column with more distinct values does not name places
COVERAGE = 0.75  # the share of a column's names the shapes must match
SIMPLIFY = 0.0005  # degrees (about 50 m): finer detail does not show at page size
NAMED_MISSES = 10


@dataclass(frozen=True)
class Shapes:
    """Where a map's areas come from: a dataset with polygons and a column naming each."""

    dataset_id: str
    title: str
    name_field: str
    geometry_field: str
    own: bool  # the dataset's own shapes, not a boundaries dataset's


@dataclass(frozen=True)
class PlaceColumn:
    """A column of the dataset that names places the portal has shapes for."""

    field: str
    name: str
    shapes: Shapes


@dataclass(frozen=True)
class ShadeClass:
    low: float
    high: float
    label: str
    count: int
    shade: str
    word: str


# What a version's columns hold never changes (a version is immutable), so the distinct
# names of a column and whether a column holds polygons are kept by version file.
_REMEMBERED: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
_LOCK = threading.Lock()


def _remembered(key: tuple[str, str, str], work: Any) -> Any:
    with _LOCK:
        if key in _REMEMBERED:
            _REMEMBERED.move_to_end(key)
            return _REMEMBERED[key]
    found = work()
    with _LOCK:
        _REMEMBERED[key] = found
        while len(_REMEMBERED) > 1024:
            _REMEMBERED.popitem(last=False)
    return found


def _names(run: Any, path: str, field_name: str) -> frozenset[str] | None:
    """The lower-cased distinct values of a text column; None when there are too many."""

    def work() -> frozenset[str] | None:
        rows = run(
            {
                "$select": f"lower(`{field_name}`) AS place",
                "$where": f"`{field_name}` IS NOT NULL",
                "$group": f"lower(`{field_name}`)",
                "$limit": str(MOST_NAMES + 1),
            }
        )
        if len(rows) > MOST_NAMES:
            return None
        return frozenset(str(r[0]).strip() for r in rows if str(r[0]).strip())

    return _remembered((path, field_name, "names"), work)


def _holds_polygons(run: Any, path: str, geometry: str) -> bool:
    """Whether the geometry column holds areas (polygons), few enough to draw."""

    def work() -> bool:
        counted = run({"$select": "count(*) AS n", "$where": f"`{geometry}` IS NOT NULL"})
        total = int(counted[0][0]) if counted else 0
        if not 0 < total <= MOST_AREAS:
            return False
        sample = run(
            {
                "$select": f"`{geometry}` AS shape",
                "$where": f"`{geometry}` IS NOT NULL",
                "$limit": "5",
            }
        )
        kinds = {_geometry(r[0]).get("type") for r in sample}
        return bool(kinds) and kinds <= {"Polygon", "MultiPolygon"}

    return _remembered((path, geometry, "polygons"), work)


def _geometry(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    try:
        found = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _text_fields(dataset: Dataset) -> list[Column]:
    return [c for c in sorted(dataset.columns, key=lambda c: c.position) if c.data_type == "text"]


def _geometry_field(dataset: Dataset) -> str | None:
    return next((c.field_name for c in dataset.columns if c.data_type == "geometry"), None)


def boundaries(session: Session) -> list[Dataset]:
    """Public datasets with rows, a geometry column and a text column: those anyone may read,
    the only ones whose shapes another dataset's map may borrow."""
    found = session.scalars(
        select(Dataset)
        .where(
            Dataset.id.in_(select(Column.dataset_id).where(Column.data_type == "geometry")),
            Dataset.classification == Classification.PUBLIC.value,
            Dataset.current_version_id.is_not(None),
        )
        .order_by(Dataset.title)
    ).all()
    return [
        d for d in found if is_open(d) and can(ANONYMOUS, Action.READ_ROWS, d) and _text_fields(d)
    ]


def place_columns(request: Request, session: Session, dataset: Dataset) -> list[PlaceColumn]:
    """The dataset's columns a map can be drawn by, each with the shapes it is drawn with."""
    version = dataset.current_version
    if version is None:
        return []
    run = runner(request, dataset)
    texts = _text_fields(dataset)
    found: list[PlaceColumn] = []
    own = _geometry_field(dataset)
    if own and _holds_polygons(run, version.path, own):
        for column in texts:
            shapes = Shapes(dataset.id, dataset.title, column.field_name, own, own=True)
            found.append(PlaceColumn(column.field_name, _display(column), shapes))
    taken = {p.field for p in found}
    candidates = []
    for other in boundaries(session):
        geometry = _geometry_field(other)
        if other.id == dataset.id or geometry is None:
            continue
        other_run = runner(request, other)
        other_path = other.current_version.path
        if not _holds_polygons(other_run, other_path, geometry):
            continue
        for name_column in _text_fields(other):
            names = _names(other_run, other_path, name_column.field_name)
            if names:
                shapes = Shapes(other.id, other.title, name_column.field_name, geometry, own=False)
                candidates.append((shapes, names))
    if not candidates:
        return found
    for column in texts:
        if column.field_name in taken:
            continue
        values = _names(run, version.path, column.field_name)
        if not values:
            continue
        best = None
        for shapes, names in candidates:
            matched = len(values & names)
            if matched >= 2 and matched >= COVERAGE * len(values):
                score = (matched / len(values), matched)
                if best is None or score > best[0]:
                    best = (score, shapes)
        if best is not None:
            found.append(PlaceColumn(column.field_name, _display(column), best[1]))
    return found


def _display(column: Column) -> str:
    return column.display_name or column.field_name


def classes(values: list[float], most: int = len(SHADES)) -> list[float]:
    """Edges of at most `most` classes holding the values: quantile breaks rounded to two
    significant figures, no class empty. Class i holds edges[i] <= v < edges[i + 1]; the last
    class also holds its upper edge (the largest value)."""
    ordered = sorted(values)
    if not ordered:
        return []
    low, high = ordered[0], ordered[-1]
    distinct = sorted(set(ordered))
    if len(distinct) <= most:
        return [*distinct, high]
    n = len(ordered)
    inner = sorted(
        {_round(ordered[min(n - 1, round(i * n / most))]) for i in range(1, most)} - {low}
    )
    inner = [e for e in inner if low < e <= high]
    edges = [low, *inner, high]
    # Rounding can leave a class with nothing in it: drop the edge that closes it.
    while True:
        counts = _counts(ordered, edges)
        empty = next((i for i, c in enumerate(counts) if c == 0), None)
        if empty is None:
            return edges
        del edges[empty + 1 if empty + 1 < len(edges) - 1 else empty]


def _round(value: float) -> float:
    return float(f"{value:.2g}") if value else 0.0


def class_of(value: float, edges: list[float]) -> int:
    """The class (0-based) of a value under `edges` from `classes`."""
    position = 0
    for i, edge in enumerate(edges[1:-1], start=1):
        if value >= edge:
            position = i
    return position


def _counts(ordered: list[float], edges: list[float]) -> list[int]:
    counts = [0] * (len(edges) - 1)
    for value in ordered:
        counts[class_of(value, edges)] += 1
    return counts


def shade_classes(values: list[float], noun: str) -> tuple[list[float], list[ShadeClass]]:
    edges = classes(values)
    if not edges:
        return [], []
    counts = _counts(sorted(values), edges)
    k = len(counts)
    # Fewer classes than shades: spread them over the scale, lightest and darkest kept.
    picks = [round(i * (len(SHADES) - 1) / (k - 1)) for i in range(k)] if k > 1 else [2]
    exact = len(set(values)) <= len(SHADES)  # one class a value
    found = []
    for i, count in enumerate(counts):
        low, high = edges[i], edges[i + 1]
        if exact:
            label = number(low)
        elif i == k - 1:
            label = f"{number(low)} to {number(high)}"
        else:
            label = f"{number(low)} to under {number(high)}"
        found.append(
            ShadeClass(
                low,
                high,
                f"{label} ({plural(count, noun)})",
                count,
                SHADES[picks[i]],
                SHADE_WORDS[picks[i]],
            )
        )
    return edges, found


def _clockwise(ring: list) -> list:
    """d3-geo (under Vega) takes a ring whose points run clockwise as the area inside it;
    GeoJSON files usually run them the other way, which would fill the whole globe."""
    area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
    return ring if area <= 0 else list(reversed(ring))


def for_vega(geometry: dict) -> dict:
    """The geometry with outer rings clockwise and holes anticlockwise, as d3-geo wants."""
    if geometry.get("type") == "Polygon":
        polygons = [geometry.get("coordinates") or []]
    elif geometry.get("type") == "MultiPolygon":
        polygons = geometry.get("coordinates") or []
    else:
        return geometry
    fixed = []
    for rings in polygons:
        if not rings:
            continue
        outer = _clockwise(rings[0])
        holes = [list(reversed(_clockwise(r))) for r in rings[1:]]
        fixed.append([outer, *holes])
    return {"type": "MultiPolygon", "coordinates": fixed}


def _label_point(geometries: list[dict]) -> tuple[float, float] | None:
    """The centre of the largest outer ring: where an area's name is written."""
    best = None
    for geometry in geometries:
        for rings in geometry.get("coordinates", []):
            ring = rings[0] if rings else []
            if len(ring) < 4:
                continue
            twice = cx = cy = 0.0
            for a, b in itertools.pairwise(ring):
                cross = a[0] * b[1] - b[0] * a[1]
                twice += cross
                cx += (a[0] + b[0]) * cross
                cy += (a[1] + b[1]) * cross
            if twice and (best is None or abs(twice) > best[0]):
                best = (abs(twice), cx / (3 * twice), cy / (3 * twice))
    return (best[1], best[2]) if best else None


def places_query(x: str, value: str) -> dict[str, str]:
    """The measure for each place named in column `x`, names compared lower-cased."""
    return {
        "$select": f"lower(`{x}`) AS place, min(`{x}`) AS name, {value} AS value",
        "$where": f"`{x}` IS NOT NULL",
        "$group": f"lower(`{x}`)",
        "$order": "value DESC, name",
        "$limit": str(MOST_NAMES),
    }


def shapes_query(shapes: Shapes) -> dict[str, str]:
    name, geometry = f"`{shapes.name_field}`", f"`{shapes.geometry_field}`"
    return {
        "$select": (
            f"lower({name}) AS place, {name} AS name, simplify({geometry}, {SIMPLIFY}) AS shape"
        ),
        "$where": f"{geometry} IS NOT NULL AND {name} IS NOT NULL",
        "$order": name,
        "$limit": str(MOST_AREAS),
    }


def places_chart(
    request: Request,
    session: Session,
    actor: Actor,
    dataset: Dataset,
    choices: Choices,
    columns: list[ChartColumn],
) -> Chart:
    """The choropleth for `choices`, or a Chart with a plain `error`."""
    chart = Chart(choices)
    try:
        x = _column(columns, choices.x, "the column of places")
        options = place_columns(request, session, dataset)
        option = next((o for o in options if o.field == x.field), None)
        if option is None:
            if not options:
                raise InvalidInput(
                    "This dataset has no places the portal has shapes for: ask another question."
                )
            names = ", ".join(o.name for o in options)
            raise InvalidInput(
                f"{x.name} does not name places with shapes: for a map pick {names}."
            )
        value, measure = _measure(choices, columns)
        run = runner(request, dataset)
        if option.shapes.own:
            shapes_run = run
            source = dataset
        else:
            source = service.get_dataset(session, option.shapes.dataset_id)
            require(actor, Action.READ_METADATA, source)
            require_rows(session, actor, source, "web")
            shapes_run = runner(request, source)
        params = places_query(x.field, value)
        found = run(params)
        drawn = shapes_run(shapes_query(option.shapes))
        _choropleth(chart, x.name, measure, found, drawn)
        chart.soda_url = f"/resource/{dataset.id}.json?{urlencode(params)}"
        chart.shapes_title = source.title
        chart.shapes_path = dataset_path(source)
    except (InvalidInput, QueryError) as error:
        chart.error = error.message
    except StatedataError:
        chart.error = "The shapes for these places cannot be shown to you."
    return chart


def _choropleth(
    chart: Chart, x_name: str, measure: str, found: list[tuple], drawn: list[tuple]
) -> None:
    values: dict[str, tuple[str, float | None]] = {}
    for place, name, value in found:
        key = str(place).strip()
        values[key] = (str(name), None if value is None else float(value))
    areas: dict[str, dict] = {}
    for place, name, shape in drawn:
        geometry = for_vega(_geometry(shape))
        if not geometry.get("coordinates"):
            continue
        key = str(place).strip()
        area = areas.setdefault(key, {"name": str(name), "shapes": []})
        area["shapes"].append(geometry)
    if not areas:
        raise InvalidInput("The shapes for these places hold no areas to draw.")
    noun = "area"
    with_data = {k: v[1] for k, v in values.items() if k in areas and v[1] is not None}
    if not with_data:
        raise InvalidInput(f"None of the names in {x_name} match an area: pick another column.")
    edges, shade_list = shade_classes(list(with_data.values()), noun)
    ranked = sorted(with_data.items(), key=lambda kv: (-kv[1], areas[kv[0]]["name"]))
    top_key, top = ranked[0]
    bottom_key, bottom = ranked[-1]
    top_name, bottom_name = areas[top_key]["name"], areas[bottom_key]["name"]
    most = chart.choices.measure in ("count", "sum")
    word, least = ("most", "fewest") if most else ("highest", "lowest")
    noun_measure = "rows" if chart.choices.measure == "count" else _in_sentence(measure)
    tied = sum(1 for _, v in ranked if v == top)
    if tied == len(ranked):
        chart.title = f"Every area with data has the same {noun_measure}: {number(top)}"
    elif tied > 1:
        chart.title = (
            f"{top_name} and {tied - 1} more share the {word} {noun_measure}: {number(top)}; "
            f"{bottom_name} has the {least}: {number(bottom)}"
        )
    else:
        chart.title = (
            f"{top_name} has the {word} {noun_measure}: {number(top)}; "
            f"{bottom_name} has the {least}: {number(bottom)}"
        )
    missing = len(areas) - len(with_data)
    middle = _median([v for _, v in ranked])
    chart.summary = (
        f"{measure.capitalize()} by {x_name} for {len(with_data)} of {plural(len(areas), noun)}"
        f", from {number(bottom)} to {number(top)} (middle value {number(middle)})"
        + (f"; {plural(missing, noun)} with no data." if missing else ".")
    )
    unmatched = sorted(v[0] for k, v in values.items() if k not in areas)
    if unmatched:
        shown = ", ".join(unmatched[:NAMED_MISSES])
        more = f" and {len(unmatched) - NAMED_MISSES} more" if len(unmatched) > NAMED_MISSES else ""
        chart.note = (
            f"{plural(len(unmatched), 'name')} in {x_name} matched no area and "
            f"{'is' if len(unmatched) == 1 else 'are'} left off the map: {shown}{more}."
        )
    chart.key = shade_list
    chart.headers = [x_name, measure.capitalize(), "Shade on the map"]
    chart.numeric = [False, True, False]
    chart.rows = [
        [areas[k]["name"], number(v), shade_list[class_of(v, edges)].word] for k, v in ranked
    ]
    chart.rows += [
        [a["name"], "no data", "striped (no data)"]
        for k, a in sorted(areas.items(), key=lambda kv: kv[1]["name"])
        if k not in with_data
    ]
    features = []
    for key, area in areas.items():
        value = with_data.get(key)
        shade = None if value is None else class_of(value, edges)
        text = "no data" if value is None else number(value)
        for geometry in area["shapes"]:
            features.append(
                {
                    "type": "Feature",
                    "geometry": geometry,
                    "properties": {
                        "name": area["name"],
                        "text": text,
                        "shade": -1 if shade is None else shade,
                    },
                }
            )
    label_at = _label_point(areas[top_key]["shapes"])
    chart.spec = _spec(chart.summary, features, shade_list, label_at, f"{top_name}: {number(top)}")


def _in_sentence(name: str) -> str:
    """A column's name inside a sentence: 'Total electric' as 'total electric', 'PM2.5' kept."""
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


def _median(ordered_desc: list[float]) -> float:
    ordered = sorted(ordered_desc)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _spec(
    summary: str,
    features: list[dict],
    shade_list: list[ShadeClass],
    label_at: tuple[float, float] | None,
    label: str,
) -> dict[str, Any]:
    spec = base_spec(summary, features)
    spec["height"] = 380
    spec["projection"] = {"type": "mercator"}
    tooltip = [
        {"field": "properties.name", "type": "nominal", "title": "Place"},
        {"field": "properties.text", "type": "nominal", "title": "Value"},
    ]
    layers: list[dict[str, Any]] = [
        {
            "transform": [{"filter": "datum.properties.shade >= 0"}],
            "mark": {"type": "geoshape", "stroke": STROKE, "strokeWidth": 0.6},
            "encoding": {
                "color": {
                    "field": "properties.shade",
                    "type": "ordinal",
                    "scale": {
                        "domain": list(range(len(shade_list))),
                        "range": [s.shade for s in shade_list],
                    },
                    "legend": None,  # the key is a table beside the map
                },
                "tooltip": tooltip,
            },
        },
        {
            "transform": [{"filter": "datum.properties.shade < 0"}],
            "mark": {
                "type": "geoshape",
                "fill": NO_DATA_FILL,
                "stroke": STROKE,
                "strokeWidth": 0.6,
                "strokeDash": [3, 2],
            },
            "encoding": {"tooltip": tooltip},
        },
    ]
    if label_at is not None:
        point = {"lon": label_at[0], "lat": label_at[1], "label": label}
        where = {
            "longitude": {"field": "lon", "type": "quantitative"},
            "latitude": {"field": "lat", "type": "quantitative"},
        }
        # The takeaway's place written on the map, with a white edge so it reads on any shade.
        for outline in (True, False):
            mark: dict[str, Any] = {
                "type": "text",
                "text": label,
                "fontWeight": "bold",
                "fontSize": 13,
                "dy": -2,
                "color": INK,
            }
            if outline:
                mark.update({"stroke": "#ffffff", "strokeWidth": 4, "strokeJoin": "round"})
            layers.append({"data": {"values": [point]}, "mark": mark, "encoding": where})
    spec["layer"] = layers
    return spec
