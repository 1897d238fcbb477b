"""The catalog on any day, as arrays: which datasets were public, their last update, their
freshness and whether an automated source made their current version; and each dataset's
metadata quality score. Read in a handful of queries as plain columns, never object by object.

A dataset's last update on a day is its newest version published by the end of that day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
import re
import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import reduce
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from statedata.catalog.changes import (
    Mark,
    Position,
    TableMark,
    change_mark,
    changed_datasets,
    mark_and_position,
    noted_nonce,
    part,
)
from statedata.catalog.models import (
    Agency,
    AuditEvent,
    Column,
    Dataset,
    DatasetTag,
    StoredQuality,
    Version,
)
from statedata.errors import StatedataError
from statedata.freshness import Freshness, stored_quality
from statedata.freshness import quality as quality_scores
from statedata.freshness.status import GRACE_DAYS, INTERVALS, STALE_MIN_DAYS
from statedata.metrics import snapshot_file

NO_AGENCY = "(no agency)"
CatalogMark = tuple[str, Mark]  # (the catalog, its change mark)
# Dimensions that describe people's race, ethnicity and gender.
GENDER_DIMENSIONS = ("sex", "gender-identity")
EQUITY_DIMENSIONS = ("race", "ethnicity", *GENDER_DIMENSIONS)
# A version written by a feed says "feed:<id>"; the SODA write API stores the body it was
# sent as a file named by a random hex id, and later versions may say "soda".
SODA_UPLOAD = re.compile(r"[0-9a-f]{32}\.(csv|json)")
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


# julianday('0001-01-01') is 1721425.5: the whole part of a date's julianday less this is
# its ordinal.
_JULIAN_DAY_OF_ORDINAL_ZERO = 1721424


def day_number(session: Session, column: Any, missing: int) -> Any:
    """A timestamp column as the ordinal (`date.toordinal()`) of its UTC day, `missing` when
    NULL: worked out by the database, as 100,000 integers cost far less to fetch than texts
    or dates. SQLite takes the day as stored (UTC text), as `day_text` does. (Taking the
    digits of the text instead of julianday saved nothing: measured.)"""
    if session.get_bind().dialect.name == "postgresql":
        utc_day = cast(func.timezone("UTC", column), Date)
        day = type_coerce(utc_day - literal_column("DATE '0001-01-01'"), Integer) + 1
    else:
        julian = func.julianday(func.substr(cast(column, String), 1, 10))
        day = cast(julian, Integer) - _JULIAN_DAY_OF_ORDINAL_ZERO
    return func.coalesce(day, missing)


def automated(session: Session, column: Any) -> Any:
    """1 where `is_automated` holds for the source `column`, else 0: worked out by the
    database (a test holds the two equal). Prefixes first, and the pattern only on names of
    its length: matching it on each of 250,000 versions was most of reading them."""
    if session.get_bind().dialect.name == "postgresql":
        prefixed = or_(column.startswith("feed:"), column.startswith("soda"))
        upload = column.op("~")(r"^[0-9a-f]{32}\.(csv|json)$")
    else:  # GLOB, not LIKE: SQLite's LIKE ignores case
        prefixed = or_(column.op("GLOB")("feed:*"), column.op("GLOB")("soda*"))
        hex_name = "[0-9a-f]" * 32
        upload = or_(column.op("GLOB")(f"{hex_name}.csv"), column.op("GLOB")(f"{hex_name}.json"))
    return case(
        (prefixed, 1),
        (and_(func.length(column).in_((36, 37)), upload), 1),
        else_=0,
    )


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
    """The catalog's datasets as parallel arrays in id order, with their versions' dates."""

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
    # With the versions: each dataset's stored quality row as `_kept` gives it, read in
    # the same statement (kept points * 2 + required, or -1; packed counts, or -1).
    kept: tuple[np.ndarray, np.ndarray] | None = None
    # The catalog's change mark they were read under (None: not to be reused).
    mark: CatalogMark | None = None
    # Where they were read (catalog/changes.py), and each dataset's `noted_nonce` there:
    # what `_update` needs to read again only the datasets changed since.
    position: Position | None = None
    noted: np.ndarray | None = None
    # Brought up to date from the reading under this mark, these datasets read again.
    built_on: tuple[CatalogMark, frozenset[str]] | None = None
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[str, int]:
        """Dataset id -> its place in the arrays."""
        if self._index is None:
            self._index = {dataset_id: i for i, dataset_id in enumerate(self.ids)}
        return self._index


def fetch(session: Session | Connection, statement: Any) -> list[tuple]:
    """The rows of `statement` as the driver gives them: plain tuples, in the session's
    transaction (or on the connection). For 100,000 rows this is several times faster than
    building result rows; the callers select only text, numbers and dates, which need no
    conversion."""
    connection = session.connection() if isinstance(session, Session) else session
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


def reads_apart(session: Session) -> bool:
    """Whether `fetch_apart` pays: on PostgreSQL the server works out two statements at once
    (the driver lets other threads run while it waits). Not on SQLite, which works in this
    process and hands the interpreter's lock over at every row: two reads at once took
    longer there than one after the other (1.62 s against 1.32 s for the metrics over
    100,000 datasets)."""
    return session.get_bind().dialect.name == "postgresql"


def fetch_apart(session: Session, statement: Any) -> Future[list[tuple]]:
    """`fetch` on a connection of its own, in a thread of its own, while this one reads
    something else (see `reads_apart`). A new thread each time, not a pool: a pool's threads
    do not survive a fork, and its tasks would then wait for ever."""
    engine = session.get_bind()
    found: Future[list[tuple]] = Future()

    def read() -> None:
        try:
            with engine.connect() as connection:
                found.set_result(fetch(connection, statement))
        except BaseException as error:  # handed to the reader, which raises it
            found.set_exception(error)

    threading.Thread(target=read, name="statedata-read-apart", daemon=True).start()
    return found


def integers(rows: Sequence[tuple]) -> np.ndarray:
    """The first column of one-integer rows as an array, without a list in between."""
    return np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows))


def _as_text(column: Any) -> Any:
    # JSON lists read as their text: looking for '"race"' in it costs far less than decoding
    # 100,000 lists, and most are empty. The names are fixed words, so a quoted name cannot
    # appear by accident.
    return cast(column, String)


def _dimension_bits(session: Session) -> Any:
    """Each dataset's EQUITY_DIMENSIONS as bits (see `Datasets.dims`), found by the database
    in the JSON list's text (case-sensitive, like the names themselves)."""
    find = func.strpos if session.get_bind().dialect.name == "postgresql" else func.instr
    text = _as_text(Dataset.demographic_dimensions)
    bits = [
        case((find(text, f'"{name}"') > 0, 1 << bit), else_=0)
        for bit, name in enumerate(EQUITY_DIMENSIONS)
    ]
    return reduce(operator.add, bits)


