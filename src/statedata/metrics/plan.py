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
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.catalog.models import Agency
from statedata.catalog.sharing import Suggestion, SuggestionEvent
from statedata.errors import InvalidInput
from statedata.freshness import Freshness
from statedata.metrics.definitions import (
    DEFAULT_SINCE_YEAR,
    GOALS,
    MONTHS,
    REQUEST_DEFINITION,
    SUGGESTION_DEFINITIONS,
    WINDOW_DAYS,
    Definition,
    Metric,
    Report,
    Value,
    dataset_definitions,
    definitions,
    traffic_definitions,
)
from statedata.metrics.kinds import KINDS, STORY_KINDS
from statedata.metrics.snapshot import (
    NO_AGENCY,
    STATUSES,
    Datasets,
    DayState,
    day_state,
    day_text,
    dictionary_counts,
    fetch,
    is_automated,
    load_datasets,
    ordinal_of,
    quality_scores_of,
)
from statedata.metrics.traffic import AgencyUse, agency_use
from statedata.requests import metrics as request_metrics
from statedata.requests import suggestions as suggestion_rules

__all__ = [
    "DEFAULT_SINCE_YEAR",
    "GOALS",
    "MONTHS",
    "NO_AGENCY",
    "UNASSIGNED",
    "Datasets",
    "DayState",
    "Definition",
    "Metric",
    "Report",
    "Value",
    "compute",
    "day_state",
    "definitions",
    "dictionary_counts",
    "fetch",
    "is_automated",
    "load_datasets",
    "month_ends",
    "quality_scores_of",
]

UNASSIGNED = "(unassigned)"
LATE = (STATUSES.index(Freshness.OVERDUE), STATUSES.index(Freshness.STALE))
ON_TIME = (STATUSES.index(Freshness.FRESH), STATUSES.index(Freshness.DUE))
SCHEDULED = (*ON_TIME, *LATE)


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


# Suggestions -------------------------------------------------------------------------------


def _suggestion_history(session: Session) -> tuple[list[tuple[int, str, int]], dict]:
    codes = dict(session.execute(select(Agency.id, Agency.code)).all())
    made = [
        (sid, codes.get(agency_id, UNASSIGNED), ordinal_of(day))
        for sid, agency_id, day in session.execute(
            select(Suggestion.id, Suggestion.agency_id, day_text(session, Suggestion.created_at))
        )
    ]
    events: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for sid, status, day in session.execute(
        select(
            SuggestionEvent.suggestion_id,
            SuggestionEvent.status,
            day_text(session, SuggestionEvent.occurred_at),
        ).order_by(SuggestionEvent.occurred_at, SuggestionEvent.id)
    ):
        events[sid].append((ordinal_of(day), status))
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


def _traffic_metrics(
    session: Session,
    data: Datasets,
    scope: Scope,
    as_of: dt.date,
    ends: list[tuple[str, dt.date]],
    exclude: Sequence[str],
) -> list[Metric]:
    months, recent = agency_use(
        session,
        data.agency_codes,
        [m for m, _ in ends],
        as_of - dt.timedelta(days=WINDOW_DAYS - 1),
        as_of,
        exclude,
    )
    found = set(recent.by_kind).union(*(use.by_kind for use in months.values()))
    kinds = sorted(found | set(KINDS) | set(STORY_KINDS), key=_kind_order)
    codes = data.agency_codes
    chosen = np.ones(len(codes), dtype=bool)
    if scope.agency is not None:
        chosen = np.array([code == scope.agency for code in codes])
    metrics = []
    for definition, kind in zip(traffic_definitions(kinds), kinds, strict=True):
        if kind in STORY_KINDS:
            # Stories belong to no agency in the catalog: their views are counted whole, and
            # not at all for one agency.
            metrics.append(_story_metric(definition, kind, months, recent, ends, scope))
            continue
        per_agency = recent.of(kind)
        by_agency = {
            codes[i]: int(per_agency[i]) for i in np.flatnonzero(chosen & (per_agency > 0))
        }
        if scope.agency is not None:
            by_agency = {scope.agency: by_agency.get(scope.agency, 0)}
        series = [{"month": m, "value": int(months[m].of(kind)[chosen].sum())} for m, _ in ends]
        metrics.append(
            Metric(
                **definition.__dict__,
                value=int(per_agency[chosen].sum()),
                by_agency=by_agency,
                series=series,
            )
        )
    return metrics


def _story_metric(
    definition: Definition,
    kind: str,
    months: dict[str, AgencyUse],
    recent: AgencyUse,
    ends: list[tuple[str, dt.date]],
    scope: Scope,
) -> Metric:
    whole = scope.agency is None
    return Metric(
        **definition.__dict__,
        value=int(recent.of(kind).sum()) if whole else None,
        by_agency={},
        series=[
            {"month": m, "value": int(months[m].of(kind).sum()) if whole else None} for m, _ in ends
        ],
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
    keep_in: Path | None = None,
) -> Report:
    """Every plan metric as it stood at the end of `as_of` (today by default), for all
    public datasets or one agency's, with a monthly series of the last `months` months.

    `exclude` names datasets to leave out (the portal's own metric datasets); `keep_in` is
    a folder where the catalog's reading is kept for the next process (`load_datasets`)."""
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    if not 1900 <= since_year <= as_of.year:
        raise InvalidInput(f"The year must be between 1900 and {as_of.year}.", field="since_year")
    agency = check_agency(session, agency)
    ends = month_ends(as_of, months)
    data = load_datasets(session, exclude, keep_in=keep_in)
    scope = Scope(data, agency)
    today = day_state(data, as_of.toordinal())
    past = {month: day_state(data, day.toordinal()) for month, day in ends[:-1]}
    past[ends[-1][0]] = today

    metrics: list[Metric] = []
    metrics.extend(_traffic_metrics(session, data, scope, as_of, ends, exclude))

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
    scores, required = quality_scores_of(session, data, chosen, None, today)
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
