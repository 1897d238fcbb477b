"""Generated town boundaries for the demo portal: one polygon a town, the Voronoi cell of the
town centre the demo's point datasets use, clipped to a rough outline of Connecticut.

No real boundaries are available offline, so these are made up (deterministic, with numpy);
the dataset's description says so. Written as GeoParquet, which DuckDB reads as geometry.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pyarrow as pa

from statedata.demo.rows import Context, Rows, town_centres, town_numbers
from statedata.demo.towns import TOWN_COUNTY, TOWNS

# A rough outline of the state, (longitude, latitude), clockwise from the north-west corner:
# the Massachusetts and Rhode Island lines, the Long Island Sound shore, the New York line
# with the Greenwich panhandle.
OUTLINE: tuple[tuple[float, float], ...] = (
    (-73.487, 42.050),
    (-71.799, 42.023),
    (-71.787, 41.640),
    (-71.830, 41.344),
    (-71.960, 41.330),
    (-72.090, 41.310),
    (-72.350, 41.270),
    (-72.550, 41.260),
    (-72.780, 41.250),
    (-72.930, 41.240),
    (-73.050, 41.200),
    (-73.190, 41.140),
    (-73.380, 41.100),
    (-73.540, 41.020),
    (-73.660, 40.990),
    (-73.730, 41.100),
    (-73.560, 41.190),
    (-73.510, 41.660),
)
# East-west degrees are shorter than north-south ones at Connecticut's latitude; cells are
# worked out on a plane scaled so they look as they would on a map.
ASPECT = math.cos(math.radians(41.5))


def _clip(ring: list[tuple[float, float]], site: np.ndarray, other: np.ndarray) -> list:
    """The part of `ring` nearer to `site` than to `other` (Sutherland-Hodgman, one edge)."""
    normal = other - site
    limit = float(normal @ (site + other) / 2)

    def inside(point: tuple[float, float]) -> bool:
        return normal[0] * point[0] + normal[1] * point[1] <= limit

    kept: list[tuple[float, float]] = []
    for i, current in enumerate(ring):
        previous = ring[i - 1]
        if inside(current) != inside(previous):
            a = normal[0] * previous[0] + normal[1] * previous[1]
            b = normal[0] * current[0] + normal[1] * current[1]
            t = (limit - a) / (b - a)
            kept.append(
                (
                    previous[0] + t * (current[0] - previous[0]),
                    previous[1] + t * (current[1] - previous[1]),
                )
            )
        if inside(current):
            kept.append(current)
    return kept


def town_cells() -> list[list[tuple[float, float]]]:
    """Each town's cell as a closed ring of (longitude, latitude), in the order of TOWNS."""
    lat, lon = town_centres()
    sites = np.column_stack([lon * ASPECT, lat])
    outline = [(x * ASPECT, y) for x, y in OUTLINE]
    cells = []
    for i, site in enumerate(sites):
        distance = np.hypot(*(sites - site).T)
        ring = list(outline)
        for j in np.argsort(distance)[1:]:
            # A neighbour farther than twice the cell's reach cannot cut it any more.
            reach = max(math.hypot(x - site[0], y - site[1]) for x, y in ring)
            if distance[j] > 2 * reach:
                break
            ring = _clip(ring, site, sites[j])
        if len(ring) < 3:
            raise ValueError(f"the demo town centre of {TOWNS[i]} lies outside the outline")
        points = [(round(x / ASPECT, 5), round(y, 5)) for x, y in ring]
        cells.append([*points, points[0]])
    return cells


def _wkb_polygon(ring: list[tuple[float, float]]) -> bytes:
    """A one-ring polygon as little-endian Well-Known Binary."""
    head = struct.pack("<BIII", 1, 3, 1, len(ring))
    return head + b"".join(struct.pack("<dd", x, y) for x, y in ring)


def _area_sq_miles(ring: list[tuple[float, float]]) -> float:
    miles_per_degree = 69.05
    xs = np.array([p[0] for p in ring]) * ASPECT * miles_per_degree
    ys = np.array([p[1] for p in ring]) * miles_per_degree
    return float(abs(np.dot(xs[:-1], ys[1:]) - np.dot(xs[1:], ys[:-1])) / 2)


def town_boundaries(ctx: Context) -> Rows:
    """The 169 generated town polygons with the town's name, number and county."""
    cells = town_cells()
    geo = {
        "version": "1.1.0",
        "primary_column": "the_geom",
        "columns": {"the_geom": {"encoding": "WKB", "geometry_types": ["Polygon"]}},
    }
    table = pa.table(
        {
            "town_number": pa.array(town_numbers()),
            "town": pa.array(list(TOWNS)),
            "county": pa.array([TOWN_COUNTY[t] for t in TOWNS]),
            "area_sq_miles": pa.array([round(_area_sq_miles(c), 1) for c in cells]),
            "the_geom": pa.array([_wkb_polygon(c) for c in cells], pa.binary()),
        }
    ).replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    return Rows(
        table,
        row_identifier="town_number",
        columns={
            "town_number": (
                "Town number",
                "The state's number for the town (1 to 169, alphabetical).",
            ),
            "area_sq_miles": (
                "Area (square miles)",
                "The area of the generated shape, not of the real town.",
            ),
            "the_geom": (
                "Shape",
                "Generated for the demo around a point in the town: not the legal boundary.",
            ),
        },
    )


GENERATORS = {"town_boundaries": town_boundaries}
