"""JSON and NDJSON: an array of objects or one object per line, read with DuckDB's read_json;
a .json file that is really GeoJSON or NDJSON is handed to the right reader.

GeoJSON itself is read in `geo.py`; locating syntax errors is in `jsontext.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from statedata.errors import IngestError, StatedataError
from statedata.ingest import detect
from statedata.ingest.geo import open_geo
from statedata.ingest.jsontext import first_bad_json_line, first_value_start, locate_json_error
from statedata.ingest.reader import OutColumn, Reader, json_text_sql
from statedata.ingest.tableschema import TableSchema
from statedata.storage.duck import ident, lazy_relation
from statedata.storage.source import TableSource, first_line, generic_explanation


@dataclass
class JsonSource(Reader):
    json_format: str = "array"  # or newline_delimited
    full_sample: bool = False
    row_word: str = "record"

    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        options = "format = $format"
        if self.full_sample:
            options += ", sample_size = -1"
        return lazy_relation(
            con,
            f"SELECT * FROM read_json($path, {options})",
            {"path": str(self.path), "format": self.json_format},
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
    first, inner = first_value_start(head)
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
