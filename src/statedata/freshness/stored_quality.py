"""Each dataset's quality points that do not depend on the day, kept in the catalog
(`stored_quality`) in step with its metadata, columns and tags, so the plan metrics read them
instead of scoring every dataset on a cold start. The rules themselves are in quality.py.

`keep_in_step` hooks a catalog's sessions: at each commit, the datasets whose row, columns or
tags the transaction wrote are scored again, in the same transaction. A stored row is used
only while its stamp matches the dataset (metadata time, counts of columns, described columns
and tags, agency named, frequency, rules version); one that does not is scored again.
"""

from __future__ import annotations

import datetime as dt
import json
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from types import SimpleNamespace
from typing import Any

from sqlalchemy import String, case, cast, delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from statedata.catalog.db import Catalog
from statedata.catalog.models import Column, Dataset, DatasetTag, StoredQuality
from statedata.freshness import quality

# The metadata the day-free points read, by position: see `points_of`.
METADATA_COLUMNS = [
    Dataset.id,
    Dataset.title,
    Dataset.description,
    Dataset.category,
    Dataset.license,
    Dataset.contact_email,
    Dataset.temporal_coverage_start,
    Dataset.temporal_coverage_end,
    Dataset.spatial_coverage,
    Dataset.geographic_unit,
    Dataset.source_link,
    cast(Dataset.related_documents, String),
    cast(Dataset.demographic_dimensions, String),
]
# Any day does: the points kept do not depend on it.
_SOME_DAY = dt.date(2000, 1, 1)
_CHUNK = 500  # SQLite takes at most 999 parameters


@dataclass(frozen=True)
class Stamp:
    """What a stored score was computed from, beyond the metadata the time stands for."""

    metadata_stamp: str
    columns: int
    described: int
    tags: int
    has_agency: bool
    update_frequency: str | None

    def key(self) -> tuple:
        return (
            self.metadata_stamp,
            self.columns,
            self.described,
            self.tags,
            bool(self.has_agency),
            self.update_frequency,
        )


def metadata_stamp(column: Any = Dataset.metadata_updated_at) -> Any:
    """The dataset's metadata time as the database writes it as text: compared as text, so
    100,000 of them need no conversion (the plan metrics read it the same way)."""
    return cast(column, String)


def _json_list(text: str | None) -> list:
    if not text or len(text) <= 2:
        return []
    found = json.loads(text)
    return found if isinstance(found, list) else []


@dataclass(frozen=True)
class _Column:
    description: str


_DESCRIBED, _UNDESCRIBED = _Column("described"), _Column("")


def points_of(row: Sequence[Any], stamp: Stamp) -> tuple[int, bool]:
    """(points that do not depend on the day, required metadata complete) of a dataset from
    its `METADATA_COLUMNS` row and stamp. `quality.score` reads attributes only, so it is
    handed a light stand-in: no ORM object is loaded."""
    stand_in = SimpleNamespace(
        title=row[1],
        description=row[2],
        category=row[3],
        license=row[4],
        contact_email=row[5],
        temporal_coverage_start=row[6],
        temporal_coverage_end=row[7],
        spatial_coverage=row[8],
        geographic_unit=row[9],
        source_link=row[10],
        related_documents=_json_list(row[11]),
        demographic_dimensions=_json_list(row[12]),
        columns=[_DESCRIBED] * stamp.described + [_UNDESCRIBED] * (stamp.columns - stamp.described),
        tags=[SimpleNamespace(tag=str(t)) for t in range(stamp.tags)],
        update_frequency=stamp.update_frequency,
        data_updated_at=_SOME_DAY,
        created_at=_SOME_DAY,
        agency_id=1 if stamp.has_agency else None,
        agency=None,
    )
    result = quality.score(stand_in, _SOME_DAY)  # type: ignore[arg-type]
    return result.day_free_points, result.required_metadata_complete


def as_row(dataset_id: str, stamp: Stamp, points: int, required: bool) -> dict[str, Any]:
    return {
        "dataset_id": dataset_id,
        "metadata_stamp": stamp.metadata_stamp,
        "columns": stamp.columns,
        "described": stamp.described,
        "tags": stamp.tags,
        "has_agency": bool(stamp.has_agency),
        "update_frequency": stamp.update_frequency,
        "rules": quality.RULES_VERSION,
        "points": points,
        "required_complete": bool(required),
    }


def _chunks(ids: Sequence[str] | None) -> list[list[str] | None]:
    """`ids` in pieces small enough for one statement; [None] for every dataset."""
    if ids is None:
        return [None]
    return [list(ids[start : start + _CHUNK]) for start in range(0, len(ids), _CHUNK)]


def described() -> Any:
    """Whether a column is described: its description is more than spaces (NULL: not).
    Comparing the trimmed text with '' costs half what measuring its length does."""
    return func.trim(Column.description) != ""