class CatalogChanging(StatedataError):
    code = "catalog.changing"
    status = 503


def load_datasets(
    session: Session,
    exclude: Iterable[str] = (),
    with_metadata: bool = False,
    history: bool = True,
    keep_in: Path | None = None,
) -> Datasets:
    """Every dataset's columns the metrics need, in id order, as arrays: read as plain rows
    through the connection (not the ORM, whose row handling costs more than the queries),
    with days, flags and counts worked out by the database as integers.

    Without `history` the versions are not read: each dataset's last update is then its
    `data_updated_at`, right for today but not for days before its last update.

    What was read is kept, read-only, and given again while the catalog's change mark
    (catalog/changes.py) stays the same: a running server reads 100,000 datasets only after
    something changed, and then only the datasets changed since (`_update`). With `keep_in`
    (a folder), it is also kept in a file there for the next process
    (metrics/snapshot_file.py; not with the metadata texts)."""
    found = mark_and_position(session)
    mark = None if found is None else (catalog_key(session), found[0])
    position = None if found is None else found[1]
    key = (frozenset(exclude), with_metadata, history)
    remembered = _DATASETS.get(mark, key)
    if remembered is not None:
        return remembered
    if mark is None:
        return _read_whole(session, exclude, with_metadata, history, None, None)
    file_key = None
    base = _DATASETS.latest(mark[0], key)
    if keep_in is not None and not with_metadata:
        file_key = json.dumps([mark[0], sorted(set(exclude)), history])
        if base is None:
            base = snapshot_file.load(keep_in, file_key)
            if base is not None and base.mark == mark:
                return _remember(mark, key, base)
    read = None
    if base is not None and position is not None and _same_agencies(base.mark, mark):
        read = _update(session, base, exclude, with_metadata, history, position)
    if read is None:
        versions_key = (mark[0], part(mark[1], "versions"))
        read = _read_whole(session, exclude, with_metadata, history, versions_key, position)
    read.position = position
    if file_key is not None and keep_in is not None:
        read.mark = mark
        snapshot_file.save(keep_in, file_key, read)
    return _remember(mark, key, read)


def _same_agencies(earlier: CatalogMark | None, now: CatalogMark) -> bool:
    """Whether no agency was written between the two marks: each dataset's agency is read as
    an index into the agencies' codes, which an update keeps only while they stay."""
    return earlier is not None and part(earlier[1], "agencies") == part(now[1], "agencies")


