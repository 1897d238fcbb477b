"""Declared schemas in the Frictionless Table Schema format: the descriptor is validated by the
`frictionless` library, its types become DuckDB types, and its constraints are checked over
the whole table in DuckDB (so a 1 GB file is checked without loading it into Python).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from statedata.errors import IngestError
from statedata.storage.duck import ident

if TYPE_CHECKING:
    from frictionless import Schema

DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "time": "TIME",
    "year": "INTEGER",
    "yearmonth": "VARCHAR",
    "duration": "VARCHAR",
    "geopoint": "VARCHAR",
    "geojson": "VARCHAR",
    "object": "VARCHAR",
    "array": "VARCHAR",
    "any": "VARCHAR",
}


@dataclass
class TableSchema:
    schema: Schema
    source: str

    @classmethod
    def load(cls, path: Path) -> TableSchema:
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise IngestError(
                f"The schema file {path.name} is not readable JSON: {error}"
            ) from error
        return cls.from_descriptor(descriptor, path.name)

    @classmethod
    def from_descriptor(cls, descriptor: dict, source: str = "schema") -> TableSchema:
        # Imported here: frictionless is only needed when a schema is declared.
        from frictionless import FrictionlessException, Schema

        try:
            schema = Schema.from_descriptor(descriptor)
        except FrictionlessException as error:
            raise IngestError(
                f"The schema {source} is not a valid Table Schema: {error.error.message}",
                file=source,
            ) from error
        if not schema.fields:
            raise IngestError(f"The schema {source} declares no fields.", file=source)
        return cls(schema=schema, source=source)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.schema.fields]

    @property
    def missing_values(self) -> list[str]:
        return list(self.schema.missing_values or [""])

    def duckdb_columns(self) -> dict[str, str]:
        return {f.name: DUCKDB_TYPES.get(f.type, "VARCHAR") for f in self.schema.fields}

    def format_options(self) -> list[str]:
        """read_csv options for the date format the schema declares (DuckDB takes one per type).

        Table Schema's "default" date format is ISO 8601, so DuckDB must not guess another from
        a sample; "any" lets it guess.
        """
        options = []
        dates = [f for f in self.schema.fields if f.type == "date"]
        if dates:
            fmt = getattr(dates[0], "format", "default") or "default"
            if fmt == "default":
                options.append("dateformat = '%Y-%m-%d'")
            elif fmt != "any":
                options.append(f"dateformat = {_literal(fmt)}")
        stamps = [f for f in self.schema.fields if f.type == "datetime"]
        if stamps:
            fmt = getattr(stamps[0], "format", "default") or "default"
            if fmt not in ("default", "any"):
                options.append(f"timestampformat = {_literal(fmt)}")
        return options

    def check_header(self, file_name: str, header: list[str]) -> None:
        expected = self.field_names
        if [h.strip() for h in header] == expected:
            return
        missing = [n for n in expected if n not in header]
        extra = [h for h in header if h not in expected]
        parts = []
        if missing:
            parts.append(
                "the schema's column(s) "
                + ", ".join(f"'{m}'" for m in missing)
                + " are not in the file"
            )
        if extra:
            parts.append(
                "the file's column(s) "
                + ", ".join(f"'{x}'" for x in extra)
                + " are not in the schema"
            )
        if not parts:
            parts.append(
                f"the columns are in another order; the schema expects {', '.join(expected)}"
            )
        raise IngestError(
            f"{file_name} does not match {self.source}: " + "; ".join(parts) + ".", file=file_name
        )

    def check_constraints(self, con: duckdb.DuckDBPyConnection, view: str, file_name: str) -> None:
        """Raise naming the first row (1-based, the header excluded) that breaks a constraint."""
        for field in self.schema.fields:
            constraints = field.constraints or {}
            column = ident(field.name)
            checks: list[tuple[str, list[object], str]] = []
            if constraints.get("required"):
                checks.append((f"{column} IS NULL", [], "is empty but the schema requires a value"))
            if "enum" in constraints:
                checks.append(
                    (
                        f"{column} IS NOT NULL AND "
                        f"NOT list_contains($1, CAST({column} AS VARCHAR))",
                        [[str(v) for v in constraints["enum"]]],
                        "is not one of the values the schema allows ("
                        + ", ".join(map(str, constraints["enum"]))
                        + ")",
                    )
                )
            if "minimum" in constraints:
                checks.append(
                    (
                        f"{column} < $1",
                        [constraints["minimum"]],
                        f"is below the minimum {constraints['minimum']}",
                    )
                )
            if "maximum" in constraints:
                checks.append(
                    (
                        f"{column} > $1",
                        [constraints["maximum"]],
                        f"is above the maximum {constraints['maximum']}",
                    )
                )
            if "minLength" in constraints:
                checks.append(
                    (
                        f"length(CAST({column} AS VARCHAR)) < $1",
                        [constraints["minLength"]],
                        f"is shorter than {constraints['minLength']} characters",
                    )
                )
            if "maxLength" in constraints:
                checks.append(
                    (
                        f"length(CAST({column} AS VARCHAR)) > $1",
                        [constraints["maxLength"]],
                        f"is longer than {constraints['maxLength']} characters",
                    )
                )
            if "pattern" in constraints:
                checks.append(
                    (
                        f"{column} IS NOT NULL AND "
                        f"NOT regexp_full_match(CAST({column} AS VARCHAR), $1)",
                        [constraints["pattern"]],
                        f"does not match the pattern {constraints['pattern']}",
                    )
                )
            for condition, params, problem in checks:
                found = con.execute(
                    f"SELECT n, CAST({column} AS VARCHAR) FROM "
                    f"(SELECT row_number() OVER () AS n, * FROM {view}) "
                    f"WHERE {condition} ORDER BY n LIMIT 1",
                    params,
                ).fetchone()
                if found:
                    row, value = found
                    shown = "(empty)" if value is None else f"'{value}'"
                    raise IngestError(
                        f"{file_name}: row {row} (line {row + 1}), column '{field.name}': "
                        f"{shown} {problem}.",
                        file=file_name,
                        line=row + 1,
                        column=field.name,
                        value=value,
                    )
            if constraints.get("unique"):
                dup = con.execute(
                    f"SELECT CAST({column} AS VARCHAR), min(r), list_sort(list(r))[2] "
                    f"FROM (SELECT row_number() OVER () AS r, {column} FROM {view}) "
                    f"WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) > 1 "
                    "ORDER BY min(r) LIMIT 1"
                ).fetchone()
                if dup:
                    value, first, second = dup
                    raise IngestError(
                        f"{file_name}: column '{field.name}' must be unique, but '{value}' "
                        f"appears in row {first} and row {second}.",
                        file=file_name,
                        column=field.name,
                        value=value,
                        line=second + 1,
                    )


def _literal(text: str) -> str:
    import sqlglot.expressions as exp

    return exp.Literal.string(text).sql(dialect="duckdb")
