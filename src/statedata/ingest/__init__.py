"""Files in: detect what a file is, read it as a table with DuckDB (types inferred or taken
from a declared Table Schema), and hand it to storage as a `TableSource`.

`open_table(path)` is the one entry point; each format's reader lives in its own module.
"""

from __future__ import annotations

from pathlib import Path

from statedata.ingest.detect import FORMAT_NAMES, detect_format
from statedata.ingest.tableschema import TableSchema
from statedata.storage.source import TableSource

__all__ = ["FORMAT_NAMES", "TableSchema", "TableSource", "open_table"]


def open_table(
    path: Path | str, *, fmt: str | None = None, schema: TableSchema | Path | None = None
) -> TableSource:
    """A lazily read table for the file at `path`; raises `IngestError` for bad input."""
    path = Path(path)
    if isinstance(schema, Path):
        schema = TableSchema.load(schema)
    fmt = detect_format(path, fmt)
    if fmt in ("csv", "tsv"):
        from statedata.ingest.delimited import open_delimited

        return open_delimited(path, fmt, schema)
    from statedata.ingest.formats import open_other

    return open_other(path, fmt, schema)
