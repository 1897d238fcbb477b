"""What every reader but CSV/TSV shares: the `Reader` base (a declared schema's header check
and casts, the "has no rows" check, tracing a failed cast to its row) and the cast SQL helpers.

No format lives here; each has its own module (`excel.py`, `jsonfiles.py`, `geo.py`, ...).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field

import duckdb

from statedata.errors import IngestError, StatedataError
from statedata.ingest.tableschema import TableSchema
from statedata.ingest.words import TYPE_WORDS
from statedata.storage.duck import ident
from statedata.storage.source import TableSource, generic_explanation

# The file as DuckDB reads it, before renames and casts; `explain` looks for bad rows in it.
RAW_VIEW = "__statedata_raw"
INTEGER_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT")
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


@dataclass
class OutColumn:
    """One column of the table handed to storage: its name, its SQL over the raw view, its type."""

    name: str
    sql: str
    type: str
    added: bool = False  # made by statedata (geometry, latitude, longitude), not in the file
    # Before a schema's cast: the SQL and type the cast starts from.
    uncast_sql: str | None = None
    uncast_type: str | None = None


@dataclass
class Reader(TableSource):
    """What every reader but CSV/TSV shares: the declared schema's header check and casts, the
    "has no rows" check, and finding the row and column a failed cast came from.
    """

    row_word: str = "row"
    row_offset: int = 0  # added to a 1-based record number to give the number users see
    # The connection publish is using; `explain` runs while it is still open.
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _columns: list[OutColumn] = field(default_factory=list, repr=False)

    @abstractmethod
    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        """The file as DuckDB reads it, before casts to the declared or inferred types."""

    def out_columns(
        self, con: duckdb.DuckDBPyConnection, raw: list[tuple[str, str]]
    ) -> list[OutColumn]:
        return [OutColumn(name, ident(name), type_name) for name, type_name in raw]

    def where(self, columns: list[OutColumn]) -> str:
        return ""

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        self._con = con
        raw = self.raw(con)
        raw.create_view(RAW_VIEW, replace=True)
        columns = self.out_columns(con, list(zip(raw.columns, map(str, raw.types), strict=True)))
        if self.schema is not None:
            columns = self._apply_schema(columns)
        self._columns = columns
        select = ", ".join(f"{c.sql} AS {ident(c.name)}" for c in columns)
        relation = con.sql(f"SELECT {select} FROM {RAW_VIEW} {self.where(columns)}")
        if relation.limit(1).fetchone() is None:
            raise IngestError(
                f"{self.name} has no rows: there is nothing to publish.", file=self.name
            )
        return relation

    def _apply_schema(self, columns: list[OutColumn]) -> list[OutColumn]:
        schema: TableSchema = self.schema
        declared = schema.duckdb_columns()
        # Columns statedata adds count only when the schema names them.
        header = [c.name for c in columns if not c.added or c.name in declared]
        schema.check_header(self.name, header)
        by_name = {c.name: c for c in columns}
        cast = []
        for name, type_name in declared.items():
            column = by_name[name]
            cast.append(
                OutColumn(
                    name,
                    cast_sql(column.sql, column.type, type_name),
                    type_name,
                    column.added,
                    uncast_sql=column.sql,
                    uncast_type=column.type,
                )
            )
        # Geometry, latitude and longitude stay even when the schema only describes properties.
        cast += [c for c in columns if c.added and c.name not in declared]
        return cast

    def retry(self, error: duckdb.Error) -> bool:
        return False

    def explain(self, error: duckdb.Error) -> StatedataError:
        if self.schema is not None:
            found = self._find_bad_value()
            if found is not None:
                return found
        return self.explain_read(error)

    def explain_read(self, error: duckdb.Error) -> StatedataError:
        return generic_explanation(self.name, error)

    def _find_bad_value(self) -> IngestError | None:
        """The first row whose value does not fit the type the schema declares."""
        if self._con is None or not self._columns:
            return None
        for column in self._columns:
            if column.uncast_sql is None or column.uncast_type == column.type:
                continue
            fits = fits_sql("v", column.uncast_type or "", column.type)
            try:
                found = self._con.execute(
                    f"SELECT n, CAST(v AS VARCHAR) FROM (SELECT row_number() OVER () AS n, "
                    f"{column.uncast_sql} AS v FROM {RAW_VIEW}) "
                    f"WHERE v IS NOT NULL AND NOT ({fits}) "
                    "ORDER BY n LIMIT 1"
                ).fetchone()
            except duckdb.Error:
                continue
            if found:
                number, value = found
                expected = TYPE_WORDS.get(column.type, column.type.lower())
                where = f"{self.row_word} {number + self.row_offset}"
                return IngestError(
                    f"{self.name}: {where}, column '{column.name}': '{value}' is not {expected} "
                    "as the schema declares.",
                    file=self.name,
                    line=number + self.row_offset,
                    column=column.name,
                    value=value,
                )
        return None

    def _raw_types(self) -> list[tuple[str, str]]:
        assert self._con is not None
        return [(r[0], r[1]) for r in self._con.execute(f"DESCRIBE {RAW_VIEW}").fetchall()]


def cast_sql(sql: str, source: str, target: str) -> str:
    """SQL turning `sql` of DuckDB type `source` into `target` without silently losing data."""
    source = source.upper()
    if source == target or source.startswith("GEOMETRY"):
        # A geometry stays a geometry whatever the schema calls it (Table Schema has no type
        # for it; "geojson" maps to text).
        return sql
    if target == "VARCHAR":
        if source.startswith(FLOAT_TYPES):
            # Excel keeps every number as a double; an id 1001 should read "1001", not "1001.0".
            return (
                f"CASE WHEN {sql} = trunc({sql}) AND abs({sql}) < 1e15 "
                f"THEN CAST(CAST({sql} AS BIGINT) AS VARCHAR) ELSE CAST({sql} AS VARCHAR) END"
            )
        if source == "JSON":
            return json_text_sql(sql)
        if source.startswith(("STRUCT", "MAP")) or source.endswith("]"):
            return f"CAST(to_json({sql}) AS VARCHAR)"
        return f"CAST({sql} AS VARCHAR)"
    if target in INTEGER_TYPES and source.startswith(FLOAT_TYPES):
        # CAST(1.5 AS BIGINT) rounds to 2; a fraction in a whole-number column is an error.
        return (
            f"CASE WHEN {sql} IS NULL OR {sql} = trunc({sql}) THEN CAST({sql} AS {target}) "
            f"ELSE error('not a whole number') END"
        )
    return f"CAST({sql} AS {target})"


def fits_sql(sql: str, source: str, target: str) -> str:
    """A condition true when the non-null value `sql` can become `target`."""
    source = source.upper()
    if target == "VARCHAR" or source.startswith("GEOMETRY"):
        return "true"
    if target in INTEGER_TYPES and source.startswith(FLOAT_TYPES):
        return f"({sql} = trunc({sql}) AND TRY_CAST({sql} AS {target}) IS NOT NULL)"
    return f"TRY_CAST({sql} AS {target}) IS NOT NULL"


def json_text_sql(sql: str) -> str:
    # A JSON string value becomes its text without quotes; numbers and objects their JSON.
    return (
        f"CASE WHEN json_type({sql}) = 'VARCHAR' THEN {sql} ->> '$' ELSE CAST({sql} AS VARCHAR) END"
    )
