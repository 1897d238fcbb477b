"""Readers for the formats other than delimited text: Excel (XLSX), JSON and NDJSON, GeoJSON,
Parquet, zipped or bare shapefiles and GeoPackages, each a lazily read `TableSource`.

CSV and TSV live in `delimited.py`. Nothing here writes the table; storage does that.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot.expressions as exp

from statedata.errors import IngestError, StatedataError
from statedata.ingest import detect
from statedata.ingest.delimited import TYPE_WORDS
from statedata.ingest.tableschema import TableSchema
from statedata.storage.duck import ident
from statedata.storage.source import TableSource, first_line, generic_explanation

# The file as DuckDB reads it, before renames and casts; `explain` looks for bad rows in it.
RAW_VIEW = "__statedata_raw"
# Python's json module finds the line of a syntax error, but holds the whole file in memory.
JSON_LOCATE_LIMIT = 32 << 20
INTEGER_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT")
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql(dialect="duckdb")


@dataclass
class OutColumn:
    """One column of the table handed to storage: its name, its SQL over the raw view, its type."""

    name: str
    sql: str
    type: str
    added: bool = False  # made by statedata (geometry, latitude, longitude), not in the file
    # Before a schema's cast: the SQL and type the cast starts from.
    uncast_sql: str | None = None
    uncast_type: str | None = None


@dataclass
class _Reader(TableSource):
    """What every reader here shares: the declared schema's header check and casts, the
    "has no rows" check, and finding the row and column a failed cast came from.
    """

    row_word: str = "row"
    row_offset: int = 0  # added to a 1-based record number to give the number users see
    # The connection publish is using; `explain` runs while it is still open.
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _columns: list[OutColumn] = field(default_factory=list, repr=False)

    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        raise NotImplementedError

    def out_columns(
        self, con: duckdb.DuckDBPyConnection, raw: list[tuple[str, str]]
    ) -> list[OutColumn]:
        return [OutColumn(name, ident(name), type_name) for name, type_name in raw]

    def where(self, columns: list[OutColumn]) -> str:
        return ""

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        self._con = con
        raw = self.raw(con)
        raw.create_view(RAW_VIEW, replace=True)
        columns = self.out_columns(con, list(zip(raw.columns, map(str, raw.types), strict=True)))
        if self.schema is not None:
            columns = self._apply_schema(columns)
        self._columns = columns
        select = ", ".join(f"{c.sql} AS {ident(c.name)}" for c in columns)
        relation = con.sql(f"SELECT {select} FROM {RAW_VIEW} {self.where(columns)}")
        if relation.limit(1).fetchone() is None:
            raise IngestError(
                f"{self.name} has no rows: there is nothing to publish.", file=self.name
            )
        return relation

    def _apply_schema(self, columns: list[OutColumn]) -> list[OutColumn]:
        schema: TableSchema = self.schema
        declared = schema.duckdb_columns()
        # Columns statedata adds count only when the schema names them.
        header = [c.name for c in columns if not c.added or c.name in declared]
        schema.check_header(self.name, header)
        by_name = {c.name: c for c in columns}
        cast = []
        for name, type_name in declared.items():
            column = by_name[name]
            cast.append(
                OutColumn(
                    name,
                    cast_sql(column.sql, column.type, type_name),
                    type_name,
                    column.added,
                    uncast_sql=column.sql,
                    uncast_type=column.type,
                )
            )
        # Geometry, latitude and longitude stay even when the schema only describes properties.
        cast += [c for c in columns if c.added and c.name not in declared]
        return cast

    def retry(self, error: duckdb.Error) -> bool:
        return False

    def explain(self, error: duckdb.Error) -> StatedataError:
        if self.schema is not None:
            found = self._find_bad_value()
            if found is not None:
                return found
        return self.explain_read(error)

    def explain_read(self, error: duckdb.Error) -> StatedataError:
        return generic_explanation(self.name, error)

    def _find_bad_value(self) -> IngestError | None:
        """The first row whose value does not fit the type the schema declares."""
        if self._con is None or not self._columns:
            return None
        for column in self._columns:
            if column.uncast_sql is None or column.uncast_type == column.type:
                continue
            fits = fits_sql("v", column.uncast_type or "", column.type)
            try:
                found = self._con.execute(
                    f"SELECT n, CAST(v AS VARCHAR) FROM (SELECT row_number() OVER () AS n, "
                    f"{column.uncast_sql} AS v FROM {RAW_VIEW}) "
                    f"WHERE v IS NOT NULL AND NOT ({fits}) "
                    "ORDER BY n LIMIT 1"
                ).fetchone()
            except duckdb.Error:
                continue
            if found:
                number, value = found
                expected = TYPE_WORDS.get(column.type, column.type.lower())
                where = f"{self.row_word} {number + self.row_offset}"
                return IngestError(
                    f"{self.name}: {where}, column '{column.name}': '{value}' is not {expected} "
                    "as the schema declares.",
                    file=self.name,
                    line=number + self.row_offset,
                    column=column.name,
                    value=value,
                )
        return None

    def _raw_types(self) -> list[tuple[str, str]]:
        assert self._con is not None
        return [(r[0], r[1]) for r in self._con.execute(f"DESCRIBE {RAW_VIEW}").fetchall()]


def cast_sql(sql: str, source: str, target: str) -> str:
    """SQL turning `sql` of DuckDB type `source` into `target` without silently losing data."""
    source = source.upper()
    if source == target or source.startswith("GEOMETRY"):
        # A geometry stays a geometry whatever the schema calls it (Table Schema has no type
        # for it; "geojson" maps to text).
        return sql
    if target == "VARCHAR":
        if source.startswith(FLOAT_TYPES):
            # Excel keeps every number as a double; an id 1001 should read "1001", not "1001.0".
            return (
                f"CASE WHEN {sql} = trunc({sql}) AND abs({sql}) < 1e15 "
                f"THEN CAST(CAST({sql} AS BIGINT) AS VARCHAR) ELSE CAST({sql} AS VARCHAR) END"
            )
        if source == "JSON":
            return json_text_sql(sql)
        if source.startswith(("STRUCT", "MAP")) or source.endswith("]"):
            return f"CAST(to_json({sql}) AS VARCHAR)"
        return f"CAST({sql} AS VARCHAR)"
    if target in INTEGER_TYPES and source.startswith(FLOAT_TYPES):
        # CAST(1.5 AS BIGINT) rounds to 2; a fraction in a whole-number column is an error.
        return (
            f"CASE WHEN {sql} IS NULL OR {sql} = trunc({sql}) THEN CAST({sql} AS {target}) "
            f"ELSE error('not a whole number') END"
        )
    return f"CAST({sql} AS {target})"


def fits_sql(sql: str, source: str, target: str) -> str:
    """A condition true when the non-null value `sql` can become `target`."""
    source = source.upper()
    if target == "VARCHAR" or source.startswith("GEOMETRY"):
        return "true"
    if target in INTEGER_TYPES and source.startswith(FLOAT_TYPES):
        return f"({sql} = trunc({sql}) AND TRY_CAST({sql} AS {target}) IS NOT NULL)"
    return f"TRY_CAST({sql} AS {target}) IS NOT NULL"


def json_text_sql(sql: str) -> str:
    # A JSON string value becomes its text without quotes; numbers and objects their JSON.
    return (
        f"CASE WHEN json_type({sql}) = 'VARCHAR' THEN {sql} ->> '$' ELSE CAST({sql} AS VARCHAR) END"
    )


# Parquet -----------------------------------------------------------------------------------


@dataclass
class ParquetSource(_Reader):
    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        return con.sql("SELECT * FROM read_parquet($path)", params={"path": str(self.path)})


# Excel --------------------------------------------------------------------------------------


@dataclass
class XlsxSource(_Reader):
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    cell_range: str | None = None  # the sheet's used range, as the workbook records it
    header: list[str] = field(default_factory=list)  # the header row's cells, as text
    row_word: str = "row"
    row_offset: int = 1  # the header is row 1 of the sheet

    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        # header=true: DuckDB's own guess treats a header with a blank cell as data.
        # stop_at_empty=false: by default reading stops, silently, at the first empty row.
        # range: by default columns right of the header's last filled cell are dropped, silently.
        options = "stop_at_empty = false"
        params: dict[str, object] = {"path": str(self.path)}
        if self.sheet is not None:
            options += ", sheet = $sheet"
            params["sheet"] = self.sheet
        if self.cell_range is not None:
            options += ", range = $range"
            params["range"] = self.cell_range
        first = con.sql(
            f"SELECT * FROM read_xlsx($path, header = false, all_varchar = true, {options}) "
            "LIMIT 1",
            params=params,
        ).fetchone()
        self.header = [cell or "" for cell in (first or ())]
        return con.sql(f"SELECT * FROM read_xlsx($path, header = true, {options})", params=params)

    def out_columns(
        self, con: duckdb.DuckDBPyConnection, raw: list[tuple[str, str]]
    ) -> list[OutColumn]:
        columns = []
        for index, (name, type_name) in enumerate(raw):
            out = name
            if index < len(self.header) and not self.header[index].strip():
                # DuckDB names a blank header cell after a cell reference that is not even its
                # own; name it after its column letter instead.
                out = f"column_{_column_letter(index)}"
                self.notes.append(
                    f"column {_column_letter(index)} has no header; it is named '{out}'"
                )
            columns.append(OutColumn(out, ident(name), type_name))
        if self.schema is None:
            columns = self._whole_numbers_as_integers(con, columns)
        return columns

    def _whole_numbers_as_integers(
        self, con: duckdb.DuckDBPyConnection, columns: list[OutColumn]
    ) -> list[OutColumn]:
        # Excel stores every number as a double; a column of whole numbers (counts, ids, years)
        # is published as whole numbers, as it would be from a CSV.
        doubles = [c for c in columns if c.type == "DOUBLE"]
        if not doubles:
            return columns
        checks = ", ".join(
            f"bool_and({c.sql} IS NULL OR ({c.sql} = trunc({c.sql}) AND abs({c.sql}) < 9e15))"
            for c in doubles
        )
        whole = con.execute(f"SELECT {checks} FROM {RAW_VIEW}").fetchone() or ()
        for column, is_whole in zip(doubles, whole, strict=True):
            if is_whole:
                column.sql = f"CAST({column.sql} AS BIGINT)"
                column.type = "BIGINT"
        return columns

    def where(self, columns: list[OutColumn]) -> str:
        # Empty rows in the middle or at the end of a sheet are layout, not records.
        raw_names = [name for name, _ in self._raw_types()]
        return "WHERE " + " OR ".join(f"{ident(n)} IS NOT NULL" for n in raw_names)

    def explain_read(self, error: duckdb.Error) -> StatedataError:
        message = str(error)
        cell = re.search(r"Failed to parse cell '([A-Z]+)(\d+)': (.*)", message)
        if cell:
            letters, row, detail = cell.groups()
            index = _column_index(letters)
            column = self.header[index] if index < len(self.header) else ""
            converted = re.search(r"Could not convert string '(.*?)' to '?(\w+)'?", detail)
            if converted:
                value, type_name = converted.groups()
                expected = TYPE_WORDS.get(type_name, type_name.lower())
                # DuckDB decides a column's type from its first row of data.
                problem = (
                    f"'{value}' is not {expected}, as the column's first row of data is. "
                    "Correct the cell, or make the column's cells all text."
                )
            else:
                value, problem = None, first_line(detail)
            return IngestError(
                f"{self.name}: sheet '{self.sheet}', row {row}, "
                + (f"column '{column}'" if column else f"column {letters} (no header)")
                + f" (cell {letters}{row}): {problem}",
                file=self.name,
                sheet=self.sheet,
                line=int(row),
                column=column or letters,
                value=value,
            )
        return IngestError(
            f"{self.name} could not be read as an Excel workbook: {first_line(message)}",
            file=self.name,
        )


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _workbook_sheets(path: Path) -> tuple[list[str], str | None]:
    """Sheet names in workbook order and the first sheet's used range (like 'A1:F120').

    Read from the workbook's XML with regular expressions: only attributes are needed, and
    no XML parser then expands entities an uploaded file might declare.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
            sheets = re.findall(r"<(?:\w+:)?sheet\b[^>]*>", workbook)
            names = [html.unescape(_attribute(tag, "name") or "") for tag in sheets]
            cell_range = None
            if sheets:
                cell_range = _used_range(archive, _attribute(sheets[0], "r:id"))
    except (KeyError, zipfile.BadZipFile) as error:
        raise IngestError(
            f"{path.name} is not a readable Excel workbook.", file=path.name
        ) from error
    return names, cell_range


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{re.escape(name)}="([^"]*)"', tag)
    return found.group(1) if found else None


