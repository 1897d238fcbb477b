"""The open data plan's metrics: every primary metric of its three goals that the platform can
measure, as of any day, by agency and month by month. Aggregates over public datasets only.

Everything is computed from the catalog's history (versions for update dates, datasets'
creation and retirement dates, usage counts per day, suggestion and request events), so a past
day gives the figures as they were. Metadata keeps no history: metrics about it (agency
attribution, quality, demographic breakdowns) use today's metadata for every day, and say so.

Speed matters (100,000 datasets in under two seconds): the catalog is read as plain columns in
a handful of queries and evaluated with numpy; nothing here loads ORM objects one by one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlalchemy import String, case, cast, func, select, text
from sqlalchemy.orm import Session

from statedata.catalog.models import (
    Agency,
    AuditEvent,
    Column,
    Dataset,
    DatasetTag,
    UsageCount,
    Version,
)
from statedata.catalog.sharing import Suggestion, SuggestionEvent
from statedata.errors import InvalidInput
from statedata.freshness import Freshness, evaluate
from statedata.freshness import quality as quality_scores
from statedata.metrics.usage import KINDS
from statedata.requests import metrics as request_metrics
from statedata.requests import suggestions as suggestion_rules

GOALS = {
    1: "A more relevant, easier to use portal",
    2: "Better, fresher data",
    3: "Lawful, faster data sharing",
}
NO_AGENCY = "(no agency)"
UNASSIGNED = "(unassigned)"
WINDOW_DAYS = 30
MONTHS = 12
DEFAULT_SINCE_YEAR = 2015
# Dimensions that describe people's race, ethnicity and gender.
GENDER_DIMENSIONS = ("sex", "gender-identity")
EQUITY_DIMENSIONS = ("race", "ethnicity", *GENDER_DIMENSIONS)
# A version written by a feed says "feed:<id>"; the SODA write API stores the body it was
# sent as a file named by a random hex id, and later versions may say "soda".
SODA_UPLOAD = re.compile(r"^(soda\b.*|[0-9a-f]{32}\.(csv|json))$")
STATUSES = list(Freshness)
LATE = (STATUSES.index(Freshness.OVERDUE), STATUSES.index(Freshness.STALE))
ON_TIME = (STATUSES.index(Freshness.FRESH), STATUSES.index(Freshness.DUE))
SCHEDULED = (*ON_TIME, *LATE)
FAR = 10**7  # an ordinal later than any date
# Statuses that take a dataset out of public view (retired: on its `retired_at` day).
GONE = ("archived", "retired")
SHIFT = 1 << 20  # ordinals of the years 1 to 2800 fit below this

Value = float | int | None


@dataclass(frozen=True)
class Definition:
    key: str
    name: str
    definition: str
    goal: int
    unit: str  # count | share | days | score


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    definition: str
    goal: int
    unit: str
    value: Value
    by_agency: dict[str, Value] | None = None
    series: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "definition": self.definition,
            "goal": self.goal,
            "goal_name": GOALS[self.goal],
            "unit": self.unit,
            "value": self.value,
            "by_agency": self.by_agency,
            "series": self.series,
        }


@dataclass(frozen=True)
class Report:
    as_of: dt.date
    agency: str | None
    metrics: list[Metric]

    def get(self, key: str) -> Metric:
        for metric in self.metrics:
            if metric.key == key:
                return metric
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "agency": self.agency,
            "goals": {str(k): v for k, v in GOALS.items()},
            "metrics": [m.as_dict() for m in self.metrics],
        }


def traffic_definitions(kinds: Iterable[str] = KINDS) -> list[Definition]:
    words = {
        "page_view": ("Page views", "views of dataset pages on the portal"),
        "download": ("Downloads", "downloads of whole datasets (CSV, JSON, Parquet ...)"),
        "api_call": ("API calls", "calls to the SODA and native APIs that read a dataset"),
        "story_view": ("Data story views", "views of data stories"),
        "dashboard_view": ("Dashboard views", "views of dashboards"),
    }
    found = []
    for kind in kinds:
        name, what = words.get(kind, (kind.replace("_", " ").capitalize(), f"'{kind}' uses"))
        found.append(
            Definition(
                f"traffic.{kind}",
                name,
                f"Number of {what} of public datasets in the {WINDOW_DAYS} days up to the day "
                "asked about; the series gives each calendar month's total.",
                1,
                "count",
            )
        )
    return found


def dataset_definitions(since_year: int) -> list[Definition]:
    return [
        Definition(
            "datasets.public",
            "Public datasets",
            "Number of datasets open to everyone on the day: classified public, publicly "
            "listed, approved, created by then and not retired.",
            1,
            "count",
        ),
        Definition(
            "updates.last_30_days",
            "Updated in the last 30 days",
            "Share of public datasets whose data was last updated (a new version published, or "
            "first published) no more than 30 days before the day.",
            2,
            "share",
        ),
        Definition(
            "updates.on_schedule",
            "On schedule",
            "Share of public datasets with an update schedule whose freshness is 'fresh' or "
            "'due' (not overdue or stale) on the day. Datasets with no schedule, updated as "
            "needed or never updated are left out.",
            2,
            "share",
        ),
        Definition(
            "updates.not_in_last_year",
            "Not updated in the last year",
            "Share of public datasets whose data was last updated more than 365 days before "
            "the day.",
            2,
            "share",
        ),
        Definition(
            f"updates.not_since_{since_year}",
            f"Not updated since {since_year}",
            f"Share of public datasets whose data was last updated in {since_year} or before.",
            2,
            "share",
        ),
        Definition(
            "updates.median_days_late",
            "Median days late",
            "Median number of days past their due date of the public datasets that are "
            "overdue or stale on the day.",
            2,
            "days",
        ),
        Definition(
            "updates.automated",
            "Updated automatically",
            "Share of public datasets whose current version on the day was published by an "
            "automated feed or pushed through the SODA write API.",
            2,
            "share",
        ),
        Definition(
            "metadata.no_agency",
            "Without agency attribution",
            "Share of public datasets that name no publishing agency (today's metadata: "
            "attribution keeps no history).",
            2,
            "share",
        ),
        Definition(
            "metadata.quality_mean",
            "Metadata completeness",
            "Mean metadata quality score (0 to 100) of public datasets, with the day's "
            "freshness; metadata keeps no history, so a past day is scored on today's metadata.",
            2,
            "score",
        ),
        Definition(
            "metadata.required_complete",
            "Required metadata complete",
            "Share of public datasets with all the metadata the handbook requires: "
            "description, category, tags, agency, contact, licence and update frequency "
            "(today's metadata).",
            2,
            "share",
        ),
        Definition(
            "disaggregation.race",
            "Broken down by race",
            "Share of public datasets declaring a breakdown by race (today's metadata).",
            2,
            "share",
        ),
        Definition(
            "disaggregation.ethnicity",
            "Broken down by ethnicity",
            "Share of public datasets declaring a breakdown by ethnicity (today's metadata).",
            2,
            "share",
        ),
        Definition(
            "disaggregation.gender",
            "Broken down by sex or gender",
            "Share of public datasets declaring a breakdown by sex or gender identity "
            "(today's metadata).",
            2,
            "share",
        ),
        Definition(
            "disaggregation.intersection",
            "Broken down by intersections",
            "Share of public datasets declaring two or more of race, ethnicity, sex and "
            "gender identity, so the groups can be crossed (today's metadata).",
            2,
            "share",
        ),
    ]


SUGGESTION_DEFINITIONS = [
    Definition(
        "suggestions.received",
        "Suggestions received",
        f"Number of suggestions for new data received in the {WINDOW_DAYS} days up to the "
        "day; the series gives each calendar month's number.",
        1,
        "count",
    ),
    Definition(
        "suggestions.published",
        "Suggestions published",
        "Share of the suggestions received by the day that had been published as a dataset "
        "by then.",
        1,
        "share",
    ),
    Definition(
        "suggestions.declined",
        "Suggestions declined",
        "Share of the suggestions received by the day that had been declined by then.",
        1,
        "share",
    ),
    Definition(
        "suggestions.open",
        "Suggestions open",
        "Number of suggestions received, under review or planned on the day.",
        1,
        "count",
    ),
]

REQUEST_DEFINITION = Definition(
    "requests.days_to_fulfil",
    "Days to fulfil a data request",
    "Median days from submission to completion of the interagency data requests completed "
    "by the day; by agency holding the data, and by month of completion.",
    3,
    "days",
)


def definitions(since_year: int = DEFAULT_SINCE_YEAR) -> list[Definition]:
    """Every metric this module computes (traffic kinds beyond the usual three are added
    when the usage counts hold them)."""
    return [
        *traffic_definitions(),
        *dataset_definitions(since_year),
        *SUGGESTION_DEFINITIONS,
        REQUEST_DEFINITION,
    ]


# Reading the catalog -------------------------------------------------------------------------


def _day_text(session: Session, column: Any) -> Any:
    """A timestamp column as 'YYYY-MM-DD' (UTC) text: parsing text is many times faster than
    letting the driver build datetimes for 100,000 rows."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(cast(column, String), 1, 10)


