"""The SoQL parser and checker: every construct parses to the right tree, every mistake is a
QueryError with Socrata's code, a message that says what and where, and the position."""

from __future__ import annotations

import pytest

from statedata.query import QueryError, parse_request
from statedata.query import tree as t
from statedata.query.parser import parse


def where(text: str) -> t.Node:
    return parse(text, "start_where", "$where")


def col(name: str) -> t.Column:
    return t.Column(name)


def num(value: int) -> t.Literal:
    return t.Literal(value, "number")


def text(value: str) -> t.Literal:
    return t.Literal(value, "text")


# --- the parser -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        ("town", col("town")),
        ("`my town`", col("my town")),
        (":id", col(":id")),
        (":created_at", col(":created_at")),
        ("'it''s'", text("it's")),
        ('"double"', text("double")),
        ("42", num(42)),
        ("1.5", t.Literal(__import__("decimal").Decimal("1.5"), "number")),
        ("-3", num(-3)),
        ("TRUE", t.Literal(True, "checkbox")),
        ("false", t.Literal(False, "checkbox")),
        ("null", t.Literal(None, "null")),
        ("a = 1", t.Binary("=", col("a"), num(1))),
        ("a <> 1", t.Binary("!=", col("a"), num(1))),
        ("a != 1", t.Binary("!=", col("a"), num(1))),
        ("a <= 1", t.Binary("<=", col("a"), num(1))),
        ("a >= 1", t.Binary(">=", col("a"), num(1))),
        ("a < 1", t.Binary("<", col("a"), num(1))),
        ("a > 1", t.Binary(">", col("a"), num(1))),
        ("a IS NULL", t.IsNull(col("a"))),
        ("a is not null", t.IsNull(col("a"), negated=True)),
        ("a BETWEEN 1 AND 2", t.Between(col("a"), num(1), num(2))),
        ("a NOT BETWEEN 1 AND 2", t.Between(col("a"), num(1), num(2), negated=True)),
        ("a IN (1, 2)", t.In(col("a"), [num(1), num(2)])),
        ("a NOT IN ('x')", t.In(col("a"), [text("x")], negated=True)),
        ("a LIKE 'H%'", t.Like(col("a"), text("H%"))),
        ("a NOT LIKE 'H%'", t.Like(col("a"), text("H%"), negated=True)),
        ("a || 'x'", t.Binary("||", col("a"), text("x"))),
        ("a + b * c", t.Binary("+", col("a"), t.Binary("*", col("b"), col("c")))),
        ("(a + b) * c", t.Binary("*", t.Binary("+", col("a"), col("b")), col("c"))),
        (
            "a - b / c % d",
            t.Binary("-", col("a"), t.Binary("%", t.Binary("/", col("b"), col("c")), col("d"))),
        ),
        ("-a", t.Unary("-", col("a"))),
        ("NOT a", t.Unary("NOT", col("a"))),
        (
            "a OR b AND NOT c",
            t.Binary("OR", col("a"), t.Binary("AND", col("b"), t.Unary("NOT", col("c")))),
        ),
        ("count(*)", t.Call("count", [t.Star()])),
        ("COUNT(DISTINCT town)", t.Call("count", [col("town")], distinct=True)),
        ("upper(town)", t.Call("upper", [col("town")])),
        (
            "case(a > 1, 'big', true, 'small')",
            t.Call(
                "case",
                [
                    t.Binary(">", col("a"), num(1)),
                    text("big"),
                    t.Literal(True, "checkbox"),
                    text("small"),
                ],
            ),
        ),
        (
            "within_box(loc, 42, -73, 41, -72)",
            t.Call("within_box", [col("loc"), num(42), num(-73), num(41), num(-72)]),
        ),
    ],
)
def test_expression_parses_to_tree(soql, expected):
    assert where(soql) == expected


def test_node_positions_are_line_and_column():
    node = where("a = 1 AND\n  b > 'x'")
    assert node.pos == (1, 1)
    assert node.right.pos == (2, 3)
    assert node.right.right.pos == (2, 7)


def test_select_with_distinct_alias_and_stars():
    distinct, items = parse("DISTINCT town AS t, count(*), *, :*", "start_select", "$select")
    assert distinct is True
    assert items[0].alias == "t" and items[0].expr == col("town")
    assert items[1].text == "count(*)"
    assert [i.star for i in items[2:]] == ["*", ":*"]


def test_order_items_with_direction_and_nulls():
    items = parse("a DESC NULL LAST, b, c ASC NULLS FIRST", "start_order", "$order")
    assert [(i.expr, i.descending, i.nulls) for i in items] == [
        (col("a"), True, "last"),
        (col("b"), False, None),
        (col("c"), False, "first"),
    ]


