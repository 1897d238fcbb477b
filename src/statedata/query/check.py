"""The checker: every column exists, every function is known and given the right arguments,
aggregates agree with GROUP BY. It records each node's SODA type on the query; no SQL here.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re

from statedata.query import tree as t
from statedata.query.errors import (
    MALFORMED,
    NO_SUCH_COLUMN,
    NO_SUCH_FUNCTION,
    NOT_IN_GROUP_BYS,
    TYPE_MISMATCH,
    QueryError,
)
from statedata.query.functions import (
    FUNCTIONS,
    GEO_TYPES,
    KNOWN,
    ORDERABLE,
    TIMESTAMP_TYPES,
    Function,
)

SYSTEM_FIELDS = (":id", ":created_at", ":updated_at")
COMPARISONS = {"=", "!=", "<", "<=", ">", ">="}
ARITHMETIC = {"+", "-", "*", "/", "%"}


def _timestamp_text(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class Checker:
    """Checks one clause at a time against the query's columns, recording types on `query`."""

    def __init__(self, query: t.SoqlQuery) -> None:
        self.query = query
        self.by_name = {c.field_name: c for c in query.columns}
        self.aliases: dict[str, t.Node] = {}
        self.text = ""
        self.clause = ""

    # errors
    def error(self, code: str, message: str, node: t.Node | None = None) -> QueryError:
        where = f" in {self.clause} at line {node.pos[0]}, column {node.pos[1]}" if node else ""
        return QueryError(
            code,
            f"{message}{where}.",
            query=self.text,
            position=node.pos if node else None,
        )

    def mismatch(self, message: str, node: t.Node) -> QueryError:
        return self.error(TYPE_MISMATCH, message, node)

    # types
    def type(self, node: t.Node, *, aggregate_ok: bool, in_aggregate: bool = False) -> str:
        kind = self._type(node, aggregate_ok, in_aggregate)
        self.query.types[id(node)] = kind
        return kind

    def _type(self, node: t.Node, aggregate_ok: bool, in_aggregate: bool) -> str:
        sub = {"aggregate_ok": aggregate_ok, "in_aggregate": in_aggregate}
        if isinstance(node, t.Literal):
            return node.kind
        if isinstance(node, t.Column):
            return self.column(node)
        if isinstance(node, t.Star):
            raise self.error(MALFORMED, "'*' can only be counted, as count(*)", node)
        if isinstance(node, t.Binary):
            return self.binary(node, sub)
        if isinstance(node, t.Unary):
            kind = self.type(node.operand, **sub)
            wanted = "checkbox" if node.op == "NOT" else "number"
            if kind not in (wanted, "null"):
                raise self.mismatch(f"{node.op} needs a {wanted} but was given a {kind}", node)
            return wanted
        if isinstance(node, t.IsNull):
            self.type(node.operand, **sub)
            return "checkbox"
        if isinstance(node, t.Between):
            kind = self.type(node.operand, **sub)
            for bound in (node.low, node.high):
                self.comparable(kind, bound, node, sub, ordered=True)
            return "checkbox"
        if isinstance(node, t.In):
            kind = self.type(node.operand, **sub)
            for item in node.items:
                self.comparable(kind, item, node, sub, ordered=False)
            return "checkbox"
        if isinstance(node, t.Like):
            for part in (node.operand, node.pattern):
                kind = self.type(part, **sub)
                if kind not in ("text", "null"):
                    raise self.mismatch(f"LIKE compares text, not {kind}", part)
            return "checkbox"
        if isinstance(node, t.Call):
            return self.call(node, aggregate_ok, in_aggregate)
        raise self.error(MALFORMED, "This expression is not understood", node)

    def column(self, node: t.Column) -> str:
        if node.name in self.by_name:
            return self.by_name[node.name].soda_type
        if node.name in self.aliases:
            return self.query.types[id(self.aliases[node.name])]
        names = list(self.by_name) + list(self.aliases)
        close = difflib.get_close_matches(node.name, names, n=1, cutoff=0.6)
        if not close:
            lowered = {n.lower(): n for n in names}
            close = [lowered[node.name.lower()]] if node.name.lower() in lowered else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        where = f" in {self.clause} at line {node.pos[0]}, column {node.pos[1]}"
        return self._raise(
            QueryError(
                NO_SUCH_COLUMN,
                f"No such column: '{node.name}'{where}{hint}" + ("" if hint else "."),
                query=self.text,
                position=node.pos,
            )
        )

    @staticmethod
    def _raise(error: QueryError) -> str:
        raise error

    def comparable(self, kind: str, other: t.Node, at: t.Node, sub: dict, *, ordered: bool) -> None:
        other_kind = self.type(other, **sub)
        self.match(kind, other_kind, other, at, ordered=ordered)

    def match(
        self, left: str, right: str, right_node: t.Node, at: t.Node, *, ordered: bool
    ) -> None:
        """`left` and `right` can be compared (a 'text' literal counts as a timestamp)."""
        if "null" in (left, right):
            return
        if ordered and (left not in ORDERABLE or right not in ORDERABLE):
            bad = left if left not in ORDERABLE else right
            raise self.mismatch(f"Values of type {bad} cannot be ordered or ranged", at)
        if left in GEO_TYPES or right in GEO_TYPES or "json" in (left, right):
            raise self.mismatch(f"Cannot compare {left} with {right}", at)
        if left == right or (left in TIMESTAMP_TYPES and right in TIMESTAMP_TYPES):
            return
        if left in TIMESTAMP_TYPES and right == "text" and isinstance(right_node, t.Literal):
            if not _timestamp_text(str(right_node.value)):
                raise self.mismatch(f"'{right_node.value}' is not a date and time", right_node)
            self.query.types[id(right_node)] = left
            return
        raise self.mismatch(f"Cannot compare {left} with {right}", right_node)

    def binary(self, node: t.Binary, sub: dict) -> str:
        left = self.type(node.left, **sub)
        right = self.type(node.right, **sub)
        if node.op in ("AND", "OR"):
            for kind, side in ((left, node.left), (right, node.right)):
                if kind not in ("checkbox", "null"):
                    raise self.mismatch(f"{node.op} joins true/false values, not {kind}", side)
            return "checkbox"
        if node.op in COMPARISONS:
            if left == "text" and right in TIMESTAMP_TYPES:
                self.match(right, left, node.left, node, ordered=node.op not in ("=", "!="))
            else:
                self.match(left, right, node.right, node, ordered=node.op not in ("=", "!="))
            return "checkbox"
        if node.op == "||":
            for kind, side in ((left, node.left), (right, node.right)):
                if kind in GEO_TYPES or kind == "json":
                    raise self.mismatch(f"|| joins text, not {kind}", side)
            return "text"
        if node.op in ARITHMETIC:
            for kind, side in ((left, node.left), (right, node.right)):
                if kind not in ("number", "null"):
                    raise self.mismatch(f"{node.op} works on numbers, not {kind}", side)
            return "number"
        raise self.error(MALFORMED, f"Unknown operator {node.op}", node)

    def call(self, node: t.Call, aggregate_ok: bool, in_aggregate: bool) -> str:
        if node.name not in KNOWN:
            close = difflib.get_close_matches(node.name, sorted(KNOWN), n=1)
            hint = f"; did you mean {close[0]}()" if close else ""
            raise self.error(NO_SUCH_FUNCTION, f"No such function: {node.name}(){hint}", node)
        if node.name == "case":
            return self.case(node, aggregate_ok, in_aggregate)
        function = FUNCTIONS[node.name]
        if function.spatial:
            self.query.needs_spatial = True
        if function.aggregate:
            if in_aggregate:
                raise self.error(
                    MALFORMED, f"{node.name}() cannot be inside another aggregate", node
                )
            if not aggregate_ok:
                raise self.error(
                    MALFORMED, f"Aggregate {node.name}() is not allowed in {self.clause}", node
                )
        if node.distinct and node.name != "count":
            raise self.error(MALFORMED, "DISTINCT is allowed only in count(distinct ...)", node)
        if node.args and isinstance(node.args[0], t.Star):
            if node.name != "count" or len(node.args) != 1:
                raise self.error(MALFORMED, f"{node.name}(*) is not allowed; only count(*)", node)
            return "number"
        self.arity(function, node)
        sub = {"aggregate_ok": aggregate_ok, "in_aggregate": in_aggregate or function.aggregate}
        kinds = [self.type(arg, **sub) for arg in node.args]
        for index, (arg, kind) in enumerate(zip(node.args, kinds, strict=True)):
            wanted = function.args[min(index, len(function.args) - 1)]
            self.argument(function, wanted, arg, kind, kinds[0])
        if function.returns == "arg":
            return next((k for k in kinds if k != "null"), "null")
        return function.returns

    def arity(self, function: Function, node: t.Call) -> None:
        count, wanted = len(node.args), len(function.args)
        if function.variadic:
            if count < wanted - 1:
                raise self.mismatch(
                    f"{function.name}() takes at least {wanted - 1} argument(s), not {count}", node
                )
        elif count != wanted:
            plural = "argument" if wanted == 1 else "arguments"
            raise self.mismatch(f"{function.name}() takes {wanted} {plural}, not {count}", node)

    def argument(self, function: Function, wanted: str, arg: t.Node, kind: str, first: str) -> None:
        if kind == "null" and wanted not in ("geo", "geo_or_wkt"):
            return
        ok = {
            "any": kind not in GEO_TYPES or function.name == "count",
            "orderable": kind in ORDERABLE,
            "timestamp": kind in TIMESTAMP_TYPES,
            "geo": kind in GEO_TYPES,
            "geo_or_wkt": kind in GEO_TYPES
            or (kind == "text" and isinstance(arg, t.Literal) and arg.kind == "text"),
            "same": kind == first or (kind in TIMESTAMP_TYPES and first in TIMESTAMP_TYPES),
        }.get(wanted, kind == wanted)
        if not ok:
            described = {
                "orderable": "a number, text, checkbox or date",
                "timestamp": "a date and time",
                "geo": "a geometry (point, line or polygon) column",
                "geo_or_wkt": "a geometry or a 'WKT' text",
                "same": f"a {first}, like its first argument",
                "any": "a value",
            }.get(wanted, f"a {wanted}")
            raise self.mismatch(f"{function.name}() needs {described}, not {kind}", arg)

    def case(self, node: t.Call, aggregate_ok: bool, in_aggregate: bool) -> str:
        if len(node.args) < 2 or len(node.args) % 2:
            raise self.mismatch("case() takes pairs of condition and value", node)
        sub = {"aggregate_ok": aggregate_ok, "in_aggregate": in_aggregate}
        result = "null"
        for cond, value in zip(node.args[::2], node.args[1::2], strict=True):
            if self.type(cond, **sub) not in ("checkbox", "null"):
                raise self.mismatch("A case() condition must be true or false", cond)
            kind = self.type(value, **sub)
            if kind == "null":
                continue
            if result not in ("null", kind):
                raise self.mismatch(f"case() values must share a type: {result} and {kind}", value)
            result = kind
        return result