def _read_whole(
    session: Session,
    exclude: Iterable[str],
    with_metadata: bool,
    history: bool,
    versions_key: VersionsKey | None,
    position: Position | None,
    only: Collection[str] | None = None,
) -> Datasets:
    """`_read`, again while versions are published under it (`only` those datasets)."""
    # The datasets and their versions are two statements: a version published between them
    # is in the second but not in the counts of the first; reading both again sees it in both.
    for _attempt in range(3):
        read = _read(session, exclude, with_metadata, history, versions_key, position, only=only)
        if read is not None:
            return read
    raise CatalogChanging("The catalog changed while it was read; try again.")


# Above this share of the catalog changed (and this many datasets), reading it whole costs
# less than picking the changed ones.
_UPDATE_AT_MOST = 0.2
_UPDATE_AT_LEAST = 100


def _update(
    session: Session,
    base: Datasets,
    exclude: Iterable[str],
    with_metadata: bool,
    history: bool,
    position: Position,
) -> Datasets | None:
    """`base` (an earlier reading of the catalog) with the datasets changed since it was read
    read again; None when it cannot be (read the catalog whole instead): too many changed, a
    table was truncated, the agencies changed, or the nonces of the notes on the datasets not
    changed no longer add up to what `base` kept of them (the catalog is not one that came
    from the one `base` read: restored from a backup, say)."""
    if base.position is None or base.noted is None:
        return None
    changed = changed_datasets(session, base.position)
    if changed is None or len(changed.ids) > max(_UPDATE_AT_LEAST, len(base) * _UPDATE_AT_MOST):
        return None
    index = base.index()
    keep = np.ones(len(base), dtype=bool)
    keep[[index[i] for i in changed.ids if i in index]] = False
    if int(base.noted[keep].sum()) != changed.seen_nonces:
        return None
    if changed.ids:
        part_read = _read_whole(
            session, exclude, with_metadata, history, None, position, only=changed.ids
        )
        if part_read.agency_codes != base.agency_codes:
            return None
        merged = _merged(base, keep, part_read)
    else:  # a statement that wrote no row (PostgreSQL counts it): nothing to read
        merged = replace(base)
    if base.mark is not None:
        merged.built_on = (base.mark, changed.ids)
    return merged


def _merged(base: Datasets, keep: np.ndarray, changed: Datasets) -> Datasets:
    """The datasets of `base` where `keep` holds, and those `changed` (read again), in id
    order."""
    kept_at = np.flatnonzero(keep)
    kept_ids = [base.ids[i] for i in kept_at.tolist()]
    # Where each changed dataset goes among the kept ones, and so each one's new place.
    at = np.array([bisect_left(kept_ids, i) for i in changed.ids], dtype=np.int64)
    order = np.argsort(at, kind="stable")
    changed_place = np.empty(len(at), dtype=np.int64)
    changed_place[order] = at[order] + np.arange(len(at))
    kept_place = np.arange(len(kept_at)) + np.searchsorted(
        at[order], np.arange(len(kept_at)), side="right"
    )
    total = len(kept_at) + len(at)

    def spliced(old: np.ndarray, new: np.ndarray) -> np.ndarray:
        out = np.empty(total, dtype=old.dtype)
        out[kept_place] = old[kept_at]
        out[changed_place] = new
        return out

    def spliced_list(old: list, new: list) -> list:
        as_objects = np.fromiter(old, dtype=object, count=len(old))
        return spliced(as_objects, np.fromiter(new, dtype=object, count=len(new))).tolist()

    frequencies = list(base.frequencies)
    for code in changed.frequencies:
        if code not in frequencies:
            frequencies.append(code)
    recoded = np.array([frequencies.index(c) for c in changed.frequencies], dtype=np.int32)
    old_to_new = np.full(len(base), -1, dtype=np.int64)
    old_to_new[kept_at] = kept_place
    old_index = base.version_keys // SHIFT
    still = keep[old_index]
    changed_index = changed.version_keys // SHIFT
    keys = np.concatenate(
        [
            old_to_new[old_index[still]] * SHIFT + base.version_keys[still] % SHIFT,
            changed_place[changed_index] * SHIFT + changed.version_keys % SHIFT,
        ]
    )
    auto = np.concatenate([base.version_auto[still], changed.version_auto])
    # Versions of a dataset on one day stay in publication order: the last one counts.
    sorting = np.argsort(keys, kind="stable")
    kept_rows = None
    if base.kept is not None and changed.kept is not None:
        kept_rows = (
            spliced(base.kept[0], changed.kept[0]),
            spliced(base.kept[1], changed.kept[1]),
        )
    extra = {
        name: spliced_list(values, changed.extra.get(name, [None] * len(changed)))
        for name, values in base.extra.items()
    }
    assert base.noted is not None and changed.noted is not None
    return Datasets(
        ids=spliced_list(base.ids, changed.ids),
        agency=spliced(base.agency, changed.agency),
        agency_codes=base.agency_codes,
        listed=spliced(base.listed, changed.listed),
        archived=spliced(base.archived, changed.archived),
        created=spliced(base.created, changed.created),
        retired=spliced(base.retired, changed.retired),
        fallback=spliced(base.fallback, changed.fallback),
        frequency=spliced(base.frequency, recoded[changed.frequency]),
        frequencies=frequencies,
        dims=spliced(base.dims, changed.dims),
        no_agency=spliced(base.no_agency, changed.no_agency),
        version_keys=keys[sorting],
        version_auto=auto[sorting],
        has_versions=spliced(base.has_versions, changed.has_versions),
        extra=extra,
        kept=kept_rows,
        noted=spliced(base.noted, changed.noted),
    )


