"""The parsed SoQL query as a tree of small dataclasses, and the columns it is checked against.

Nodes know where they came from (line, column) but nothing about SQL or about types.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from statedata.storage.types import data_type_of


@dataclass(frozen=True)
class ColumnInfo:
    """One queryable column of a dataset version."""

    field_name: str
    soda_type: str
    storage_type: str


SYSTEM_TYPES = {":id": "BIGINT", ":created_at": "TIMESTAMPTZ", ":updated_at": "TIMESTAMPTZ"}


def columns_of(schema: list[dict]) -> list[ColumnInfo]:
    """The columns of a version's schema ([{"name", "type"}]), system fields first."""
    columns = [ColumnInfo(name, data_type_of(kind), kind) for name, kind in SYSTEM_TYPES.items()]
    stored = {c["name"]: c["type"] for c in schema}
    for name in SYSTEM_TYPES:
        if name in stored:
            columns = [c if c.field_name != name else _system(name, stored[name]) for c in columns]
    for item in schema:
        if item["name"] not in SYSTEM_TYPES:
            columns.append(ColumnInfo(item["name"], data_type_of(item["type"]), item["type"]))
    return columns


def _system(name: str, storage_type: str) -> ColumnInfo:
    return ColumnInfo(name, data_type_of(storage_type), storage_type)


Position = tuple[int, int]


@dataclass
class Node:
    pos: Position = field(default=(1, 1), compare=False, kw_only=True)
    end: int = field(default=-1, compare=False, kw_only=True)  # char offset after, for naming
    start: int = field(default=-1, compare=False, kw_only=True)

    def children(self) -> Iterator[Node]:
        return iter(())


@dataclass
class Column(Node):
    name: str


@dataclass
class Literal(Node):
    value: object  # str, int, float (as Decimal text for numbers), bool or None
    kind: str  # "text", "number", "checkbox", "null"


@dataclass
class Star(Node):
    """The `*` of count(*)."""


@dataclass
class Call(Node):
    name: str
    args: list[Node]
    distinct: bool = False

    def children(self) -> Iterator[Node]:
        return iter(self.args)


@dataclass
class Binary(Node):
    op: str  # = != < <= > >= AND OR || + - * / %
    left: Node
    right: Node

    def children(self) -> Iterator[Node]:
        return iter((self.left, self.right))


@dataclass
class Unary(Node):
    op: str  # NOT or -
    operand: Node

    def children(self) -> Iterator[Node]:
        return iter((self.operand,))


@dataclass
class IsNull(Node):
    operand: Node
    negated: bool = False

    def children(self) -> Iterator[Node]:
        return iter((self.operand,))


@dataclass
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool = False

    def children(self) -> Iterator[Node]:
        return iter((self.operand, self.low, self.high))


@dataclass
class In(Node):
    operand: Node
    items: list[Node]
    negated: bool = False

    def children(self) -> Iterator[Node]:
        return iter((self.operand, *self.items))


@dataclass
class Like(Node):
    operand: Node
    pattern: Node
    negated: bool = False

    def children(self) -> Iterator[Node]:
        return iter((self.operand, self.pattern))


@dataclass
class SelectItem:
    """`expr [AS alias]`, or `*` / `:*` (expr None, star set)."""

    expr: Node | None
    alias: str | None = None
    star: str | None = None  # "*" or ":*"
    text: str = ""  # the expression's own text, for Socrata's implicit names


@dataclass
class OrderItem:
    expr: Node
    descending: bool = False
    nulls: str | None = None  # "first" / "last"


@dataclass
class SoqlQuery:
    """The parsed, checked tree of a whole query, ready for compile_query."""

    columns: list[ColumnInfo]
    select: list[SelectItem]
    distinct: bool = False
    where: Node | None = None
    group: list[Node] = field(default_factory=list)
    having: Node | None = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int = 1000
    offset: int = 0
    search: str | None = None
    include_system: bool = False
    # Filled by the checker: output names and SODA types, one a select item after stars expand.
    outputs: list[tuple[str, Node, str]] = field(default_factory=list)
    grouped: bool = False
    needs_spatial: bool = False
    types: dict[int, str] = field(default_factory=dict, repr=False)  # id(node) -> SODA type

    def type_of(self, node: Node) -> str:
        return self.types[id(node)]


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children():
        yield from walk(child)


def has_call(node: Node) -> bool:
    """Whether a function is called anywhere in `node` (count(*) has no column but varies)."""
    return any(isinstance(n, Call) for n in walk(node))
