"""Runs compiled queries on DuckDB: one connection per thread, extensions loaded on demand, a
time limit enforced by interrupting the query. It never builds SQL itself.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot

from statedata.query.cache import CompiledCache
from statedata.query.compile import CompiledQuery
from statedata.query.errors import EXECUTION_FAILED, TIMEOUT, QueryError
from statedata.storage.duck import connect, load_extension
from statedata.storage.indexes import VersionIndexes

log = logging.getLogger(__name__)


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

    It also keeps what serving queries learns and may reuse: the versions' sidecar indexes
    (`indexes`, built in the background) and compiled SQL (`compiled`).
    """

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings
        self._database = connect(settings)
        # Version files never change, so DuckDB may keep their Parquet footers between queries
        # (GLOBAL: for every cursor, not only this connection).
        self._database.execute("SET GLOBAL parquet_metadata_cache = true")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[duckdb.DuckDBPyConnection] = []
        # Index builds get a database of their own (the same settings), closed after each.
        self.indexes = VersionIndexes(lambda: connect(settings))
        self.compiled = CompiledCache()
        self._watchdog = _Watchdog()
        # Held while `warm` loads, so `close` never closes the database under it.
        self._warming = threading.Lock()
        self._closed = False

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
        page = compiled.page
        if page is not None and page.direct is not None and page.index.rows is not None:
            try:
                rows = page.index.rows.rows_at(page.positions(compiled.offset), list(page.direct))
                return QueryResult(list(compiled.fields), list(compiled.types), rows)
            except (OSError, pa.ArrowException) as error:  # the row store is gone: use SQL
                log.warning("reading %s by position failed: %s", page.index.folder, error)
        con = self._connection(compiled.needs_spatial)
        ticket = self._watchdog.arm(timeout_seconds, con)
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
            self._watchdog.disarm(ticket)
        return QueryResult(list(compiled.fields), list(compiled.types), rows)

    def warm(self) -> None:
        """Do now what the first queries would otherwise wait for: import sqlglot's DuckDB
        dialect (compiling needs it) and load the spatial extension into the database.

        Safe alongside queries: an extension loaded into the database serves every cursor,
        a cursor's own LOAD of it is then a no-op, and DuckDB makes a LOAD arriving during
        this one wait for it rather than load twice.
        """
        sqlglot.Dialect.get_or_raise("duckdb")
        with self._warming:
            if self._closed:
                return
            with self._lock:
                con = self._database.cursor()
            try:
                load_extension(con, "spatial")
            finally:
                con.close()

    def close(self) -> None:
        """Close every connection this engine opened (in any thread)."""
        with self._warming:
            self._closed = True
        self.indexes.close()
        self._watchdog.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for con in connections:
            con.close()
        self._database.close()


class _Watchdog:
    """Interrupts queries that run past their time limit: one thread for all of them, since
    starting a timer thread for every query costs more than a small query does."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, duckdb.DuckDBPyConnection]] = {}
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, seconds: float, con: duckdb.DuckDBPyConnection) -> int:
        ticket = next(self._tickets)
        with self._cond:
            self._armed[ticket] = (time.monotonic() + seconds, con)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._watch, name="statedata-query-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return ticket

    def disarm(self, ticket: int) -> None:
        # Under the lock, so an interrupt is never sent once the query is done.
        with self._cond:
            self._armed.pop(ticket, None)

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                for ticket, (deadline, con) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[ticket]
                        con.interrupt()
                nearest = min((d for d, _ in self._armed.values()), default=now + 60)
                self._cond.wait(max(0.001, nearest - now))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