def catalog_mark(session: Session) -> CatalogMark | None:
    """The catalog and its change mark, or None where the session has written: what was
    worked out from the watched tables under it may be given again while it holds."""
    mark = change_mark(session)
    return None if mark is None else (catalog_key(session), mark)


class ByMark:
    """What was worked out from the watched tables, by the catalog's change mark and what
    was asked: given again while the mark holds. Keeping something under a newer mark of a
    catalog drops what was kept for the same question under its earlier ones, which will not
    be asked for again (but may be built on: `latest`)."""

    def __init__(self, limit: int) -> None:
        self._found: dict[tuple[CatalogMark, Any], Any] = {}
        self._limit = limit

    def get(self, mark: CatalogMark | None, key: Any) -> Any:
        return None if mark is None else self._found.get((mark, key))

    def latest(self, catalog: str, key: Any) -> Any:
        """What was kept for `key` under the newest mark of `catalog` that any was, or None."""
        for (mark, kept_key), value in self._found.items():
            if mark[0] == catalog and kept_key == key:
                return value
        return None

    def put(self, mark: CatalogMark, key: Any, value: Any) -> None:
        stale = [
            k for k in list(self._found) if k[0][0] == mark[0] and k[1] == key and k[0] != mark
        ]
        for old in stale:
            self._found.pop(old, None)
        if len(self._found) >= self._limit:
            self._found.clear()
        self._found[(mark, key)] = value

    def clear(self) -> None:
        self._found.clear()


# What was read of each catalog (a few ways of asking), while its change mark holds.
_DATASETS = ByMark(limit=16)


def _remember(mark: CatalogMark, key: tuple, data: Datasets) -> Datasets:
    data.mark = mark
    _read_only(data)
    _DATASETS.put(mark, key, data)
    return data


def _read_only(data: Datasets) -> None:
    # Shared by every caller until the catalog changes: none may change it for the others.
    for value in vars(data).values():
        for array in value if isinstance(value, tuple) else (value,):
            if isinstance(array, np.ndarray):
                array.flags.writeable = False


