"""The catalog on any day, as arrays: which datasets were public, their last update, their
freshness and whether an automated source made their current version; and each dataset's
metadata quality score. Read in a handful of queries as plain columns, never object by object.

A dataset's last update on a day is its newest version published by the end of that day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import String, case, cast, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from statedata.catalog.models import (
    Agency,
    AuditEvent,
    Column,
    Dataset,
    DatasetTag,
    Version,
)
from statedata.freshness import Freshness, due_date, stored_quality
from statedata.freshness import quality as quality_scores
from statedata.freshness.status import GRACE_DAYS, INTERVALS, STALE_MIN_DAYS

NO_AGENCY = "(no agency)"
# Dimensions that describe people's race, ethnicity and gender.
GENDER_DIMENSIONS = ("sex", "gender-identity")
EQUITY_DIMENSIONS = ("race", "ethnicity", *GENDER_DIMENSIONS)
# A version written by a feed says "feed:<id>"; the SODA write API stores the body it was
# sent as a file named by a random hex id, and later versions may say "soda".
SODA_UPLOAD = re.compile(r"^(soda\b.*|[0-9a-f]{32}\.(csv|json))$")
STATUSES = list(Freshness)
FAR = 10**7  # an ordinal later than any date
# Statuses that take a dataset out of public view (retired: on its `retired_at` day).
GONE = ("archived", "retired")
SHIFT = 1 << 20  # ordinals of the years 1 to 2800 fit below this


def day_text(session: Session, column: Any) -> Any:
    """A timestamp column as 'YYYY-MM-DD' (UTC) text: parsing text is many times faster than
    letting the driver build datetimes for 100,000 rows."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(cast(column, String), 1, 10)


