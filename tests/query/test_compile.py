"""The compiler: SQL comes from sqlglot expressions, user text only as literals or quoted names,
and any query either compiles and runs or fails with a QueryError (hypothesis)."""

from __future__ import annotations

import contextlib

import sqlglot
import sqlglot.expressions as exp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statedata.query import QueryError, compile_query, parse_request


def compiled(params, columns, table_sql):
    return compile_query(parse_request(params, columns), table_sql)


def only_one_select(sql: str) -> exp.Select:
    statements = sqlglot.parse(sql, dialect="duckdb")
    assert len(statements) == 1 and isinstance(statements[0], exp.Select), sql
    return statements[0]


def test_fields_and_types(columns, table_sql):
    result = compiled(
        {"$select": "town, sum(cases) AS total", "$group": "town"}, columns, table_sql
    )
    assert result.fields == ["town", "total"]
    assert result.types == ["text", "number"]
    assert not result.needs_spatial


def test_default_order_is_id_and_user_order_gets_id_tiebreak(columns, table_sql):
    assert 'ORDER BY ":id"' in compiled({"$select": "town"}, columns, table_sql).sql
    sql = compiled({"$order": "town DESC"}, columns, table_sql).sql
    assert 'ORDER BY "town" DESC NULLS FIRST, ":id"' in sql


def test_grouped_query_orders_by_group_columns(columns, table_sql):
    sql = compiled({"$select": "town, count(*)", "$group": "town"}, columns, table_sql).sql
    assert 'GROUP BY "town" ORDER BY "town"' in sql


def test_limit_and_offset(columns, table_sql):
    sql = compiled({"$limit": "5", "$offset": "10"}, columns, table_sql).sql
    assert sql.endswith("LIMIT 5 OFFSET 10")


def test_text_is_a_literal_never_pasted(columns, table_sql):
    evil = "x'; DROP TABLE t; --"
    sql = compiled({"town": evil}, columns, table_sql).sql
    select = only_one_select(sql)
    literals = [lit.this for lit in select.find_all(exp.Literal) if lit.is_string]
    assert evil in literals


def test_quoted_column_names_are_identifiers(table_sql):
    from statedata.query import ColumnInfo

    weird = [ColumnInfo(":id", "number", "BIGINT"), ColumnInfo('a"b; --', "text", "VARCHAR")]
    sql = compile_query(parse_request({"$select": '`a"b; --`'}, weird), table_sql).sql
    assert '"a""b; --"' in sql
    only_one_select(sql)


def test_geometry_output_is_geojson(columns, table_sql):
    result = compiled({"$select": "location"}, columns, table_sql)
    assert result.needs_spatial and "ST_ASGEOJSON" in result.sql.upper()
    assert result.types == ["point"] or result.types == ["geometry"]


# --- properties ---------------------------------------------------------------------------------

NUMBER_COLS = st.sampled_from(["cases", "rate", ":id"])
TEXT_COLS = st.sampled_from(["town", "`town`"])
TS_COLS = st.sampled_from(["day", "seen", ":created_at"])

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
text_literal = texts.map(lambda s: "'" + s.replace("'", "''") + "'")
number_literal = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.4f}"),
)
ts_literal = st.sampled_from(["'2023-01-01'", "'2023-06-15T12:30:00'", "'2024-02-29T00:00:00.000'"])


def _exprs():
    def numbers(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda e: f"-{e}"),
            inner.map(lambda e: f"greatest({e}, 1)"),
            st.tuples(texts_, inner).map(lambda t: f"case({t[0]} = 'a', {t[1]}, true, 0)"),
            TS_COLS.map(lambda c: f"date_extract_y({c})"),
            TS_COLS.map(lambda c: f"date_extract_dow({c})"),
        )

    number_base = st.one_of(NUMBER_COLS, number_literal)
    texts_ = st.one_of(
        TEXT_COLS,
        text_literal,
        TEXT_COLS.map(lambda c: f"upper({c})"),
        TEXT_COLS.map(lambda c: f"unaccent(lower({c}))"),
        st.tuples(TEXT_COLS, text_literal).map(lambda t: f"{t[0]} || {t[1]}"),
    )
    number = st.recursive(number_base, numbers, max_leaves=6)
    ts = st.one_of(TS_COLS, TS_COLS.map(lambda c: f"date_trunc_ym({c})"))

    def comparisons():
        op = st.sampled_from(["=", "!=", "<>", "<", "<=", ">", ">="])
        return st.one_of(
            st.tuples(number, op, number).map(" ".join),
            st.tuples(texts_, op, texts_).map(" ".join),
            st.tuples(ts, op, ts_literal).map(" ".join),
            st.tuples(number, number, number).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
            st.tuples(texts_, st.lists(text_literal, min_size=1, max_size=3)).map(
                lambda t: f"{t[0]} NOT IN ({', '.join(t[1])})"
            ),
            st.tuples(texts_, text_literal).map(lambda t: f"{t[0]} LIKE {t[1]}"),
            st.sampled_from(["town IS NULL", "cases IS NOT NULL", "ok", "NOT ok"]),
            st.tuples(texts_, text_literal).map(lambda t: f"starts_with({t[0]}, {t[1]})"),
        )

    boolean = st.recursive(
        comparisons(),
        lambda inner: (
            st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            )
            | inner.map(lambda e: f"NOT ({e})")
        ),
        max_leaves=4,
    )
    return number, texts_, boolean


