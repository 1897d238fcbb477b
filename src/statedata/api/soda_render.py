"""Query results in SODA 2.1's wire formats: JSON (numbers as strings, nulls left out, floating
timestamps as `2014-10-13T00:00:00.000`), CSV and GeoJSON."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

import orjson

GEOMETRY_TYPES = {"geometry", "point", "multipoint", "line", "multiline", "polygon", "multipolygon"}


def _timestamp(value: dt.datetime | dt.date, fixed: bool) -> str:
    if not isinstance(value, dt.datetime):
        if not fixed and value.year >= 1000:  # the common case, without strftime
            return value.isoformat() + "T00:00:00.000"
        value = dt.datetime(value.year, value.month, value.day)
    if fixed:
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _number(value: object) -> str:
    # Socrata writes whole numbers without a decimal point ("12", not "12.0").
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return repr(value) if isinstance(value, float) else str(value)


def json_value(value: object, soda_type: str) -> object:
    """One value as Socrata's JSON has it (never None: callers leave nulls out)."""
    if soda_type == "number":
        return _number(value)
    if soda_type == "checkbox":
        return bool(value)
    if soda_type == "floating_timestamp" and isinstance(value, dt.date):
        return _timestamp(value, fixed=False)
    if soda_type == "fixed_timestamp" and isinstance(value, dt.date):
        return _timestamp(value, fixed=True)
    if soda_type in GEOMETRY_TYPES or soda_type == "json":
        return orjson.loads(value) if isinstance(value, str | bytes) else value
    return value if isinstance(value, str) else str(value)


def text_value(value: object, soda_type: str) -> str:
    """One value as a CSV cell (geometry arrives as WKT text and stays so)."""
    if value is None:
        return ""
    if soda_type in GEOMETRY_TYPES:
        return str(value)
    rendered = json_value(value, soda_type)
    if isinstance(rendered, bool):
        return "true" if rendered else "false"
    if isinstance(rendered, dict | list):
        return orjson.dumps(rendered).decode()
    return str(rendered)


def row_object(fields: Sequence[str], types: Sequence[str], row: Sequence) -> dict:
    """One row as a JSON object; null values are left out, as Socrata does."""
    return {
        name: json_value(v, kind)
        for name, kind, v in zip(fields, types, row, strict=True)
        if v is not None
    }


def _text(value: object) -> object:
    return value if isinstance(value, str) else str(value)


def _date_or_timestamp(value: object) -> object:
    if type(value) is dt.date and value.year >= 1000:
        return value.isoformat() + "T00:00:00.000"
    return json_value(value, "floating_timestamp")


def _converter(soda_type: str) -> Callable[[object], object]:
    """json_value for one SODA type, chosen once a column rather than once a value."""
    if soda_type == "text":
        return _text
    if soda_type == "number":
        return _number
    if soda_type == "floating_timestamp":
        return _date_or_timestamp
    return functools.partial(_json_value_as, soda_type)


def _json_value_as(soda_type: str, value: object) -> object:
    return json_value(value, soda_type)


def render_json(fields: Sequence[str], types: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    columns = list(zip(fields, map(_converter, types), strict=True))
    return orjson.dumps(
        [
            {
                name: convert(v)
                for (name, convert), v in zip(columns, row, strict=True)
                if v is not None
            }
            for row in rows
        ]
    )


def render_csv(fields: Sequence[str], types: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow(text_value(v, kind) for v, kind in zip(row, types, strict=True))
    return buffer.getvalue().encode()


def render_geojson(fields: Sequence[str], types: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    """A FeatureCollection: the first geometry column is each feature's geometry."""
    geometry_at = next((i for i, kind in enumerate(types) if kind in GEOMETRY_TYPES), None)

    def features() -> Iterator[dict]:
        for row in rows:
            properties = {
                name: json_value(v, kind)
                for i, (name, kind, v) in enumerate(zip(fields, types, row, strict=True))
                if i != geometry_at and v is not None
            }
            geometry = None
            if geometry_at is not None and row[geometry_at] is not None:
                geometry = json_value(row[geometry_at], types[geometry_at])
            yield {"type": "Feature", "geometry": geometry, "properties": properties}

    return orjson.dumps(
        {
            "type": "FeatureCollection",
            "features": list(features()),
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        }
    )


RENDERERS = {
    "json": (render_json, "application/json; charset=utf-8"),
    "csv": (render_csv, "text/csv; charset=utf-8"),
    "geojson": (render_geojson, "application/vnd.geo+json; charset=utf-8"),
}
