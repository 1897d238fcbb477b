"""A checked SoqlQuery to DuckDB SQL, built as sqlglot expressions: user values only ever
become exp.Literal and names exp.Identifier (quoted). Running the SQL is engine.py's job.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlglot
import sqlglot.expressions as exp

from statedata.query import tree as t
from statedata.query.functions import FUNCTIONS, GEO_TYPES, TIMESTAMP_TYPES

if TYPE_CHECKING:
    import numpy as np

    from statedata.storage.indexes import VersionIndex

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
    # For a page an index answers: how to make the SQL of the same query at another offset.
    page: IndexedPage | None = None
    offset: int = 0

    def at_offset(self, offset: int) -> CompiledQuery:
        """The same query at `offset`, without compiling again (only for an indexed page)."""
        if self.page is None:
            raise ValueError("only an indexed page moves to another offset")
        return dataclasses.replace(self, sql=self.page.sql(offset), offset=offset)


@dataclass(frozen=True)
class IndexedPage:
    """A page of the rows an index named (`rows`, or every row), `limit` rows from an offset;
    `outer_sql` reads them from the CTE the page's positions make. When every output is a
    stored column whose values Arrow gives as DuckDB does, `direct` names those columns: the
    engine may then read the rows from the index's row store without SQL."""

    outer_sql: str
    index: VersionIndex
    rows: object  # np.ndarray of positions, or ALL_ROWS
    limit: int
    direct: tuple[str, ...] | None = None

    def positions(self, offset: int) -> np.ndarray:
        import numpy as np

        if self.rows is ALL_ROWS:
            return np.arange(offset, min(offset + self.limit, self.index.row_count))
        return self.rows[offset : offset + self.limit]  # type: ignore[index]

    def sql(self, offset: int) -> str:
        page = self.positions(offset)
        positions = None
        if len(page):
            low, high = int(page[0]), int(page[-1])
            if self.rows is not ALL_ROWS and high - low >= SPARSE_SPAN:
                positions = page
        else:
            low, high = 0, -1
        rows_sql = self.index.rows_at_sql(low, high, positions)
        return f'WITH "{INDEX_SOURCE}" AS ({rows_sql}) {self.outer_sql}'


# Stored types whose values pyarrow's to_pylist gives exactly as DuckDB's fetchall does.
DIRECT_TYPES = {
    "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT", "VARCHAR", "DATE", "BOOLEAN",
    "TIMESTAMP",
}  # fmt: skip


