"""Publishing: every publish writes a new immutable Parquet version, and the catalog points at
it only once the file is whole and checked. Replace, append and upsert (with `:deleted`), the
system fields `:id`, `:created_at`, `:updated_at`, and retention of old versions.

A failure at any step removes what this publish wrote and leaves the current version served.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statedata.catalog import audit, service
from statedata.catalog.metadata import DatasetMetadata
from statedata.catalog.models import Column, Dataset, Version, utcnow
from statedata.errors import InvalidInput, PublishConflict, PublishError, StatedataError
from statedata.installation import Installation
from statedata.storage.duck import connect, ident
from statedata.storage.sidecar import is_sidecar, remove_sidecar, version_file_of
from statedata.storage.source import TableSource
from statedata.storage.types import data_type_of

SYSTEM_COLUMNS = (":id", ":created_at", ":updated_at")
DELETED = ":deleted"
POSITION = "file_row_number"  # DuckDB's virtual column: a row's 0-based place in its Parquet file
ROW_GROUP_ROWS = 122880


class Mode(StrEnum):
    REPLACE = "replace"
    APPEND = "append"
    UPSERT = "upsert"


@dataclass
class NewDataset:
    """What is needed to create the dataset in the same transaction as its first version."""

    metadata: DatasetMetadata
    agency_code: str | None


@dataclass
class PublishResult:
    dataset_id: str
    version: int
    row_count: int
    rows_created: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Staged:
    """A checked version file waiting in staging, and what is known about it."""

    temp: Path
    stats: dict
    checksum: str
    source_name: str
    mode: Mode
    row_identifier: str | None
    current: _Current | None
    published_at: dt.datetime
    id_base: int | None

    @property
    def base_version(self) -> int | None:
        return self.current.version_id if self.current else None

    @property
    def max_row_id(self) -> int:
        return max(self.stats["max_row_id"], self.current.max_row_id if self.current else 0)


@dataclass
class _Current:
    version_id: int
    path: Path
    id_base: int | None
    schema: list[dict]
    max_row_id: int
    row_count: int


def version_path(installation: Installation, version: Version) -> Path:
    return installation.settings.data_dir / version.path


def rows_sql(path: Path, id_base: int | None) -> str:
    """SQL for a version file's rows with every system field, `:id` first.

    A version written by replace stores no `:id`: a row's id is `id_base` plus its 1-based
    position in the file, which DuckDB's `file_row_number` gives in parallel. Other versions
    store `:id` (`id_base` is None).
    """
    if id_base is None:
        return f"SELECT * FROM read_parquet('{path}')"
    return (
        f"SELECT CAST({int(id_base)} + {POSITION} + 1 AS BIGINT) AS {ident(':id')}, * "
        f"FROM read_parquet('{path}')"
    )


def download_copy(path: Path) -> Path:
    """Where the Parquet download of a version (without system fields) is kept."""
    return path.with_name(path.stem + ".download.parquet")


def version_rows_sql(installation: Installation, version: Version) -> str:
    """SQL for the rows of a catalog version, system fields included."""
    return rows_sql(version_path(installation, version), version.id_base)


def publish(
    installation: Installation,
    source: TableSource,
    *,
    dataset_id: str | None = None,
    new: NewDataset | None = None,
    mode: Mode | str = Mode.REPLACE,
    row_identifier: str | None = None,
    actor: str = "system",
    published_at: dt.datetime | None = None,
    keep_columns: bool = False,
) -> PublishResult:
    """Publish `source` as the next version of `dataset_id` (or of a new dataset).

    `published_at` (default: now) stamps the version and its new rows; loaders of history,
    such as the demo, give the date the data was really published. `keep_columns` makes a
    replace keep the dataset's columns and types (as SODA's PUT does) instead of the file's.
    """
    now = published_at or utcnow()
    if (dataset_id is None) == (new is None):
        raise ValueError("give either dataset_id or new")
    mode = _mode(mode)
    settings = installation.settings
    current: _Current | None = None
    if dataset_id is not None:
        with installation.catalog.session() as session:
            dataset = service.get_dataset(session, dataset_id)
            row_identifier = row_identifier or dataset.row_identifier
            if dataset.current_version is not None:
                current = _Current(
                    version_id=dataset.current_version.id,
                    path=version_path(installation, dataset.current_version),
                    id_base=dataset.current_version.id_base,
                    schema=dataset.current_version.schema,
                    max_row_id=dataset.current_version.max_row_id,
                    row_count=dataset.current_version.row_count,
                )
    else:
        assert new is not None
        row_identifier = row_identifier or new.metadata.row_identifier
    if mode is Mode.UPSERT and not row_identifier:
        raise InvalidInput(
            "An upsert matches rows by a row identifier column; name one with --row-id.",
            field="row_identifier",
        )

    staging = settings.data_dir / "_staging"
    staging.mkdir(parents=True, exist_ok=True)
    temp = staging / f"{secrets.token_hex(8)}.parquet"
    con = connect(settings, extensions=source.extensions)
    try:
        counts, id_base = _write_with_retries(
            con, source, current, mode, row_identifier, temp, now, keep_columns
        )
        source.check(con, "incoming")
        stats = _check_and_describe(con, temp, id_base, row_identifier, source.name)
        staged = _Staged(
            temp, stats, _sha256(temp), source.name, mode, row_identifier, current, now, id_base
        )
        for attempt in range(3):
            try:
                dataset_id, number = _commit_version(installation, staged, new, dataset_id, actor)
                break
            except IntegrityError:
                # Another publish took the same version number first; take the next one.
                if attempt == 2:
                    raise PublishError(
                        "Other publishes to this dataset kept finishing first; try again.",
                    ) from None
        result = PublishResult(
            dataset_id=dataset_id,  # type: ignore[arg-type]
            version=number,
            row_count=stats["row_count"],
            notes=list(source.notes),
            **counts,
        )
    except duckdb.Error as error:
        raise source.explain(error) from error
    finally:
        con.close()
        temp.unlink(missing_ok=True)
        source.cleanup()
    apply_retention(installation, result.dataset_id)
    return result


def _commit_version(
    installation: Installation,
    staged: _Staged,
    new: NewDataset | None,
    dataset_id: str | None,
    actor: str,
) -> tuple[str, int]:
    """Move the checked file into place and point the dataset at it, in one transaction."""
    settings = installation.settings
    with installation.catalog.session() as session:
        if new is not None:
            dataset = service.create_dataset(
                session, new.metadata, new.agency_code, settings.categories, actor=actor
            )
        else:
            service.lock_dataset(session, dataset_id)  # type: ignore[arg-type]
            dataset = service.get_dataset(session, dataset_id)  # type: ignore[arg-type]
            if (
                staged.mode is not Mode.REPLACE
                and dataset.current_version_id != staged.base_version
            ):
                raise PublishConflict(
                    f"Dataset {dataset.id} got a new version while this {staged.mode.value} "
                    "ran, so its rows would be lost. Publish again.",
                    id=dataset.id,
                )
        number = _next_number(session, dataset.id)
        # A random part keeps two racing publishes from ever writing the same file.
        relative = Path(dataset.id) / f"v{number}-{secrets.token_hex(4)}.parquet"
        final = settings.data_dir / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.temp, final)
        try:
            version = Version(
                dataset_id=dataset.id,
                number=number,
                row_count=staged.stats["row_count"],
                byte_size=final.stat().st_size,
                checksum=f"sha256:{staged.checksum}",
                schema=staged.stats["schema"],
                source=staged.source_name,
                mode=staged.mode.value,
                path=str(relative),
                max_row_id=staged.max_row_id,
                created_at=staged.published_at,
                id_base=staged.id_base,
            )
            session.add(version)
            session.flush()
            dataset.current_version = version
            dataset.data_updated_at = version.created_at
            if staged.row_identifier and staged.row_identifier != dataset.row_identifier:
                dataset.row_identifier = staged.row_identifier
            _sync_columns(dataset, staged.stats["schema"])
            audit.record(
                session,
                actor,
                "dataset.publish",
                dataset.id,
                version=number,
                mode=staged.mode.value,
                rows=staged.stats["row_count"],
                source=staged.source_name,
                checksum=version.checksum,
            )
            session.flush()
            session.commit()
        except BaseException:
            # Back to staging, so a retry can move it again and a failure cleans it up.
            if final.exists():
                os.replace(final, staged.temp)
            raise
        return dataset.id, number


def _mode(mode: Mode | str) -> Mode:
    try:
        return Mode(mode)
    except ValueError:
        raise InvalidInput(
            f"'{mode}' is not a publish mode; use replace, append or upsert.", field="mode"
        ) from None


def _next_number(session: Session, dataset_id: str) -> int:
    numbers = session.scalars(select(Version.number).where(Version.dataset_id == dataset_id)).all()
    return max(numbers, default=0) + 1


def _write_with_retries(
    con: duckdb.DuckDBPyConnection,
    source: TableSource,
    current: _Current | None,
    mode: Mode,
    row_identifier: str | None,
    temp: Path,
    now: dt.datetime,
    keep_columns: bool,
) -> tuple[dict[str, int], int | None]:
    while True:
        try:
            source.relation(con).create_view("incoming", replace=True)
            return _write(con, source.name, current, mode, row_identifier, temp, now, keep_columns)
        except duckdb.Error as error:
            if not source.retry(error):
                raise


def _incoming_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, str]]:
    described = con.execute("DESCRIBE incoming").fetchall()
    columns = [(row[0], row[1]) for row in described]
    for column, _ in columns:
        if column.startswith(":") and column != DELETED:
            raise PublishError(
                f"{name}: column '{column}' starts with ':', which is kept for system fields "
                "(:id, :created_at, :updated_at, :deleted). Rename it.",
                column=column,
            )
        if not column.strip():
            raise PublishError(f"{name}: a column has no name. Give every column a header.")
    return columns


def _write(
    con: duckdb.DuckDBPyConnection,
    name: str,
    current: _Current | None,
    mode: Mode,
    row_identifier: str | None,
    temp: Path,
    now: dt.datetime,
    keep_columns: bool = False,
) -> tuple[dict[str, int], int | None]:
    """Write the new version to `temp`; return the row counts and, for positional row ids,
    the id base. `keep_columns` makes a replace keep the dataset's columns and types."""
    columns = _incoming_columns(con, name)
    names = [c for c, _ in columns if c != DELETED]
    has_deleted = any(c == DELETED for c, _ in columns)
    if not names:
        raise PublishError(f"{name} has no columns.")
    base = current.max_row_id if current else 0
    deleted_filter = (
        f"NOT coalesce(CAST({ident(DELETED)} AS BOOLEAN), false)" if has_deleted else "true"
    )
    # zstd at level 1 writes as fast as snappy (DuckDB's default) and 16% smaller. Row groups
    # of DuckDB's default size: smaller ones give a page by position sooner, but the sidecar's
    # row store (storage/indexes.py) does that, and aggregates scan a third faster this way.
    copy_options = (
        f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
    )

    if current is None or (mode is Mode.REPLACE and not keep_columns):
        if row_identifier and row_identifier not in names:
            raise PublishError(
                f"{name} has no column '{row_identifier}' to identify rows by.",
                column=row_identifier,
            )
        select_list = ", ".join(ident(c) for c in names)
        positional = POSITION not in names
        # Numbering rows with a window runs on one core; a row's position in the file is
        # free, so a replaced version stores no :id and readers derive it (see rows_sql).
        row_id = (
            ""
            if positional
            else f"CAST($base + row_number() OVER () AS BIGINT) AS {ident(':id')}, "
        )
        con.execute(
            f"COPY (SELECT {row_id}$now::TIMESTAMPTZ AS {ident(':created_at')}, "
            f"$now::TIMESTAMPTZ AS {ident(':updated_at')}, "
            f"{select_list} FROM incoming WHERE {deleted_filter}) TO '{temp}' {copy_options}",
            {"base": base, "now": now} if not positional else {"now": now},
        )
        created = con.execute(f"SELECT count(*) FROM read_parquet('{temp}')").fetchone()[0]
        counts = {"rows_created": created, "rows_deleted": current.row_count if current else 0}
        return counts, (base if positional else None)

    existing = [(c["name"], c["type"]) for c in current.schema if c["name"] not in SYSTEM_COLUMNS]
    existing_names = {c for c, _ in existing}
    unknown = [c for c in names if c not in existing_names]
    if unknown:
        raise PublishError(
            f"{name}: column '{unknown[0]}' is not in this dataset. To change the columns, "
            "publish the file with --mode replace.",
            column=unknown[0],
        )
    con.execute(f"CREATE OR REPLACE VIEW old AS {rows_sql(current.path, current.id_base)}")
    casts = []
    for column, type_name in existing:
        if column in names:
            casts.append(f"CAST({ident(column)} AS {type_name}) AS {ident(column)}")
        else:
            casts.append(f"CAST(NULL AS {type_name}) AS {ident(column)}")
    deleted_expr = f"coalesce(CAST({ident(DELETED)} AS BOOLEAN), false)" if has_deleted else "false"
    con.execute(
        "CREATE OR REPLACE TEMP VIEW incoming_cast AS SELECT row_number() OVER () AS __row, "
        f"{', '.join(casts)}, {deleted_expr} AS __deleted FROM incoming"
    )
    incoming_types = dict(columns)
    to_check = [(c, t) for c, t in existing if c in names and incoming_types[c] != t]
    failure = _first_cast_failure(con, name, to_check)
    if failure is not None:
        raise failure
    all_columns = ", ".join(ident(c) for c, _ in existing)
    system = f"{ident(':id')}, {ident(':created_at')}, {ident(':updated_at')}"

    if mode is Mode.REPLACE:  # keeping the dataset's columns and their types
        positional = POSITION not in existing_names
        row_id = "" if positional else f"CAST($base + __row AS BIGINT) AS {ident(':id')}, "
        con.execute(
            f"COPY (SELECT {row_id}$now::TIMESTAMPTZ AS {ident(':created_at')}, "
            f"$now::TIMESTAMPTZ AS {ident(':updated_at')}, {all_columns} "
            f"FROM incoming_cast WHERE NOT __deleted ORDER BY __row) TO '{temp}' {copy_options}",
            {"base": base, "now": now} if not positional else {"now": now},
        )
        created = con.execute(f"SELECT count(*) FROM read_parquet('{temp}')").fetchone()[0]
        return {"rows_created": created, "rows_deleted": current.row_count}, (
            base if positional else None
        )

    if mode is Mode.APPEND:
        con.execute(
            f"COPY (SELECT {system}, {all_columns} FROM old UNION ALL "
            "SELECT CAST($base + row_number() OVER (ORDER BY __row) AS BIGINT), "
            f"$now::TIMESTAMPTZ, $now::TIMESTAMPTZ, {all_columns} "
            "FROM incoming_cast WHERE NOT __deleted) "
            f"TO '{temp}' {copy_options}",
            {"base": base, "now": now},
        )
        created = con.execute("SELECT count(*) FROM incoming_cast WHERE NOT __deleted").fetchone()[
            0
        ]
        return {"rows_created": created}, None

    key = ident(row_identifier)  # type: ignore[arg-type]
    if row_identifier not in existing_names:
        raise PublishError(
            f"This dataset has no column '{row_identifier}' to match rows by.",
            column=row_identifier,
        )
    missing_key = con.execute(
        f"SELECT __row FROM incoming_cast WHERE {key} IS NULL ORDER BY __row LIMIT 1"
    ).fetchone()
    if missing_key:
        raise PublishError(
            f"{name}: row {missing_key[0]} has no value in the row identifier column "
            f"'{row_identifier}', so it cannot be matched.",
            line=missing_key[0] + 1,
            column=row_identifier,
        )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW latest AS SELECT * FROM incoming_cast "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY __row DESC) = 1"
    )
    created, updated, deleted = con.execute(
        "SELECT count(*) FILTER (WHERE NOT l.__deleted AND o.k IS NULL), "
        "count(*) FILTER (WHERE NOT l.__deleted AND o.k IS NOT NULL), "
        "count(*) FILTER (WHERE l.__deleted AND o.k IS NOT NULL) "
        f"FROM latest l LEFT JOIN (SELECT {key} AS k FROM old) o ON o.k = l.{key}"
    ).fetchone()
    # A column the update leaves out keeps its current value, as Socrata's upsert does.
    row_id = ident(":id")
    prefixed = ", ".join(
        f"l.{ident(c)}" if c in names else f"o.{ident(c)} AS {ident(c)}" for c, _ in existing
    )
    con.execute(
        f"COPY (SELECT {system}, {all_columns} FROM old ANTI JOIN latest USING ({key}) "
        "UNION ALL "
        f"SELECT CAST(coalesce(o.{row_id}, $base + "
        f"sum(CASE WHEN o.{row_id} IS NULL THEN 1 ELSE 0 END) "
        "OVER (ORDER BY l.__row ROWS UNBOUNDED PRECEDING)) AS BIGINT), "
        f"coalesce(o.{ident(':created_at')}, $now::TIMESTAMPTZ), $now::TIMESTAMPTZ, {prefixed} "
        f"FROM latest l LEFT JOIN old o ON o.{key} = l.{key} WHERE NOT l.__deleted "
        f"ORDER BY 1) TO '{temp}' {copy_options}",
        {"base": base, "now": now},
    )
    return {"rows_created": created, "rows_updated": updated, "rows_deleted": deleted}, None


