"""Per-version indexes, kept in a sidecar folder next to the version's Parquet file.

A version file is immutable, so what is learned about it once stays true: its sidecar folder
`v{n}-{random}.index/` holds

- `facts.json`: the row count, and which columns are non-decreasing (and never null) in `:id`
  order, so that ordering by one of them is ordering by `:id`;
- for each text column with few distinct values (at most `MAX_VALUES`), the rows holding each
  value (`values-{k}.*`): what `column = 'value'` selects, without reading the file;
- a full-text index of the version's text columns (`text.*`): for each word (a maximal run of
  letters and digits of the lower-cased text, as `$q` sees words), the rows that contain it.

An index is a sorted key list (`*.keys.arrow`, an Arrow file) and, for key `k`, the rows
`postings[starts[k]:starts[k + 1]]` (`*.starts.npy`, `*.postings.npy`), as 0-based positions
in the version file in ascending order (every version is stored in `:id` order). Files are
memory-mapped, so a look-up reads only the pages it touches.

Indexes are built after the version is published, in the background (`VersionIndexes`),
because building the full-text index reads every word of the version; until a version's
sidecar is complete, queries run as before, without it. The sidecar appears at once (built in
a temporary folder, then renamed), so a reader never sees half of one.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import queue
import secrets
import shutil
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from statedata.storage.duck import ident
from statedata.storage.sidecar import sidecar_path

log = logging.getLogger(__name__)

FORMAT = 3  # 2: with the row store; 3: postings written as a stream
MAX_VALUES = 1000  # a text column with more distinct values than this gets no value index
# What `$q` calls a word: a maximal run of letters and digits (any script), after lower().
WORD_SPLIT = r"[^\pL\pN]+"
TEXT_TYPES = ("VARCHAR",)
ORDERABLE_PREFIXES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "DATE", "TIMESTAMP",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Reading


class _Keys:
    """A sorted Arrow string array as a sequence `bisect` can search without copying it."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i: int) -> str:
        return self.array[i].as_py()