def test_whole_statement():
    parts = parse(
        "SELECT town, count(*) AS n WHERE cases > 1 GROUP BY town HAVING count(*) > 2 "
        "ORDER BY n DESC LIMIT 5 OFFSET 10 SEARCH 'hart'",
        "start_query",
        "$query",
    )
    assert parts["select"][1][1].alias == "n"
    assert parts["where"] == t.Binary(">", col("cases"), num(1))
    assert parts["group"] == [col("town")]
    assert parts["having"] == t.Binary(">", t.Call("count", [t.Star()]), num(2))
    assert parts["order"][0].descending
    assert (parts["limit"], parts["offset"], parts["search"]) == ("5", "10", "hart")


def test_keywords_are_case_insensitive_and_quoted_names_may_be_keywords():
    assert where("`select` Is Not NuLl") == t.IsNull(col("select"), negated=True)


@pytest.mark.parametrize(
    ("soql", "column"),
    [
        ("a = ", 5),
        ("a = 1 b", 7),
        ("a ## 3", 3),
        ("a = 'unclosed", 5),
        ("(a = 1", 7),
        ("a BETWEEN 1", 12),
        ("count(*) AS n", 10),
    ],
)
def test_syntax_errors_say_where(soql, column):
    with pytest.raises(QueryError) as caught:
        where(soql)
    error = caught.value
    assert error.code == "query.compiler.malformed"
    assert error.status == 400
    assert error.data == {"query": soql, "position": {"line": 1, "column": column}}
    assert f"line 1, column {column}" in error.message


def test_syntax_error_on_second_line():
    with pytest.raises(QueryError) as caught:
        parse("SELECT town\nWHERE = 1", "start_query", "$query")
    assert caught.value.data["position"] == {"line": 2, "column": 7}


def test_empty_clause_is_malformed():
    with pytest.raises(QueryError, match=r"\$where is empty"):
        where("   ")


# --- parse_request: parameters, checking --------------------------------------------------------


def error_of(params, columns, **kw) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_request(params, columns, **kw)
    return caught.value


def test_default_select_is_every_user_column(columns):
    query = parse_request({}, columns)
    names = [name for name, _, _ in query.outputs]
    assert names == ["town", "cases", "rate", "day", "seen", "ok", "location"]
    assert query.limit == 1000 and query.offset == 0


def test_include_system_adds_system_fields(columns):
    query = parse_request({}, columns, include_system=True)
    assert [n for n, _, _ in query.outputs][:3] == [":id", ":created_at", ":updated_at"]


def test_system_star_selects_system_fields(columns):
    query = parse_request({"$select": ":*, town"}, columns)
    assert [n for n, _, _ in query.outputs] == [":id", ":created_at", ":updated_at", "town"]


def test_output_names_follow_socrata(columns):
    query = parse_request(
        {
            "$select": "town, count(*), count(town), sum(cases), date_trunc_ym(day), max(rate) AS top",
            "$group": "town, date_trunc_ym(day)",
        },
        columns,
        default_limit=10,
    )
    assert [n for n, _, _ in query.outputs] == [
        "town",
        "count",
        "count_town",
        "sum_cases",
        "date_trunc_ym_day",
        "top",
    ]
    assert [k for _, _, k in query.outputs] == [
        "text",
        "number",
        "number",
        "number",
        "floating_timestamp",
        "number",
    ]


def test_duplicate_implicit_names_get_a_suffix(columns):
    query = parse_request({"$select": "town, town"}, columns)
    assert [n for n, _, _ in query.outputs] == ["town", "town_2"]


def test_unknown_column_names_it_and_suggests(columns):
    error = error_of({"$where": "cases > 1 AND twn = 'x'"}, columns)
    assert error.code == "query.soql.no-such-column"
    assert "'twn'" in error.message and "did you mean 'town'" in error.message
    assert error.data["position"] == {"line": 1, "column": 15}


def test_unknown_function(columns):
    error = error_of({"$select": "sums(cases)"}, columns)
    assert error.code == "query.soql.no-such-function"
    assert "sums" in error.message and "sum()" in error.message


@pytest.mark.parametrize(
    ("params", "column"),
    [
        ({"$select": "sum(town)"}, 5),
        ({"$where": "cases > 'abc'"}, 9),
        ({"$where": "town > 5"}, 8),
        ({"$where": "cases"}, 1),
        ({"$where": "town AND ok"}, 1),
        ({"$select": "upper(cases)"}, 7),
        ({"$select": "upper(town, town)"}, 1),
        ({"$select": "cases + town"}, 9),
        ({"$where": "day > 'not a date'"}, 7),
        ({"$where": "town LIKE 5"}, 11),
        ({"$select": "case(ok, 1, true, 'x')"}, 19),
        ({"$select": "case(ok, 1, true)"}, 1),
        ({"$select": "within_box(town, 1, 2, 3, 4)"}, 12),
        ({"$where": "cases IN (1, 'x')"}, 14),
        ({"$where": "-town = 'x'"}, 1),
        ({"$select": "greatest(cases, town)"}, 17),
        ({"$order": "location"}, 1),
    ],
)
def test_type_mismatches(columns, params, column):
    error = error_of(params, columns)
    assert error.code == "query.soql.type-mismatch", error.message
    assert error.data["position"]["column"] == column, error.message


