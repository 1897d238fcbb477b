"""A table ready to be read: the contract between the readers in `ingest/` and storage.

A reader returns a `TableSource`; storage asks it for a lazy DuckDB relation, and when DuckDB
fails part-way, asks it to retry (with wider types, another encoding) or to explain the failure
in plain words naming the row and column. Storage never imports `ingest/`.
"""

from __future__ import annotations

import re
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from statedata.errors import IngestError, StatedataError


@dataclass
class TableSource(ABC):
    path: Path
    format: str
    schema: Any = None  # ingest's TableSchema, when one was declared
    temp_dir: Path | None = None
    extensions: tuple[str, ...] = ()
    attach_original: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @abstractmethod
    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        """The rows as a lazy DuckDB relation (nothing is read until storage writes)."""

    def retry(self, error: duckdb.Error) -> bool:
        """Adjust after a failure that a second try can fix; False when it cannot."""
        return False

    def explain(self, error: duckdb.Error) -> StatedataError:
        return generic_explanation(self.name, error)

    def check(self, con: duckdb.DuckDBPyConnection, view: str) -> None:
        """Check the rows in `view` against a declared schema's constraints, if any."""
        if self.schema is not None:
            self.schema.check_constraints(con, view, self.name)

    def cleanup(self) -> None:
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def first_line(message: str) -> str:
    text = message.split("\n", 1)[0]
    return re.sub(r"^[A-Za-z ]*Error: ", "", text).strip()


def generic_explanation(name: str, error: duckdb.Error) -> IngestError:
    return IngestError(f"{name} could not be read: {first_line(str(error))}", file=name)
