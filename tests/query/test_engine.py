"""The engine answers as DuckDB does when asked the same question directly, stops queries past
their time limit, and serves several threads at once."""

from __future__ import annotations

import math
import threading

import pytest

from statedata.query import (
    CompiledQuery,
    QueryEngine,
    QueryError,
    compile_query,
    parse_request,
)


def run(engine, params, columns, table_sql):
    return engine.run(compile_query(parse_request(params, columns), table_sql), 10)


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9)
    return a == b


CASES = [
    (
        {"$select": "town, cases", "$where": "cases > 50"},
        'SELECT town, cases FROM t WHERE cases > 50 ORDER BY ":id"',
    ),
    (
        {"town": "Hartford", "$select": "town, cases"},
        "SELECT town, cases FROM t WHERE town = 'Hartford' ORDER BY \":id\"",
    ),
    (
        {
            "$select": "town, count(*) AS n, sum(cases) AS total",
            "$group": "town",
            "$order": "n DESC, town",
        },
        "SELECT town, count(*), sum(cases) FROM t GROUP BY town ORDER BY 2 DESC NULLS FIRST, 1 NULLS LAST",
    ),
    (
        {
            "$select": "count(*), avg(rate), min(day), max(town), stddev_pop(rate), stddev_samp(cases)"
        },
        "SELECT count(*), avg(rate), min(day), max(town), stddev_pop(rate), stddev_samp(cases) FROM t",
    ),
    (
        {"$select": "regr_slope(cases, rate), regr_intercept(cases, rate), regr_r2(cases, rate)"},
        "SELECT regr_slope(cases, rate), regr_intercept(cases, rate), regr_r2(cases, rate) FROM t",
    ),
    ({"$select": "count(distinct town)"}, "SELECT count(DISTINCT town) FROM t"),
    (
        {
            "$select": ":id",
            "$where": "town LIKE 'H%' AND NOT ok",
            "$order": ":id DESC",
            "$limit": "5",
        },
        "SELECT \":id\" FROM t WHERE town LIKE 'H%' AND NOT ok ORDER BY 1 DESC LIMIT 5",
    ),
    (
        {
            "$select": ":id",
            "$where": "town IN ('Hartford', 'Stamford') OR cases IS NULL",
            "$limit": "20",
            "$offset": "10",
        },
        "SELECT \":id\" FROM t WHERE town IN ('Hartford', 'Stamford') OR cases IS NULL ORDER BY 1 LIMIT 20 OFFSET 10",
    ),
    (
        {"$select": ":id", "$where": "cases NOT BETWEEN 10 AND 90"},
        'SELECT ":id" FROM t WHERE cases NOT BETWEEN 10 AND 90 ORDER BY 1',
    ),
    (
        {
            "$select": "upper(town), lower(town), unaccent(town), town || '!' AS shout",
            "$where": "town IS NOT NULL",
        },
        "SELECT upper(town), lower(town), strip_accents(town), town || '!' FROM t WHERE town IS NOT NULL ORDER BY \":id\"",
    ),
    (
        {
            "$select": "(cases + 1) * 2 - rate / 4 AS x, cases % 7, -cases, ln(rate), greatest(cases, 40), least(rate, 3)"
        },
        'SELECT (cases + 1) * 2 - rate / 4, cases % 7, -cases, ln(rate), greatest(cases, 40), least(rate, 3) FROM t ORDER BY ":id"',
    ),
    (
        {"$select": "date_trunc_y(day), date_trunc_ym(day), date_trunc_ymd(seen)"},
        "SELECT date_trunc('year', day)::TIMESTAMP, date_trunc('month', day)::TIMESTAMP, date_trunc('day', seen)::TIMESTAMP FROM t ORDER BY \":id\"",
    ),
    (
        {
            "$select": "date_extract_y(day), date_extract_m(day), date_extract_d(day), date_extract_hh(seen), date_extract_mm(seen), date_extract_ss(seen), date_extract_dow(day), date_extract_woy(day)"
        },
        'SELECT year(day), month(day), day(day), hour(seen), minute(seen), second(seen), dayofweek(day), weekofyear(day) FROM t ORDER BY ":id"',
    ),
    (
        {
            "$select": "case(cases > 60, 'high', cases > 30, 'mid', true, 'low') AS band, count(*)",
            "$group": "band",
        },
        "SELECT CASE WHEN cases > 60 THEN 'high' WHEN cases > 30 THEN 'mid' WHEN true THEN 'low' END AS b, count(*) FROM t GROUP BY b ORDER BY b",
    ),
    (
        {"$select": "town, count(*)", "$group": "town", "$having": "count(*) > 33"},
        "SELECT town, count(*) FROM t GROUP BY town HAVING count(*) > 33 ORDER BY town",
    ),
    ({"$select": "distinct town"}, "SELECT DISTINCT town FROM t ORDER BY 1"),
    (
        {"$select": ":id", "$where": "day >= '2023-06-01' AND seen < '2023-01-05T00:00:00'"},
        "SELECT \":id\" FROM t WHERE day >= DATE '2023-06-01' AND seen < TIMESTAMP '2023-01-05' ORDER BY 1",
    ),
    (
        {"$select": ":id", "$where": "starts_with(town, 'Ha')"},
        "SELECT \":id\" FROM t WHERE starts_with(town, 'Ha') ORDER BY 1",
    ),
    (
        {"$select": ":id, town", "$q": "NEW haven"},
        "SELECT \":id\", town FROM t WHERE regexp_matches(lower(town), '(^|[^a-z])new([^a-z]|$)') "
        "AND regexp_matches(lower(town), '(^|[^a-z])haven([^a-z]|$)') ORDER BY 1",
    ),
    (
        {"$query": "SELECT town, max(cases) AS m WHERE ok GROUP BY town ORDER BY m DESC LIMIT 3"},
        "SELECT town, max(cases) FROM t WHERE ok GROUP BY town ORDER BY 2 DESC NULLS FIRST LIMIT 3",
    ),
    (
        {"$select": ":id", "$where": "town = 'hartford'"},
        "SELECT \":id\" FROM t WHERE town = 'hartford' ORDER BY 1",
    ),
]


