"""DuckDB connections for storage and query, with the extensions they need loaded from the
`duckdb-extension-*` packages (signed builds; unsigned extensions stay off).

Also the one way to put a name into DuckDB SQL (`ident`), so user column names are quoted by
sqlglot rather than pasted.
"""

from __future__ import annotations

import importlib
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
