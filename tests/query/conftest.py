"""A small dataset version on disk (Parquet written by DuckDB) and its columns, as storage
would hand them to the query engine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from statedata.query import ColumnInfo, QueryEngine, columns_of
from statedata.storage.duck import load_extension
from statedata.storage.versions import rows_sql

ROWS_SQL = """
SELECT TIMESTAMPTZ '2024-03-01 12:00:00+00' AS ":created_at",
       TIMESTAMPTZ '2024-03-02 12:00:00+00' AS ":updated_at",
       ['Hartford', 'hartford', 'New Haven', 'Café Town', NULL, 'Stamford'][i % 6 + 1] AS town,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37) % 101 END AS cases,
       CAST(i AS DOUBLE) / 8 AS rate,
       DATE '2023-01-01' + CAST(i * 3 AS INTEGER) AS day,
       TIMESTAMP '2023-01-01 00:00:00' + to_minutes(i * 97) AS seen,
       i % 3 = 0 AS ok,
       ST_Point(-73.5 + (i % 20) * 0.1, 41.0 + (i % 10) * 0.1)::GEOMETRY('OGC:CRS84') AS location
FROM range(1, 201) r(i)
"""


@pytest.fixture(scope="session")
def version(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[ColumnInfo]]:
    """(table_sql, columns) of a 200-row version with text, number, date, checkbox, point."""
    path: Path = tmp_path_factory.mktemp("version") / "v1.parquet"
    con = duckdb.connect()
    load_extension(con, "spatial")
    con.execute(f"COPY ({ROWS_SQL}) TO '{path}' (FORMAT parquet)")
    table_sql = rows_sql(path, 0)
    described = con.execute(f"DESCRIBE {table_sql}").fetchall()
    con.close()
    return table_sql, columns_of([{"name": r[0], "type": r[1]} for r in described])


@pytest.fixture(scope="session")
def table_sql(version: tuple[str, list[ColumnInfo]]) -> str:
    return version[0]


@pytest.fixture(scope="session")
def columns(version: tuple[str, list[ColumnInfo]]) -> list[ColumnInfo]:
    return version[1]


@pytest.fixture(scope="session")
def engine() -> QueryEngine:
    eng = QueryEngine(None)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def duck(table_sql: str) -> duckdb.DuckDBPyConnection:
    """DuckDB asked directly, for comparing answers: the same rows as a view `t`."""
    con = duckdb.connect()
    load_extension(con, "spatial")
    con.execute(f"CREATE VIEW t AS {table_sql}")
    yield con
    con.close()