def test_column_not_in_group_bys(columns):
    error = error_of({"$select": "town, cases, count(*)", "$group": "town"}, columns)
    assert error.code == "query.soql.column-not-in-group-bys"
    assert "'cases'" in error.message
    assert error.data["position"] == {"line": 1, "column": 7}


def test_aggregate_without_group_by_needs_every_column_aggregated(columns):
    assert error_of({"$select": "town, count(*)"}, columns).code == (
        "query.soql.column-not-in-group-bys"
    )


def test_group_by_expression_and_alias(columns):
    query = parse_request(
        {"$select": "date_trunc_y(day) AS year, count(*)", "$group": "year", "$order": "year"},
        columns,
    )
    assert query.grouped and query.group[0] == t.Call("date_trunc_y", [col("day")])


def test_having_needs_grouping(columns):
    error = error_of({"$having": "cases > 1"}, columns)
    assert error.code == "query.compiler.malformed" and "$having" in error.message


def test_aggregate_not_allowed_in_where(columns):
    error = error_of({"$where": "count(*) > 1"}, columns)
    assert error.code == "query.compiler.malformed" and "$where" in error.message


def test_nested_aggregate_is_malformed(columns):
    assert error_of({"$select": "sum(count(*))"}, columns).code == "query.compiler.malformed"


def test_distinct_only_in_count(columns):
    assert error_of({"$select": "sum(distinct cases)"}, columns).code == "query.compiler.malformed"


def test_star_only_in_count(columns):
    assert error_of({"$select": "sum(*)"}, columns).code == "query.compiler.malformed"


def test_distinct_order_must_be_selected(columns):
    error = error_of({"$select": "distinct town", "$order": "cases"}, columns)
    assert error.code == "query.compiler.malformed"


def test_limit_above_maximum_says_so(columns):
    error = error_of({"$limit": "50001"}, columns)
    assert error.code == "query.too-many-rows" and "50000" in error.message
    assert parse_request({"$limit": "50"}, columns, max_limit=50).limit == 50
    assert error_of({"$limit": "51"}, columns, max_limit=50).code == "query.too-many-rows"


@pytest.mark.parametrize("params", [{"$limit": "-1"}, {"$offset": "-5"}, {"$limit": "ten"}])
def test_limit_and_offset_are_whole_numbers(columns, params):
    assert error_of(params, columns).code == "query.compiler.malformed"


def test_unknown_dollar_parameter(columns):
    error = error_of({"$wher": "x"}, columns)
    assert "$wher" in error.message


def test_double_dollar_parameters_are_left_to_the_caller(columns):
    parse_request({"$$app_token": "abc"}, columns)


def test_query_cannot_mix_with_clauses(columns):
    assert error_of({"$query": "SELECT town", "$where": "ok"}, columns).code == (
        "query.compiler.malformed"
    )


def test_query_statement_sets_everything(columns):
    query = parse_request(
        {"$query": "SELECT town WHERE ok ORDER BY town LIMIT 7 OFFSET 3 SEARCH 'hart'"}, columns
    )
    assert (query.limit, query.offset, query.search) == (7, 3, "hart")
    assert error_of({"$query": "SELECT town LIMIT 70000"}, columns).code == "query.too-many-rows"


def test_simple_filters_compare_as_the_columns_type(columns):
    query = parse_request({"town": "Hartford", "cases": "37", "ok": "true"}, columns)
    assert query.where == t.Binary(
        "AND",
        t.Binary(
            "AND",
            t.Binary("=", col("town"), text("Hartford")),
            t.Binary("=", col("cases"), num(37)),
        ),
        t.Binary("=", col("ok"), t.Literal(True, "checkbox")),
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cases": "many"}, "query.soql.type-mismatch"),
        ({"ok": "yes"}, "query.soql.type-mismatch"),
        ({"nope": "1"}, "query.soql.no-such-column"),
        ({"location": "x"}, "query.soql.type-mismatch"),
    ],
)
def test_simple_filter_errors(columns, params, code):
    assert error_of(params, columns).code == code


def test_alias_may_not_start_with_colon_or_repeat(columns):
    assert error_of({"$select": "town AS :x"}, columns).code == "query.compiler.malformed"
    assert error_of({"$select": "town AS a, cases AS a"}, columns).code == (
        "query.compiler.malformed"
    )


def test_text_compares_with_timestamp(columns):
    query = parse_request(
        {"$where": "day >= '2023-06-01T00:00:00' AND seen < '2024-01-01'"}, columns
    )
    assert query.where is not None


def test_geometry_functions_mark_spatial(columns):
    query = parse_request(
        {"$where": "within_circle(location, 41.2, -73.2, 5000)", "$select": "town"}, columns
    )
    assert query.needs_spatial


def test_parse_offset_checks_as_parse_request_does():
    from statedata.query.request import parse_offset

    assert parse_offset(None) == 0 and parse_offset(" 12 ") == 12
    for bad in ("-5", "ten", str(2**60)):
        with pytest.raises(QueryError) as caught:
            parse_offset(bad)
        assert caught.value.code == "query.compiler.malformed"