def _used_range(archive: zipfile.ZipFile, relation_id: str | None) -> str | None:
    if relation_id is None:
        return None
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return None
    for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
        if _attribute(tag, "Id") == relation_id:
            target = (_attribute(tag, "Target") or "").lstrip("/")
            member = target if target.startswith("xl/") else f"xl/{target}"
            try:
                with archive.open(member) as sheet:
                    head = sheet.read(64 * 1024).decode("utf-8", "replace")
            except KeyError:
                return None
            found = re.search(r'<(?:\w+:)?dimension\s+ref="([A-Z]+\d+:[A-Z]+\d+)"', head)
            return found.group(1) if found else None
    return None


def open_xlsx(path: Path, schema: TableSchema | None) -> XlsxSource:
    sheets, cell_range = _workbook_sheets(path)
    if not sheets:
        raise IngestError(f"{path.name} has no sheets.", file=path.name)
    source = XlsxSource(
        path=path,
        format="xlsx",
        schema=schema,
        extensions=("excel",),
        sheet=sheets[0],
        sheets=sheets,
        cell_range=cell_range,
    )
    if cell_range is not None:
        # Error messages count rows of the sheet; the header is the range's first row.
        source.row_offset = int(re.sub(r"[A-Z]+", "", cell_range.split(":")[0]))
    if len(sheets) > 1:
        source.notes.append(
            f"read the first sheet, '{sheets[0]}'; the other sheets ("
            + ", ".join(f"'{s}'" for s in sheets[1:])
            + ") were not published"
        )
    return source