NUMBER, TEXT, BOOLEAN = _exprs()
AGG = st.sampled_from(
    [
        "count(*)",
        "count(town)",
        "count(distinct town)",
        "sum(cases)",
        "avg(rate)",
        "min(day)",
        "max(town)",
        "stddev_pop(rate)",
        "stddev_samp(cases)",
        "regr_slope(cases, rate)",
        "regr_r2(rate, cases)",
        "regr_intercept(cases, rate)",
    ]
)


@st.composite
def well_formed(draw):
    params = {}
    if draw(st.booleans()):
        params["$select"] = ", ".join(
            draw(st.lists(st.one_of(NUMBER, TEXT, BOOLEAN), min_size=1, max_size=3))
        )
        if draw(st.booleans()):
            params["$order"] = draw(st.one_of(NUMBER, TEXT)) + draw(
                st.sampled_from(["", " DESC", " ASC NULL FIRST"])
            )
    elif draw(st.booleans()):
        params["$select"] = "town, " + ", ".join(draw(st.lists(AGG, min_size=1, max_size=3)))
        params["$group"] = "town"
        if draw(st.booleans()):
            params["$having"] = "count(*) > " + draw(number_literal)
    if draw(st.booleans()):
        params["$where"] = draw(BOOLEAN)
    if draw(st.booleans()):
        params["$q"] = draw(texts)
    params["$limit"] = str(draw(st.integers(0, 300)))
    params["$offset"] = str(draw(st.integers(0, 300)))
    return params


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=well_formed())
def test_well_formed_queries_run_or_raise_query_error(params, columns, table_sql, engine):
    try:
        result = engine.run(compiled(params, columns, table_sql), timeout_seconds=10)
    except QueryError:
        return
    assert len(result.fields) == len(result.types)
    assert all(len(row) == len(result.fields) for row in result.rows)


SOQL_ALPHABET = st.sampled_from(
    [
        *list("abcdeiklnorstuwy_ ()*,'\"`:;-+=<>!|%/.0123456789\n"),
        "town",
        "cases",
        "select",
        "where",
        "and",
        "or",
        "not",
        "null",
        "is",
        "in",
        "like",
        "between",
        "count",
        "sum",
        "upper",
        "as",
        "desc",
        "drop table",
        "--",
        "/*",
        "'",
        ";",
    ]
)
random_text = st.one_of(st.text(max_size=40), st.lists(SOQL_ALPHABET, max_size=15).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    clause=st.sampled_from(["$where", "$select", "$order", "$group", "$having", "$query", "$q"]),
    text=random_text,
)
def test_random_text_is_a_query_error_or_one_safe_select(clause, text, columns, table_sql, engine):
    try:
        result = compiled({clause: text}, columns, table_sql)
    except QueryError as error:
        assert error.message and error.code.startswith("query.")
        return
    select = only_one_select(result.sql)
    assert not list(select.find_all(exp.Drop, exp.Insert, exp.Delete, exp.Update, exp.Command))
    with contextlib.suppress(QueryError):
        engine.run(result, timeout_seconds=10)


def test_an_order_by_id_alone_needs_no_sort_when_rows_are_stored_in_id_order(version):
    from statedata.query import compile_query, parse_request

    table_sql, columns = version
    plain = parse_request({"$limit": "5", "$offset": "10"}, columns)
    assert "ORDER BY" in compile_query(plain, table_sql).sql
    assert "ORDER BY" not in compile_query(plain, table_sql, rows_in_id_order=True).sql
    ordered = parse_request({"$order": "cases DESC"}, columns)
    assert "ORDER BY" in compile_query(ordered, table_sql, rows_in_id_order=True).sql
    grouped = parse_request({"$select": "town, count(*)", "$group": "town"}, columns)
    assert "ORDER BY" in compile_query(grouped, table_sql, rows_in_id_order=True).sql
