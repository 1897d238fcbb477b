"""Queries answered with a version's sidecar index give exactly the rows they give without it:
the index changes how a page is found, never what it holds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statedata.query import QueryEngine, columns_of, compile_query, parse_request
from statedata.storage.indexes import VersionIndex, build
from statedata.storage.versions import rows_sql

WORDS = ["alpha", "beta", "gamma", "delta", "café", "x1"]
ROWS = f"""
SELECT TIMESTAMPTZ '2024-03-01 12:00:00+00' AS ":created_at",
       TIMESTAMPTZ '2024-03-01 12:00:00+00' AS ":updated_at",
       i AS seq,
       i // 7 AS week,
       (i * 7919) % 1000 AS jumpy,
       ['Permit', 'Inspection', 'Grant', 'Appeal'][i % 4 + 1] AS kind,
       CASE WHEN i % 9 = 0 THEN NULL ELSE ['North', 'South'][i % 2 + 1] END AS side,
       CASE WHEN i % 11 = 0 THEN NULL ELSE
         {WORDS}[(hash(i) % 6)::BIGINT + 1] || ' ' || upper({WORDS}[(hash(i, 2) % 6)::BIGINT + 1]) || '-'
         || {WORDS}[(hash(i, 3) % 6)::BIGINT + 1] END AS note
