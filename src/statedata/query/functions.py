"""The SoQL functions: for each, the argument types it takes, the type it returns, whether it
aggregates, and the DuckDB expression it becomes. Checking and compiling read this table only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot.expressions as exp

GEO_TYPES = frozenset(
    {
        "geometry",
        "point",
        "multipoint",
        "line",
        "linestring",
        "multiline",
        "multilinestring",
        "polygon",
        "multipolygon",
        "location",
    }
)
TIMESTAMP_TYPES = frozenset({"floating_timestamp", "fixed_timestamp"})
ORDERABLE = frozenset({"number", "text", "checkbox", *TIMESTAMP_TYPES})

# Argument kinds: a SODA type, or one of these classes.
#   "any": any type; "orderable": ORDERABLE; "timestamp": TIMESTAMP_TYPES; "geo": GEO_TYPES;
#   "geo_or_wkt": a geometry, or a 'WKT' text literal; "same": the first argument's type.
Builder = Callable[[list[exp.Expression]], exp.Expression]


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[str, ...]
    returns: str  # a SODA type, or "arg" for the first argument's type
    build: Builder
    aggregate: bool = False
    variadic: bool = False  # the last argument kind repeats (one or more)
    spatial: bool = False


def _call(name: str) -> Builder:
    return lambda args: exp.Anonymous(this=name, expressions=args)


def _trunc(unit: str) -> Builder:
    return lambda args: exp.cast(
        exp.Anonymous(this="date_trunc", expressions=[exp.Literal.string(unit), args[0]]),
        "TIMESTAMP",
    )


def _part(name: str) -> Builder:
    return lambda args: exp.Anonymous(this=name, expressions=args)


def _num(value: float) -> exp.Expression:
    return exp.Literal.number(repr(value))


def _haversine(geom: exp.Expression, lon: exp.Expression, lat: exp.Expression) -> exp.Expression:
    """Metres on a sphere of radius 6,371,008.8 m from a geometry's centroid to (lon, lat)."""
    centre = exp.Anonymous(this="ST_Centroid", expressions=[geom])
    x = exp.Anonymous(this="ST_X", expressions=[centre])
    y = exp.Anonymous(this="ST_Y", expressions=[centre])

    def rad(e: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="radians", expressions=[e])

    def sin2(a: exp.Expression, b: exp.Expression) -> exp.Expression:
        half = exp.Div(
            this=exp.paren(exp.Sub(this=rad(a), expression=rad(b))), expression=_num(2.0)
        )
        return exp.Pow(this=exp.Anonymous(this="sin", expressions=[half]), expression=_num(2.0))

    cosines = exp.Mul(
        this=exp.Anonymous(this="cos", expressions=[rad(lat)]),
        expression=exp.Anonymous(this="cos", expressions=[rad(y)]),
    )
    inner = exp.Add(this=sin2(y, lat), expression=exp.Mul(this=cosines, expression=sin2(x, lon)))
    angle = exp.Anonymous(
        this="asin", expressions=[exp.Anonymous(this="sqrt", expressions=[inner])]
    )
    return exp.Mul(this=_num(2 * 6371008.8), expression=angle)


def _geom(value: exp.Expression) -> exp.Expression:
    """A 'WKT' text literal as a geometry; a geometry expression unchanged."""
    if isinstance(value, exp.Literal) and value.is_string:
        return exp.Anonymous(this="ST_GeomFromText", expressions=[value])
    return value


def _within_box(args: list[exp.Expression]) -> exp.Expression:
    geom, nw_lat, nw_lon, se_lat, se_lon = args
    box = exp.Anonymous(this="ST_MakeEnvelope", expressions=[nw_lon, se_lat, se_lon, nw_lat])
    return exp.Anonymous(this="ST_Intersects", expressions=[geom, box])


def _within_circle(args: list[exp.Expression]) -> exp.Expression:
    geom, lat, lon, radius = args
    return exp.LTE(this=_haversine(geom, lon, lat), expression=radius)


def _distance(args: list[exp.Expression]) -> exp.Expression:
    point = _geom(args[1])
    lon = exp.Anonymous(this="ST_X", expressions=[point])
    lat = exp.Anonymous(this="ST_Y", expressions=[point])
    return _haversine(args[0], lon, lat)


def _spatial(name: str) -> Builder:
    return lambda args: exp.Anonymous(this=name, expressions=[args[0], *map(_geom, args[1:])])


def _count(args: list[exp.Expression]) -> exp.Expression:
    return exp.Count(this=args[0] if args else exp.Star())


