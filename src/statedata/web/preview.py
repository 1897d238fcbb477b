"""The live preview of a dataset's rows: a page of them, sorted and filtered as the reader asks,
turned into SoQL and run by the same query engine as `/resource/{id}.json`.

The reader's choices arrive as plain parameters (`sort`, `desc`, `q`, `column`, `op`, `value`,
`page`); only this module turns them into SoQL, quoting every value, so nothing they type is
ever read as SoQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from statedata.catalog.models import Dataset, Version
from statedata.errors import InvalidInput
from statedata.installation import Installation
from statedata.query import QueryEngine, QueryError, columns_of, compile_query, parse_request
from statedata.query.functions import GEO_TYPES
from statedata.storage.versions import version_path, version_rows_sql
from statedata.web.base import number

PAGE_SIZE = 20
LONGEST_CELL = 120
MAX_PAGE = 100_000
# Operators a reader may pick, with the column kinds each fits.
OPERATORS = {
    "is": "is",
    "contains": "contains",
    "above": "is more than",
    "below": "is less than",
}
ORDERED_TYPES = {"number", "floating_timestamp", "fixed_timestamp"}


@dataclass
class Choices:
    """What the reader asked to see."""

    sort: str | None = None
    desc: bool = False
    q: str = ""
    column: str | None = None
    op: str = "is"
    value: str = ""
    page: int = 1

    def as_params(self, **changes: Any) -> dict[str, str]:
        """These choices (with `changes`) as the query string of a preview address."""
        values = {**self.__dict__, **changes}
        params: dict[str, str] = {}
        if values["sort"]:
            params["sort"] = values["sort"]
            if values["desc"]:
                params["desc"] = "1"
        if values["q"]:
            params["q"] = values["q"]
        if values["column"] and values["value"]:
            params.update(column=values["column"], op=values["op"], value=values["value"])
        if values["page"] > 1:
            params["page"] = str(values["page"])
        return params


@dataclass
class PreviewColumn:
    field_name: str
    label: str
    kind: str

    @property
    def filterable(self) -> bool:
        return self.kind not in GEO_TYPES and self.kind != "json"


@dataclass
class Preview:
    columns: list[PreviewColumn]
    choices: Choices
    rows: list[list[str]] = field(default_factory=list)
    total: int = 0
    error: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def first(self) -> int:
        return (self.choices.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def read_choices(params: Mapping[str, str]) -> Choices:
    """The reader's choices from a query string; nonsense falls back to the default."""
    try:
        page = int(params.get("page", "1"))
    except ValueError:
        page = 1
    op = params.get("op", "is")
    return Choices(
        sort=params.get("sort") or None,
        desc=params.get("desc") in ("1", "true"),
        q=params.get("q", "").strip()[:200],
        column=params.get("column") or None,
        op=op if op in OPERATORS else "is",
        value=params.get("value", "").strip()[:200],
        page=min(max(page, 1), MAX_PAGE),
    )


def _literal(kind: str, value: str, label: str) -> str:
    if kind == "number":
        try:
            Decimal(value.replace(",", ""))
        except ArithmeticError:
            raise InvalidInput(f"{label} holds numbers; '{value}' is not a number.") from None
        return value.replace(",", "")
    if kind == "checkbox":
        lowered = value.lower()
        if lowered not in ("true", "false", "yes", "no"):
            raise InvalidInput(f"{label} is yes or no; '{value}' is neither.")
        return "true" if lowered in ("true", "yes") else "false"
    if kind in ("floating_timestamp", "fixed_timestamp"):
        try:
            dt.date.fromisoformat(value[:10])
        except ValueError:
            raise InvalidInput(
                f"{label} holds dates; write the date as year-month-day, like 2026-03-01."
            ) from None
    return "'" + value.replace("'", "''") + "'"