def _month_text(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(cast(column, String), 1, 7)


_ORDINALS: dict[str, int] = {}


def _ordinal(text: str | None) -> int | None:
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


def _index_of(sorted_ids: np.ndarray, order: np.ndarray, wanted: np.ndarray) -> np.ndarray:
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
        _day_text(session, Dataset.created_at),
        _day_text(session, Dataset.retired_at),
        _day_text(session, Dataset.data_updated_at),
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
    catalog = _catalog_key(session)
    signature = tuple(fetch(session, select(func.count(), func.max(Version.id)))[0])
    cached = _VERSIONS.get(catalog)
    if cached is not None and cached[0] == signature:
        return cached[1], cached[2], cached[3]
    rows = fetch(
        session,
        select(Version.dataset_id, _day_text(session, Version.created_at), Version.source),
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
    index = _index_of(sorted_ids, order, dataset_ids)
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

# frequency -> (last update * SHIFT + day) -> (status index, days late): a whole catalog has
# few distinct pairs, and a server asked again evaluates none.
_EVALUATIONS: dict[str | None, dict[int, tuple[int, int]]] = {}


def _evaluate_lasts(frequency: str | None, lasts: list[int], day: int) -> list[tuple[int, int]]:
    """The freshness on `day` of datasets expected at `frequency`, last updated on `lasts`."""
    cache = _EVALUATIONS.setdefault(frequency, {})
    if len(cache) > 2_000_000:  # a long-running server: keep memory bounded
        cache.clear()
    found = []
    for last in lasts:
        key = last * SHIFT + day
        result = cache.get(key)
        if result is None:
            evaluation = evaluate(frequency, dt.date.fromordinal(last), dt.date.fromordinal(day))
            result = cache[key] = (STATUSES.index(evaluation.status), evaluation.days_late)
        found.append(result)
    return found


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
    status = np.zeros(n, dtype=np.int8)
    days_late = np.zeros(n, dtype=np.int32)
    chosen = np.flatnonzero(public)
    if len(chosen):
        combined = data.frequency[chosen].astype(np.int64) * SHIFT + last[chosen]
        unique, inverse = np.unique(combined, return_inverse=True)
        groups = unique // SHIFT
        bounds = np.flatnonzero(np.diff(groups)) + 1
        found: list[tuple[int, int]] = []
        for part in np.split(unique, bounds):
            lasts = (part % SHIFT).tolist()
            found.extend(_evaluate_lasts(data.frequencies[int(part[0] // SHIFT)], lasts, day))
        results = np.array(found, dtype=np.int64).reshape(-1, 2)
        status[chosen] = results[inverse, 0]
        days_late[chosen] = results[inverse, 1]
    return DayState(day, public, last, status, days_late, automated)


# Aggregating -------------------------------------------------------------------------------


def _round(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(float(value), places)


class Scope:
    """Which datasets count: all public ones, or one agency's."""

    def __init__(self, data: Datasets, agency: str | None) -> None:
        self.data = data
        self.agency = agency
        self.codes = data.agency_codes
        if agency is None:
            self.mask = np.ones(len(data), dtype=bool)
        else:
            self.mask = data.agency == self.codes.index(agency)

    def share(self, numerator: np.ndarray, denominator: np.ndarray) -> Value:
        den = int(np.count_nonzero(denominator & self.mask))
        if not den:
            return None
        return _round(np.count_nonzero(numerator & denominator & self.mask) / den)

    def count(self, mask: np.ndarray) -> int:
        return int(np.count_nonzero(mask & self.mask))

    def shares_by_agency(self, numerator: np.ndarray, denominator: np.ndarray) -> dict[str, Value]:
        size = len(self.codes)
        den = np.bincount(self.data.agency[denominator & self.mask], minlength=size)
        num = np.bincount(self.data.agency[numerator & denominator & self.mask], minlength=size)
        return {self.codes[i]: _round(num[i] / den[i]) for i in range(size) if den[i] and num.size}

    def counts_by_agency(self, mask: np.ndarray) -> dict[str, Value]:
        counts = np.bincount(self.data.agency[mask & self.mask], minlength=len(self.codes))
        return {self.codes[i]: int(c) for i, c in enumerate(counts) if c}

    def medians_by_agency(self, values: np.ndarray, mask: np.ndarray) -> dict[str, Value]:
        chosen = mask & self.mask
        agencies = self.data.agency[chosen]
        picked = values[chosen]
        order = np.argsort(agencies, kind="stable")
        agencies, picked = agencies[order], picked[order]
        bounds = np.flatnonzero(np.diff(agencies)) + 1
        found = {}
        for part_agencies, part in zip(
            np.split(agencies, bounds), np.split(picked, bounds), strict=True
        ):
            if len(part):
                found[self.codes[int(part_agencies[0])]] = _round(float(np.median(part)), 1)
        return found

    def median(self, values: np.ndarray, mask: np.ndarray) -> Value:
        picked = values[mask & self.mask]
        return _round(float(np.median(picked)), 1) if len(picked) else None


def month_ends(as_of: dt.date, months: int = MONTHS) -> list[tuple[str, dt.date]]:
    """The last `months` calendar months up to `as_of`, each with the day it is measured on:
    its last day, or `as_of` for the month still running."""
    found = []
    first = as_of.replace(day=1)
    for back in range(months):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        start = dt.date(year, month + 1, 1)
        following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        found.append((start.strftime("%Y-%m"), min(as_of, following - dt.timedelta(days=1))))
    return found[::-1]


StateMetric = Callable[[Scope, DayState], tuple[np.ndarray, np.ndarray] | np.ndarray]


def _state_metrics(data: Datasets, since_year: int) -> dict[str, Any]:
    """Each dataset-state metric as a function of a day's state: (numerator, denominator)
    for shares, a mask for counts, ('median', values, mask) for medians."""
    cutoff = dt.date(since_year + 1, 1, 1).toordinal()
    race, ethnicity = data.dims & 1 > 0, data.dims & 2 > 0
    gender = data.dims & 12 > 0
    crossed = np.array([bin(int(b)).count("1") >= 2 for b in range(16)])[data.dims]
    late = np.isin
    return {
        "datasets.public": lambda s: ("count", s.public),
        "updates.last_30_days": lambda s: ("share", s.day - s.last <= WINDOW_DAYS, s.public),
        "updates.on_schedule": lambda s: (
            "share",
            late(s.status, ON_TIME),
            s.public & late(s.status, SCHEDULED),
        ),
        "updates.not_in_last_year": lambda s: ("share", s.day - s.last > 365, s.public),
        f"updates.not_since_{since_year}": lambda s: ("share", s.last < cutoff, s.public),
        "updates.median_days_late": lambda s: (
            "median",
            s.days_late,
            s.public & late(s.status, LATE),
        ),
        "updates.automated": lambda s: ("share", s.automated, s.public),
        "metadata.no_agency": lambda s: ("share", data.no_agency, s.public),
        "disaggregation.race": lambda s: ("share", race, s.public),
        "disaggregation.ethnicity": lambda s: ("share", ethnicity, s.public),
        "disaggregation.gender": lambda s: ("share", gender, s.public),
        "disaggregation.intersection": lambda s: ("share", crossed, s.public),
    }


def _aggregate(scope: Scope, spec: tuple, by_agency: bool) -> tuple[Value, dict | None]:
    kind = spec[0]
    if kind == "count":
        value: Value = scope.count(spec[1])
        return value, scope.counts_by_agency(spec[1]) if by_agency else None
    if kind == "share":
        value = scope.share(spec[1], spec[2])
        return value, scope.shares_by_agency(spec[1], spec[2]) if by_agency else None
    value = scope.median(spec[1], spec[2])
    return value, scope.medians_by_agency(spec[1], spec[2]) if by_agency else None


# Metadata quality --------------------------------------------------------------------------

_QUALITY: dict[tuple, tuple[int, bool]] = {}


@dataclass(frozen=True)
class _Columns:
    description: str


_DESCRIBED, _UNDESCRIBED = _Columns("described"), _Columns("")


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
    )
    catalog = _catalog_key(session)
    cached = _DICTIONARIES.get(catalog)
    if cached is not None and cached[0] == signature:
        return cached[1]
    described = func.count(
        case((func.length(func.trim(func.coalesce(Column.description, ""))) > 0, 1))
    )
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for dataset_id, total, with_text in connection.execute(
        select(Column.dataset_id, func.count(), described).group_by(Column.dataset_id)
    ):
        found[dataset_id][0] = int(total)
        found[dataset_id][1] = int(with_text or 0)
    for dataset_id, tags in connection.execute(
        select(DatasetTag.dataset_id, func.count()).group_by(DatasetTag.dataset_id)
    ):
        found[dataset_id][2] = int(tags)
    counts = {k: (v[0], v[1], v[2]) for k, v in found.items()}
    if len(_DICTIONARIES) > 16:
        _DICTIONARIES.clear()
    _DICTIONARIES[catalog] = (signature, counts)
    return counts


def _json_list(text: str | None) -> list:
    if not text or len(text) <= 2:
        return []
    found = json.loads(text)
    return found if isinstance(found, list) else []


QUALITY_COLUMNS = [
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


def _quality_metadata(session: Session, ids: list[str], everything: bool) -> dict[str, tuple]:
    """Dataset id -> the metadata the quality score reads, for `ids` (or all datasets)."""
    if everything:
        return {row[0]: row for row in fetch(session, select(*QUALITY_COLUMNS))}
    found = {}
    for start in range(0, len(ids), 500):  # SQLite takes at most 999 parameters
        chunk = ids[start : start + 500]
        query = select(*QUALITY_COLUMNS).where(Dataset.id.in_(chunk))
        found.update({row[0]: row for row in fetch(session, query)})
    return found


def quality_scores_of(
    session: Session,
    data: Datasets,
    chosen: np.ndarray,
    counts: dict[str, tuple[int, int, int]],
    state: DayState,
) -> tuple[np.ndarray, np.ndarray]:
    """The quality score and required-metadata flag of each chosen dataset on the day.

    Scores are remembered by dataset, the time its metadata last changed, its dictionary and
    tag counts and its freshness on the day: a server asked again reads and scores only the
    datasets that changed. `quality.score` reads a dataset's attributes only, so each is
    handed a light stand-in built from the columns read.
    """
    scores = np.zeros(len(data), dtype=np.int32)
    required = np.zeros(len(data), dtype=bool)
    as_of = dt.date.fromordinal(state.day)
    stamps = data.extra.get("metadata_stamp") or [None] * len(data)
    picked = np.flatnonzero(chosen).tolist()
    keys: dict[int, tuple] = {}
    missing: list[int] = []
    for i in picked:
        did = data.ids[i]
        key = (
            did,
            stamps[i],
            counts.get(did, (0, 0, 0)),
            data.frequencies[int(data.frequency[i])],
            int(state.last[i]),
            bool(data.no_agency[i]),
            state.day,
        )
        keys[i] = key
        found = _QUALITY.get(key)
        if found is None:
            missing.append(i)
        else:
            scores[i], required[i] = found
    if not missing:
        return scores, required
    metadata = _quality_metadata(
        session, [data.ids[i] for i in missing], everything=len(missing) > 5_000
    )
    for i in missing:
        row = metadata.get(data.ids[i])
        if row is None:  # removed while the metrics ran
            continue
        key = keys[i]
        ncols, ndescribed, ntags = key[2]
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
            columns=[_DESCRIBED] * ndescribed + [_UNDESCRIBED] * (ncols - ndescribed),
            tags=[SimpleNamespace(tag=str(t)) for t in range(ntags)],
            update_frequency=key[3],
            data_updated_at=dt.date.fromordinal(key[4]),
            created_at=dt.date.fromordinal(key[4]),
            agency_id=None if key[5] else 1,
            agency=None,
        )
        result = quality_scores.score(stand_in, as_of)  # type: ignore[arg-type]
        found = (result.total, result.required_metadata_complete)
        if len(_QUALITY) > 1_000_000:
            _QUALITY.clear()
        _QUALITY[key] = found
        scores[i], required[i] = found
    return scores, required


# Usage ------------------------------------------------------------------------------------


def _usage_query(session: Session, first: dt.date, last: dt.date, by_month: bool) -> Any:
    """Use per dataset and kind (and month) from `first` to `last`, both included."""
    if session.get_bind().dialect.name == "sqlite" and (last - first).days >= 14:
        # SQLite answers faster reading the whole table than following the primary key's
        # index to each row of a range (measured: about twice for 30 days of a year); for a
        # few days, the index wins.
        month = ", substr(day, 1, 7)" if by_month else ""
        return text(
            f"SELECT dataset_id, kind{month}, sum(count) FROM usage_counts NOT INDEXED "
            f"WHERE day >= :first AND day <= :last GROUP BY dataset_id, kind{month}"
        ).bindparams(first=first.isoformat(), last=last.isoformat())
    month_of = [_month_text(session, UsageCount.day)] if by_month else []
    return (
        select(UsageCount.dataset_id, UsageCount.kind, *month_of, func.sum(UsageCount.count))
        .where(UsageCount.day >= first, UsageCount.day <= last)
        .group_by(UsageCount.dataset_id, UsageCount.kind, *month_of)
    )


@dataclass(frozen=True)
class UsageCells:
    """Use summed per dataset and kind over some days: three parallel arrays."""

    ids: np.ndarray
    kinds: np.ndarray
    totals: np.ndarray


def _cells(rows: Sequence[tuple[str, str, Any]]) -> UsageCells:
    if not rows:
        return UsageCells(np.array([], dtype=str), np.array([], dtype=str), np.zeros(0, np.int64))
    ids, kinds, totals = zip(*rows, strict=True)
    return UsageCells(
        np.array(ids, dtype=str), np.array(kinds, dtype=str), np.array(totals, dtype=np.int64)
    )


def usage_cells(session: Session, first: dt.date, last: dt.date) -> UsageCells:
    """Use per dataset and kind from `first` to `last` (both included)."""
    return _cells(fetch(session, _usage_query(session, first, last, False)))


# Whole months that can no longer change are summed once: kept in memory per process and,
# given a folder, on disk, keyed by catalog and month, with the month's row count (read
# from the primary key's index alone) to tell when a backfill changed the month since.
_MONTHS: dict[tuple[str, str], tuple[int, UsageCells]] = {}
SETTLED_DAYS = 3  # counts are flushed within seconds; three days leaves room for a backlog


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(month + "-01")
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, following - dt.timedelta(days=1)


def _catalog_key(session: Session) -> str:
    # The first audit entry's hash tells apart two catalogs that had the same address.
    first_entry = session.scalar(select(AuditEvent.entry_hash).order_by(AuditEvent.id).limit(1))
    url = session.get_bind().url.render_as_string(hide_password=True)
    return f"{url}#{first_entry}"


def _month_file(cache_dir: Path, catalog: str, month: str) -> Path:
    digest = hashlib.sha256(catalog.encode()).hexdigest()[:16]
    return cache_dir / f"usage-{digest}-{month}.npz"


def _load_month(path: Path, rows: int) -> UsageCells | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["rows"]) != rows:
                return None
            return UsageCells(stored["ids"], stored["kinds"], stored["totals"])
    except (OSError, ValueError, KeyError):
        return None


def _save_month(path: Path, rows: int, cells: UsageCells) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp.npz")
        np.savez(
            temp,
            rows=np.array(rows),
            ids=cells.ids,
            kinds=cells.kinds,
            totals=cells.totals,
        )
        temp.replace(path)
    except OSError:  # a cache that cannot be written is only slower next time
        pass


def monthly_cells(
    session: Session, months: Sequence[str], as_of: dt.date, cache_dir: Path | None = None
) -> dict[str, UsageCells]:
    """Use per dataset and kind in each month, up to `as_of` in the month it falls in."""
    catalog = _catalog_key(session)
    settled = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=SETTLED_DAYS)
    found: dict[str, UsageCells] = {}
    missing: dict[str, int] = {}
    for month in months:
        start, end = _month_bounds(month)
        if end > as_of or end > settled:
            found[month] = usage_cells(session, start, min(end, as_of))
            continue
        rows = int(
            session.scalar(
                select(func.count()).where(UsageCount.day >= start, UsageCount.day <= end)
            )
            or 0
        )
        cached = _MONTHS.get((catalog, month))
        if cached is not None and cached[0] == rows:
            found[month] = cached[1]
            continue
        stored = _load_month(_month_file(cache_dir, catalog, month), rows) if cache_dir else None
        if stored is not None:
            _MONTHS[(catalog, month)] = (rows, stored)
            found[month] = stored
        else:
            missing[month] = rows
    if missing:
        first, last = _month_bounds(min(missing))[0], _month_bounds(max(missing))[1]
        by_month: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)
        query = _usage_query(session, first, last, by_month=True)
        for dataset_id, kind, month, total in fetch(session, query):
            by_month[month].append((dataset_id, kind, total))
        for month, rows in missing.items():
            cells = _cells(by_month.get(month, []))
            if len(_MONTHS) > 240:
                _MONTHS.clear()
            _MONTHS[(catalog, month)] = (rows, cells)
            if cache_dir is not None:
                _save_month(_month_file(cache_dir, catalog, month), rows, cells)
            found[month] = cells
    return found


class UsageMap:
    """Which counted datasets are public now, and their agency."""

    def __init__(self, data: Datasets) -> None:
        ids = np.array(data.ids, dtype=str)
        self.order = np.argsort(ids, kind="stable")
        self.sorted_ids = ids[self.order]
        self.data = data
        self._agencies: dict[int, np.ndarray] = {}

    def agencies(self, cells: UsageCells) -> np.ndarray:
        """Each cell's agency index, or -1 when its dataset is not public (or is gone)."""
        found = self._agencies.get(id(cells))
        if found is None:
            index = _index_of(self.sorted_ids, self.order, cells.ids)
            safe = np.where(index >= 0, index, 0)
            if len(self.data):
                public = (index >= 0) & self.data.listed[safe]
                found = np.where(public, self.data.agency[safe], -1)
            else:
                found = np.full(len(index), -1, dtype=np.int64)
            self._agencies[id(cells)] = found
        return found

    def totals(self, cells: UsageCells, kind: str) -> np.ndarray:
        """Use of `kind` per agency index."""
        agencies = self.agencies(cells)
        chosen = (agencies >= 0) & (cells.kinds == kind)
        return np.bincount(
            agencies[chosen], weights=cells.totals[chosen], minlength=len(self.data.agency_codes)
        ).astype(np.int64)


def _traffic_metrics(
    session: Session,
    data: Datasets,
    scope: Scope,
    as_of: dt.date,
    ends: list[tuple[str, dt.date]],
    cache_dir: Path | None,
) -> list[Metric]:
    mapping = UsageMap(data)
    months = monthly_cells(session, [m for m, _ in ends], as_of, cache_dir)
    recent = usage_cells(session, as_of - dt.timedelta(days=WINDOW_DAYS - 1), as_of)
    found = {str(k) for cells in (recent, *months.values()) for k in np.unique(cells.kinds)}
    kinds = sorted(found | set(KINDS), key=_kind_order)
    codes = data.agency_codes
    chosen = np.ones(len(codes), dtype=bool)
    if scope.agency is not None:
        chosen = np.array([code == scope.agency for code in codes])
    metrics = []
    for definition, kind in zip(traffic_definitions(kinds), kinds, strict=True):
        per_agency = mapping.totals(recent, kind)
        by_agency = {
            codes[i]: int(per_agency[i]) for i in np.flatnonzero(chosen & (per_agency > 0))
        }
        if scope.agency is not None:
            by_agency = {scope.agency: by_agency.get(scope.agency, 0)}
        series = [
            {"month": m, "value": int(mapping.totals(months[m], kind)[chosen].sum())}
            for m, _ in ends
        ]
        metrics.append(
            Metric(
                **definition.__dict__,
                value=int(per_agency[chosen].sum()),
                by_agency=by_agency,
                series=series,
            )
        )
    return metrics


# Suggestions -------------------------------------------------------------------------------


def _suggestion_history(session: Session) -> tuple[list[tuple[int, str, int]], dict]:
    codes = dict(session.execute(select(Agency.id, Agency.code)).all())
    made = [
        (sid, codes.get(agency_id, UNASSIGNED), _ordinal(day))
        for sid, agency_id, day in session.execute(
            select(Suggestion.id, Suggestion.agency_id, _day_text(session, Suggestion.created_at))
        )
    ]
    events: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for sid, status, day in session.execute(
        select(
            SuggestionEvent.suggestion_id,
            SuggestionEvent.status,
            _day_text(session, SuggestionEvent.occurred_at),
        ).order_by(SuggestionEvent.occurred_at, SuggestionEvent.id)
    ):
        events[sid].append((_ordinal(day), status))
    return made, events


def _status_on(events: list[tuple[int, str]], day: int) -> str:
    status = suggestion_rules.RECEIVED
    for when, to in events:
        if when > day:
            break
        status = to
    return status


def _suggestion_metrics(
    session: Session, as_of: dt.date, ends: list[tuple[str, dt.date]], agency: str | None
) -> list[Metric]:
    made, events = _suggestion_history(session)
    if agency is not None:
        made = [m for m in made if m[1] == agency]

    def on(day: dt.date) -> dict[str, Any]:
        ordinal = day.toordinal()
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        total: dict[str, int] = defaultdict(int)
        for sid, code, created in made:
            if created > ordinal:
                continue
            status = _status_on(events.get(sid, []), ordinal)
            for key in (code, "*"):
                counts[key][status] += 1
                total[key] += 1
                if ordinal - created < WINDOW_DAYS:
                    counts[key]["_recent"] += 1
        return {"counts": counts, "total": total}

    def pick(result: dict, what: str) -> dict[str, Value]:
        counts, total = result["counts"], result["total"]
        found: dict[str, Value] = {}
        for key in total:
            if what == "received":
                found[key] = counts[key]["_recent"]
            elif what == "open":
                found[key] = sum(counts[key][s] for s in suggestion_rules.OPEN_STATUSES)
            else:
                found[key] = _round(counts[key][what] / total[key]) if total[key] else None
        return found

    now = on(as_of)
    monthly_received: dict[str, int] = defaultdict(int)
    for _, _, created in made:
        monthly_received[dt.date.fromordinal(created).strftime("%Y-%m")] += 1
    past = {month: on(day) for month, day in ends}
    metrics = []
    for definition, what in zip(
        SUGGESTION_DEFINITIONS,
        ("received", suggestion_rules.PUBLISHED, suggestion_rules.DECLINED, "open"),
        strict=True,
    ):
        values = pick(now, what)
        empty: Value = 0 if definition.unit == "count" else None
        if what == "received":
            series = [{"month": m, "value": monthly_received.get(m, 0)} for m, _ in ends]
        else:
            series = [{"month": m, "value": pick(past[m], what).get("*", empty)} for m, _ in ends]
        metrics.append(
            Metric(
                **definition.__dict__,
                value=values.get("*", empty),
                by_agency={k: v for k, v in sorted(values.items()) if k != "*"},
                series=series,
            )
        )
    return metrics


def _request_metric(
    session: Session, as_of: dt.date, ends: list[tuple[str, dt.date]], agency: str | None
) -> Metric:
    found = request_metrics.time_to_fulfil(session, as_of)
    by_agency = {code: s["end_to_end"]["median"] for code, s in found["by_agency"].items()}
    if agency is not None:
        value = by_agency.get(agency)
        by_agency = {agency: value} if agency in by_agency else {}
        items = [f for f in request_metrics.fulfilments(session, as_of) if agency in f.agencies]
        by_month: dict[str, list[float]] = defaultdict(list)
        for item in items:
            by_month[item.completed_at.strftime("%Y-%m")].append(item.end_to_end)
        months = {m: _round(request_metrics.percentile(v, 50), 2) for m, v in by_month.items()}
    else:
        value = found["overall"]["end_to_end"]["median"]
        months = {m: s["end_to_end"]["median"] for m, s in found["by_month"].items()}
    return Metric(
        **REQUEST_DEFINITION.__dict__,
        value=value,
        by_agency=by_agency,
        series=[{"month": m, "value": months.get(m)} for m, _ in ends],
    )


# Putting it together -----------------------------------------------------------------------


def check_agency(session: Session, agency: str | None) -> str | None:
    if agency is None:
        return None
    code = agency.strip().upper()
    if session.scalar(select(Agency.id).where(Agency.code == code)) is None:
        raise InvalidInput(f"There is no agency with the code '{agency}'.", field="agency")
    return code


def compute(
    session: Session,
    as_of: dt.date | None = None,
    *,
    agency: str | None = None,
    since_year: int = DEFAULT_SINCE_YEAR,
    months: int = MONTHS,
    exclude: Sequence[str] = (),
    cache_dir: Path | None = None,
) -> Report:
    """Every plan metric as it stood at the end of `as_of` (today by default), for all
    public datasets or one agency's, with a monthly series of the last `months` months.

    `exclude` names datasets to leave out (the portal's own metric datasets); `cache_dir`
    is where settled months of usage are kept between runs."""
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    if not 1900 <= since_year <= as_of.year:
        raise InvalidInput(f"The year must be between 1900 and {as_of.year}.", field="since_year")
    agency = check_agency(session, agency)
    ends = month_ends(as_of, months)
    data = load_datasets(session, exclude)
    scope = Scope(data, agency)
    today = day_state(data, as_of.toordinal())
    past = {month: day_state(data, day.toordinal()) for month, day in ends[:-1]}
    past[ends[-1][0]] = today

    metrics: list[Metric] = []
    metrics.extend(_traffic_metrics(session, data, scope, as_of, ends, cache_dir))

    state_metrics = _state_metrics(data, since_year)
    by_key = {d.key: d for d in dataset_definitions(since_year)}
    for key, function in state_metrics.items():
        value, by_agency_values = _aggregate(scope, function(today), by_agency=True)
        series = [
            {"month": m, "value": _aggregate(scope, function(past[m]), by_agency=False)[0]}
            for m, _ in ends
        ]
        metrics.append(
            Metric(**by_key[key].__dict__, value=value, by_agency=by_agency_values, series=series)
        )

    chosen = today.public & scope.mask
    counts = dictionary_counts(session)
    scores, required = quality_scores_of(session, data, chosen, counts, today)
    quality_value = _round(float(scores[chosen].mean()), 1) if np.count_nonzero(chosen) else None
    by_agency_scores: dict[str, Value] = {}
    for i, code in enumerate(data.agency_codes):
        mask = chosen & (data.agency == i)
        if np.count_nonzero(mask):
            by_agency_scores[code] = _round(float(scores[mask].mean()), 1)
    metrics.append(
        Metric(
            **by_key["metadata.quality_mean"].__dict__,
            value=quality_value,
            by_agency=by_agency_scores,
        )
    )
    metrics.append(
        Metric(
            **by_key["metadata.required_complete"].__dict__,
            value=scope.share(required, today.public),
            by_agency=scope.shares_by_agency(required, today.public),
        )
    )
    metrics.extend(_suggestion_metrics(session, as_of, ends, agency))
    metrics.append(_request_metric(session, as_of, ends, agency))
    order = {d.key: i for i, d in enumerate(definitions(since_year))}
    metrics.sort(key=lambda m: (order.get(m.key, len(order)), m.key))
    return Report(as_of, agency, metrics)


def _kind_order(kind: str) -> tuple[int, str]:
    order = ("page_view", "download", "api_call")
    return (order.index(kind) if kind in order else len(order), kind)