def _first_cast_failure(
    con: duckdb.DuckDBPyConnection, name: str, to_check: list[tuple[str, str]]
) -> StatedataError | None:
    """The first row and column whose value does not fit the dataset's type, in one scan."""
    if not to_check:
        return None
    firsts = ", ".join(
        f"min(n) FILTER (WHERE {ident(c)} IS NOT NULL AND TRY_CAST({ident(c)} AS {t}) IS NULL)"
        for c, t in to_check
    )
    found = con.execute(
        f"SELECT {firsts} FROM (SELECT row_number() OVER () AS n, * FROM incoming)"
    ).fetchone()
    bad = [(row, c, t) for row, (c, t) in zip(found, to_check, strict=True) if row is not None]
    if not bad:
        return None
    row, column, type_name = min(bad)
    value = con.execute(
        f"SELECT CAST({ident(column)} AS VARCHAR) FROM incoming LIMIT 1 OFFSET $skip",
        {"skip": row - 1},
    ).fetchone()[0]
    return PublishError(
        f"{name}: row {row}, column '{column}': '{value}' does not fit the column's type "
        f"({data_type_of(type_name)}).",
        line=row + 1,
        column=column,
        value=value,
    )


def _check_and_describe(
    con: duckdb.DuckDBPyConnection,
    temp: Path,
    id_base: int | None,
    row_identifier: str | None,
    name: str,
) -> dict:
    parquet = f"({rows_sql(temp, id_base)})"
    if id_base is None:
        row_count, max_row_id = con.execute(
            f"SELECT count(*), coalesce(max({ident(':id')}), 0) FROM {parquet}"
        ).fetchone()
    else:
        # Positional ids: the count comes from the file's footer and the last id follows.
        row_count = con.execute(f"SELECT count(*) FROM read_parquet('{temp}')").fetchone()[0]
        max_row_id = id_base + row_count
    if row_count == 0:
        raise PublishError(f"{name} has no rows: there is nothing to publish.")
    if row_identifier:
        key = ident(row_identifier)
        empty = con.execute(f"SELECT count(*) FROM {parquet} WHERE {key} IS NULL").fetchone()[0]
        if empty:
            raise PublishError(
                f"{name}: {empty} row(s) have no value in the row identifier column "
                f"'{row_identifier}'; every row needs one.",
                column=row_identifier,
            )
        duplicate = con.execute(
            f"SELECT CAST({key} AS VARCHAR), count(*) FROM {parquet} GROUP BY {key} "
            "HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if duplicate:
            raise PublishError(
                f"{name}: the row identifier '{row_identifier}' must be unique, but "
                f"'{duplicate[0]}' appears {duplicate[1]} times.",
                column=row_identifier,
                value=duplicate[0],
            )
    schema = [
        {"name": row[0], "type": row[1]}
        for row in con.execute(f"DESCRIBE SELECT * FROM {parquet}").fetchall()
    ]
    return {"row_count": row_count, "max_row_id": max_row_id, "schema": schema}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(4 << 20):
            digest.update(block)
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _sync_columns(dataset: Dataset, schema: list[dict]) -> None:
    """Make the data dictionary follow the new schema, keeping what publishers wrote."""
    old = {c.field_name: c for c in dataset.columns}
    kept = []
    position = 0
    for column in schema:
        name = column["name"]
        if name in SYSTEM_COLUMNS:
            continue
        entry = old.get(name) or Column(field_name=name, display_name=name, description="")
        entry.position = position
        entry.storage_type = column["type"]
        entry.data_type = data_type_of(column["type"])
        kept.append(entry)
        position += 1
    dataset.columns = kept


def apply_retention(installation: Installation, dataset_id: str) -> list[int]:
    """Delete the files of versions beyond the configured number to keep; return their numbers."""
    keep = installation.settings.versions_to_keep
    removed: list[int] = []
    with installation.catalog.session() as session:
        dataset = session.get(Dataset, dataset_id)
        if dataset is None:
            return removed
        versions = session.scalars(
            select(Version)
            .where(Version.dataset_id == dataset_id, Version.removed_at.is_(None))
            .order_by(Version.number.desc())
        ).all()
        for version in versions[keep:]:
            if version.id == dataset.current_version_id:
                continue
            path = version_path(installation, version)
            path.unlink(missing_ok=True)
            download_copy(path).unlink(missing_ok=True)
            remove_sidecar(path)
            version.removed_at = dt.datetime.now(dt.UTC)
            removed.append(version.number)
    return removed


def sweep_orphans(
    installation: Installation, older_than: dt.timedelta = dt.timedelta(hours=1)
) -> list[Path]:
    """Delete files a crashed publish left behind; return what was deleted.

    A publish that died in staging, or between moving its file into place and committing,
    leaves a file no version points at. Only files older than `older_than` go, so a publish
    running right now is never touched. A sidecar index folder goes with its version file
    (when that is gone or is no version's), and so does one whose build died half-way.
    """
    data_dir = installation.settings.data_dir
    cutoff = dt.datetime.now(dt.UTC).timestamp() - older_than.total_seconds()
    with installation.catalog.session() as session:
        kept = {data_dir / p for p in session.scalars(select(Version.path))}
    kept |= {download_copy(path) for path in kept}
    removed = []
    for path in data_dir.glob("*/*"):
        if path.is_dir() and is_sidecar(path) and path.stat().st_mtime <= cutoff:
            owner = version_file_of(path)
            if owner not in kept or not owner.exists() or not path.name.endswith(".index"):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            continue
        if not path.is_file() or path in kept or path.stat().st_mtime > cutoff:
            continue
        if path.parent.name == "_staging" or path.suffix == ".parquet":
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
