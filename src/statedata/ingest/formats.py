"""Dispatch for the formats other than delimited text: `open_other` hands a file to the
reader for its format (Excel, JSON/NDJSON, GeoJSON/shapefile/GeoPackage, Parquet).

The readers live in their own modules; CSV and TSV are in `delimited.py`.
"""

from __future__ import annotations

from pathlib import Path

from statedata.errors import IngestError
from statedata.ingest.excel import open_xlsx
from statedata.ingest.geo import GDAL_DRIVERS, open_geo
from statedata.ingest.jsonfiles import open_json
from statedata.ingest.parquet import ParquetSource
from statedata.ingest.tableschema import TableSchema
from statedata.storage.source import TableSource

__all__ = ["ParquetSource", "open_other"]


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
