"""CSV and TSV: dialect and encoding found before DuckDB reads, types inferred by DuckDB (or
taken from a declared Table Schema), and failures traced to their line and column.
"""

from __future__ import annotations

import csv
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from statedata.errors import IngestError, StatedataError
from statedata.ingest import detect
from statedata.ingest.words import TYPE_WORDS
from statedata.storage.duck import lazy_relation
from statedata.storage.source import TableSource, first_line


@dataclass
class DelimitedSource(TableSource):
    delimiter: str = ","
    encoding: str = "utf-8"
    read_path: Path | None = None
    full_sample: bool = False
    long_lines: bool = False

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        params: dict[str, object] = {
            "path": str(self.read_path or self.path),
            "delim": self.delimiter,
        }
        options = [
            "delim = $delim",
            "quote = '\"'",
            "escape = '\"'",
            "strict_mode = true",
            "null_padding = false",
            # Published tables have a header on the first line; letting the sniffer guess
            # would let it skip a "preamble" line or take the header for data.
            "header = true",
            "skip = 0",
        ]
        if self.long_lines:
            # Each reading thread keeps buffers sized to this, so it is raised only when a
            # file needs it (a polygon's WKT can run to megabytes).
            options.append("max_line_size = 100000000")
        if self.full_sample:
            options.append("sample_size = -1")
        if self.schema is not None:
            params["columns"] = self.schema.duckdb_columns()
            params["nullstr"] = self.schema.missing_values
            options += ["columns = $columns", "nullstr = $nullstr"]
            options += self.schema.format_options()
        sql = f"SELECT * FROM read_csv($path, {', '.join(options)})"
        return lazy_relation(con, sql, params)

    def retry(self, error: duckdb.Error) -> bool:
        message = str(error)
        if "Maximum line size" in message and not self.long_lines:
            self.long_lines = True
            return True
        if "Invalid unicode" in message and self.encoding == "utf-8":
            encoding = detect.encoding_of_whole_file(self.path, self.delimiter)
            if encoding != "utf-8":
                self._transcode(encoding)
                return True
            return False
        if (
            ("Could not convert" in message or isinstance(error, duckdb.ConversionException))
            and self.schema is None
            and not self.full_sample
        ):
            # The sniffer guessed types from a sample; a later row disagreed. Look at all rows.
            self.full_sample = True
            return True
        return False

    def _transcode(self, encoding: str) -> None:
        self.temp_dir = self.temp_dir or Path(tempfile.mkdtemp(prefix="statedata-ingest-"))
        target = self.temp_dir / (self.path.stem + ".utf8" + self.path.suffix)
        self.read_path = detect.transcode_to_utf8(self.path, target, encoding)
        self.encoding = encoding
        self.notes.append(f"read as {encoding} and converted to UTF-8")

    def explain(self, error: duckdb.Error) -> StatedataError:
        message = str(error)
        if "Invalid unicode" in message:
            try:
                detect.encoding_of_whole_file(self.path, self.delimiter)
            except IngestError as precise:
                return precise
        ragged = find_ragged_row(self.read_path or self.path, self.delimiter)
        if ragged is not None:
            return ragged
        converted = CONVERSION_ERROR.search(message)
        if converted:
            line, column, value, type_name = converted.groups()
            expected = TYPE_WORDS.get(type_name, type_name.lower())
            return IngestError(
                f"{self.name}: line {line}, column '{column}': '{value}' is not {expected}"
                + (" as the schema declares." if self.schema else "."),
                file=self.name,
                line=int(line),
                column=column,
                value=value,
            )
        return IngestError(f"{self.name} could not be read: {first_line(message)}", file=self.name)


CONVERSION_ERROR = re.compile(
    r'Line: (\d+).*?converting column "(.*?)"\. '
    r"Could not convert string \"(.*?)\" to '(\w+)'",
    re.S,
)


def find_ragged_row(path: Path, delimiter: str) -> IngestError | None:
    """The first row whose number of fields differs from the header's, streamed."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return None
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                line = reader.line_num
                extra = len(row) > len(header)
                detail = f"has {len(row)} values but the header names {len(header)} columns" + (
                    f"; the first extra value is '{row[len(header)][:40]}'"
                    if extra
                    else f"; column '{header[len(row)]}' is missing"
                )
                return IngestError(
                    f"{path.name}: line {line} {detail}.",
                    file=path.name,
                    line=line,
                    column=header[len(row)] if not extra else None,
                )
    return None


def open_delimited(path: Path, fmt: str, schema=None) -> DelimitedSource:  # type: ignore[no-untyped-def]
    head = detect.read_head(path)
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    delimiter = detect.detect_delimiter(text, fmt)
    encoding = detect.detect_encoding(path, head, delimiter)
    if (
        len([line for line in text.splitlines() if line.strip()]) < 2
        and len(head) < detect.SAMPLE_BYTES
    ):
        raise IngestError(
            f"{path.name} has a header but no rows: there is nothing to publish.", file=path.name
        )
    source = DelimitedSource(path=path, format=fmt, schema=schema, delimiter=delimiter)
    if encoding != "utf-8":
        source._transcode(encoding)
    if schema is not None:
        schema.check_header(path.name, _header(source.read_path or path, delimiter))
    return source


def _header(path: Path, delimiter: str) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(csv.reader(handle, delimiter=delimiter), [])
