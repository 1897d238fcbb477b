"""Runs compiled queries on DuckDB: one connection per thread, extensions loaded on demand, a
time limit enforced by interrupting the query. It never builds SQL itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import duckdb

from statedata.query.compile import CompiledQuery
from statedata.query.errors import EXECUTION_FAILED, TIMEOUT, QueryError
from statedata.storage.duck import connect, load_extension


@dataclass
class QueryResult:
    """The answer: `rows` are Python tuples in `fields` order (numbers as int, float or
    Decimal; timestamps as datetime/date; geometry as GeoJSON text; json as text)."""

    fields: list[str]
    types: list[str]
    rows: list[tuple]


class QueryEngine:
    """Owns one DuckDB database and a cursor on it per thread that runs queries.

    One database, so the memory limit, the cache and the thread pool are the server's, not
    each thread's; a cursor per thread, so concurrent requests do not wait on each other.
    """

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings
        self._database = connect(settings)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[duckdb.DuckDBPyConnection] = []

    def _connection(self, spatial: bool) -> duckdb.DuckDBPyConnection:
        con = getattr(self._local, "con", None)
        if con is None:
            with self._lock:
                con = self._database.cursor()
            self._local.con, self._local.spatial = con, False
            with self._lock:
                self._connections.append(con)
        if spatial and not self._local.spatial:
            load_extension(con, "spatial")
            self._local.spatial = True
        return con

    def run(self, compiled: CompiledQuery, timeout_seconds: float) -> QueryResult:
        """Run `compiled`; past `timeout_seconds` it is interrupted (QueryError, 408)."""
        con = self._connection(compiled.needs_spatial)
        guard = threading.Lock()
        running = [True]

        def interrupt() -> None:
            with guard:
                if running[0]:
                    con.interrupt()

        timer = threading.Timer(timeout_seconds, interrupt)
        timer.daemon = True
        timer.start()
        try:
            if compiled.bounds_sql is None:
                rows = con.execute(compiled.sql).fetchall()
            else:
                low, high = con.execute(compiled.bounds_sql).fetchone()
                rows = (
                    []
                    if low is None
                    else con.execute(compiled.sql, {"lo": low, "hi": high}).fetchall()
                )
        except duckdb.InterruptException:
            raise QueryError(
                TIMEOUT,
                f"The query ran longer than the limit of {timeout_seconds:g} seconds; "
                "ask for fewer rows or add a $where.",
                status=408,
            ) from None
        except (duckdb.DataError, duckdb.InvalidInputException) as error:
            first = str(error).splitlines()[0]
            raise QueryError(
                EXECUTION_FAILED, f"The query could not be answered: {first}"
            ) from None
        finally:
            with guard:
                running[0] = False
            timer.cancel()
        return QueryResult(list(compiled.fields), list(compiled.types), rows)

    def close(self) -> None:
        """Close every connection this engine opened (in any thread)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for con in connections:
            con.close()
        self._database.close()