def _read(
    session: Session,
    exclude: Iterable[str],
    with_metadata: bool,
    history: bool,
    versions_key: VersionsKey | None = None,
    position: Position | None = None,
    only: Collection[str] | None = None,
) -> Datasets | None:
    """The datasets (`only` those, when given) as arrays; None when their versions changed
    while they were read."""
    connection = session.connection()
    codes = dict(connection.execute(select(Agency.id, Agency.code)).all())
    agency_codes = sorted(codes.values())
    none_index = len(agency_codes)
    # Agency id -> index into agency_codes; NULL (read as -1) takes the last entry: none.
    agency_lookup = np.full(max(codes, default=0) + 2, none_index, dtype=np.int32)
    for agency_id, code in codes.items():
        agency_lookup[agency_id] = agency_codes.index(code)
    agency_codes.append(NO_AGENCY)
    listed = and_(
        Dataset.classification == "public",
        Dataset.access_level == "public",
        func.coalesce(func.nullif(Dataset.publication_state, ""), "published") == "published",
    )
    # With the history, the stored quality rows come too: one pass over the datasets.
    source, kept_columns = _with_kept(Dataset.__table__) if history else (Dataset.__table__, [])
    if not history:
        version_count: Any = literal(0)
    elif session.get_bind().dialect.name == "postgresql":
        # PostgreSQL counts every dataset's versions at once, merging two index scans, in a
        # quarter of the time a count per dataset takes; SQLite is the other way round.
        counted = (
            select(Version.dataset_id, func.count().label("versions"))
            .group_by(Version.dataset_id)
            .subquery()
        )
        source = source.outerjoin(counted, counted.c.dataset_id == Dataset.id)
        version_count = func.coalesce(counted.c.versions, 0)
    else:
        version_count = (
            select(func.count()).where(Version.dataset_id == Dataset.id).scalar_subquery()
        )
    columns = [
        Dataset.id,
        Dataset.update_frequency,
        stored_quality.metadata_stamp(),
        func.coalesce(Dataset.agency_id, -1),
        case((listed, 1), else_=0),
        case((Dataset.status.in_(GONE), 1), else_=0),
        day_number(session, Dataset.created_at, FAR),
        day_number(session, Dataset.retired_at, FAR),
        day_number(session, Dataset.data_updated_at, FAR),
        _dimension_bits(session),
        version_count,
        noted_nonce(Dataset.id, position) if position is not None else literal(0),
        *kept_columns,
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
        _as_text(Dataset.demographic_dimensions).label("demographic_dimensions"),
        Dataset.status,
        _as_text(Dataset.high_value_criteria).label("high_value_criteria"),
    ]
    query = (
        select(*columns, *(extra_columns if with_metadata else ()))
        .select_from(source)
        .order_by(Dataset.id)
    )
    if only is not None:
        query = query.where(Dataset.id.in_(sorted(only)))
    early = None
    wanted = history and only is None and versions_key is not None
    if wanted and versions_key not in _VERSIONS and reads_apart(session):
        # The versions are read at the same time, on another connection: a version
        # published meanwhile is caught by the counts, as between two statements on one.
        # (Only under a change mark: a session that has written sees what others do not.)
        early = fetch_apart(session, _versions_query(session, None))
    rows = fetch(session, query)
    n = len(rows)
    by_column = (
        list(zip(*rows, strict=True)) if rows else [()] * (len(columns) + len(extra_columns))
    )
    ids, freq, stamps = list(by_column[0]), by_column[1], by_column[2]
    numbers = [np.array(values, dtype=np.int64) for values in by_column[3 : len(columns)]]
    agency_ids, listed_flags, gone_flags, created, retired, updated, dims, counts = numbers[:8]
    noted = numbers[8]
    kept = (numbers[9], numbers[10]) if kept_columns else None
    agency = agency_lookup[agency_ids]
    listed_now = listed_flags.astype(bool)
    excluded = set(exclude)
    if excluded:
        listed_now[[i for i, did in enumerate(ids) if did in excluded]] = False
    frequencies: list[str | None] = []
    frequency_index: dict[str | None, int] = {}
    for code in freq:
        if code not in frequency_index:
            frequency_index[code] = len(frequencies)
            frequencies.append(code)
    extra: dict[str, list[Any]] = {"metadata_stamp": list(stamps)}
    if with_metadata:
        for offset, column in enumerate(extra_columns, start=len(columns)):
            extra[column.key] = list(by_column[offset])
    if history:
        versions = _versions(session, counts, versions_key, only, early)
        if versions is None:
            return None
        keys, auto, has_versions = versions
    else:
        keys, auto = np.array([], dtype=np.int64), np.array([], dtype=bool)
        has_versions = np.zeros(n, dtype=bool)
    return Datasets(
        ids=ids,
        agency=agency,
        agency_codes=agency_codes,
        listed=listed_now,
        archived=gone_flags.astype(bool),
        created=created,
        retired=retired,
        fallback=np.where(updated < FAR, updated, created),
        frequency=np.array([frequency_index[c] for c in freq], dtype=np.int32),
        frequencies=frequencies,
        dims=dims.astype(np.int8),
        no_agency=agency == none_index,
        version_keys=keys,
        version_auto=auto,
        has_versions=has_versions,
        extra=extra,
        kept=kept,
        noted=noted,
    )


# The catalog and the versions' part of its change mark -> (each dataset's count of versions
# in id order, each version's day * 2 + automated in dataset and version order).
VersionsKey = tuple[str, TableMark]
_VERSIONS: dict[VersionsKey, tuple[np.ndarray, np.ndarray]] = {}