class RowStore:
    """The version's rows again, as an Arrow file of small record batches (lz4), so that a few
    rows at known positions are read by decompressing a batch or two, not a Parquet row group
    of every column."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "rows.arrow"
        self.starts = np.load(folder / "rows.starts.npy")  # first position of each batch
        self._local = threading.local()

    def reader(self) -> pa.ipc.RecordBatchFileReader:
        # One reader a thread: Arrow does not promise that one may be shared.
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = pa.ipc.open_file(pa.memory_map(str(self.path)))
        return reader

    def rows_at(self, positions: np.ndarray, columns: list[str]) -> list[tuple]:
        """The rows at `positions` (ascending), as tuples of `columns` (Python values as
        DuckDB's fetchall gives them for the types compile allows here)."""
        if not len(positions):
            return []
        positions = np.asarray(positions, dtype=np.int64)
        batch_of = np.searchsorted(self.starts, positions, side="right") - 1
        wanted = np.unique(batch_of)
        reader = self.reader()
        batches = [reader.get_batch(int(k)).select(columns) for k in wanted]
        lengths = np.array([b.num_rows for b in batches], dtype=np.int64)
        before = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        rank = np.searchsorted(wanted, batch_of)
        local = positions - self.starts[batch_of] + before[rank]
        table = pa.Table.from_batches(batches).take(pa.array(local))
        return list(zip(*(c.to_pylist() for c in table.columns), strict=True))


def _postings(folder: Path, name: str) -> np.ndarray:
    for dtype in ("uint32", "int64"):
        path = folder / f"{name}.postings.{dtype}"
        if path.exists():
            if not path.stat().st_size:  # no rows: numpy cannot map an empty file
                return np.empty(0, dtype=dtype)
            return np.memmap(path, dtype=dtype, mode="r")
    raise FileNotFoundError(folder / f"{name}.postings.*")


class Postings:
    """One index: key -> ascending row positions."""

    def __init__(self, folder: Path, name: str) -> None:
        with pa.memory_map(str(folder / f"{name}.keys.arrow")) as source:
            table = pa.ipc.open_file(source).read_all()
        self.keys = _Keys(table.column("key").combine_chunks())
        self.starts = np.load(folder / f"{name}.starts.npy", mmap_mode="r")
        self.postings = _postings(folder, name)

    def get(self, key: str) -> np.ndarray:
        i = bisect.bisect_left(self.keys, key)
        if i == len(self.keys) or self.keys[i] != key:
            return self.postings[0:0]
        return self.postings[int(self.starts[i]) : int(self.starts[i + 1])]


class StaleIndex(ValueError):
    """A sidecar written by another version of this code: built again."""


@dataclass
class VersionIndex:
    """What the sidecar of one version file knows."""

    folder: Path
    rows_sql: str  # the version's rows, system fields included (storage's rows_sql)
    row_count: int
    ordered: frozenset[str]  # columns non-decreasing and never null in :id order
    value_columns: dict[str, Postings]
    text_columns: tuple[str, ...] | None  # the columns the full-text index covers
    text: Postings | None
    rows: RowStore | None = None  # the rows themselves, for reading a page by position

    @classmethod
    def load(cls, folder: Path, rows_sql: str) -> VersionIndex:
        facts = json.loads((folder / "facts.json").read_text())
        if facts.get("format") != FORMAT:
            raise StaleIndex(f"{folder}: sidecar format {facts.get('format')}, not {FORMAT}")
        values = {column: Postings(folder, name) for column, name in facts["values"].items()}
        text = Postings(folder, "text") if facts.get("text_columns") is not None else None
        return cls(
            folder=folder,
            rows_sql=rows_sql,
            row_count=facts["row_count"],
            ordered=frozenset(facts["ordered"]),
            value_columns=values,
            text_columns=tuple(facts["text_columns"]) if text is not None else None,
            text=text,
            rows=RowStore(folder) if facts.get("rows") else None,
        )

    def rows_at_sql(self, low: int, high: int, positions: np.ndarray | None = None) -> str:
        """SQL for the version's rows at positions `low` to `high` (0-based, inclusive), and
        only at `positions` when given. Row groups outside them are not read."""
        where = f" WHERE file_row_number BETWEEN {int(low)} AND {int(high)}"
        if positions is not None and len(positions):
            where += f" AND file_row_number IN ({','.join(map(str, positions.tolist()))})"
        return self.rows_sql + where

    def rows_with_value(self, column: str, value: str) -> np.ndarray | None:
        """Positions of the rows whose `column` equals `value`; None if not indexed."""
        postings = self.value_columns.get(column)
        return None if postings is None else postings.get(value)

    def rows_with_words(self, words: list[str]) -> np.ndarray | None:
        """Positions of the rows whose text holds every one of `words` (already lower-cased
        single words); None without a full-text index."""
        if self.text is None:
            return None
        lists = sorted((self.text.get(w) for w in words), key=len)
        found = np.asarray(lists[0])
        for other in lists[1:]:
            if not len(found):
                break
            found = np.intersect1d(found, other, assume_unique=True)
        return found


def is_word(text: str) -> bool:
    """Whether `text` is one whole word as the index splits text: letters and digits only
    (Unicode categories L and N, RE2's \\pL and \\pN)."""
    return bool(text) and all(unicodedata.category(ch)[0] in "LN" for ch in text)


# ---------------------------------------------------------------------------------------------
# Building


def build(
    con: duckdb.DuckDBPyConnection,
    version_file: Path,
    rows_sql: str,
    schema: list[dict],
    text_columns: list[str],
) -> Path:
    """Build the sidecar of `version_file` (whose rows, system fields included, `rows_sql`
    selects in :id order) and put it in place; return its folder."""
    final = sidecar_path(version_file)
    temp = final.with_name(final.name + f".tmp-{secrets.token_hex(4)}")
    temp.mkdir(parents=True)
    try:
        parquet = f"read_parquet('{version_file}')"
        row_count = con.execute(f"SELECT count(*) FROM {parquet}").fetchone()[0]
        facts: dict = {
            "format": FORMAT,
            "row_count": row_count,
            "ordered": _ordered_columns(con, rows_sql, schema),
            "values": {},
            "text_columns": None,
        }
        types = {c["name"]: c["type"] for c in schema}
        for k, name in enumerate(c for c in text_columns if types.get(c) in TEXT_TYPES):
            distinct = con.execute(
                f"SELECT approx_count_distinct({ident(name)}) FROM {parquet}"
            ).fetchone()[0]
            if distinct > MAX_VALUES:
                continue
            column = ident(name)
            _write_postings(
                con,
                temp,
                f"values-{k}",
                f"SELECT {column} AS key, file_row_number AS pos FROM {parquet} "
                f"WHERE {column} IS NOT NULL",
                row_count,
            )
            facts["values"][name] = f"values-{k}"
        if text_columns:
            haystack = f"lower(concat_ws(' ', {', '.join(ident(c) for c in text_columns)}))"
            _write_postings(
                con,
                temp,
                "text",
                # A row's words made distinct in the row: no DISTINCT over every (word, row).
                "SELECT key, pos FROM (SELECT file_row_number AS pos, "
                f"unnest(list_distinct(regexp_split_to_array({haystack}, '{WORD_SPLIT}'))) AS key "
                f"FROM {parquet}) WHERE key <> ''",
                row_count,
            )
            facts["text_columns"] = list(text_columns)
        _write_rows(con, temp, rows_sql)
        facts["rows"] = "rows.arrow"
        (temp / "facts.json").write_text(json.dumps(facts))
        _put_in_place(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return final


def _put_in_place(temp: Path, final: Path) -> None:
    """Rename `temp` to `final`; a stale sidecar there is moved aside and deleted first."""
    try:
        facts = json.loads((final / "facts.json").read_text())
    except (OSError, ValueError):
        facts = None
    if facts is not None and facts.get("format") != FORMAT:
        aside = final.with_name(final.name + f".tmp-{secrets.token_hex(4)}")
        with contextlib.suppress(OSError):
            os.replace(final, aside)
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.replace(temp, final)
    except OSError:  # another builder finished first: theirs is as good
        shutil.rmtree(temp, ignore_errors=True)


ROW_BATCH = 1024  # rows a record batch of rows.arrow holds


def _write_rows(con: duckdb.DuckDBPyConnection, folder: Path, rows_sql: str) -> None:
    """rows.arrow: every row, system fields included, in :id order, in batches of ROW_BATCH
    rows (lz4); rows.starts.npy: the first position of each batch."""
    reader = con.execute(f"SELECT * FROM ({rows_sql})").to_arrow_reader(ROW_BATCH * 64)
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    starts = []
    position = 0
    with (
        pa.OSFile(str(folder / "rows.arrow"), "wb") as sink,
        pa.ipc.new_file(sink, reader.schema, options=options) as writer,
    ):
        for big in reader:
            for offset in range(0, big.num_rows, ROW_BATCH):
                batch = big.slice(offset, ROW_BATCH)
                starts.append(position)
                position += batch.num_rows
                writer.write_batch(batch)
    np.save(folder / "rows.starts.npy", np.array(starts, dtype=np.int64))


PAIRS_BATCH = 1 << 20  # (key, pos) pairs read at a time while writing an index


def _write_postings(
    con: duckdb.DuckDBPyConnection, folder: Path, name: str, pairs_sql: str, row_count: int
) -> None:
    """Write the index of the (key, pos) pairs `pairs_sql` gives: DuckDB sorts them (spilling
    to disk when they do not fit in memory) and they are streamed out, a million at a time,
    so no step holds every pair at once."""
    dtype = np.dtype(np.uint32 if row_count < 2**32 else np.int64)
    sql = f"SELECT key, pos FROM ({pairs_sql}) ORDER BY key, pos"
    reader = con.execute(sql).to_arrow_reader(PAIRS_BATCH)
    keys: list[pa.Array] = []
    starts: list[np.ndarray] = []
    written = 0
    last: str | None = None
    with open(folder / f"{name}.postings.{dtype.name}", "wb") as out:
        for batch in reader:
            n = batch.num_rows
            if not n:
                continue
            key = batch.column(0).cast(pa.string())
            # Where a new key begins: where it differs from the row before (or the batch before).
            new = np.zeros(n, dtype=bool)
            if n > 1:
                different = pc.not_equal(key.slice(1), key.slice(0, n - 1))
                new[1:] = different.to_numpy(zero_copy_only=False)
            new[0] = key[0].as_py() != last
            begins = np.flatnonzero(new)
            keys.append(key.take(pa.array(begins)))
            starts.append(begins + written)
            last = key[n - 1].as_py()
            out.write(batch.column(1).to_numpy(zero_copy_only=False).astype(dtype).tobytes())
            written += n
    np.save(folder / f"{name}.starts.npy", np.concatenate([*starts, [written]]).astype(np.int64))
    table = pa.table({"key": pa.concat_arrays(keys) if keys else pa.array([], pa.string())})
    with (
        pa.OSFile(str(folder / f"{name}.keys.arrow"), "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as writer,
    ):
        writer.write_table(table)


def _ordered_columns(
    con: duckdb.DuckDBPyConnection, rows_sql: str, schema: list[dict]
) -> list[str]:
    """Columns that never decrease (and are never null) from one row to the next in :id
    order. Checked in the file's order, which is :id order."""
    candidates = [
        c["name"]
        for c in schema
        if c["name"] != ":id" and str(c["type"]).upper().startswith(ORDERABLE_PREFIXES)
    ]
    if not candidates:
        return []
    # One pass: a column qualifies when no row is smaller than the row before it.
    tests = ", ".join(
        f"count(*) FILTER (WHERE {ident(c)} IS NULL OR {ident(c)} < __prev_{k})"
        for k, c in enumerate(candidates)
    )
    lags = ", ".join(
        f"lag({ident(c)}) OVER (ORDER BY {ident(':id')}) AS __prev_{k}"
        for k, c in enumerate(candidates)
    )
    counts = con.execute(f"SELECT {tests} FROM (SELECT *, {lags} FROM ({rows_sql}))").fetchone()
    return [c for c, bad in zip(candidates, counts, strict=True) if bad == 0]


# ---------------------------------------------------------------------------------------------
# Serving: loaded indexes, and builds in the background


def _current(folder: Path) -> bool:
    """Whether `folder` holds a sidecar of this code's format."""
    try:
        return json.loads((folder / "facts.json").read_text()).get("format") == FORMAT
    except (OSError, ValueError):
        return False


class VersionIndexes:
    """The indexes of the version files a server queries.

    `get` answers at once: the loaded index, or None while there is none yet, in which case
    one background thread builds it (one version at a time, oldest request first).
    """

    def __init__(
        self,
        connect: Callable[[], duckdb.DuckDBPyConnection],
        capacity: int = 64,
        retry_after: float = 300.0,
    ) -> None:
        self._connect = connect
        self._capacity = capacity
        self._retry_after = retry_after
        self._loaded: OrderedDict[Path, VersionIndex] = OrderedDict()
        self._pending: set[Path] = set()
        self._failed: dict[Path, float] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self._closed = False

    def get(
        self, version_file: Path, rows_sql: str, schema: list[dict], text_columns: list[str]
    ) -> VersionIndex | None:
        with self._lock:
            found = self._loaded.get(version_file)
            if found is not None:
                self._loaded.move_to_end(version_file)
                return found
        folder = sidecar_path(version_file)
        if (folder / "facts.json").exists():
            try:
                index = VersionIndex.load(folder, rows_sql)
            except StaleIndex:
                self._schedule(version_file, rows_sql, schema, text_columns)
                return None
            except (OSError, ValueError, KeyError, pa.ArrowException) as error:
                log.warning("ignoring the unreadable index %s: %s", folder, error)
                return None
            with self._lock:
                self._loaded[version_file] = index
                while len(self._loaded) > self._capacity:
                    self._loaded.popitem(last=False)
            return index
        self._schedule(version_file, rows_sql, schema, text_columns)
        return None

    def _schedule(
        self, version_file: Path, rows_sql: str, schema: list[dict], text_columns: list[str]
    ) -> None:
        with self._lock:
            if self._closed or version_file in self._pending:
                return
            failed_at = self._failed.get(version_file)
            if failed_at is not None and time.monotonic() - failed_at < self._retry_after:
                return
            self._pending.add(version_file)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="statedata-indexes", daemon=True
                )
                self._worker.start()
        self._queue.put((version_file, rows_sql, schema, text_columns))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            version_file, rows_sql, schema, text_columns = item
            try:
                if version_file.exists() and not _current(sidecar_path(version_file)):
                    began = time.perf_counter()
                    # A connection of its own for each build, closed after it: the memory a
                    # build takes goes back at once instead of staying with the server.
                    con = self._connect()
                    try:
                        build(con, version_file, rows_sql, schema, text_columns)
                    finally:
                        con.close()
                    log.info("indexed %s in %.1f s", version_file.name, time.perf_counter() - began)
            except Exception as error:  # queries go on without the index
                log.warning("could not index %s: %s", version_file, error)
                with self._lock:
                    self._failed[version_file] = time.monotonic()
            finally:
                with self._lock:
                    self._pending.discard(version_file)

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait until no build is pending (for tests); whether that happened in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is not None:
            self._queue.put(None)
            worker.join(timeout=5)
