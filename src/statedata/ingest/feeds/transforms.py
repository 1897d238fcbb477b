"""Transforms a feed applies to its rows before they are published: rename, cast and drop
columns, written as SQL over the source in DuckDB, and the check that a source still fits the
dataset's columns and types.

Parsing the short CLI form (`rename:old=new`) is here too; reading files is `ingest`'s job.
"""

from __future__ import annotations

from typing import Annotated

import duckdb
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from statedata.errors import FeedSourceError, InvalidInput
from statedata.storage.duck import ident
from statedata.storage.types import data_type_of

# The words a cast may use, and the DuckDB type each stands for.
CAST_TYPES = {
    "text": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}

ColumnName = Annotated[str, Field(min_length=1, max_length=200)]


class Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rename: dict[ColumnName, ColumnName] = Field(min_length=1)


class Cast(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cast: dict[ColumnName, str] = Field(min_length=1)

    @field_validator("cast")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        for column, type_word in value.items():
            if type_word not in CAST_TYPES:
                raise ValueError(
                    f"cannot cast '{column}' to '{type_word}'; use one of " + ", ".join(CAST_TYPES)
                )
        return value


class Drop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drop: list[ColumnName] = Field(min_length=1)


Transform = Rename | Cast | Drop
TRANSFORMS = TypeAdapter(list[Transform])


def parse_short(text: str) -> dict:
    """`rename:old=new[,old2=new2]`, `cast:column=integer[,...]`, `drop:a[,b]` as a transform."""
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    parts = [p.strip() for p in rest.split(",") if p.strip()]
    if kind == "drop" and parts:
        return {"drop": parts}
    if kind in ("rename", "cast") and parts and all("=" in p for p in parts):
        pairs = dict(p.split("=", 1) for p in parts)
        return {kind: {k.strip(): v.strip() for k, v in pairs.items()}}
    raise InvalidInput(
        f"transform: '{text}' is not a transform. Write rename:old=new, cast:column=integer "
        f"(types: {', '.join(CAST_TYPES)}) or drop:column[,column].",
        field="transforms",
    )


def _columns(relation: duckdb.DuckDBPyRelation) -> list[str]:
    return list(relation.columns)


def _missing(column: str, kind: str) -> FeedSourceError:
    return FeedSourceError(
        f"The source has no column '{column}' to {kind}. Its columns may have changed; check "
        "the source or the feed's transforms.",
        column=column,
    )


def apply(
    con: duckdb.DuckDBPyConnection,
    relation: duckdb.DuckDBPyRelation,
    transforms: list[dict],
) -> duckdb.DuckDBPyRelation:
    """The relation with each transform applied in order, as lazy DuckDB SQL."""
    for step in transforms:
        columns = _columns(relation)
        view = f"__feed_step_{id(relation)}"
        relation.create_view(view, replace=True)
        if "rename" in step:
            for old in step["rename"]:
                if old not in columns:
                    raise _missing(old, "rename")
            names = [step["rename"].get(c, c) for c in columns]
            select = ", ".join(
                f"{ident(c)} AS {ident(n)}" for c, n in zip(columns, names, strict=True)
            )
        elif "cast" in step:
            for column in step["cast"]:
                if column not in columns:
                    raise _missing(column, "cast")
            _check_casts(con, view, {c: CAST_TYPES[t] for c, t in step["cast"].items()})
            select = ", ".join(
                f"CAST({ident(c)} AS {CAST_TYPES[step['cast'][c]]}) AS {ident(c)}"
                if c in step["cast"]
                else ident(c)
                for c in columns
            )
        else:
            for column in step["drop"]:
                if column not in columns:
                    raise _missing(column, "drop")
            kept = [c for c in columns if c not in step["drop"]]
            if not kept:
                raise FeedSourceError("The transforms drop every column; nothing would be left.")
            select = ", ".join(ident(c) for c in kept)
        relation = con.sql(f"SELECT {select} FROM {view}")
    return relation


def _check_casts(con: duckdb.DuckDBPyConnection, view: str, wanted: dict[str, str]) -> None:
    """Fail, naming the row and the value, when a value cannot become the type asked for."""
    if not wanted:
        return
    firsts = ", ".join(
        f"min(n) FILTER (WHERE {ident(c)} IS NOT NULL AND TRY_CAST({ident(c)} AS {t}) IS NULL)"
        for c, t in wanted.items()
    )
    found = con.execute(
        f"SELECT {firsts} FROM (SELECT row_number() OVER () AS n, * FROM {view})"
    ).fetchone()
    bad = [(row, c) for row, c in zip(found, wanted, strict=True) if row is not None]
    if not bad:
        return
    row, column = min(bad)
    value = con.execute(
        f"SELECT CAST({ident(column)} AS VARCHAR) FROM {view} LIMIT 1 OFFSET $skip",
        {"skip": row - 1},
    ).fetchone()[0]
    raise FeedSourceError(
        f"Row {row}, column '{column}': '{value}' is not {_type_words(wanted[column])}, as the "
        "dataset expects. The source's data may have changed.",
        column=column,
        value=value,
        line=row,
    )


def _type_words(duck_type: str) -> str:
    word = data_type_of(duck_type)
    return {
        "number": "a number",
        "checkbox": "true or false",
        "floating_timestamp": "a date or time",
        "fixed_timestamp": "a date or time",
        "geometry": "a geometry",
        "json": "JSON",
    }.get(word, "text")


def conform(
    con: duckdb.DuckDBPyConnection,
    relation: duckdb.DuckDBPyRelation,
    dataset_columns: list[tuple[str, str]],
) -> duckdb.DuckDBPyRelation:
    """The relation with the dataset's columns cast to the dataset's types, or a plain error
    when the source lost a column the dataset has or a value no longer fits its type.
    Columns the dataset does not have yet are kept as the source gives them."""
    if not dataset_columns:
        return relation
    columns = dict(zip(relation.columns, map(str, relation.types), strict=True))
    missing = [name for name, _ in dataset_columns if name not in columns]
    if missing:
        raise FeedSourceError(
            "The source's columns changed: "
            + ", ".join(f"'{m}'" for m in missing)
            + f" {'is' if len(missing) == 1 else 'are'} missing, though the dataset has "
            f"{'it' if len(missing) == 1 else 'them'}. Fix the source, or add a rename transform.",
            columns=missing,
        )
    wanted = dict(dataset_columns)
    view = f"__feed_conform_{id(relation)}"
    relation.create_view(view, replace=True)
    _check_casts(con, view, {c: t for c, t in wanted.items() if columns.get(c) not in (None, t)})
    select = ", ".join(
        f"CAST({ident(c)} AS {wanted[c]}) AS {ident(c)}"
        if c in wanted and columns[c] != wanted[c]
        else ident(c)
        for c in columns
    )
    return con.sql(f"SELECT {select} FROM {view}")