def has_aggregate(node: t.Node) -> bool:
    if isinstance(node, t.Call) and node.name in FUNCTIONS and FUNCTIONS[node.name].aggregate:
        return True
    return any(has_aggregate(child) for child in node.children())


def ungrouped_column(node: t.Node, groups: list[t.Node]) -> t.Column | None:
    """The first column used outside an aggregate and outside every GROUP BY expression."""
    if any(node == group for group in groups):
        return None
    if isinstance(node, t.Call) and node.name in FUNCTIONS and FUNCTIONS[node.name].aggregate:
        return None
    if isinstance(node, t.Column):
        return node
    for child in node.children():
        found = ungrouped_column(child, groups)
        if found is not None:
            return found
    return None


def implicit_name(item: t.SelectItem) -> str:
    """Socrata's name for an unaliased expression: `count(town)` -> count_town."""
    if isinstance(item.expr, t.Column):
        return item.expr.name
    name = re.sub(r"[^a-z0-9]+", "_", item.text.lower()).strip("_")
    if not name:
        name = "expr"
    return f"_{name}" if name[0].isdigit() else name


def substitute(node: t.Node, aliases: dict[str, t.Node], names: set[str]) -> t.Node:
    """`node` with select aliases (that are not also column names) replaced by what they name."""
    if isinstance(node, t.Column):
        return aliases[node.name] if node.name in aliases and node.name not in names else node
    for attr in ("left", "right", "operand", "low", "high", "pattern"):
        if hasattr(node, attr):
            setattr(node, attr, substitute(getattr(node, attr), aliases, names))
    if isinstance(node, t.Call):
        node.args = [substitute(arg, aliases, names) for arg in node.args]
    if isinstance(node, t.In):
        node.items = [substitute(item, aliases, names) for item in node.items]
    return node