def soql(choices: Choices, columns: list[PreviewColumn]) -> dict[str, str]:
    """The SoQL parameters for the reader's choices (without $limit and $offset)."""
    by_name = {c.field_name: c for c in columns}
    params: dict[str, str] = {}
    if choices.sort:
        if choices.sort not in by_name:
            raise InvalidInput(f"There is no column '{choices.sort}' to sort by.")
        params["$order"] = f"`{choices.sort}` {'DESC' if choices.desc else 'ASC'}, :id"
    if choices.q:
        params["$q"] = choices.q
    if choices.column and choices.value:
        column = by_name.get(choices.column)
        if column is None or not column.filterable:
            raise InvalidInput(f"There is no column '{choices.column}' to filter on.")
        name = f"`{column.field_name}`"
        if choices.op == "contains":
            if column.kind != "text":
                raise InvalidInput(f"Only text can contain words; {column.label} is not text.")
            text = _literal("text", f"%{choices.value}%", column.label)
            params["$where"] = f"upper({name}) like upper({text})"
        elif choices.op in ("above", "below"):
            if column.kind not in ORDERED_TYPES:
                raise InvalidInput(f"{column.label} has no order: filter it with 'is'.")
            sign = ">" if choices.op == "above" else "<"
            params["$where"] = f"{name} {sign} {_literal(column.kind, choices.value, column.label)}"
        else:
            params["$where"] = f"{name} = {_literal(column.kind, choices.value, column.label)}"
    return params


def preview_columns(dataset: Dataset, version: Version) -> list[PreviewColumn]:
    labels = {c.field_name: c.display_name for c in dataset.columns}
    return [
        PreviewColumn(c.field_name, labels.get(c.field_name, c.field_name), c.soda_type)
        for c in columns_of(version.schema)
        if not c.field_name.startswith(":")
    ]


def cell(value: Any, kind: str) -> str:
    """A value as the preview shows it: short, plain text."""
    if value is None:
        return ""
    if kind in GEO_TYPES:
        try:
            shape = json.loads(value)
        except (TypeError, ValueError):
            return str(value)[:LONGEST_CELL]
        if shape.get("type") == "Point":
            lon, lat = shape["coordinates"][:2]
            return f"{lat:.5f}, {lon:.5f}"
        return f"a {shape.get('type', 'shape').lower()}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return number(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes") if value.time() else str(value.date())
    text = str(value)
    return text if len(text) <= LONGEST_CELL else text[: LONGEST_CELL - 1] + "…"


def run_preview(
    installation: Installation,
    engine: QueryEngine,
    dataset: Dataset,
    version: Version,
    choices: Choices,
) -> Preview:
    """A page of rows for `choices`, with how many rows match. Bad choices become a plain
    message (`error`), never a failure of the page."""
    columns = preview_columns(dataset, version)
    found = Preview(columns, choices)
    try:
        params = soql(choices, columns)
    except InvalidInput as error:
        found.error = error.message
        return found
    settings = installation.settings
    table_sql = version_rows_sql(installation, version)
    schema_columns = columns_of(version.schema)
    text_columns = [c.field_name for c in schema_columns if c.soda_type == "text"]
    index = engine.indexes.get(
        version_path(installation, version), table_sql, version.schema, text_columns
    )

    def run(these: dict[str, str]) -> list[tuple]:
        query = parse_request(these, schema_columns, max_limit=settings.soda_max_limit)
        compiled = compile_query(query, table_sql, rows_in_id_order=True, index=index)
        return engine.run(compiled, settings.query_timeout_seconds).rows

    offset = (choices.page - 1) * PAGE_SIZE
    try:
        if "$where" in params or "$q" in params:
            counting = {k: v for k, v in params.items() if k != "$order"}
            found.total = int(run({**counting, "$select": "count(*) AS n"})[0][0])
        else:
            found.total = version.row_count
        selected = ", ".join(f"`{c.field_name}`" for c in columns)
        page = {**params, "$select": selected, "$limit": str(PAGE_SIZE), "$offset": str(offset)}
        rows = run(page)
    except QueryError as error:
        found.error = error.message
        return found
    found.rows = [[cell(v, c.kind) for v, c in zip(row, columns, strict=True)] for row in rows]
    return found