def month_text(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(cast(column, String), 1, 7)


_ORDINALS: dict[str, int] = {}


def ordinal_of(text: str | None) -> int | None:
    if text is None:
        return None
    found = _ORDINALS.get(text)
    if found is None:
        found = dt.date.fromisoformat(text).toordinal()
        if len(_ORDINALS) < 200_000:
            _ORDINALS[text] = found
    return found


@dataclass
class Datasets:
    """The catalog's datasets as parallel arrays, with their versions' dates."""

    ids: list[str]
    agency: np.ndarray  # index into agency_codes; the last code is NO_AGENCY
    agency_codes: list[str]
    listed: np.ndarray  # public, listed and approved by its metadata now
    archived: np.ndarray
    created: np.ndarray
    retired: np.ndarray
    fallback: np.ndarray  # last update when no version is known
    frequency: np.ndarray  # index into frequencies
    frequencies: list[str | None]
    dims: np.ndarray  # bit per EQUITY_DIMENSIONS entry
    no_agency: np.ndarray
    version_keys: np.ndarray  # dataset index * SHIFT + day ordinal, sorted
    version_auto: np.ndarray
    has_versions: np.ndarray
    extra: dict[str, list[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def fetch(session: Session, statement: Any) -> list[tuple]:
    """The rows of `statement` as the driver gives them: plain tuples, in the session's
    transaction. For 100,000 rows this is several times faster than building result rows;
    the callers select only text, numbers and dates, which need no conversion."""
    connection = session.connection()
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    params: Any = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _as_text(column: Any) -> Any:
    # JSON lists read as their text: looking for '"race"' in it costs far less than decoding
    # 100,000 lists, and most are empty. The names are fixed words, so a quoted name cannot
    # appear by accident.
    return cast(column, String)


EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def ordinals(days: Sequence[str | None], missing: int = FAR) -> np.ndarray:
    """'YYYY-MM-DD' texts as day ordinals (numpy parses them in C); None as `missing`."""
    parsed = np.array(days, dtype="datetime64[D]")
    values = parsed.astype(np.int64) + EPOCH_ORDINAL
    return np.where(np.isnat(parsed), missing, values)


def index_of(sorted_ids: np.ndarray, order: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Each wanted id's index into the datasets, or -1 when it is not one of them."""
    if not len(sorted_ids) or not len(wanted):
        return np.full(len(wanted), -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(sorted_ids, wanted), 0, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == wanted, order[pos], -1)


def load_datasets(
    session: Session,
    exclude: Iterable[str] = (),
    with_metadata: bool = False,
    history: bool = True,
) -> Datasets:
    """Every dataset's columns the metrics need, in three queries through the connection
    (not the ORM, whose row handling costs more than the queries), turned into arrays.

    Without `history` the versions are not read: each dataset's last update is then its
    `data_updated_at`, right for today but not for days before its last update."""
    connection = session.connection()
    codes = dict(connection.execute(select(Agency.id, Agency.code)).all())
    agency_codes = sorted(codes.values())
    position = {agency_id: agency_codes.index(code) for agency_id, code in codes.items()}
    none_index = len(agency_codes)
    position[None] = none_index
    agency_codes.append(NO_AGENCY)
    columns = [
        Dataset.id,
        Dataset.agency_id,
        Dataset.classification,
        Dataset.access_level,
        Dataset.publication_state,
        Dataset.status,
        day_text(session, Dataset.created_at),
        day_text(session, Dataset.retired_at),
        day_text(session, Dataset.data_updated_at),
        Dataset.update_frequency,
        _as_text(Dataset.demographic_dimensions),
        cast(Dataset.metadata_updated_at, String),
    ]
    extra_columns = [
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
        _as_text(Dataset.related_documents).label("related_documents"),
    ]
    rows = fetch(session, select(*columns, *(extra_columns if with_metadata else ())))
    n = len(rows)
    by_column = list(zip(*rows, strict=True)) if rows else [()] * (len(columns) + 12)
    (ids, agency_ids, klass, access, state, status, made, gone, updated, freq, dims_text) = (
        by_column[:11]
    )
    stamps = by_column[11]
    ids = list(ids)
    id_array = np.array(ids, dtype=str) if n else np.array([], dtype=str)
    agency = np.array([position[a] for a in agency_ids], dtype=np.int32)
    listed = (
        (np.array(klass, dtype=object) == "public")
        & (np.array(access, dtype=object) == "public")
        & np.array([(s or "published") == "published" for s in state], dtype=bool)
    )
    if exclude and n:
        listed &= ~np.isin(id_array, list(exclude))
    created = ordinals(made)
    updated_days = ordinals(updated)
    frequencies: list[str | None] = []
    frequency_index: dict[str | None, int] = {}
    for code in freq:
        if code not in frequency_index:
            frequency_index[code] = len(frequencies)
            frequencies.append(code)
    quoted = [(1 << bit, f'"{name}"') for bit, name in enumerate(EQUITY_DIMENSIONS)]
    dims = [
        sum(bit for bit, name in quoted if name in text) if text and len(text) > 2 else 0
        for text in dims_text
    ]
    extra: dict[str, list[Any]] = {"metadata_stamp": list(stamps)}
    if with_metadata:
        for offset, column in enumerate(extra_columns, start=12):
            extra[column.key] = list(by_column[offset])
        extra["demographic_dimensions"] = list(dims_text)
    order = np.argsort(id_array, kind="stable")
    if history:
        keys, auto, has_versions = _versions(session, id_array[order], order, n)
    else:
        keys, auto = np.array([], dtype=np.int64), np.array([], dtype=bool)
        has_versions = np.zeros(n, dtype=bool)
    return Datasets(
        ids=ids,
        agency=agency,
        agency_codes=agency_codes,
        listed=listed,
        archived=np.isin(np.array(status, dtype=object), GONE),
        created=created,
        retired=ordinals(gone),
        fallback=np.where(updated_days < FAR, updated_days, created),
        frequency=np.array([frequency_index[c] for c in freq], dtype=np.int32),
        frequencies=frequencies,
        dims=np.array(dims, dtype=np.int8),
        no_agency=agency == none_index,
        version_keys=keys,
        version_auto=auto,
        has_versions=has_versions,
        extra=extra,
    )


# Versions never change once published: kept per catalog, read again only when a version
# was added or removed (their count and newest id tell).
_VERSIONS: dict[str, tuple[tuple, np.ndarray, np.ndarray, np.ndarray]] = {}


def _all_versions(session: Session) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every version's dataset id, day (ordinal) and whether an automated source made it."""
    catalog = catalog_key(session)
    signature = tuple(fetch(session, select(func.count(), func.max(Version.id)))[0])
    cached = _VERSIONS.get(catalog)
    if cached is not None and cached[0] == signature:
        return cached[1], cached[2], cached[3]
    rows = fetch(
        session,
        select(Version.dataset_id, day_text(session, Version.created_at), Version.source),
    )
    if rows:
        dataset_ids, days, sources = zip(*rows, strict=True)
        found = (
            np.array(dataset_ids, dtype=str),
            ordinals(days, missing=-1),
            np.array([is_automated(source) for source in sources], dtype=bool),
        )
    else:
        found = (np.array([], dtype=str), np.zeros(0, np.int64), np.zeros(0, bool))
    if len(_VERSIONS) > 16:
        _VERSIONS.clear()
    _VERSIONS[catalog] = (signature, *found)
    return found


def _versions(
    session: Session, sorted_ids: np.ndarray, order: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every version as (dataset index * SHIFT + day ordinal), sorted, and whether an
    automated source published it."""
    dataset_ids, day_numbers, automated = _all_versions(session)
    has_versions = np.zeros(n, dtype=bool)
    index = index_of(sorted_ids, order, dataset_ids)
    known = (index >= 0) & (day_numbers >= 0)
    keys = index[known] * SHIFT + day_numbers[known]
    auto = automated[known]
    sorting = np.argsort(keys, kind="stable")
    keys, auto = keys[sorting], auto[sorting]
    has_versions[keys // SHIFT] = True
    return keys, auto, has_versions


def is_automated(source: str | None) -> bool:
    """Whether a version came from an automated feed or the SODA write API."""
    if not source:
        return False
    if source.startswith(("feed:", "soda")):
        return True
    return len(source) in (36, 37) and bool(SODA_UPLOAD.match(source))


# Evaluating the catalog on one day ---------------------------------------------------------

# frequency -> last update (ordinal) -> due date (ordinal): a due date does not depend on the
# day asked about, so a year of month-ends works each one out once.
_DUES: dict[str, dict[int, int]] = {}
_STATUS = {status: STATUSES.index(status) for status in STATUSES}


def _due_ordinals(frequency: str, lasts: np.ndarray) -> np.ndarray:
    cache = _DUES.setdefault(frequency, {})
    if len(cache) > 2_000_000:  # a long-running server: keep memory bounded
        cache.clear()
    found = np.empty(len(lasts), dtype=np.int64)
    for position, last in enumerate(lasts.tolist()):
        due = cache.get(last)
        if due is None:
            day = due_date(frequency, dt.date.fromordinal(last))
            due = cache[last] = day.toordinal() if day is not None else FAR
        found[position] = due
    return found


def evaluate_many(
    frequency: str | None, lasts: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Status (index into STATUSES) and days late on `day` of datasets expected at
    `frequency`, last updated on `lasts` (ordinals): `freshness.evaluate`'s rules, for many
    at once (a property test holds them equal)."""
    n = len(lasts)
    if frequency == "not updated":
        return np.full(n, _STATUS[Freshness.NOT_UPDATED], np.int64), np.zeros(n, np.int64)
    if frequency not in INTERVALS:
        return np.full(n, _STATUS[Freshness.NO_SCHEDULE], np.int64), np.zeros(n, np.int64)
    due = _due_ordinals(frequency, lasts)
    interval = due - lasts
    late = day - due
    window = np.clip(interval // 10, 1, 7)
    past_grace = late > GRACE_DAYS
    missed = late >= np.maximum(interval, STALE_MIN_DAYS)
    within = late >= -window
    status = np.where(
        past_grace,
        np.where(missed, _STATUS[Freshness.STALE], _STATUS[Freshness.OVERDUE]),
        np.where(within, _STATUS[Freshness.DUE], _STATUS[Freshness.FRESH]),
    )
    days_late = np.where(past_grace, late, np.where(within, np.maximum(late, 0), 0))
    return status.astype(np.int64), days_late.astype(np.int64)


_DAY_STATES: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray]] = {}


def _freshness(
    data: Datasets, public: np.ndarray, last: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Status (index into STATUSES) and days late of each public dataset on `day`."""
    status = np.zeros(len(data), dtype=np.int8)
    days_late = np.zeros(len(data), dtype=np.int32)
    chosen = np.flatnonzero(public)
    if len(chosen):
        codes = data.frequency[chosen]
        lasts = last[chosen].astype(np.int64)
        for code in np.unique(codes).tolist():
            group = codes == code
            # Many datasets share a last update: each date is evaluated once.
            unique, inverse = np.unique(lasts[group], return_inverse=True)
            found_status, found_late = evaluate_many(data.frequencies[code], unique, day)
            status[chosen[group]] = found_status[inverse]
            days_late[chosen[group]] = found_late[inverse]
    return status, days_late


@dataclass
class DayState:
    """Each dataset on one day: public or not, its last update, freshness, automation."""

    day: int
    public: np.ndarray
    last: np.ndarray
    status: np.ndarray
    days_late: np.ndarray
    automated: np.ndarray


def day_state(data: Datasets, day: int) -> DayState:
    n = len(data)
    idx = np.arange(n, dtype=np.int64)
    public = (
        data.listed
        & (data.created <= day)
        & (data.retired > day)
        # Retired (or archived) datasets left public view on their retirement day; before
        # that they were public. One archived with no date is out on every day.
        & (~data.archived | (data.retired < FAR))
    )
    keys = data.version_keys
    if len(keys):
        pos = np.searchsorted(keys, idx * SHIFT + day, side="right") - 1
        safe = np.clip(pos, 0, len(keys) - 1)
        found = (pos >= 0) & (keys[safe] // SHIFT == idx)
        version_day = keys[safe] % SHIFT
        automated = found & data.version_auto[safe]
    else:
        found = np.zeros(n, dtype=bool)
        version_day = np.zeros(n, dtype=np.int64)
        automated = np.zeros(n, dtype=bool)
    without = np.where(data.fallback <= day, data.fallback, data.created)
    last = np.where(found, version_day, np.where(data.has_versions, data.created, without))
    # The same frequencies, last updates and public datasets on the same day give the same
    # freshness: a month-end asked about again (every series) is not evaluated again.
    digest = hashlib.blake2b(repr(data.frequencies).encode(), digest_size=16)
    for array in (data.frequency, last, public):
        digest.update(array.tobytes())
    key = (day, digest.digest())
    cached = _DAY_STATES.get(key)
    if cached is not None:
        status, days_late = cached
    else:
        status, days_late = _freshness(data, public, last, day)
        if len(_DAY_STATES) > 64:
            _DAY_STATES.clear()
        _DAY_STATES[key] = (status, days_late)
    return DayState(day, public, last, status, days_late, automated)


# Metadata quality --------------------------------------------------------------------------

# Scores computed here because no current one was kept, by dataset and stamp: a long-running
# server scores a dataset changed behind the catalog's back once.
_QUALITY: dict[tuple, tuple[int, bool]] = {}


_DICTIONARIES: dict[str, tuple[tuple, dict[str, tuple[int, int, int]]]] = {}


def dictionary_counts(session: Session) -> dict[str, tuple[int, int, int]]:
    """Dataset id -> (columns, described columns, tags), in two grouped queries, remembered
    until a column, a tag, a version or a dataset's metadata changes."""
    connection = session.connection()
    signature = (
        *connection.execute(select(func.count(), func.max(Column.id))).one(),
        *connection.execute(select(func.count()).select_from(DatasetTag)).one(),
        *connection.execute(select(func.max(Version.id), func.count())).one(),
        *connection.execute(select(func.max(Dataset.metadata_updated_at))).one(),
        # Describing columns changes no count and no metadata time; its audit entry tells.
        *connection.execute(
            select(func.max(AuditEvent.id)).where(AuditEvent.action == "columns.describe")
        ).one(),
    )
    catalog = catalog_key(session)
    cached = _DICTIONARIES.get(catalog)
    if cached is not None and cached[0] == signature:
        return cached[1]
    described = func.count(
        case((func.length(func.trim(func.coalesce(Column.description, ""))) > 0, 1))
    )
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for dataset_id, total, with_text in fetch(
        session, select(Column.dataset_id, func.count(), described).group_by(Column.dataset_id)
    ):
        found[dataset_id][0] = int(total)
        found[dataset_id][1] = int(with_text or 0)
    for dataset_id, tags in fetch(
        session, select(DatasetTag.dataset_id, func.count()).group_by(DatasetTag.dataset_id)
    ):
        found[dataset_id][2] = int(tags)
    counts = {k: (v[0], v[1], v[2]) for k, v in found.items()}
    if len(_DICTIONARIES) > 16:
        _DICTIONARIES.clear()
    _DICTIONARIES[catalog] = (signature, counts)
    return counts


def _quality_metadata(session: Session, ids: list[str], everything: bool) -> dict[str, tuple]:
    """Dataset id -> the metadata the quality score reads, for `ids` (or all datasets)."""
    columns = stored_quality.METADATA_COLUMNS
    if everything:
        return {row[0]: row for row in fetch(session, select(*columns))}
    found = {}
    for start in range(0, len(ids), 500):  # SQLite takes at most 999 parameters
        chunk = ids[start : start + 500]
        query = select(*columns).where(Dataset.id.in_(chunk))
        found.update({row[0]: row for row in fetch(session, query)})
    return found


ON_TIME = [STATUSES.index(s) for s in quality_scores.ON_TIME_STATUSES]


def quality_scores_of(
    session: Session,
    data: Datasets,
    chosen: np.ndarray,
    counts: dict[str, tuple[int, int, int]],
    state: DayState,
) -> tuple[np.ndarray, np.ndarray]:
    """The quality score and required-metadata flag of each chosen dataset on the day.

    The points that do not depend on the day are read from those kept in the catalog
    (freshness/stored_quality.py) when their stamp matches the dataset; the others are
    scored here and kept, so the next run finds them. The "updated on schedule" point comes
    from the day's freshness, as `quality.score` gives it.
    """
    n = len(data)
    points = np.zeros(n, dtype=np.int32)
    required = np.zeros(n, dtype=bool)
    stamps = data.extra.get("metadata_stamp") or [None] * n
    picked = np.flatnonzero(chosen).tolist()
    # Plain tuples compared as wholes: 100,000 of them in a few tenths of a second.
    kept = {
        row[0]: ((row[1], row[2], row[3], row[4], bool(row[5]), row[6]), row[7], row[8])
        for row in fetch(session, stored_quality.kept_query())
    }
    ids, frequency_of = data.ids, data.frequencies
    has_agency = (~data.no_agency).tolist()
    frequency = data.frequency.tolist()
    nothing = (0, 0, 0)
    missing: list[tuple[int, stored_quality.Stamp]] = []
    for i in picked:
        did = ids[i]
        ncols, ndescribed, ntags = counts.get(did, nothing)
        key = (stamps[i], ncols, ndescribed, ntags, has_agency[i], frequency_of[frequency[i]])
        row = kept.get(did)
        if row is not None and row[0] == key:
            points[i], required[i] = row[1], row[2]
            continue
        found = _QUALITY.get((did, key))
        if found is None:
            missing.append((i, stored_quality.Stamp(*key)))
        else:
            points[i], required[i] = found
    if missing:
        _score_missing(session, data, missing, points, required)
    scores = _with_on_time(data, chosen, state, points)
    return scores, required


def _score_missing(
    session: Session,
    data: Datasets,
    missing: list[tuple[int, stored_quality.Stamp]],
    points: np.ndarray,
    required: np.ndarray,
) -> None:
    """Score the datasets with no current stored points, and keep them (a cache that cannot
    be written now is only slower next time)."""
    metadata = _quality_metadata(
        session, [data.ids[i] for i, _ in missing], everything=len(missing) > 5_000
    )
    rows = []
    for i, stamp in missing:
        row = metadata.get(data.ids[i])
        if row is None or stamp.metadata_stamp is None:  # removed while the metrics ran
            continue
        found = stored_quality.points_of(row, stamp)
        if len(_QUALITY) > 1_000_000:
            _QUALITY.clear()
        _QUALITY[(data.ids[i], stamp.key())] = found
        points[i], required[i] = found
        rows.append(stored_quality.as_row(data.ids[i], stamp, *found))
    try:
        with session.begin_nested():
            stored_quality.store(session, rows)
    except DBAPIError:
        pass


def _with_on_time(
    data: Datasets, chosen: np.ndarray, state: DayState, points: np.ndarray
) -> np.ndarray:
    """Each chosen dataset's score on the day: its day-free points and "updated on schedule"."""
    status = state.status
    outside = chosen & ~state.public
    if outside.any():  # freshness is evaluated for public datasets only
        status = np.where(outside, _freshness(data, outside, state.last, state.day)[0], status)
    declared = np.array([bool(code) for code in data.frequencies], dtype=bool)[data.frequency]
    on_time = np.isin(status, ON_TIME) & declared
    scores = np.minimum(100, points + np.where(on_time, quality_scores.ON_TIME_POINTS, 0))
    return np.where(chosen, scores, 0).astype(np.int32)


def catalog_key(session: Session) -> str:
    # The first audit entry's hash tells apart two catalogs that had the same address.
    first_entry = session.scalar(select(AuditEvent.entry_hash).order_by(AuditEvent.id).limit(1))
    url = session.get_bind().url.render_as_string(hide_password=True)
    return f"{url}#{first_entry}"
