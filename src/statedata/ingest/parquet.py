"""Parquet: read as it is by DuckDB, through the shared `Reader`.

Nothing format-specific is needed beyond the read itself; casts and checks are in `reader.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from statedata.ingest.reader import Reader


@dataclass
class ParquetSource(Reader):
    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        return con.sql("SELECT * FROM read_parquet($path)", params={"path": str(self.path)})
