"""DuckDB connections for storage and query, with the extensions they need loaded from the
`duckdb-extension-*` packages (signed builds; unsigned extensions stay off).

Also the one way to put a name into DuckDB SQL (`ident`), so user column names are quoted by
sqlglot rather than pasted.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import duckdb
import sqlglot.expressions as exp

from statedata.config import Settings

EXTENSIONS = ("spatial", "fts", "excel")


def extension_path(name: str) -> Path:
    """The `.duckdb_extension` file shipped by the `duckdb-extension-NAME` package."""
    if name not in EXTENSIONS:
        raise ValueError(f"unknown DuckDB extension {name}")
    package = importlib.import_module(f"duckdb_extension_{name}")
    folder = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    return folder / f"{name}.duckdb_extension"


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    # LOAD of an already loaded extension is a cheap no-op in DuckDB.
    con.execute(f"LOAD '{extension_path(name)}'")


def connect(
    settings: Settings | None = None, *, extensions: tuple[str, ...] = ()
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the installation's limits; spill goes to the home."""
    config: dict[str, str] = {
        "allow_unsigned_extensions": "false",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    con = duckdb.connect(":memory:", config=config)
    if settings is not None:
        con.execute("SET memory_limit = ?", [settings.duckdb_memory_limit])
        if settings.duckdb_threads:
            con.execute("SET threads = ?", [settings.duckdb_threads])
        spill = settings.home / "tmp" / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(spill)])
    for name in extensions:
        load_extension(con, name)
    return con


def ident(name: str) -> str:
    """A column or table name as quoted DuckDB SQL."""
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def literal(value: object) -> str:
    """A Python value (text, number, bool, None, list, dict) as a DuckDB SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return exp.Literal.string(str(value)).sql(dialect="duckdb")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no DuckDB literal for {type(value).__name__}")


PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def lazy_relation(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> duckdb.DuckDBPyRelation:
    """A relation that DuckDB plans but does not run yet.

    `con.sql(sql, params=...)` runs a parameterised query at once and holds its result, which
    for an ingest means reading the whole file twice; so the values are written into the SQL
    as escaped literals instead.
    """
    values = params or {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for ${name}")
        return literal(values[name])

    return con.sql(PLACEHOLDER.sub(substitute, sql))