FROM range(0, 3000) r(i)
"""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("indexed") / "v1-0000.parquet"
    con = duckdb.connect()
    con.execute(f"COPY ({ROWS}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 256)")
    table_sql = rows_sql(path, 0)
    schema = [{"name": r[0], "type": r[1]} for r in con.execute(f"DESCRIBE {table_sql}").fetchall()]
    columns = columns_of(schema)
    text = [c.field_name for c in columns if c.soda_type == "text" and ":" not in c.field_name]
    index = VersionIndex.load(build(con, path, table_sql, schema, text), table_sql)
    con.close()
    return table_sql, columns, index


@pytest.fixture(scope="module")
def eng():
    engine = QueryEngine(None)
    yield engine
    engine.close()


def _both(eng, indexed, params: dict[str, str]):
    table_sql, columns, index = indexed
    query = parse_request(params, columns, max_limit=5000)
    plain = compile_query(query, table_sql, rows_in_id_order=True)
    fast = compile_query(query, table_sql, rows_in_id_order=True, index=index)
    return eng.run(plain, 30).rows, eng.run(fast, 30).rows, fast


def test_index_facts_of_the_fixture(indexed):
    _, _, index = indexed
    assert {"seq", "week"} <= index.ordered and "jumpy" not in index.ordered
    assert {"kind", "side", "note"} <= set(index.value_columns)


@pytest.mark.parametrize(
    "params",
    [
        {"$where": "kind='Permit'", "$order": "seq", "$limit": "100", "$offset": "500"},
        {"$where": "kind='Permit' AND side='North'", "$offset": "40", "$limit": "7"},
        {"$where": "side = 'South'", "$order": "week, seq", "$limit": "50", "$offset": "1200"},
        {"$q": "alpha", "$limit": "20"},
        {"$q": "ALPHA Café", "$limit": "20", "$offset": "3"},
        {"$q": "beta", "$where": "kind='Grant'", "$limit": "10", "$offset": "25"},
        {"$q": "nothing", "$limit": "20"},
        {"$where": "kind='Nope'", "$limit": "20"},
        {"$limit": "30", "$offset": "2990"},
        {"$offset": "5000"},
        {"$select": "seq, kind", "$where": "kind='Appeal'", "$offset": "700", "$limit": "5"},
    ],
)
def test_indexed_pages_equal_plain_pages(eng, indexed, params):
    plain, fast, compiled = _both(eng, indexed, params)
    assert fast == plain
    assert compiled.sql.startswith("WITH")  # the index answered


@pytest.mark.parametrize(
    "params",
    [
        {"$where": "kind='Permit' OR side='North'"},  # not a conjunction of equalities
        {"$where": "kind > 'Permit'"},
        {"$where": "seq = 5"},  # not a text column
        {"$q": "o'brien"},  # not one whole word
        {"$order": "jumpy", "$where": "kind='Permit'"},  # an order that is not :id's
        {"$order": "seq DESC"},
        {"$select": "kind, count(*) AS n", "$group": "kind"},
    ],
)
def test_what_the_index_cannot_answer_runs_as_before(eng, indexed, params):
    plain, fast, compiled = _both(eng, indexed, params)
    assert fast == plain
    assert not compiled.sql.startswith("WITH")


def test_an_order_by_a_never_decreasing_column_is_the_order_of_id(indexed):
    table_sql, columns, index = indexed
    query = parse_request({"$order": "seq", "$offset": "2000", "$where": "jumpy > 3"}, columns)
    with_facts = compile_query(query, table_sql, rows_in_id_order=True, index=index)
    without = compile_query(query, table_sql, rows_in_id_order=True)
    assert "ORDER BY" in without.sql and '"seq"' in without.sql.split("ORDER BY")[1]
    assert with_facts.bounds_sql is not None  # the two-step deep page of :id order


def test_a_sparse_page_names_its_rows(eng, indexed, monkeypatch):
    import statedata.query.compile as compile_module

    monkeypatch.setattr(compile_module, "SPARSE_SPAN", 10)
    params = {"$q": "x1 café", "$where": "kind='Grant'", "$limit": "5", "$offset": "3"}
    plain, fast, compiled = _both(eng, indexed, params)
    assert fast == plain and len(fast) == 5
    assert "file_row_number IN (" in compiled.sql


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["Permit", "Inspection", "Grant", "Appeal", "permit", None]),
    side=st.sampled_from(["North", "South", None]),
    words=st.lists(st.sampled_from([*WORDS, "ALPHA", "zeta"]), max_size=3),
    order=st.sampled_from([None, "seq", ":id", "week", "week, seq"]),
    limit=st.integers(1, 120),
    offset=st.integers(0, 3100),
)
def test_random_indexed_queries_agree(eng, indexed, kind, side, words, order, limit, offset):
    params = {"$limit": str(limit), "$offset": str(offset)}
    where = [f"{c}='{v}'" for c, v in (("kind", kind), ("side", side)) if v]
    if where:
        params["$where"] = " AND ".join(where)
    if words:
        params["$q"] = " ".join(words)
    if order:
        params["$order"] = order
    plain, fast, _ = _both(eng, indexed, params)
    assert fast == plain


@pytest.mark.parametrize("offset", [0, 1, 333, 2999, 5000])
def test_an_indexed_page_moves_to_another_offset_without_compiling(eng, indexed, offset):
    table_sql, columns, index = indexed
    params = {"$where": "kind='Grant'", "$q": "alpha", "$limit": "9"}
    template = compile_query(
        parse_request(params, columns), table_sql, rows_in_id_order=True, index=index
    )
    assert template.page is not None
    moved = template.at_offset(offset)
    direct = compile_query(
        parse_request({**params, "$offset": str(offset)}, columns),
        table_sql,
        rows_in_id_order=True,
        index=index,
    )
    assert moved.sql == direct.sql
    assert eng.run(moved, 30).rows == eng.run(direct, 30).rows


def test_only_an_indexed_page_moves(indexed):
    table_sql, columns, _ = indexed
    compiled = compile_query(parse_request({}, columns), table_sql, rows_in_id_order=True)
    with pytest.raises(ValueError):
        compiled.at_offset(10)


TYPED = """
SELECT TIMESTAMPTZ '2024-03-01 12:00:00+00' AS ":created_at",
       TIMESTAMPTZ '2024-03-01 12:00:00+00' AS ":updated_at",
       ['a', 'b'][i % 2 + 1] AS kind,
       CASE WHEN i % 5 = 0 THEN NULL ELSE i / 7 END AS ratio,
       CAST(i AS DECIMAL(10, 2)) / 4 AS money,
       DATE '2020-01-01' + CAST(i AS INTEGER) AS day,
       TIMESTAMP '2020-01-01 00:00:00' + to_minutes(i) AS seen,
       i % 3 = 0 AS ok,
       CAST(i AS SMALLINT) AS small,
       CAST(i AS FLOAT) / 3 AS f,
       CAST(i AS INTEGER) AS n,
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'x' || i END AS label
FROM range(0, 5000) r(i)
"""


@pytest.mark.parametrize("system", [False, True])
def test_pages_read_from_the_row_store_equal_duckdb(tmp_path, eng, system):
    path = tmp_path / "v1-typed.parquet"
    con = duckdb.connect()
    con.execute(f"COPY ({TYPED}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 700)")
    table_sql = rows_sql(path, 10)
    schema = [{"name": r[0], "type": r[1]} for r in con.execute(f"DESCRIBE {table_sql}").fetchall()]
    columns = columns_of(schema)
    index = VersionIndex.load(build(con, path, table_sql, schema, ["kind", "label"]), table_sql)
    assert index.rows is not None
    for params in (
        {"$where": "kind='b'", "$offset": "1234", "$limit": "300"},
        {"$limit": "2000", "$offset": "2500"},
        {"$q": "x9", "$limit": "5"},
    ):
        query = parse_request(params, columns, include_system=system, max_limit=5000)
        fast = compile_query(query, table_sql, rows_in_id_order=True, index=index)
        plain = compile_query(query, table_sql, rows_in_id_order=True)
        # The system stamps are TIMESTAMPTZ, which only SQL turns into Python as DuckDB does.
        assert (fast.page.direct is None) == system
        assert eng.run(fast, 30).rows == eng.run(plain, 30).rows


def test_row_store_reads_any_positions(tmp_path):
    import numpy as np

    path = tmp_path / "v1-rows.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT i, 'r' || i AS s FROM range(0, 5000) r(i)) TO '{path}'")
    schema = [{"name": "i", "type": "BIGINT"}, {"name": "s", "type": "VARCHAR"}]
    index = VersionIndex.load(build(con, path, rows_sql(path, 0), schema, []), rows_sql(path, 0))
    for positions in ([0], [1023, 1024], [5, 999, 1000, 3071, 4999], list(range(0, 5000, 37))):
        got = index.rows.rows_at(np.array(positions), ["s", ":id", "i"])
        assert got == [(f"r{p}", p + 1, p) for p in positions]
    assert index.rows.rows_at(np.array([], dtype=np.int64), ["i"]) == []