def _counts(session: Session, ids: Sequence[str] | None) -> dict[str, tuple[int, int, int]]:
    """Dataset id -> (columns, described columns, tags) for `ids` (None: every dataset)."""
    connection = session.connection()
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    described_count = func.count(case((described(), 1)))
    for chunk in _chunks(ids):
        columns = select(Column.dataset_id, func.count(), described_count).group_by(
            Column.dataset_id
        )
        tags = select(DatasetTag.dataset_id, func.count()).group_by(DatasetTag.dataset_id)
        if chunk is not None:
            columns = columns.where(Column.dataset_id.in_(chunk))
            tags = tags.where(DatasetTag.dataset_id.in_(chunk))
        for dataset_id, total, with_text in connection.execute(columns):
            found[dataset_id][0], found[dataset_id][1] = int(total), int(with_text or 0)
        for dataset_id, count in connection.execute(tags):
            found[dataset_id][2] = int(count)
    return {k: (v[0], v[1], v[2]) for k, v in found.items()}


def compute(session: Session, ids: Sequence[str] | None) -> list[dict[str, Any]]:
    """The stored-quality rows of the datasets `ids` (None: every dataset) as the catalog
    holds them now, in this session's transaction; ids that are not datasets are left out."""
    if ids is not None:
        ids = sorted(set(ids))
    connection = session.connection()
    counts = _counts(session, ids)
    query = select(*METADATA_COLUMNS, Dataset.agency_id, Dataset.update_frequency, metadata_stamp())
    rows = []
    for chunk in _chunks(ids):
        statement = query if chunk is None else query.where(Dataset.id.in_(chunk))
        for row in connection.execute(statement):
            ncols, ndescribed, ntags = counts.get(row[0], (0, 0, 0))
            stamp = Stamp(row[-1], ncols, ndescribed, ntags, row[-3] is not None, row[-2])
            rows.append(as_row(row[0], stamp, *points_of(row, stamp)))
    return rows


def store(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Write `rows` (from `as_row`), replacing what was kept for the same datasets."""
    if not rows:
        return
    table = StoredQuality.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["dataset_id"],
        set_={name: statement.excluded[name] for name in rows[0] if name != "dataset_id"},
    )
    for start in range(0, len(rows), 5_000):
        session.execute(statement, list(rows[start : start + 5_000]))


def refresh(session: Session, ids: Iterable[str] | None = None) -> int:
    """Score again and keep the datasets `ids` (every dataset when None); forget what was
    kept for ids that are no longer datasets. Returns how many were scored."""
    wanted = None if ids is None else sorted(set(ids))
    rows = compute(session, wanted)
    store(session, rows)
    scored = {row["dataset_id"] for row in rows}
    if wanted is None:
        gone = sorted(set(session.scalars(select(StoredQuality.dataset_id))) - scored)
    else:
        gone = sorted(set(wanted) - scored)
    for chunk in _chunks(gone):
        session.execute(delete(StoredQuality).where(StoredQuality.dataset_id.in_(chunk or [])))
    return len(rows)


def kept_query() -> Any:
    """Every row the current rules made, as (dataset id, stamp key..., points, required
    complete): the caller compares the stamp with the dataset's before using the points."""
    return select(
        StoredQuality.dataset_id,
        StoredQuality.metadata_stamp,
        StoredQuality.columns,
        StoredQuality.described,
        StoredQuality.tags,
        StoredQuality.has_agency,
        StoredQuality.update_frequency,
        StoredQuality.points,
        StoredQuality.required_complete,
    ).where(StoredQuality.rules == quality.RULES_VERSION)


# Keeping the rows in step ------------------------------------------------------------------

_CHANGED = "statedata.stored_quality.changed"


def _collect(session: Session, _flush_context: Any) -> None:
    """After each flush: note the datasets whose row, columns or tags were written."""
    changed = session.info.setdefault(_CHANGED, set())
    for item in chain(session.new, session.dirty, session.deleted):
        if isinstance(item, Dataset):
            changed.add(item.id)
        elif isinstance(item, Column | DatasetTag) and item.dataset_id is not None:
            changed.add(item.dataset_id)


def _rescore(session: Session) -> None:
    """Before a commit: score the noted datasets again, in the same transaction, so the
    stored points change exactly when the data they come from does."""
    session.flush()
    changed = session.info.pop(_CHANGED, None)
    if changed:
        refresh(session, changed)


# The session factories already hooked. Not `event.contains`: SQLAlchemy's event registry
# knows targets by id(), and a new factory that takes the id of a collected one was reported
# as hooked when it was not (a third of 3,000 catalogs made and dropped in a row).
_HOOKED: weakref.WeakSet = weakref.WeakSet()


def keep_in_step(catalog: Catalog) -> None:
    """Keep stored scores in step with every change made through the catalog's sessions."""
    sessions = catalog.session_factory
    if sessions in _HOOKED:
        return
    event.listen(sessions, "after_flush", _collect)
    event.listen(sessions, "before_commit", _rescore)
    _HOOKED.add(sessions)
