"""Reading a version back out for download: streamed CSV and JSON, and a Parquet copy without
the system fields. Rows come out in `:id` order, as they were stored.

Geometry columns come out as WKT in CSV and as GeoJSON objects in JSON.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from statedata.catalog.models import Version
from statedata.config import Settings
from statedata.storage.duck import connect, ident
from statedata.storage.versions import SYSTEM_COLUMNS, download_copy

BATCH_ROWS = 50_000


def _user_columns(version: Version) -> list[dict]:
    return [c for c in version.schema if c["name"] not in SYSTEM_COLUMNS]


def _has_geometry(version: Version) -> bool:
    return any(c["type"].upper().startswith("GEOMETRY") for c in _user_columns(version))


def _select(version: Version, path: Path, geometry_as: str) -> str:
    parts = []
    for column in _user_columns(version):
        name = ident(column["name"])
        if column["type"].upper().startswith("GEOMETRY"):
            parts.append(f"{geometry_as}({name}) AS {name}")
        else:
            parts.append(name)
    return f"SELECT {', '.join(parts)} FROM read_parquet('{path}')"


def _batches(
    settings: Settings, version: Version, path: Path, geometry_as: str
) -> Iterator[pa.RecordBatch]:
    extensions = ("spatial",) if _has_geometry(version) else ()
    con = connect(settings, extensions=extensions)
    try:
        reader = con.execute(_select(version, path, geometry_as)).to_arrow_reader(BATCH_ROWS)
        yield from reader
    finally:
        con.close()


def stream_csv(settings: Settings, version: Version, path: Path) -> Iterator[bytes]:
    """The version's rows as CSV with a header, a batch at a time."""
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    wrote_header = False
    for batch in _batches(settings, version, path, "ST_AsText"):
        buffer = io.BytesIO()
        pacsv.write_csv(pa.Table.from_batches([batch]), buffer, write_options=options)
        wrote_header = True
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        yield buffer.getvalue()
    if not wrote_header:
        yield (",".join(c["name"] for c in _user_columns(version)) + "\n").encode()


def _default(value: object) -> object:
    return str(value)


def stream_json(settings: Settings, version: Version, path: Path) -> Iterator[bytes]:
    """The version's rows as one JSON array of objects, a batch at a time."""
    geometry = {
        c["name"] for c in _user_columns(version) if c["type"].upper().startswith("GEOMETRY")
    }
    yield b"["
    first = True
    for batch in _batches(settings, version, path, "ST_AsGeoJSON"):
        rows = batch.to_pylist()
        if geometry:
            for row in rows:
                for name in geometry:
                    if row.get(name) is not None:
                        row[name] = orjson.Fragment(row[name])
        chunk = b",".join(orjson.dumps(row, default=_default) for row in rows)
        if chunk:
            yield (b"" if first else b",") + chunk
            first = False
    yield b"]"


def parquet_download(settings: Settings, version: Version, path: Path) -> Path:
    """A Parquet file of the version without system fields, made once and kept beside it."""
    target = download_copy(path)
    if target.exists():
        return target
    temp = target.with_name(f".{secrets.token_hex(6)}.tmp")
    columns = ", ".join(ident(c["name"]) for c in _user_columns(version))
    con = connect(settings, extensions=("spatial",) if _has_geometry(version) else ())
    try:
        con.execute(
            f"COPY (SELECT {columns} FROM read_parquet('{path}')) TO '{temp}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        os.replace(temp, target)
    except duckdb.Error:
        temp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    return target
