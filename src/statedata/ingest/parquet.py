"""Parquet: read as it is by DuckDB, through the shared `Reader`.

Nothing format-specific is needed beyond the read itself; casts and checks are in `reader.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from statedata.ingest.reader import Reader
from statedata.storage.duck import lazy_relation


@dataclass
class ParquetSource(Reader):
    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        return lazy_relation(con, "SELECT * FROM read_parquet($path)", {"path": str(self.path)})