# JSON and NDJSON ----------------------------------------------------------------------------


@dataclass
class JsonSource(_Reader):
    json_format: str = "array"  # or newline_delimited
    full_sample: bool = False
    row_word: str = "record"

    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        options = "format = $format"
        if self.full_sample:
            options += ", sample_size = -1"
        return con.sql(
            f"SELECT * FROM read_json($path, {options})",
            params={"path": str(self.path), "format": self.json_format},
        )

    def out_columns(
        self, con: duckdb.DuckDBPyConnection, raw: list[tuple[str, str]]
    ) -> list[OutColumn]:
        # A key whose values have several types comes back as JSON; publish it as text.
        return [
            OutColumn(n, json_text_sql(ident(n)), "VARCHAR")
            if t == "JSON"
            else OutColumn(n, ident(n), t)
            for n, t in raw
        ]

    def retry(self, error: duckdb.Error) -> bool:
        if "JSON transform error" in str(error) and self.schema is None and not self.full_sample:
            # Types were guessed from the first records; a later one disagreed. Look at all.
            self.full_sample = True
            return True
        return False

    def explain_read(self, error: duckdb.Error) -> StatedataError:
        message = str(error)
        if "Malformed JSON" in message:
            if self.json_format == "newline_delimited":
                # DuckDB reports where it noticed, which for an unclosed object is a later
                # line; reading line by line finds the line that is itself broken.
                found = re.search(r"in line (\d+)", message)
                line = first_bad_json_line(self.path) or (int(found.group(1)) if found else None)
                if line is not None:
                    return IngestError(
                        f"{self.name}: line {line} is not valid JSON.", file=self.name, line=line
                    )
            located = locate_json_error(self.path)
            if located is not None:
                return located
            return IngestError(
                f"{self.name} is not valid JSON: {first_line(message)}", file=self.name
            )
        transform = re.search(r"in record/value (\d+): (.*)", message)
        if transform:
            number, detail = transform.groups()
            return IngestError(
                f"{self.name}: record {number} does not fit the records before it: "
                f"{first_line(detail)}",
                file=self.name,
                line=int(number),
            )
        return generic_explanation(self.name, error)


