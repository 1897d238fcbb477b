"""Readers for the formats other than delimited text (placeholder until filled in below)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from statedata.storage.source import TableSource


class ParquetSource(TableSource):
    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        return con.sql("SELECT * FROM read_parquet($path)", params={"path": str(self.path)})


def open_other(path: Path, fmt: str, schema=None) -> TableSource:  # type: ignore[no-untyped-def]
    if fmt == "parquet":
        return ParquetSource(path=path, format=fmt, schema=schema)
    raise NotImplementedError(fmt)