def _direct_columns(query: t.SoqlQuery) -> tuple[str, ...] | None:
    types = {c.field_name: c.storage_type for c in query.columns}
    names = []
    for _, node, _ in query.outputs:
        if not isinstance(node, t.Column):
            return None
        kind = types.get(node.name, "")
        if kind not in DIRECT_TYPES and not kind.startswith("DECIMAL("):
            return None
        names.append(node.name)
    return tuple(names)


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

    def text_columns(self) -> list[str]:
        """The columns `$q` searches: the text columns, system fields aside."""
        return [
            c.field_name
            for c in self.query.columns
            if c.soda_type == "text" and not c.field_name.startswith(":")
        ]

    def search(self, text: str, whole_words: bool = True) -> exp.Expression:
        """Every word of `$q`, case-insensitively, as a whole word in the row's text columns.

        `contains` is a cheap first test; the regular expression then insists on word
        boundaries (letters and digits of any script), as Socrata's full-text `$q` does.
        Without `whole_words`, only `contains`: for rows a full-text index already chose by
        their whole words (compiling the regular expression costs milliseconds a query).
        """
        columns = [column(name) for name in self.text_columns()]
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
            if not whole_words:
                continue
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
    index: VersionIndex | None = None,
) -> CompiledQuery:
    """DuckDB SQL answering `query` over the rows that `table_sql` (trusted SQL) selects.

    Geometry comes out as GeoJSON text, or as WKT (`geometry_as="wkt"`, as Socrata's CSV has).
    `rows_in_id_order` says the source already yields rows by ascending `:id` (storage writes
    every version so): then an order that is just `:id` needs no sort, and DuckDB can stop
    reading as soon as it has the page, instead of sorting every matching row.

    `index` is the version's sidecar index (storage/indexes.py), when `table_sql` is that
    version's rows: an order by columns that never decrease in `:id` order is then an order by
    `:id`, and a page whose filter the index answers exactly (`column = 'text'` and `$q`
    words, ANDed) is read from the rows the index names instead of from every row.
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
    conditions = []
    if query.where is not None:
        conditions.append(compiler.sql(query.where))
    if query.search:
        conditions.append(exp.paren(compiler.search(query.search)))
    plain = select.copy() if index is not None else None  # without the filter, for _indexed_page
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
    by_id = rows_in_id_order and (_only_by_id(query, order) or _ordered_like_id(query, index))
    compiled = CompiledQuery(
        sql="",
        fields=[name for name, _, _ in query.outputs],
        types=[kind for _, _, kind in query.outputs],
        needs_spatial=query.needs_spatial,
    )
    if by_id and index is not None and query.having is None:
        rows = _indexed_rows(query, compiler, index)
        if rows is not NOT_INDEXED:
            assert plain is not None
            return _indexed_page(compiled, plain, compiler, query, index, rows)
    select = select.from_(source, copy=False)
    if by_id and query.offset >= LATE_PAGE_OFFSET:
        return _late_page(compiled, select, source, conditions, query)
    if order and not by_id:
        select = select.order_by(*order, copy=False)
    select = select.limit(query.limit, copy=False).offset(query.offset, copy=False)
    compiled.sql = select.sql(dialect="duckdb")
    return compiled


LATE_PAGE_OFFSET = 1000
# Past this many rows between a page's first and last row, the page names its rows one by one,
# so that DuckDB reads only the row groups holding them.
SPARSE_SPAN = 16384
INDEX_SOURCE = "__source"
NOT_INDEXED = object()  # the index cannot answer the filter exactly
ALL_ROWS = object()  # there is no filter: every row is in


def _indexed_rows(
    query: t.SoqlQuery, compiler: _Compiler, index: VersionIndex
) -> np.ndarray | object:
    """The positions of the rows matching the query's filter, from the index alone: an array,
    ALL_ROWS, or NOT_INDEXED when some part of the filter is not an exact index look-up."""
    from statedata.storage.indexes import is_word

    found = []
    if query.where is not None:
        types = {c.field_name: c.storage_type for c in query.columns}
        for condition in _conjuncts(query.where):
            pair = _column_equals_text(condition)
            if pair is None or types.get(pair[0]) != "VARCHAR":
                return NOT_INDEXED
            rows = index.rows_with_value(*pair)
            if rows is None:
                return NOT_INDEXED
            found.append(rows)
    if query.search:
        if index.text_columns is None or list(index.text_columns) != compiler.text_columns():
            return NOT_INDEXED
        words = [w.lower() for w in query.search.split()]
        # Only a word that is one whole index word is an exact look-up ("o'brien" is not).
        if not all(is_word(w) for w in words):
            return NOT_INDEXED
        rows = index.rows_with_words(words)
        if rows is None:
            return NOT_INDEXED
        found.append(rows)
    if not found:
        return ALL_ROWS
    import numpy as np

    found.sort(key=len)
    rows = np.asarray(found[0])
    for other in found[1:]:
        rows = np.intersect1d(rows, other, assume_unique=True)
    return rows


def _conjuncts(node: t.Node) -> list[t.Node]:
    if isinstance(node, t.Binary) and node.op == "AND":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _column_equals_text(node: t.Node) -> tuple[str, str] | None:
    if not (isinstance(node, t.Binary) and node.op == "="):
        return None
    for col, lit in ((node.left, node.right), (node.right, node.left)):
        if isinstance(col, t.Column) and isinstance(lit, t.Literal) and lit.kind == "text":
            return col.name, str(lit.value)
    return None


def _indexed_page(
    compiled: CompiledQuery,
    select: exp.Select,
    compiler: _Compiler,
    query: t.SoqlQuery,
    index: VersionIndex,
    rows: object,
) -> CompiledQuery:
    """The page read from the rows the index names: only the row groups holding them are read.

    `$where` is applied again to those rows, and `$q` as a substring test (the index found
    the whole words), so a stale or wrong index could only lose rows, never add others.
    """
    conditions = []
    if query.where is not None:
        conditions.append(compiler.sql(query.where))
    if query.search:
        conditions.append(exp.paren(compiler.search(query.search, whole_words=False)))
    if conditions:
        select = select.where(exp.and_(*conditions), copy=False)
    table = exp.Table(
        this=exp.to_identifier(INDEX_SOURCE, quoted=True),
        alias=exp.TableAlias(this=exp.to_identifier(SOURCE)),
    )
    # No ORDER BY: the rows come in file order, which is :id order (as in the streaming path),
    # and a sort would cost more than the rest of a small page.
    select = select.from_(table, copy=False).limit(query.limit, copy=False)
    direct = _direct_columns(query) if index.rows is not None else None
    compiled.page = IndexedPage(select.sql(dialect="duckdb"), index, rows, query.limit, direct)
    compiled.sql = compiled.page.sql(query.offset)
    compiled.offset = query.offset
    return compiled


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


def _ordered_like_id(query: t.SoqlQuery, index: VersionIndex | None) -> bool:
    """Whether the asked order is, on this version, the order of `:id`: every item is `:id` or
    a column that never decreases (and is never null) from one row to the next, ascending."""
    if index is None or query.grouped or query.distinct or not query.order:
        return False
    return all(
        isinstance(item.expr, t.Column)
        and not item.descending
        and (item.expr.name == ":id" or item.expr.name in index.ordered)
        for item in query.order
    )


def _constant(node: t.Node) -> bool:
    return not any(isinstance(n, t.Column) for n in t.walk(node)) and not t.has_call(node)