def locate_json_error(path: Path) -> IngestError | None:
    """The line and column of the first JSON syntax error, for files small enough to parse."""
    if path.stat().st_size > JSON_LOCATE_LIMIT:
        return None
    try:
        with path.open(encoding="utf-8-sig") as handle:
            json.load(handle)
    except json.JSONDecodeError as error:
        return IngestError(
            f"{path.name}: line {error.lineno}, column {error.colno} is not valid JSON "
            f"({error.msg.lower()}).",
            file=path.name,
            line=error.lineno,
        )
    except UnicodeDecodeError:
        return IngestError(f"{path.name} is not UTF-8 text; JSON must be UTF-8.", file=path.name)
    return None


def first_bad_json_line(path: Path) -> int | None:
    """The first non-empty line of newline-delimited JSON that is not a JSON value, streamed."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError:
                return number
    return None


def _first_value_start(head: bytes) -> tuple[str, str]:
    """The first character of the file and of its first array element (or '' if none)."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    first = text[:1]
    inner = text[1:].lstrip(" \t\r\n")[:1] if first == "[" else ""
    return first, inner


GEOJSON_TYPE = re.compile(r'"type"\s*:\s*"(FeatureCollection|Feature)"')


def _looks_like_ndjson(head: bytes) -> bool:
    lines = [line for line in head.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return isinstance(json.loads(lines[0]), dict) and lines[1].lstrip().startswith("{")
    except json.JSONDecodeError:
        return False


def open_json(path: Path, fmt: str, schema: TableSchema | None) -> TableSource:
    head = detect.read_head(path)
    first, inner = _first_value_start(head)
    if fmt == "ndjson":
        if first != "{":
            raise IngestError(
                f"{path.name}: newline-delimited JSON needs one object per line, but the first "
                f"line starts with '{first}'.",
                file=path.name,
                line=1,
            )
        return JsonSource(path=path, format=fmt, schema=schema, json_format="newline_delimited")
    if first == "{":
        if GEOJSON_TYPE.search(head.decode("utf-8", "replace")[:4096]):
            source = open_geo(path, "geojson", schema)
            source.notes.append("read as GeoJSON")
            return source
        if _looks_like_ndjson(head):
            source = JsonSource(
                path=path, format="ndjson", schema=schema, json_format="newline_delimited"
            )
            source.notes.append("read as newline-delimited JSON (one object per line)")
            return source
        raise IngestError(
            f"{path.name} holds a single JSON object, not a list of records. statedata reads "
            "a JSON array of objects ([{...}, {...}]), newline-delimited JSON (one object per "
            "line) or GeoJSON.",
            file=path.name,
        )
    if inner and inner not in "{]":
        what = "arrays" if inner == "[" else "plain values"
        raise IngestError(
            f"{path.name} is a JSON array of {what}, not of objects. Each record must be an "
            'object naming its columns, like [{"name": "a", "count": 1}].',
            file=path.name,
        )
    return JsonSource(path=path, format=fmt, schema=schema, json_format="array")


# GeoJSON, shapefiles, GeoPackages -----------------------------------------------------------

GDAL_DRIVERS = {
    "geojson": ["GeoJSON"],
    "shapefile": ["ESRI Shapefile"],
    "shapefile-zip": ["ESRI Shapefile"],
    "geopackage": ["GPKG"],
}
WGS84 = {("EPSG", "4326"), ("OGC", "CRS84")}


@dataclass
class GeoSource(_Reader):
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
        con.sql(self._read_sql(layer=False) + " LIMIT 0", params=self._params(False)).fetchall()
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
        return con.sql(self._read_sql(), params=self._params())

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
        first, _ = _first_value_start(detect.read_head(path, 4096))
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


def open_other(path: Path, fmt: str, schema: TableSchema | None = None) -> TableSource:
    """A lazily read table for a file in any format but CSV/TSV; raises `IngestError`."""
    if fmt == "parquet":
        return ParquetSource(path=path, format=fmt, schema=schema)
    if fmt == "xlsx":
        return open_xlsx(path, schema)
    if fmt in ("json", "ndjson"):
        return open_json(path, fmt, schema)
    if fmt in GDAL_DRIVERS:
        return open_geo(path, fmt, schema)
    raise IngestError(f"{path.name}: statedata has no reader for format '{fmt}'.", file=path.name)