def _versions(
    session: Session,
    counts: np.ndarray,
    key: VersionsKey | None,
    only: Collection[str] | None = None,
    early: Future[list[tuple]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Every version of the datasets as (dataset index * SHIFT + day ordinal), sorted, and
    whether an automated source published it; None when the versions read do not match
    `counts`, each dataset's number of versions in id order (one was published meanwhile).
    With `only`, the versions of those datasets (whose `counts` they are).

    The versions are read in the datasets' order, so the first counts[0] are the first
    dataset's and so on: no dataset id is read or compared. They are read again only when
    the versions table has changed since (`key`: its part of the change mark) or the datasets
    have (their counts). `early`: their rows, already asked for (`fetch_apart`)."""
    cached = _VERSIONS.get(key) if key is not None else None
    if cached is not None and np.array_equal(cached[0], counts):
        packed = cached[1]
    else:
        if early is not None:
            rows = early.result()
        else:
            rows = fetch(session, _versions_query(session, only))
        packed = integers(rows)
        if len(packed) != int(counts.sum()):
            return None
        if key is not None:
            _VERSIONS.clear()  # one catalog's at a time
            counts.flags.writeable = False
            packed.flags.writeable = False
            _VERSIONS[key] = (counts, packed)
    index = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    days = packed >> 1
    known = days >= 0
    keys = index[known] * SHIFT + days[known]
    auto = (packed[known] & 1).astype(bool)
    # Versions of a dataset on one day stay in publication order: the last one counts.
    sorting = np.argsort(keys, kind="stable")
    keys, auto = keys[sorting], auto[sorting]
    has_versions = np.zeros(len(counts), dtype=bool)
    has_versions[keys // SHIFT] = True
    return keys, auto, has_versions


def _versions_query(session: Session, only: Collection[str] | None) -> Any:
    """Each version's day * 2 + automated, in dataset and publication order (`only` those
    datasets')."""
    day = day_number(session, Version.created_at, -1)
    chosen = select(Dataset.id) if only is None else sorted(only)
    return (
        # One integer a row: half what the driver builds for two.
        select(day * 2 + automated(session, Version.source))
        .where(Version.dataset_id.in_(chosen))
        .order_by(Version.dataset_id, Version.id)
    )


def is_automated(source: str | None) -> bool:
    """Whether a version came from an automated feed or the SODA write API."""
    if not source:
        return False
    if source.startswith(("feed:", "soda")):
        return True
    return bool(SODA_UPLOAD.fullmatch(source))


# Evaluating the catalog on one day ---------------------------------------------------------

_STATUS = {status: STATUSES.index(status) for status in STATUSES}
_UNIX_EPOCH = dt.date(1970, 1, 1).toordinal()
_SATURDAY = 5


def _due_ordinals(frequency: str, lasts: np.ndarray) -> np.ndarray:
    """`freshness.due_date` of each last update (ordinals), worked out by numpy's calendar
    (a month from 31 January is the last day of February; weekdays skip the weekend)."""
    days, months = INTERVALS[frequency]
    if months:
        day = (lasts - _UNIX_EPOCH).astype("datetime64[D]")
        month = day.astype("datetime64[M]")
        day_of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
        target = month + months
        target_first = target.astype("datetime64[D]")
        length = ((target + 1).astype("datetime64[D]") - target_first).astype(np.int64)
        due = (target_first + np.minimum(day_of_month, length - 1)).astype(np.int64)
        due += _UNIX_EPOCH
    else:
        due = lasts.astype(np.int64) + days
    if frequency == "R/P1D/WEEKDAYS":
        weekday = (due - 1) % 7  # date.fromordinal(1) was a Monday
        due = due + np.where(weekday >= _SATURDAY, 7 - weekday, 0)
    return due


def evaluate_many(
    frequency: str | None, lasts: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Status (index into STATUSES) and days late on `day` of datasets expected at
    `frequency`, last updated on `lasts` (ordinals): `freshness.evaluate`'s rules, for many
    at once (a property test holds them equal)."""
    status, days_late, _ = _evaluate(frequency, lasts, day)
    return status, days_late


def _evaluate(
    frequency: str | None, lasts: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`evaluate_many` and the due dates (ordinals; FAR where nothing is due)."""
    n = len(lasts)
    if frequency == "not updated" or frequency not in INTERVALS:
        none = Freshness.NOT_UPDATED if frequency == "not updated" else Freshness.NO_SCHEDULE
        return np.full(n, _STATUS[none], np.int64), np.zeros(n, np.int64), np.full(n, FAR)
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
    return status.astype(np.int64), days_late.astype(np.int64), due


def evaluate_groups(
    codes: np.ndarray, frequencies: Sequence[str | None], lasts: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status (index into STATUSES), days late and due date (ordinal; FAR where nothing is
    due) on `day` of datasets expected at frequencies[codes[i]], last updated on lasts[i]
    (ordinals): `freshness.evaluate`'s rules for a whole catalog."""
    status = np.zeros(len(codes), dtype=np.int64)
    days_late = np.zeros(len(codes), dtype=np.int64)
    due = np.full(len(codes), FAR, dtype=np.int64)
    for code in np.unique(codes).tolist():
        group = np.flatnonzero(codes == code)
        # Many datasets share a last update: each date is evaluated once.
        unique, inverse = np.unique(lasts[group], return_inverse=True)
        found_status, found_late, found_due = _evaluate(frequencies[code], unique, day)
        status[group] = found_status[inverse]
        days_late[group] = found_late[inverse]
        due[group] = found_due[inverse]
    return status, days_late, due


_DAY_STATES: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray]] = {}


def _freshness(
    data: Datasets, public: np.ndarray, last: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Status (index into STATUSES) and days late of each public dataset on `day`."""
    status = np.zeros(len(data), dtype=np.int8)
    days_late = np.zeros(len(data), dtype=np.int32)
    chosen = np.flatnonzero(public)
    if len(chosen):
        found_status, found_late, _ = evaluate_groups(
            data.frequency[chosen], data.frequencies, last[chosen].astype(np.int64), day
        )
        status[chosen] = found_status
        days_late[chosen] = found_late
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


def dictionary_counts(session: Session, remembered: bool = True) -> dict[str, tuple[int, int, int]]:
    """Dataset id -> (columns, described columns, tags), in two grouped queries, remembered
    until a column, a tag, a version or a dataset's metadata changes (unless not
    `remembered`: a change behind the catalog's back may change none of these)."""
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
    if remembered and cached is not None and cached[0] == signature:
        return cached[1]
    counts = _count_dictionaries(session)
    if len(_DICTIONARIES) > 16:
        _DICTIONARIES.clear()
    _DICTIONARIES[catalog] = (signature, counts)
    return counts


def _count_dictionaries(
    session: Session, only: Collection[str] | None = None
) -> dict[str, tuple[int, int, int]]:
    """Dataset id -> (columns, described columns, tags), of every dataset (or `only` those)
    that has any."""
    described = func.count(case((stored_quality.described(), 1)))
    columns = select(Column.dataset_id, func.count(), described).group_by(Column.dataset_id)
    tags = select(DatasetTag.dataset_id, func.count()).group_by(DatasetTag.dataset_id)
    if only is not None:
        columns = columns.where(Column.dataset_id.in_(sorted(only)))
        tags = tags.where(DatasetTag.dataset_id.in_(sorted(only)))
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for dataset_id, total, with_text in fetch(session, columns):
        found[dataset_id][0] = int(total)
        found[dataset_id][1] = int(with_text or 0)
    for dataset_id, count in fetch(session, tags):
        found[dataset_id][2] = int(count)
    return {k: (v[0], v[1], v[2]) for k, v in found.items()}


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
_COUNT_SHIFT = 1 << 20


def quality_scores_of(
    session: Session,
    data: Datasets,
    chosen: np.ndarray,
    counts: dict[str, tuple[int, int, int]] | None,
    state: DayState,
) -> tuple[np.ndarray, np.ndarray]:
    """The quality score and required-metadata flag of each chosen dataset on the day.

    The points that do not depend on the day are read from those kept in the catalog
    (freshness/stored_quality.py) when their stamp matches the dataset; the others are
    scored here and kept, so the next run finds them. The "updated on schedule" point comes
    from the day's freshness, as `quality.score` gives it.

    `counts` are each dataset's (columns, described columns, tags), as `dictionary_counts`
    gives them; None works them out only where needed (see `_counts_as_kept`).
    """
    n = len(data)
    points = np.zeros(n, dtype=np.int32)
    required = np.zeros(n, dtype=bool)
    stamps = data.extra.get("metadata_stamp") or [None] * n
    current, kept_points, dataset_counts, as_kept = _kept_under_mark(session, data)
    if counts is not None or (dataset_counts < 0).any() or not as_kept:
        if counts is None:
            counts = dictionary_counts(session, remembered=False)
        nothing = (0, 0, 0)
        kept_counts = dataset_counts
        dataset_counts = np.array(
            [counts.get(did, nothing) for did in data.ids], dtype=np.int64
        ).reshape(n, 3)
        current &= (kept_counts == dataset_counts).all(axis=1)
    use = chosen & current
    points[use] = kept_points[use] >> 1
    required[use] = (kept_points[use] & 1).astype(bool)
    ids, frequency_of = data.ids, data.frequencies
    has_agency = (~data.no_agency).tolist()
    frequency = data.frequency.tolist()
    missing: list[tuple[int, stored_quality.Stamp]] = []
    # Every dataset without current points is scored and kept, chosen or not, so the
    # totals agree again and the next run need not count each dataset's dictionary.
    for i in np.flatnonzero(~current).tolist():
        ncols, ndescribed, ntags = dataset_counts[i].tolist()
        key = (stamps[i], ncols, ndescribed, ntags, has_agency[i], frequency_of[frequency[i]])
        found = _QUALITY.get((ids[i], key))
        if found is None:
            missing.append((i, stored_quality.Stamp(*key)))
        else:
            points[i], required[i] = found
    if missing:
        _score_missing(session, data, missing, points, required)
    scores = _with_on_time(data, chosen, state, points)
    return scores, required & chosen


# Whether the kept rows' totals agreed with the catalog's, under each change mark.
_AGREE: dict[CatalogMark, bool] = {}


def _kept_under_mark(
    session: Session, data: Datasets
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """`_kept`, and whether each kept row's counts may be taken as its dataset's
    (`_counts_as_kept`): asked of the catalog again only when it has changed since `data` was
    read."""
    current, kept_points, dataset_counts = _kept(data)
    if (dataset_counts < 0).any():
        return current, kept_points, dataset_counts, False
    mark = catalog_mark(session) if data.mark is not None else None
    reusable = mark is not None and mark == data.mark
    as_kept = _AGREE.get(mark) if reusable else None  # type: ignore[arg-type]
    if as_kept is None and reusable and data.built_on is not None:
        # Brought up to date from an earlier reading whose rows agreed: those of the
        # datasets not changed since still do; the changed ones are counted one by one.
        base_mark, changed = data.built_on
        if _AGREE.get(base_mark) is True:
            as_kept = _counts_agree_for(session, data, dataset_counts, changed)
    if as_kept is None:
        as_kept = _counts_as_kept(session, dataset_counts)
        if reusable:
            _AGREE.clear()
            _AGREE[mark] = as_kept  # type: ignore[index]
    return current, kept_points, dataset_counts, as_kept


def _counts_agree_for(
    session: Session, data: Datasets, kept_counts: np.ndarray, ids: Collection[str]
) -> bool:
    """Whether the kept rows of the datasets `ids` (those still in `data`) hold their
    datasets' counts of columns, described columns and tags."""
    index = data.index()
    chosen = [dataset_id for dataset_id in ids if dataset_id in index]
    if not chosen:
        return True
    counts = _count_dictionaries(session, chosen)
    return all(
        tuple(kept_counts[index[dataset_id]].tolist()) == counts.get(dataset_id, (0, 0, 0))
        for dataset_id in chosen
    )


def _counts_as_kept(session: Session, kept_counts: np.ndarray) -> bool:
    """Whether the catalog holds as many columns, described columns and tags, all told, as
    the kept rows of every dataset say: then each row's counts are taken as its dataset's,
    which spares counting them dataset by dataset.

    Changes made through the catalog's sessions score their datasets again as they commit;
    this catches those made behind its back that change a total (a column or tag added or
    removed, a column described or not). One that keeps every total (a column moved from one
    dataset to another) is not seen."""
    statement = select(
        select(func.count()).select_from(Column).scalar_subquery(),
        select(func.count()).where(stored_quality.described()).scalar_subquery(),
        select(func.count()).select_from(DatasetTag).scalar_subquery(),
    )
    catalog = [int(value or 0) for value in fetch(session, statement)[0]]
    return [int(total) for total in kept_counts.sum(axis=0)] == catalog


def _kept_expressions() -> tuple[Any, Any, Any]:
    """(the join condition of a dataset's stored quality row by the current rules; its
    points * 2 + required complete where its stamp matches the dataset's metadata time,
    agency and frequency now, else -1; the (columns, described, tags) it was computed from
    packed in one integer, -1 without a row). Compared by the database, so no stamp text is
    read."""
    row = StoredQuality
    joined = and_(row.dataset_id == Dataset.id, row.rules == quality_scores.RULES_VERSION)
    matches = and_(
        row.metadata_stamp == stored_quality.metadata_stamp(),
        row.has_agency == Dataset.agency_id.is_not(None),
        row.update_frequency.is_not_distinct_from(Dataset.update_frequency),
    )
    # Each count below 2**20 (a million columns in one dataset): three in one integer.
    counts = (
        cast(row.columns, BigInteger) * _COUNT_SHIFT + row.described
    ) * _COUNT_SHIFT + row.tags
    points = case((matches, row.points * 2 + cast(row.required_complete, Integer)), else_=-1)
    return joined, points, func.coalesce(counts, -1)


def _with_kept(source: Any) -> tuple[Any, list[Any]]:
    """`source` joined to the stored quality rows, and the two columns `_kept` reads."""
    joined, points, counts = _kept_expressions()
    return source.outerjoin(StoredQuality, joined), [points, counts]


def _kept(data: Datasets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each dataset: whether points kept by the current rules match its metadata time,
    agency and frequency now; those points * 2 + required complete; the (columns, described,
    tags) they were computed from (-1 without such points), as read with the datasets."""
    if data.kept is None:
        raise ValueError("Quality scores need the datasets read with their history.")
    kept_points, packed_counts = data.kept
    mask = _COUNT_SHIFT - 1
    kept_counts = np.stack(
        [packed_counts >> 40, (packed_counts >> 20) & mask, packed_counts & mask], axis=1
    )
    kept_counts[packed_counts < 0] = -1
    return kept_points >= 0, kept_points, kept_counts


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


def forget() -> None:
    """Forget everything this process remembers of any catalog (what the catalog keeps, such
    as the stored quality points, stays): the next run starts cold."""
    caches = (_DATASETS, _AGREE, _DAY_STATES, _QUALITY, _ORDINALS, _VERSIONS, _DICTIONARIES)
    for cache in caches:
        cache.clear()


def catalog_key(session: Session) -> str:
    # The first audit entry's hash tells apart two catalogs that had the same address.
    first_entry = session.scalar(select(AuditEvent.entry_hash).order_by(AuditEvent.id).limit(1))
    url = session.get_bind().url.render_as_string(hide_password=True)
    return f"{url}#{first_entry}"
