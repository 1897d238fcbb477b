"""SoQL text to query nodes: one Lark LALR parser for every clause, and syntax errors as
QueryError with the line and column at fault. Names and types are checked later, in check.py.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from statedata.query import tree as t
from statedata.query.errors import MALFORMED, QueryError
from statedata.query.grammar import GRAMMAR, STARTS

_PARSER = Lark(
    GRAMMAR,
    parser="lalr",
    start=STARTS,
    propagate_positions=True,
    maybe_placeholders=True,
)

_WORDS = {
    "IDENT": "a column or function name",
    "QUOTED": "a `quoted` column name",
    "SYSTEM": "a system field such as :id",
    "NUMBER": "a number",
    "STRING": "a 'text' value",
    "LPAR": "(",
    "RPAR": ")",
    "COMMA": ",",
    "STAR": "*",
    "COMPARE": "a comparison",
    "CONCAT": "||",
    "ADD": "+",
    "SUB": "-",
    "MUL": "* / %",
    "$END": "the end",
}

# Terminals shared with other clauses in LALR states; naming them in a $where message misleads.
_NOT_IN = {
    "start_where": {"AS", "ASC", "DESC", "NULLS", "NULL", "FIRST", "LAST", "COMMA", "SYSTEM_STAR"},
    "start_group": {"AS", "ASC", "DESC", "NULLS", "FIRST", "LAST", "SYSTEM_STAR"},
    "start_order": {"AS", "SYSTEM_STAR"},
}


def _describe(names: set[str]) -> str:
    words = sorted({_WORDS.get(n, n.lower() if n.isalpha() else n) for n in names})
    if len(words) > 8:
        words = [*words[:8], "..."]
    return ", ".join(words)


def _pos(meta_or_token: Any) -> tuple[int, int]:
    return (getattr(meta_or_token, "line", 1) or 1, getattr(meta_or_token, "column", 1) or 1)


def _kw(node: Any) -> dict[str, Any]:
    return {
        "pos": _pos(node),
        "start": getattr(node, "start_pos", -1),
        "end": getattr(node, "end_pos", -1),
    }


def unquote(text: str) -> str:
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


def number_literal(text: str) -> int | Decimal:
    """A SoQL number as an int when whole and within BIGINT, else a finite Decimal."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise QueryError(MALFORMED, f"'{text}' is not a number.") from None
    if not value.is_finite() or abs(value.adjusted()) > 300:
        raise QueryError(MALFORMED, f"The number {text} is too large or too small.")
    if value == value.to_integral_value() and abs(value) < 2**63:
        return int(value)
    return value


