"""The high-value priority list: what to publish or improve next.

Each dataset earns points for what makes data high-value under C.G.S. § 4-67o(3) (criteria A
to H, as its agency declared them), for being used, and for being asked for (suggestions and
interagency data requests that name it); a dataset that is late or poorly described earns
more, because improving it pays. Open suggestions that no dataset answers yet are ranked
beside them by their votes, as things to publish. Every score comes with its reasons in plain
words.

| what | points |
|---|---|
| each high-value criterion declared | 10 (at most 80) |
| use in the last 90 days (API calls, downloads, page views) | 5 per tenfold, at most 20 |
| each suggestion naming it, and each of its votes | 5, and 1 a vote (at most 20) |
| each interagency data request naming it | 10 (at most 30) |
| overdue or stale | 10 |
| metadata quality below 60 | 10 |
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from statedata.catalog.models import UsageCount
from statedata.catalog.sharing import DataRequest, Suggestion
from statedata.catalog.vocab import HIGH_VALUE_CRITERIA, Status
from statedata.freshness.status import Freshness

USAGE_DAYS = 90
OPEN_SUGGESTION = ("received", "under_review", "planned")


@dataclass
class Priority:
    kind: str  # dataset | suggestion
    id: str
    title: str
    agency: str | None
    score: int
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "agency": self.agency,
            "score": self.score,
            "reasons": self.reasons,
        }


def _usage(session: Session, as_of: dt.date) -> Counter[str]:
    from statedata.metrics.snapshot import fetch

    since = as_of - dt.timedelta(days=USAGE_DAYS)
    totals = fetch(
        session,
        select(UsageCount.dataset_id, func.sum(UsageCount.count))
        .where(UsageCount.day > since, UsageCount.day <= as_of)
        .group_by(UsageCount.dataset_id),
    )
    return Counter({dataset_id: int(total or 0) for dataset_id, total in totals})


def _requested(session: Session) -> Counter[str]:
    named: Counter[str] = Counter()
    for elements in session.scalars(select(DataRequest.data_elements)):
        for dataset_id in {e.get("dataset_id") for e in elements or [] if e.get("dataset_id")}:
            named[dataset_id] += 1
    return named


def _criteria(text: str | None) -> list[str]:
    """The high-value criteria declared, from the list's text (most are empty)."""
    if not text or text in ("[]", "null"):
        return []
    return [c for c in json.loads(text) if c in HIGH_VALUE_CRITERIA]


def ranked(
    session: Session,
    as_of: dt.date,
    agency_code: str | None = None,
    visible: set[str] | None = None,
) -> list[Priority]:
    """Datasets and open suggestions, highest priority first. `visible` limits the datasets
    to those the caller may see (None: all, for the operator).

    The datasets come from the plan metrics' reading of the catalog (metrics/snapshot.py):
    freshness from each one's last data update, as `evaluate` has it, and the quality score
    from the points kept in the catalog, as `quality.score` gives it, for every dataset at
    once (a test holds both to the dataset-by-dataset answers). Loading 100,000 datasets with
    their columns and tags to score each took nearly two minutes."""
    from statedata.metrics import snapshot  # the metrics build on freshness, not the reverse

    usage = _usage(session, as_of)
    requested = _requested(session)
    suggestions = session.scalars(select(Suggestion).options(selectinload(Suggestion.agency))).all()
    suggested: Counter[str] = Counter()
    votes: Counter[str] = Counter()
    for suggestion in suggestions:
        if suggestion.dataset_id:
            suggested[suggestion.dataset_id] += 1
            votes[suggestion.dataset_id] += suggestion.vote_count
    data = snapshot.load_datasets(session, with_metadata=True)
    alive = np.array([s != Status.RETIRED.value for s in data.extra["status"]], dtype=bool)
    day = as_of.toordinal()
    status, days_late, _ = snapshot.evaluate_groups(
        data.frequency, data.frequencies, data.fallback, day
    )
    state = snapshot.DayState(
        day, alive, data.fallback, status, days_late, np.zeros(len(data), dtype=bool)
    )
    quality, _ = snapshot.quality_scores_of(session, data, alive, None, state)
    late = {snapshot.STATUSES.index(s) for s in (Freshness.OVERDUE, Freshness.STALE)}
    titles = data.extra["title"]
    found: list[Priority] = []
    for i in np.flatnonzero(alive).tolist():
        dataset_id = data.ids[i]
        code = None if data.no_agency[i] else data.agency_codes[int(data.agency[i])]
        if agency_code and code != agency_code:
            continue
        if visible is not None and dataset_id not in visible:
            continue
        points = 0
        reasons = []
        criteria = _criteria(data.extra["high_value_criteria"][i])
        if criteria:
            points += min(80, 10 * len(criteria))
            reasons.append(f"high-value under criteria {', '.join(criteria)}")
        used = usage[dataset_id]
        if used:
            points += min(20, round(5 * math.log10(1 + used)))
            reasons.append(f"used {used:,} times in the last {USAGE_DAYS} days")
        if suggested[dataset_id]:
            points += min(20, 5 * suggested[dataset_id] + votes[dataset_id])
            reasons.append(
                f"asked for in {suggested[dataset_id]} suggestion(s) with "
                f"{votes[dataset_id]} vote(s)"
            )
        if requested[dataset_id]:
            points += min(30, 10 * requested[dataset_id])
            reasons.append(f"named in {requested[dataset_id]} interagency data request(s)")
        if int(status[i]) in late:
            points += 10
            reasons.append(f"{int(days_late[i])} days overdue: update it")
        if quality[i] < 60:
            points += 10
            reasons.append(f"metadata quality {int(quality[i])}/100: describe it better")
        found.append(Priority("dataset", dataset_id, titles[i], code, points, reasons))
    for suggestion in suggestions:
        code = suggestion.agency.code if suggestion.agency else None
        if suggestion.status not in OPEN_SUGGESTION or suggestion.dataset_id:
            continue
        if agency_code and code != agency_code:
            continue
        points = min(40, 10 + suggestion.vote_count)
        reasons = [f"suggested by the public ({suggestion.vote_count} vote(s)): publish it"]
        found.append(
            Priority("suggestion", str(suggestion.id), suggestion.title, code, points, reasons)
        )
    found.sort(key=lambda p: (-p.score, p.kind, p.title))
    return found
