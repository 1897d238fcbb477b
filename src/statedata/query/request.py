"""HTTP query parameters ($select, $where, ..., $query, and column=value filters) to a parsed
and checked SoqlQuery. Knows the parameters' rules and limits; not how to run anything.
"""

from __future__ import annotations

from collections.abc import Mapping

from statedata.query import tree as t
from statedata.query.check import check_query
from statedata.query.errors import (
    MALFORMED,
    NO_SUCH_COLUMN,
    TOO_MANY_ROWS,
    TYPE_MISMATCH,
    QueryError,
)
from statedata.query.functions import GEO_TYPES
from statedata.query.parser import number_literal, parse

CLAUSES = ("$select", "$where", "$order", "$group", "$having", "$limit", "$offset", "$q")
KNOWN = (*CLAUSES, "$query")
MAX_COUNT = 2**53  # far past any table; keeps offsets inside DuckDB's 64-bit integers


def parse_request(
    params: Mapping[str, str],
    columns: list[t.ColumnInfo],
    *,
    default_limit: int = 1000,
    max_limit: int = 50000,
    include_system: bool = False,
) -> t.SoqlQuery:
    """Parse and check a request's SoQL parameters against `columns`.

    Parameters starting with `$$` (such as `$$app_token`) are left to the caller; any other
    `$` parameter must be a SoQL clause. Other parameters are filters `column=value`.
    """
    unknown = [k for k in params if k.startswith("$") and not k.startswith("$$") and k not in KNOWN]
    if unknown:
        raise QueryError(
            MALFORMED,
            f"Unknown parameter {unknown[0]}; SoQL parameters are {', '.join(KNOWN)}.",
        )
    for key, value in params.items():
        if "\x00" in key or "\x00" in value:
            raise QueryError(MALFORMED, f"{key} holds a NUL character, which SoQL does not allow.")
    texts = {k: v for k, v in params.items() if k in KNOWN}
    query = t.SoqlQuery(columns=columns, select=[], include_system=include_system)
    if "$query" in params:
        _from_statement(query, params, texts)
    else:
        _from_clauses(query, params)
    filters = [
        _filter(name, value, columns) for name, value in params.items() if not name.startswith("$")
    ]
    for condition in filters:
        query.where = condition if query.where is None else t.Binary("AND", query.where, condition)
    query.limit = _count("$limit", texts.get("$limit"), default_limit)
    if query.limit > max_limit:
        raise QueryError(
            TOO_MANY_ROWS,
            f"$limit {query.limit} is above the most rows one request may return, {max_limit}; "
            "page through the rows with $offset.",
            query=texts.get("$limit", texts.get("$query")),
        )
    query.offset = _count("$offset", texts.get("$offset"), 0)
    if not query.select:
        query.select = [t.SelectItem(None, star="*")]
    check_query(query, texts)
    return query


def _from_clauses(query: t.SoqlQuery, params: Mapping[str, str]) -> None:
    if "$select" in params:
        query.distinct, query.select = parse(params["$select"], "start_select", "$select")
    if "$where" in params:
        query.where = parse(params["$where"], "start_where", "$where")
    if "$group" in params:
        query.group = parse(params["$group"], "start_group", "$group")
    if "$having" in params:
        query.having = parse(params["$having"], "start_where", "$having")
    if "$order" in params:
        query.order = parse(params["$order"], "start_order", "$order")
    if params.get("$q", "").strip():
        query.search = params["$q"]


def _from_statement(query: t.SoqlQuery, params: Mapping[str, str], texts: dict) -> None:
    others = [k for k in CLAUSES if k in params]
    if others:
        raise QueryError(
            MALFORMED, f"$query holds the whole statement; it cannot be combined with {others[0]}."
        )
    parts = parse(params["$query"], "start_query", "$query")
    if "select" in parts:
        query.distinct, query.select = parts["select"]
    query.where = parts.get("where")
    query.group = parts.get("group") or []
    query.having = parts.get("having")
    query.order = parts.get("order") or []
    if parts.get("search", "").strip():
        query.search = parts["search"]
    for key in ("limit", "offset"):
        if key in parts:
            texts[f"${key}"] = parts[key]


def parse_offset(text: str | None) -> int:
    """`$offset` checked as parse_request checks it (0 when not given)."""
    return _count("$offset", text, 0)


def _count(name: str, text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise QueryError(MALFORMED, f"{name} must be a whole number, not '{text}'.") from None
    if value < 0:
        raise QueryError(MALFORMED, f"{name} must be 0 or more, not {value}.")
    if value > MAX_COUNT:
        raise QueryError(MALFORMED, f"{name} must be at most {MAX_COUNT:,}, not {value:,}.")
    return value


def _filter(name: str, value: str, columns: list[t.ColumnInfo]) -> t.Node:
    """`column=value`: the value read as the column's type, compared with `=`."""
    by_name = {c.field_name: c for c in columns}
    if name not in by_name:
        raise QueryError(
            NO_SUCH_COLUMN,
            f"No such column: '{name}' (filters are column=value; SoQL parameters start with $).",
            query=f"{name}={value}",
        )
    kind = by_name[name].soda_type
    literal: t.Node
    if kind == "number":
        try:
            literal = t.Literal(number_literal(value.strip()), "number")
        except QueryError:
            raise QueryError(
                TYPE_MISMATCH, f"Column '{name}' holds numbers; '{value}' is not a number."
            ) from None
    elif kind == "checkbox":
        if value.strip().lower() not in ("true", "false"):
            raise QueryError(TYPE_MISMATCH, f"Column '{name}' is true or false, not '{value}'.")
        literal = t.Literal(value.strip().lower() == "true", "checkbox")
    elif kind in GEO_TYPES or kind == "json":
        raise QueryError(TYPE_MISMATCH, f"Column '{name}' ({kind}) cannot be filtered by value.")
    else:
        literal = t.Literal(value, "text")
    return t.Binary("=", t.Column(name), literal)