def check_query(query: t.SoqlQuery, texts: dict[str, str]) -> None:
    """Check the whole query; fill in `outputs`, `grouped` and the node types. `texts` holds
    each clause's text by parameter name ("$select", ...), for error messages."""
    checker = Checker(query)
    names = set(checker.by_name)

    def clause(name: str) -> None:
        checker.clause, checker.text = name, texts.get(name, texts.get("$query", ""))

    clause("$select")
    outputs: list[tuple[str, t.Node, str]] = []
    taken: set[str] = set()
    for item in query.select:
        if item.star is not None:
            show_system = item.star == ":*" or query.include_system
            for column in query.columns:
                system = column.field_name.startswith(":")
                if (system and show_system) or (not system and item.star == "*"):
                    node = t.Column(column.field_name)
                    checker.type(node, aggregate_ok=False)
                    if column.field_name not in taken:
                        outputs.append((column.field_name, node, column.soda_type))
                        taken.add(column.field_name)
            continue
        assert item.expr is not None
        kind = checker.type(item.expr, aggregate_ok=True)
        name = item.alias or implicit_name(item)
        if item.alias is not None:
            if item.alias.startswith(":"):
                raise checker.error(
                    MALFORMED, f"The alias '{item.alias}' may not start with ':'", item.expr
                )
            if item.alias in taken:
                raise checker.error(MALFORMED, f"The alias '{item.alias}' is used twice", item.expr)
            checker.aliases[item.alias] = item.expr
        else:
            base, number = name, 1
            while name in taken:
                number += 1
                name = f"{base}_{number}"
        taken.add(name)
        outputs.append((name, item.expr, kind))
    query.outputs = outputs

    if query.where is not None:
        clause("$where")
        if checker.type(query.where, aggregate_ok=False) not in ("checkbox", "null"):
            raise checker.mismatch("$where must be true or false for each row", query.where)

    clause("$group")
    query.group = [substitute(g, checker.aliases, names) for g in query.group]
    for group in query.group:
        checker.type(group, aggregate_ok=False)

    if query.having is not None:
        clause("$having")
        query.having = substitute(query.having, checker.aliases, names)
        if checker.type(query.having, aggregate_ok=True) not in ("checkbox", "null"):
            raise checker.mismatch("$having must be true or false for each group", query.having)

    clause("$order")
    for item in query.order:
        item.expr = substitute(item.expr, checker.aliases, names)
        kind = checker.type(item.expr, aggregate_ok=True)
        if kind in GEO_TYPES or kind == "json":
            raise checker.mismatch(f"Cannot order by a {kind}", item.expr)

    exprs = [node for _, node, _ in outputs]
    order_exprs = [item.expr for item in query.order]
    query.grouped = bool(query.group) or any(
        has_aggregate(node) for node in [*exprs, *order_exprs, *filter(None, [query.having])]
    )
    if query.having is not None and not query.grouped:
        clause("$having")
        raise checker.error(MALFORMED, "$having needs $group or an aggregate", query.having)
    if query.grouped:
        for name, nodes in (
            ("$select", exprs),
            ("$having", [query.having] if query.having else []),
            ("$order", order_exprs),
        ):
            clause(name)
            for node in nodes:
                column = ungrouped_column(node, query.group)
                if column is not None:
                    raise checker.error(
                        NOT_IN_GROUP_BYS,
                        f"Column '{column.name}' must be in $group or inside an aggregate",
                        column,
                    )
    if query.distinct:
        clause("$order")
        for node in order_exprs:
            if not any(node == output for output in exprs):
                raise checker.error(
                    MALFORMED, "With DISTINCT, $order may only use selected expressions", node
                )
    if any(kind in GEO_TYPES for _, _, kind in outputs):
        query.needs_spatial = True
