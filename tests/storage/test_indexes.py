"""Sidecar indexes of version files: what they hold, how they are built in the background, and
that retention and the orphan sweep remove them with their version."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statedata.storage.indexes import VersionIndex, VersionIndexes, build, is_word
from statedata.storage.sidecar import is_sidecar, sidecar_path, version_file_of
from statedata.storage.versions import rows_sql

ROWS = """
SELECT TIMESTAMPTZ '2024-03-01 12:00:00+00' AS ":created_at",
       TIMESTAMPTZ '2024-03-01 12:00:00+00' AS ":updated_at",
       i AS seq,
       i // 3 AS step,
       (i * 7) % 5 AS jumpy,
       CASE WHEN i = 4 THEN NULL ELSE i END AS gap,
       ['Permit', 'Inspection', 'Grant'][i % 3 + 1] AS kind,
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'Town ' || (i % 2) END AS town,
       ['Foo bar', 'BAR-baz qux', 'Café au lait', 'foobar', NULL][i % 5 + 1] AS note
FROM range(0, 40) r(i)
"""


def _version(tmp_path: Path, row_group: int = 8) -> tuple[Path, str, list[dict]]:
    path = tmp_path / "ds" / "v1-abcd.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"COPY ({ROWS}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {row_group})")
    sql = rows_sql(path, 100)
    schema = [{"name": r[0], "type": r[1]} for r in con.execute(f"DESCRIBE {sql}").fetchall()]
    con.close()
    return path, sql, schema


def _truth_positions(path: Path, where: str) -> list[int]:
    con = duckdb.connect()
    found = con.execute(
        f"SELECT file_row_number FROM read_parquet('{path}') WHERE {where} ORDER BY 1"
    ).fetchall()
    return [r[0] for r in found]


def test_build_records_ordered_columns_values_and_words(tmp_path):
    path, sql, schema = _version(tmp_path)
    con = duckdb.connect()
    folder = build(con, path, sql, schema, ["kind", "town", "note"])
    assert folder == sidecar_path(path) and folder.is_dir()
    index = VersionIndex.load(folder, sql)
    assert index.row_count == 40
    # seq and step never decrease; jumpy does; gap has a null; :id and the stamps are kept.
    assert {"seq", "step", ":created_at", ":updated_at"} <= index.ordered
    assert not {"jumpy", "gap"} & index.ordered
    assert set(index.value_columns) == {"kind", "town", "note"}
    for value in ("Permit", "Inspection", "Grant"):
        got = index.rows_with_value("kind", value).tolist()
        assert got == _truth_positions(path, f"kind = '{value}'")
    assert index.rows_with_value("kind", "permit").tolist() == []  # case-sensitive, as `=`
    assert index.rows_with_value("town", "Town 1").tolist() == _truth_positions(
        path, "town = 'Town 1'"
    )
    assert index.rows_with_value("seq", "1") is None  # not a text column: not indexed
    assert index.text_columns == ("kind", "town", "note")
    # Whole words, lower-cased: 'bar' is in 'Foo bar' and 'BAR-baz qux', not in 'foobar'.
    bar = _truth_positions(path, "note IN ('Foo bar', 'BAR-baz qux')")
    assert index.rows_with_words(["bar"]).tolist() == bar
    assert index.rows_with_words(["café"]).tolist() == _truth_positions(
        path, "note = 'Café au lait'"
    )
    both = _truth_positions(path, "note IN ('Foo bar', 'BAR-baz qux') AND kind = 'Grant'")
    assert index.rows_with_words(["bar", "grant"]).tolist() == both
    assert index.rows_with_words(["nothing"]).tolist() == []
    assert index.rows_at_sql(3, 5).endswith("WHERE file_row_number BETWEEN 3 AND 5")


def test_build_without_text_columns_and_with_many_values(tmp_path, monkeypatch):
    import statedata.storage.indexes as indexes

    monkeypatch.setattr(indexes, "MAX_VALUES", 2)
    path, sql, schema = _version(tmp_path)
    folder = build(duckdb.connect(), path, sql, schema, [])
    index = VersionIndex.load(folder, sql)
    assert index.text is None and index.rows_with_words(["bar"]) is None
    assert index.value_columns == {}


def test_built_sidecar_replaces_nothing_and_leaves_no_temporary_folder(tmp_path):
    path, sql, schema = _version(tmp_path)
    build(duckdb.connect(), path, sql, schema, ["kind"])
    build(duckdb.connect(), path, sql, schema, ["kind"])  # a second builder: no error
    assert [p.name for p in path.parent.iterdir() if p.is_dir()] == ["v1-abcd.index"]


def test_version_indexes_build_in_the_background_then_serve(tmp_path):
    path, sql, schema = _version(tmp_path)
    indexes = VersionIndexes(duckdb.connect)
    try:
        assert indexes.get(path, sql, schema, ["kind"]) is None  # not built yet
        assert indexes.wait(60)
        index = indexes.get(path, sql, schema, ["kind"])
        assert index is not None and index.text_columns == ("kind",)
        assert indexes.get(path, sql, schema, ["kind"]) is index  # loaded once
    finally:
        indexes.close()


def test_version_indexes_go_on_without_an_index_when_a_build_fails(tmp_path):
    missing = tmp_path / "ds" / "v9-gone.parquet"
    missing.parent.mkdir(parents=True)
    missing.write_bytes(b"not parquet")
    indexes = VersionIndexes(duckdb.connect)
    try:
        assert indexes.get(missing, rows_sql(missing, 0), [], ["a"]) is None
        assert indexes.wait(60)
        assert indexes.get(missing, rows_sql(missing, 0), [], ["a"]) is None
        assert not sidecar_path(missing).exists()
        assert not [p for p in missing.parent.iterdir() if p.is_dir()]
    finally:
        indexes.close()


def test_sidecar_names():
    version = Path("/d/x/v3-1234abcd.parquet")
    assert sidecar_path(version) == Path("/d/x/v3-1234abcd.index")
    assert is_sidecar(sidecar_path(version))
    assert is_sidecar(Path("/d/x/v3-1234abcd.index.tmp-0a0b0c0d"))
    assert not is_sidecar(version)
    assert version_file_of(Path("/d/x/v3-1234abcd.index.tmp-0a0b0c0d")) == version


_SPLITTER = duckdb.connect()
SPLIT = r"SELECT regexp_split_to_array($t, '[^\pL\pN]+')"


@settings(deadline=None)  # DuckDB is asked once an example; a busy machine is no failure
@given(st.text(max_size=12))
def test_is_word_agrees_with_the_index_splitting(text):
    parts = _SPLITTER.execute(SPLIT, {"t": text}).fetchone()[0]
    # is_word may say no where RE2 says yes (a letter newer than Python's Unicode tables):
    # such a word is then searched without the index. Never the other way round.
    if is_word(text):
        assert parts == [text]
    if text.isascii():
        assert is_word(text) == (parts == [text] and text != "")


@pytest.mark.parametrize("positional", [True, False])
def test_postings_are_positions_in_the_file(tmp_path, positional):
    path, sql, schema = _version(tmp_path)
    if not positional:
        sql = (
            f"SELECT CAST(file_row_number + 7 AS BIGINT) AS \":id\", * FROM read_parquet('{path}')"
        )
    index = VersionIndex.load(build(duckdb.connect(), path, sql, schema, ["kind"]), sql)
    got = index.rows_with_value("kind", "Grant")
    assert isinstance(got, np.ndarray)
    assert got.tolist() == _truth_positions(path, "kind = 'Grant'")
    assert (":id" in index.ordered) is False  # :id itself is never listed: it is the order


def test_retention_and_sweep_remove_sidecars(tmp_path, write_file):
    from statedata.catalog import DatasetMetadata
    from statedata.ingest import open_table
    from statedata.installation import Installation
    from statedata.storage import NewDataset, publish
    from statedata.storage.versions import sweep_orphans

    installation = Installation.open(tmp_path / "home", versions_to_keep=1)
    try:
        csv = write_file("a.csv", "town,kind\nAvon,Permit\nBethel,Grant\n")
        first = publish(
            installation, open_table(csv), new=NewDataset(DatasetMetadata(title="T"), None)
        )
        folder = installation.settings.data_dir / first.dataset_id
        v1 = next(folder.glob("v1-*.parquet"))
        con = duckdb.connect()
        build(con, v1, rows_sql(v1, 0), [], ["town"])
        assert sidecar_path(v1).exists()
        publish(installation, open_table(csv), dataset_id=first.dataset_id)
        assert not v1.exists() and not sidecar_path(v1).exists()  # retention took both

        v2 = next(folder.glob("v2-*.parquet"))
        build(con, v2, rows_sql(v2, 0), [], ["town"])
        orphan = folder / "v7-deadbeef.index"  # its version file is gone
        half = folder / "v2-0000.index.tmp-12345678"  # a build that died
        for extra in (orphan, half):
            extra.mkdir()
            (extra / "facts.json").write_text("{}")
            os.utime(extra, (1_000_000_000, 1_000_000_000))
        os.utime(sidecar_path(v2), (1_000_000_000, 1_000_000_000))
        removed = sweep_orphans(installation)
        assert sorted(removed) == sorted([orphan, half])
        assert sidecar_path(v2).exists()  # the current version's index stays
    finally:
        installation.close()


@pytest.mark.parametrize("batch", [1, 2, 7])
def test_postings_streamed_in_small_batches_are_the_same(tmp_path, monkeypatch, batch):
    import statedata.storage.indexes as indexes

    path, sql, schema = _version(tmp_path)
    whole = VersionIndex.load(build(duckdb.connect(), path, sql, schema, ["kind", "note"]), sql)
    expected = {w: whole.rows_with_words([w]).tolist() for w in ("bar", "foo", "café", "grant")}
    expected_kind = whole.rows_with_value("kind", "Grant").tolist()
    monkeypatch.setattr(indexes, "PAIRS_BATCH", batch)
    other = tmp_path / "other" / path.name
    other.parent.mkdir()
    other.write_bytes(path.read_bytes())
    sql2 = rows_sql(other, 100)
    small = VersionIndex.load(build(duckdb.connect(), other, sql2, schema, ["kind", "note"]), sql2)
    assert {w: small.rows_with_words([w]).tolist() for w in expected} == expected
    assert small.rows_with_value("kind", "Grant").tolist() == expected_kind
    assert len(small.text.keys) == len(whole.text.keys)