@v_args(meta=True)
class _ToNodes(Transformer):
    """Lark's tree to query nodes; every node keeps where it starts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    # names and values
    def name(self, meta: Any, children: list[Token]) -> str:
        token = children[0]
        value = str(token)
        return value[1:-1] if token.type == "QUOTED" else value

    def column(self, meta: Any, children: list[str]) -> t.Column:
        return t.Column(children[0], **_kw(meta))

    def number(self, meta: Any, children: list[Token]) -> t.Literal:
        return t.Literal(number_literal(str(children[0])), "number", **_kw(meta))

    def string(self, meta: Any, children: list[Token]) -> t.Literal:
        return t.Literal(unquote(str(children[0])), "text", **_kw(meta))

    def true(self, meta: Any, children: list) -> t.Literal:
        return t.Literal(True, "checkbox", **_kw(meta))

    def false(self, meta: Any, children: list) -> t.Literal:
        return t.Literal(False, "checkbox", **_kw(meta))

    def null(self, meta: Any, children: list) -> t.Literal:
        return t.Literal(None, "null", **_kw(meta))

    # operators
    def or_(self, meta: Any, c: list) -> t.Binary:
        return t.Binary("OR", c[0], c[2], **_kw(meta))

    def and_(self, meta: Any, c: list) -> t.Binary:
        return t.Binary("AND", c[0], c[2], **_kw(meta))

    def not_(self, meta: Any, c: list) -> t.Unary:
        return t.Unary("NOT", c[1], **_kw(meta))

    def compare(self, meta: Any, c: list) -> t.Binary:
        op = "!=" if str(c[1]) == "<>" else str(c[1])
        return t.Binary(op, c[0], c[2], **_kw(meta))

    def binary(self, meta: Any, c: list) -> t.Binary:
        return t.Binary(str(c[1]), c[0], c[2], **_kw(meta))

    def negate(self, meta: Any, c: list) -> t.Node:
        operand = c[1]
        if isinstance(operand, t.Literal) and operand.kind == "number":
            operand.value = -operand.value  # type: ignore[operator]
            operand.pos, operand.start = _pos(meta), meta.start_pos
            return operand
        return t.Unary("-", operand, **_kw(meta))

    def plus(self, meta: Any, c: list) -> t.Node:
        return t.Unary("+", c[1], **_kw(meta))

    def is_null(self, meta: Any, c: list) -> t.IsNull:
        return t.IsNull(c[0], **_kw(meta))

    def is_not_null(self, meta: Any, c: list) -> t.IsNull:
        return t.IsNull(c[0], negated=True, **_kw(meta))

    def between(self, meta: Any, c: list) -> t.Between:
        return t.Between(c[0], c[2], c[4], **_kw(meta))

    def not_between(self, meta: Any, c: list) -> t.Between:
        return t.Between(c[0], c[3], c[5], negated=True, **_kw(meta))

    def in_(self, meta: Any, c: list) -> t.In:
        return t.In(c[0], c[2], **_kw(meta))

    def not_in(self, meta: Any, c: list) -> t.In:
        return t.In(c[0], c[3], negated=True, **_kw(meta))

    def like(self, meta: Any, c: list) -> t.Like:
        return t.Like(c[0], c[2], **_kw(meta))

    def not_like(self, meta: Any, c: list) -> t.Like:
        return t.Like(c[0], c[3], negated=True, **_kw(meta))

    # calls
    def call_star(self, meta: Any, c: list) -> list[t.Node]:
        return [t.Star(**_kw(meta))]

    def call(self, meta: Any, c: list) -> t.Call:
        args = c[1] if len(c) > 1 and c[1] is not None else []
        return t.Call(str(c[0]).lower(), list(args), **_kw(meta))

    def call_distinct(self, meta: Any, c: list) -> t.Call:
        return t.Call(str(c[0]).lower(), [c[2]], distinct=True, **_kw(meta))

    def expr_list(self, meta: Any, c: list) -> list[t.Node]:
        return list(c)

    # clauses
    def select_star(self, meta: Any, c: list) -> t.SelectItem:
        return t.SelectItem(None, star="*")

    def select_system_star(self, meta: Any, c: list) -> t.SelectItem:
        return t.SelectItem(None, star=":*")

    def select_expr(self, meta: Any, c: list) -> t.SelectItem:
        expr = c[0]
        text = self.text[expr.start : expr.end] if expr.start >= 0 else ""
        return t.SelectItem(expr, alias=c[2], text=text)

    def select_clause(self, meta: Any, c: list) -> tuple[bool, list[t.SelectItem]]:
        return c[0] is not None, list(c[1:])

    def direction(self, meta: Any, c: list) -> bool:
        return str(c[0]).lower() == "desc"

    def nulls(self, meta: Any, c: list) -> str:
        return str(c[1]).lower()

    def order_item(self, meta: Any, c: list) -> t.OrderItem:
        return t.OrderItem(c[0], descending=bool(c[1]), nulls=c[2])

    def order_list(self, meta: Any, c: list) -> list[t.OrderItem]:
        return list(c)

    def where(self, meta: Any, c: list) -> tuple[str, Any]:
        return ("where", c[1])

    def group(self, meta: Any, c: list) -> tuple[str, Any]:
        return ("group", c[2])

    def having(self, meta: Any, c: list) -> tuple[str, Any]:
        return ("having", c[1])

    def order(self, meta: Any, c: list) -> tuple[str, Any]:
        return ("order", c[2])

    def limit(self, meta: Any, c: list) -> tuple[str, Any]:
        return ("limit", str(c[1]))

    def offset(self, meta: Any, c: list) -> tuple[str, Any]:
        return ("offset", str(c[1]))

    def search(self, meta: Any, c: list) -> tuple[str, Any]:
        return ("search", unquote(str(c[1])))

    def start_query(self, meta: Any, c: list) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        if c[1] is not None:
            parts["select"] = c[1]
        for part in c[2:]:
            if part is not None:
                parts[part[0]] = part[1]
        return parts

    def start_select(self, meta: Any, c: list) -> Any:
        return c[0]

    start_where = start_order = start_group = start_select


def parse(text: str, start: str, clause: str) -> Any:
    """Parse `text` from the grammar rule `start`; `clause` names it in messages ("$where")."""
    if not text.strip():
        raise QueryError(MALFORMED, f"{clause} is empty.", query=text)
    try:
        lark_tree = _PARSER.parse(text, start=start)
        return _ToNodes(text).transform(lark_tree)
    except VisitError as error:
        if isinstance(error.orig_exc, QueryError):
            raise QueryError(MALFORMED, error.orig_exc.message, query=text) from None
        raise
    except UnexpectedInput as error:
        raise _syntax_error(error, text, start, clause) from None


def _syntax_error(error: UnexpectedInput, text: str, start: str, clause: str) -> QueryError:
    line, column = error.line, error.column
    token = getattr(error, "token", None)
    at_end = token is not None and token.type == "$END"
    if isinstance(error, UnexpectedEOF) or at_end or line is None or line < 1:
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
        found = "the end of the text"
    elif isinstance(error, UnexpectedCharacters):
        found = repr(text[error.pos_in_stream]) if error.pos_in_stream < len(text) else "?"
    else:
        found = repr(str(token))
    expected = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
    expected -= _NOT_IN.get(start, set())
    hint = f"; expected {_describe(set(expected))}" if expected else ""
    message = f"Could not parse {clause} at line {line}, column {column}: unexpected {found}{hint}."
    return QueryError(MALFORMED, message, query=text, position=(line, column))