@pytest.mark.parametrize(("params", "sql"), CASES)
def test_answers_match_duckdb(engine, columns, table_sql, duck, params, sql):
    result = run(engine, params, columns, table_sql)
    expected = duck.execute(sql).fetchall()
    assert len(result.rows) == len(expected)
    for got, want in zip(result.rows, expected, strict=True):
        assert all(same(a, b) for a, b in zip(got, want, strict=True)), (got, want)


def test_text_comparison_is_case_sensitive(engine, columns, table_sql):
    rows = run(engine, {"$select": "town", "$where": "town = 'hartford'"}, columns, table_sql).rows
    assert rows and {r[0] for r in rows} == {"hartford"}


def test_paging_covers_every_row_once(engine, columns, table_sql):
    seen = []
    for offset in range(0, 200, 30):
        page = run(
            engine, {"$select": ":id", "$limit": "30", "$offset": str(offset)}, columns, table_sql
        )
        seen += [r[0] for r in page.rows]
    assert seen == list(range(1, 201))


def test_spatial_functions(engine, columns, table_sql, duck):
    params = {
        "$select": ":id, location",
        "$where": "within_box(location, 41.5, -73.5, 41.0, -73.0)",
    }
    result = run(engine, params, columns, table_sql)
    expected = duck.execute(
        'SELECT ":id" FROM t WHERE ST_X(location) BETWEEN -73.5 AND -73.0 '
        "AND ST_Y(location) BETWEEN 41.0 AND 41.5 ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in result.rows] == [r[0] for r in expected]
    assert result.types[1] == "geometry" and result.rows[0][1].startswith('{"type":"Point"')


def test_within_circle_and_distance(engine, columns, table_sql):
    near = run(
        engine,
        {
            "$select": ":id, distance_in_meters(location, 'POINT(-73.5 41.0)') AS d",
            "$where": "within_circle(location, 41.0, -73.5, 12000)",
        },
        columns,
        table_sql,
    )
    assert near.rows and all(d <= 12000 for _, d in near.rows)
    # one degree of latitude is about 111 km
    one = run(
        engine,
        {"$select": "distance_in_meters(location, 'POINT(-73.5 42.0)')", "$where": ":id = 20"},
        columns,
        table_sql,
    )
    assert one.rows[0][0] == pytest.approx(111_195, rel=0.01)


def test_polygon_functions(engine, columns, table_sql):
    polygon = "MULTIPOLYGON(((-73.6 40.9, -73.25 40.9, -73.25 41.25, -73.6 41.25, -73.6 40.9)))"
    inside = run(
        engine,
        {"$select": "count(*)", "$where": f"within_polygon(location, '{polygon}')"},
        columns,
        table_sql,
    )
    crossing = run(
        engine,
        {"$select": "count(*)", "$where": f"intersects(location, '{polygon}')"},
        columns,
        table_sql,
    )
    assert inside.rows[0][0] == crossing.rows[0][0] > 0
    summary = run(
        engine,
        {"$select": "extent(location), convex_hull(location)", "$where": ":id < 5"},
        columns,
        table_sql,
    )
    assert summary.types == ["multipolygon", "multipolygon"]
    assert '"MultiPolygon"' in summary.rows[0][0]
    points = run(
        engine,
        {"$select": "num_points(simplify(location, 0.01))", "$limit": "1"},
        columns,
        table_sql,
    )
    assert points.rows == [(1,)]
    preserve = run(
        engine,
        {"$select": "simplify_preserve_topology(location, 0.1)", "$limit": "1"},
        columns,
        table_sql,
    )
    assert preserve.rows[0][0].startswith("{")


def test_bad_wkt_is_a_query_error(engine, columns, table_sql):
    with pytest.raises(QueryError) as caught:
        run(engine, {"$where": "intersects(location, 'POLYGON((oops')"}, columns, table_sql)
    assert caught.value.status == 400


def test_timeout_interrupts_a_slow_query():
    engine = QueryEngine(None)
    slow = CompiledQuery(
        sql="SELECT sum(hash(a.range * b.range)) FROM range(100000) a, range(100000) b",
        fields=["x"],
        types=["number"],
        needs_spatial=False,
    )
    with pytest.raises(QueryError) as caught:
        engine.run(slow, timeout_seconds=0.2)
    assert caught.value.code == "query.execution.timeout"
    assert 400 <= caught.value.status < 500
    # the connection is usable afterwards
    quick = CompiledQuery(sql="SELECT 42", fields=["x"], types=["number"], needs_spatial=False)
    assert engine.run(quick, timeout_seconds=5).rows == [(42,)]
    engine.close()


def test_threads_run_queries_at_once(columns, table_sql, duck):
    engine = QueryEngine(None)
    compiled = compile_query(
        parse_request({"$select": "town, sum(cases)", "$group": "town"}, columns), table_sql
    )
    expected = duck.execute(
        "SELECT town, sum(cases) FROM t GROUP BY town ORDER BY town NULLS LAST"
    ).fetchall()
    results, errors = [], []

    def work():
        try:
            for _ in range(15):
                results.append(engine.run(compiled, 10).rows)
        except Exception as error:  # collected and reported by the test
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 120 and all(rows == expected for rows in results)
    assert len(engine._connections) == 8
    engine.close()


def _version_of(tmp_path, select_sql: str, options: str = "") -> tuple[str, list]:
    """(table_sql, columns) of a version file written from `select_sql`."""
    import duckdb

    from statedata.query import columns_of
    from statedata.storage.versions import rows_sql

    path = tmp_path / "version.parquet"
    duckdb.connect().execute(f"COPY ({select_sql}) TO '{path}' (FORMAT parquet{options})")
    table_sql = rows_sql(path, 100)
    described = duckdb.connect().execute(f"DESCRIBE {table_sql}").fetchall()
    return table_sql, columns_of([{"name": r[0], "type": r[1]} for r in described])


def test_q_matches_whole_words_only(tmp_path):
    from statedata.query import QueryEngine, compile_query, parse_request

    table_sql, columns = _version_of(
        tmp_path,
        "SELECT * FROM (VALUES ('Hartford'), ('art museum'), ('Café Art'), ('smart')) v(name)",
    )
    engine = QueryEngine()
    try:
        query = parse_request({"$q": "ART"}, columns)
        result = engine.run(compile_query(query, table_sql), 10)
        assert [r[0] for r in result.rows] == ["art museum", "Café Art"]
    finally:
        engine.close()


def test_enormous_offset_is_a_clear_error():
    import pytest

    from statedata.query import QueryError, columns_of, parse_request

    with pytest.raises(QueryError, match="at most"):
        parse_request(
            {"$offset": "99999999999999999999"}, columns_of([{"name": "a", "type": "BIGINT"}])
        )


def test_deep_pages_in_id_order_match_a_plain_sort(tmp_path):
    """Deep pages take the two-step path; they must give exactly what a full sort gives."""
    from statedata.query import QueryEngine, compile_query, parse_request

    table_sql, columns = _version_of(
        tmp_path,
        "SELECT i AS n, ['a', 'b', 'c'][i % 3 + 1] AS kind, 'word' || (i % 50) AS note "
        "FROM range(20000) r(i)",
        ", ROW_GROUP_SIZE 2048",
    )
    engine = QueryEngine()
    try:
        for params in (
            {"$offset": "5000", "$limit": "100"},
            {"$where": "kind = 'b'", "$offset": "4000", "$limit": "37"},
            {"$q": "word7", "$offset": "1000", "$limit": "50", "$select": ":id, n"},
            {"$where": "kind = 'c'", "$offset": "9999999", "$limit": "10"},
            {"$where": "n > 19990", "$offset": "1000"},
        ):
            query = parse_request(params, columns)
            fast = compile_query(query, table_sql, rows_in_id_order=True)
            slow = compile_query(parse_request(params, columns), table_sql)
            assert fast.bounds_sql is not None and slow.bounds_sql is None
            assert engine.run(fast, 10).rows == engine.run(slow, 10).rows, params
    finally:
        engine.close()
