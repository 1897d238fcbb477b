"""A checked SoqlQuery to DuckDB SQL, built as sqlglot expressions: user values only ever
become exp.Literal and names exp.Identifier (quoted). Running the SQL is engine.py's job.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sqlglot
import sqlglot.expressions as exp

from statedata.query import tree as t
from statedata.query.functions import FUNCTIONS, GEO_TYPES, TIMESTAMP_TYPES

BINARY = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
    "AND": exp.And,
    "OR": exp.Or,
    "||": exp.DPipe,
    "+": exp.Add,
    "-": exp.Sub,
    "*": exp.Mul,
    "/": exp.Div,
    "%": exp.Mod,
}
SOURCE = "_rows"


@dataclass
class CompiledQuery:
    """DuckDB SQL for a query, and what its result columns are."""

    sql: str
    fields: list[str]  # output column names, in order
    types: list[str]  # their SODA types
    needs_spatial: bool
    # For a deep page in :id order: SQL giving the page's first and last :id, which `sql`
    # then takes as $lo and $hi (see _late_page).
    bounds_sql: str | None = None


def column(name: str) -> exp.Column:
    return exp.Column(this=exp.to_identifier(name, quoted=True))


class _Compiler:
    def __init__(self, query: t.SoqlQuery) -> None:
        self.query = query

    def sql(self, node: t.Node) -> exp.Expression:
        result = self._sql(node)
        if isinstance(result, exp.Binary | exp.Not | exp.Neg | exp.Between | exp.In | exp.Is):
            return exp.paren(result, copy=False)
        return result

    def _sql(self, node: t.Node) -> exp.Expression:
        if isinstance(node, t.Column):
            return column(node.name)
        if isinstance(node, t.Literal):
            return self.literal(node)
        if isinstance(node, t.Binary):
            left, right = self.sql(node.left), self.sql(node.right)
            if node.op == "||":
                left, right = self.text(node.left, left), self.text(node.right, right)
            return BINARY[node.op](this=left, expression=right)
        if isinstance(node, t.Unary):
            if node.op == "NOT":
                return exp.Not(this=self.sql(node.operand))
            if node.op == "-":
                return exp.Neg(this=self.sql(node.operand))
            return self.sql(node.operand)
        if isinstance(node, t.IsNull):
            test = exp.Is(this=self.sql(node.operand), expression=exp.Null())
            return exp.Not(this=exp.paren(test)) if node.negated else test
        if isinstance(node, t.Between):
            between = exp.Between(
                this=self.sql(node.operand), low=self.sql(node.low), high=self.sql(node.high)
            )
            return exp.Not(this=exp.paren(between)) if node.negated else between
        if isinstance(node, t.In):
            test = exp.In(
                this=self.sql(node.operand), expressions=[self.sql(i) for i in node.items]
            )
            return exp.Not(this=exp.paren(test)) if node.negated else test
        if isinstance(node, t.Like):
            like = exp.Like(this=self.sql(node.operand), expression=self.sql(node.pattern))
            return exp.Not(this=exp.paren(like)) if node.negated else like
        if isinstance(node, t.Call):
            return self.call(node)
        raise TypeError(f"cannot compile {type(node).__name__}")

    def literal(self, node: t.Literal) -> exp.Expression:
        if node.kind == "null":
            return exp.Null()
        if node.kind == "checkbox":
            return exp.true() if node.value else exp.false()
        if node.kind == "number":
            number = exp.Literal.number(str(abs(node.value)))  # type: ignore[arg-type]
            return exp.Neg(this=number) if node.value < 0 else number  # type: ignore[operator]
        text = exp.Literal.string(str(node.value))
        kind = self.query.types.get(id(node), "text")
        if kind == "fixed_timestamp":
            return exp.cast(text, "TIMESTAMPTZ")
        if kind in TIMESTAMP_TYPES:
            return exp.cast(text, "TIMESTAMP")
        return text

    def text(self, node: t.Node, sql: exp.Expression) -> exp.Expression:
        return sql if self.query.types.get(id(node)) == "text" else exp.cast(sql, "VARCHAR")

    def call(self, node: t.Call) -> exp.Expression:
        if node.name == "case":
            pairs = zip(node.args[::2], node.args[1::2], strict=True)
            return exp.Case(ifs=[exp.If(this=self.sql(c), true=self.sql(v)) for c, v in pairs])
        if node.name == "count" and node.args and isinstance(node.args[0], t.Star):
            return exp.Count(this=exp.Star())
        args = [self.sql(arg) for arg in node.args]
        if node.distinct:
            return exp.Count(this=exp.Distinct(expressions=args))
        return FUNCTIONS[node.name].build(args)

    def search(self, text: str) -> exp.Expression:
        """Every word of `$q`, case-insensitively, as a whole word in the row's text columns.

        `contains` is a cheap first test; the regular expression then insists on word
        boundaries (letters and digits of any script), as Socrata's full-text `$q` does.
        """
        columns = [
            column(c.field_name)
            for c in self.query.columns
            if c.soda_type == "text" and not c.field_name.startswith(":")
        ]
        words = text.split()
        if not columns or not words:
            return exp.false() if words else exp.true()
        haystack = exp.Lower(
            this=exp.Anonymous(this="concat_ws", expressions=[exp.Literal.string(" "), *columns])
        )
        tests = []
        for word in (w.lower() for w in words):
            pattern = r"(?:^|[^\pL\pN])" + re.escape(word) + r"(?:$|[^\pL\pN])"
            tests.append(
                exp.Anonymous(
                    this="contains", expressions=[haystack.copy(), exp.Literal.string(word)]
                )
            )
            tests.append(
                exp.Anonymous(
                    this="regexp_matches",
                    expressions=[haystack.copy(), exp.Literal.string(pattern)],
                )
            )
        return exp.and_(*tests)


@functools.lru_cache(maxsize=256)
def _source(table_sql: str) -> exp.Expression:
    return sqlglot.parse_one(table_sql, dialect="duckdb")


GEOMETRY_TEXT = {"geojson": "ST_AsGeoJSON", "wkt": "ST_AsText"}


def compile_query(
    query: t.SoqlQuery,
    table_sql: str,
    geometry_as: str = "geojson",
    rows_in_id_order: bool = False,
) -> CompiledQuery:
    """DuckDB SQL answering `query` over the rows that `table_sql` (trusted SQL) selects.

    Geometry comes out as GeoJSON text, or as WKT (`geometry_as="wkt"`, as Socrata's CSV has).
    `rows_in_id_order` says the source already yields rows by ascending `:id` (storage writes
    every version so): then an order that is just `:id` needs no sort, and DuckDB can stop
    reading as soon as it has the page, instead of sorting every matching row.
    """
    compiler = _Compiler(query)
    select = exp.Select()
    for name, node, kind in query.outputs:
        value = compiler.sql(node)
        if kind in GEO_TYPES:
            function = GEOMETRY_TEXT[geometry_as]
            value = exp.cast(exp.Anonymous(this=function, expressions=[value]), "VARCHAR")
        select = select.select(exp.alias_(value, name, quoted=True), copy=False)
    if query.distinct:
        select.set("distinct", exp.Distinct())
    source = _source(table_sql).copy().subquery(SOURCE)
    select = select.from_(source, copy=False)
    conditions = []
    if query.where is not None:
        conditions.append(compiler.sql(query.where))
    if query.search:
        conditions.append(exp.paren(compiler.search(query.search)))
    if conditions:
        select = select.where(exp.and_(*conditions), copy=False)
    # A constant in GROUP BY or ORDER BY changes nothing, but DuckDB reads a number there as
    # a column position: leave constants out.
    groups = [compiler.sql(g) for g in query.group if not _constant(g)]
    if groups:
        select = select.group_by(*groups, copy=False)
    if query.having is not None:
        select = select.having(compiler.sql(query.having), copy=False)
    order = _order(query, compiler)
    by_id = rows_in_id_order and _only_by_id(query, order)
    compiled = CompiledQuery(
        sql="",
        fields=[name for name, _, _ in query.outputs],
        types=[kind for _, _, kind in query.outputs],
        needs_spatial=query.needs_spatial,
    )
    if by_id and query.offset >= LATE_PAGE_OFFSET:
        return _late_page(compiled, select, source, conditions, query)
    if order and not by_id:
        select = select.order_by(*order, copy=False)
    select = select.limit(query.limit, copy=False).offset(query.offset, copy=False)
    compiled.sql = select.sql(dialect="duckdb")
    return compiled


LATE_PAGE_OFFSET = 1000


def _late_page(
    compiled: CompiledQuery,
    select: exp.Select,
    source: exp.Expression,
    conditions: list[exp.Expression],
    query: t.SoqlQuery,
) -> CompiledQuery:
    """A deep page in :id order, in two cheap steps instead of one expensive one.

    Skipping to a deep offset makes DuckDB decode every column of every skipped row. So first
    find the page's first and last :id reading only what the filter needs; the rows matching
    the filter between those two ids are exactly the page, and fetching them reads little.
    """
    row_id = column(":id")
    ids = (
        exp.select(exp.alias_(row_id.copy(), "__id", quoted=True))
        .from_(source.copy())
        .limit(query.limit)
        .offset(query.offset)
    )
    if conditions:
        ids = ids.where(exp.and_(*[c.copy() for c in conditions]))
    page = ids.subquery("__page")
    first, last = (exp.func(name, exp.column("__id", quoted=True)) for name in ("min", "max"))
    bounds = exp.select(first, last).from_(page)
    window = exp.Between(
        this=row_id.copy(), low=exp.Placeholder(this="lo"), high=exp.Placeholder(this="hi")
    )
    select = select.where(window, copy=False)
    select = select.order_by(exp.Ordered(this=row_id.copy(), nulls_first=False), copy=False)
    select = select.limit(query.limit, copy=False)
    compiled.sql = select.sql(dialect="duckdb")
    compiled.bounds_sql = bounds.sql(dialect="duckdb")
    return compiled


def _order(query: t.SoqlQuery, compiler: _Compiler) -> list[exp.Expression]:
    """The ORDER BY: as asked, then `:id` so that paging is stable; or the group columns, or
    every selected column for DISTINCT, when nothing is asked."""
    items = [
        exp.Ordered(
            this=compiler.sql(item.expr),
            desc=item.descending,
            # As Socrata (PostgreSQL) does: NULLs after values ascending, before descending.
            nulls_first=(item.nulls == "first") if item.nulls else item.descending,
        )
        for item in query.order
        if not _constant(item.expr)
    ]
    if query.distinct:
        if not items:
            items = [
                exp.Ordered(this=exp.Literal.number(i + 1), nulls_first=False)
                for i, (_, _, kind) in enumerate(query.outputs)
                if kind not in GEO_TYPES and kind != "json"
            ]
        return items
    if query.grouped:
        if not items:
            items = [
                exp.Ordered(this=compiler.sql(g), nulls_first=False)
                for g in query.group
                if query.types.get(id(g)) not in GEO_TYPES and not _constant(g)
            ]
        return items
    if not any(isinstance(i.expr, t.Column) and i.expr.name == ":id" for i in query.order):
        items.append(exp.Ordered(this=column(":id"), nulls_first=False))
    return items


def _only_by_id(query: t.SoqlQuery, order: list[exp.Expression]) -> bool:
    """Whether the ORDER BY is exactly `:id` ascending over ungrouped, non-distinct rows."""
    if query.grouped or query.distinct or len(order) != 1:
        return False
    only = order[0]
    return (
        not only.args.get("desc") and isinstance(only.this, exp.Column) and only.this.name == ":id"
    )


def _constant(node: t.Node) -> bool:
    return not any(isinstance(n, t.Column) for n in t.walk(node)) and not t.has_call(node)
