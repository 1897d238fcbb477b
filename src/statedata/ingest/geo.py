"""GeoJSON, shapefiles (bare or zipped) and GeoPackages: the first layer read through GDAL
(DuckDB spatial's ST_Read), its geometry in WGS 84, with latitude/longitude for points.

Plain JSON and NDJSON are read in `jsonfiles.py`.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot.expressions as exp

from statedata.errors import IngestError, StatedataError
from statedata.ingest import detect
from statedata.ingest.jsontext import first_value_start, locate_json_error
from statedata.ingest.reader import RAW_VIEW, OutColumn, Reader
from statedata.ingest.tableschema import TableSchema
from statedata.storage.duck import ident, lazy_relation
from statedata.storage.source import first_line

GDAL_DRIVERS = {
    "geojson": ["GeoJSON"],
    "shapefile": ["ESRI Shapefile"],
    "shapefile-zip": ["ESRI Shapefile"],
    "geopackage": ["GPKG"],
}
WGS84 = {("EPSG", "4326"), ("OGC", "CRS84")}


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql(dialect="duckdb")


@dataclass
class GeoSource(Reader):
    """A vector layer read through GDAL (DuckDB spatial's ST_Read), its geometry in WGS 84."""

    gdal_path: str = ""
    layer: str | None = None
    row_word: str = "feature"
    _unprojected: bool = False  # no CRS and coordinates that are not longitude/latitude
    _layer_meta: dict = field(default_factory=dict, repr=False)

    def _read_sql(self, layer: bool = True) -> str:
        args = "$path, allowed_drivers = $drivers"
        if layer and self.layer is not None:
            args += ", layer = $layer"
        return f"SELECT * FROM ST_Read({args})"

    def _params(self, layer: bool = True) -> dict[str, object]:
        params: dict[str, object] = {
            "path": self.gdal_path,
            "drivers": GDAL_DRIVERS[self.format],
        }
        if layer and self.layer is not None:
            params["layer"] = self.layer
        return params

    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        # Open with ST_Read first: ST_Read_Meta crashes the process (DuckDB 1.5.5) on a file
        # GDAL cannot open, while ST_Read raises an ordinary error.
        lazy_relation(con, self._read_sql(layer=False) + " LIMIT 0", self._params(False)).fetchall()
        meta = con.execute(
            "SELECT layers FROM ST_Read_Meta($path)", {"path": self.gdal_path}
        ).fetchone()
        layers = (meta or [[]])[0] or []
        if not layers:
            raise IngestError(f"{self.name} holds no layers to read.", file=self.name)
        self._layer_meta = layers[0]
        self.layer = layers[0]["name"]
        if len(layers) > 1:
            self.notes.append(
                f"read the first layer, '{self.layer}'; the other layers ("
                + ", ".join(f"'{layer['name']}'" for layer in layers[1:])
                + ") were not published"
            )
        return lazy_relation(con, self._read_sql(), self._params())

    def out_columns(
        self, con: duckdb.DuckDBPyConnection, raw: list[tuple[str, str]]
    ) -> list[OutColumn]:
        meta = self._layer_meta
        fields = {f["name"] for f in meta["fields"]}
        # GDAL adds its feature id (OGC_FID, or the GeoPackage's fid); it is not data.
        columns = [OutColumn(n, ident(n), t) for n, t in raw if n in fields]
        geometry_fields = meta["geometry_fields"]
        geom_raw = next((n for n, t in raw if t.upper().startswith("GEOMETRY")), None)
        if not geometry_fields or geom_raw is None:
            return columns
        lowered = {c.name.lower() for c in columns}
        geometry_name = "geometry" if "geometry" not in lowered else "the_geom"
        geometry = self._geometry_sql(con, ident(geom_raw), geometry_fields[0])
        columns.append(OutColumn(geometry_name, geometry, "GEOMETRY('OGC:CRS84')", added=True))
        if self._has_points(con, ident(geom_raw), geometry_fields[0]):
            if "latitude" in lowered or "longitude" in lowered:
                self.notes.append(
                    "the file already has latitude/longitude columns; none were added"
                )
            elif not self._unprojected:
                point = f"CASE WHEN ST_GeometryType({geometry})::VARCHAR = 'POINT' THEN"
                columns.append(
                    OutColumn("latitude", f"{point} ST_Y({geometry}) END", "DOUBLE", True)
                )
                columns.append(
                    OutColumn("longitude", f"{point} ST_X({geometry}) END", "DOUBLE", True)
                )
        return columns

    def _geometry_sql(self, con: duckdb.DuckDBPyConnection, geom: str, meta: dict) -> str:
        # Strip the CRS DuckDB attached to the type, so ST_Transform uses the one we give it.
        plain = f"CAST({geom} AS GEOMETRY)"
        crs = meta.get("crs")
        target = "GEOMETRY('OGC:CRS84')"
        if crs is None:
            xmin, xmax, ymin, ymax = con.execute(
                f"SELECT min(ST_XMin({plain})), max(ST_XMax({plain})), "
                f"min(ST_YMin({plain})), max(ST_YMax({plain})) FROM {RAW_VIEW}"
            ).fetchone()
            if xmin is None or (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
                self.notes.append(
                    "the file names no coordinate reference system; its coordinates look like "
                    "longitude and latitude and were read as WGS 84 (EPSG:4326)"
                )
            else:
                self._unprojected = True
                self.notes.append(
                    "the file names no coordinate reference system and its coordinates are not "
                    "longitude/latitude; the geometry is kept as it is and no latitude/longitude "
                    "columns were added"
                )
            return f"CAST({plain} AS {target})"
        authority = (crs.get("auth_name"), crs.get("auth_code"))
        if authority in WGS84:
            return f"CAST({plain} AS {target})"
        if all(authority):
            source_crs = f"{authority[0]}:{authority[1]}"
            shown = f"{crs.get('name') or source_crs} ({source_crs})"
        else:
            source_crs = crs.get("projjson") or crs.get("wkt") or crs.get("proj4")
            shown = crs.get("name") or "the file's coordinate reference system"
        self.notes.append(f"geometry transformed from {shown} to WGS 84 (EPSG:4326)")
        # always_xy: without it PROJ takes EPSG:4326 as latitude first and swaps the axes.
        transformed = (
            f"ST_Transform({plain}, {_literal(source_crs)}, 'EPSG:4326', always_xy := true)"
        )
        return f"CAST(CAST({transformed} AS GEOMETRY) AS {target})"

    def _has_points(self, con: duckdb.DuckDBPyConnection, geom: str, meta: dict) -> bool:
        declared = (meta.get("type") or "").lower()
        if "point" in declared:
            return "multi" not in declared
        if declared and not declared.startswith("unknown"):
            return False
        # Mixed or undeclared geometry types (GeoJSON): look at the features.
        found = con.execute(
            f"SELECT 1 FROM {RAW_VIEW} WHERE ST_GeometryType({geom})::VARCHAR = 'POINT' LIMIT 1"
        ).fetchone()
        return found is not None

    def explain_read(self, error: duckdb.Error) -> StatedataError:
        message = str(error)
        what = detect.FORMAT_NAMES[self.format]
        if self.format == "geojson" and ("GeoJSON" in message or "GDAL" in message):
            located = locate_json_error(self.path)
            if located is not None:
                return located
            return IngestError(
                f"{self.name} is not GeoJSON: statedata reads a FeatureCollection (or a single "
                "Feature) with a geometry and properties for each feature.",
                file=self.name,
            )
        if "Could not open GDAL dataset" in message:
            return IngestError(
                f"{self.name} could not be opened as a {what}; the file may be damaged or in "
                "another format.",
                file=self.name,
            )
        return IngestError(
            f"{self.name} could not be read as a {what}: {first_line(message)}", file=self.name
        )


def _find_shp_in_zip(path: Path) -> tuple[str, list[str]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as error:
        raise IngestError(f"{path.name} is not a readable ZIP archive.", file=path.name) from error
    shps = sorted(
        n
        for n in names
        if n.lower().endswith(".shp") and not n.startswith("__MACOSX/") and "/." not in "/" + n
    )
    if not shps:
        raise IngestError(
            f"{path.name} holds no shapefile (.shp). A zipped shapefile holds at least the "
            ".shp, .shx and .dbf files of one layer.",
            file=path.name,
        )
    lowered = {n.lower() for n in names}
    stem = shps[0][:-4]
    missing = [ext for ext in (".shx", ".dbf") if (stem + ext).lower() not in lowered]
    if missing:
        raise IngestError(
            f"{path.name}: the shapefile {shps[0]} is missing its {' and '.join(missing)} "
            "file(s); zip all the files of the shapefile together.",
            file=path.name,
        )
    return shps[0], shps[1:]


def open_geo(path: Path, fmt: str, schema: TableSchema | None) -> GeoSource:
    notes = []
    if fmt == "shapefile-zip":
        member, others = _find_shp_in_zip(path)
        gdal_path = f"/vsizip/{path.resolve()}/{member}"
        if others:
            notes.append(
                f"read the shapefile {member}; the other shapefiles in the ZIP ("
                + ", ".join(others)
                + ") were not published"
            )
    else:
        gdal_path = str(path.resolve())
    if fmt == "shapefile":
        siblings = {p.suffix.lower() for p in path.parent.glob(path.stem + ".*")}
        missing = [ext for ext in (".shx", ".dbf") if ext not in siblings]
        if missing:
            raise IngestError(
                f"{path.name} needs its {' and '.join(missing)} file(s) next to it in the same "
                "folder (or publish all the shapefile's files zipped together).",
                file=path.name,
            )
    if fmt == "geojson":
        first, _ = first_value_start(detect.read_head(path, 4096))
        if first != "{":
            raise IngestError(
                f"{path.name} is not GeoJSON: GeoJSON is a JSON object (a FeatureCollection), "
                f"but this file starts with '{first}'.",
                file=path.name,
            )
    return GeoSource(
        path=path,
        format=fmt,
        schema=schema,
        extensions=("spatial",),
        # Shapefiles and GeoPackages are also offered for download as they came.
        attach_original=fmt != "geojson",
        gdal_path=gdal_path,
        notes=notes,
    )