def _fn(*args: object, **kwargs: object) -> Function:
    return Function(*args, **kwargs)  # type: ignore[arg-type]


_TABLE = [
    _fn("count", ("any",), "number", _count, aggregate=True),
    _fn("sum", ("number",), "number", _call("sum"), aggregate=True),
    _fn("avg", ("number",), "number", _call("avg"), aggregate=True),
    _fn("min", ("orderable",), "arg", _call("min"), aggregate=True),
    _fn("max", ("orderable",), "arg", _call("max"), aggregate=True),
    _fn("stddev_pop", ("number",), "number", _call("stddev_pop"), aggregate=True),
    _fn("stddev_samp", ("number",), "number", _call("stddev_samp"), aggregate=True),
    _fn("regr_slope", ("number", "number"), "number", _call("regr_slope"), aggregate=True),
    _fn("regr_intercept", ("number", "number"), "number", _call("regr_intercept"), aggregate=True),
    _fn("regr_r2", ("number", "number"), "number", _call("regr_r2"), aggregate=True),
    _fn("upper", ("text",), "text", _call("upper")),
    _fn("lower", ("text",), "text", _call("lower")),
    _fn("unaccent", ("text",), "text", _call("strip_accents")),
    _fn("starts_with", ("text", "text"), "checkbox", _call("starts_with")),
    _fn("greatest", ("orderable", "same"), "arg", _call("greatest"), variadic=True),
    _fn("least", ("orderable", "same"), "arg", _call("least"), variadic=True),
    _fn("ln", ("number",), "number", _call("ln")),
    _fn("date_trunc_y", ("timestamp",), "floating_timestamp", _trunc("year")),
    _fn("date_trunc_ym", ("timestamp",), "floating_timestamp", _trunc("month")),
    _fn("date_trunc_ymd", ("timestamp",), "floating_timestamp", _trunc("day")),
    _fn("date_extract_y", ("timestamp",), "number", _part("year")),
    _fn("date_extract_m", ("timestamp",), "number", _part("month")),
    _fn("date_extract_d", ("timestamp",), "number", _part("day")),
    _fn("date_extract_hh", ("timestamp",), "number", _part("hour")),
    _fn("date_extract_mm", ("timestamp",), "number", _part("minute")),
    _fn("date_extract_ss", ("timestamp",), "number", _part("second")),
    _fn("date_extract_dow", ("timestamp",), "number", _part("dayofweek")),
    _fn("date_extract_woy", ("timestamp",), "number", _part("weekofyear")),
    _fn(
        "within_box",
        ("geo", "number", "number", "number", "number"),
        "checkbox",
        _within_box,
        spatial=True,
    ),
    _fn(
        "within_circle",
        ("geo", "number", "number", "number"),
        "checkbox",
        _within_circle,
        spatial=True,
    ),
    _fn(
        "within_polygon", ("geo", "geo_or_wkt"), "checkbox", _spatial("ST_Intersects"), spatial=True
    ),
    _fn("intersects", ("geo", "geo_or_wkt"), "checkbox", _spatial("ST_Intersects"), spatial=True),
    _fn("distance_in_meters", ("geo", "geo_or_wkt"), "number", _distance, spatial=True),
    _fn(
        "extent",
        ("geo",),
        "multipolygon",
        lambda a: exp.Anonymous(
            this="ST_Multi", expressions=[exp.Anonymous(this="ST_Extent_Agg", expressions=a)]
        ),
        aggregate=True,
        spatial=True,
    ),
    _fn(
        "convex_hull",
        ("geo",),
        "multipolygon",
        lambda a: exp.Anonymous(
            this="ST_Multi",
            expressions=[
                exp.Anonymous(
                    this="ST_ConvexHull",
                    expressions=[exp.Anonymous(this="ST_Union_Agg", expressions=a)],
                )
            ],
        ),
        aggregate=True,
        spatial=True,
    ),
    _fn("num_points", ("geo",), "number", _call("ST_NPoints"), spatial=True),
    _fn("simplify", ("geo", "number"), "arg", _call("ST_Simplify"), spatial=True),
    _fn(
        "simplify_preserve_topology",
        ("geo", "number"),
        "arg",
        _call("ST_SimplifyPreserveTopology"),
        spatial=True,
    ),
]

FUNCTIONS: dict[str, Function] = {f.name: f for f in _TABLE}
# `case(cond, value, ...)` is checked and compiled on its own: its arguments come in pairs.
SPECIAL = frozenset({"case"})
KNOWN = frozenset(FUNCTIONS) | SPECIAL
