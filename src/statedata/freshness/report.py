"""The freshness report: every dataset with its frequency, last data update, due date, status
and days late, as of any day.

Read in one query as plain rows, the last update as a day number worked out by the database
(no ORM objects, no datetimes), and evaluated with numpy by the plan metrics' rules
(`snapshot.evaluate_groups`), each frequency and last update once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statedata.catalog import service
from statedata.catalog.models import Agency, Dataset
from statedata.catalog.vocab import frequency_name
from statedata.freshness.status import Freshness, evaluate
from statedata.metrics import snapshot

RETIRED = "retired"


@dataclass(frozen=True)
class FreshnessRow:
    id: str
    title: str
    agency: str | None
    frequency: str | None
    last_update: dt.date | None
    due_date: dt.date | None
    status: Freshness
    days_late: int
    # What the access policy needs to decide who may see the row.
    classification: str
    access_level: str
    publication_state: str
    dataset_status: str

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "agency": self.agency,
            "frequency": self.frequency,
            "frequency_name": frequency_name(self.frequency),
            "last_update": self.last_update.isoformat() if self.last_update else None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "status": self.status.value,
            "days_late": self.days_late,
        }


# Reports as they stood under the catalog's change mark (catalog/changes.py): their rows are
# frozen, so a running server hands the same ones out again until something changes. Reports
# of 100,000 rows take about 30 MB each.
_REPORTS = snapshot.ByMark(limit=4)


def forget() -> None:
    """Forget the reports remembered by this process."""
    _REPORTS.clear()


def rows(
    session: Session,
    as_of: dt.date,
    agency_code: str | None = None,
    include_retired: bool = False,
) -> list[FreshnessRow]:
    """Every dataset's freshness on `as_of`, in title order. A dataset never updated since it
    was first published counts from its publication. Worked out again only when the catalog
    has changed since the same report was last asked for."""
    mark = snapshot.catalog_mark(session)
    key = (as_of, agency_code, include_retired)
    remembered = _REPORTS.get(mark, key)
    if remembered is not None:
        return list(remembered)
    found = _rows(session, as_of, agency_code, include_retired)
    if mark is not None:
        _REPORTS.put(mark, key, tuple(found))
    return found


def _rows(
    session: Session, as_of: dt.date, agency_code: str | None, include_retired: bool
) -> list[FreshnessRow]:
    last_update = func.coalesce(Dataset.data_updated_at, Dataset.created_at)
    query = (
        select(
            Dataset.id,
            Dataset.title,
            Agency.code,
            Dataset.update_frequency,
            snapshot.day_number(session, last_update, -1),
            Dataset.classification,
            Dataset.access_level,
            Dataset.publication_state,
            Dataset.status,
        )
        .outerjoin(Agency, Agency.id == Dataset.agency_id)
        .order_by(Dataset.title, Dataset.id)
    )
    if agency_code:
        query = query.where(Dataset.agency_id == service.get_agency(session, agency_code).id)
    if not include_retired:
        query = query.where(Dataset.status != RETIRED)
    found = snapshot.fetch(session, query)
    if not found:
        return []
    frequencies: list[str | None] = []
    frequency_index: dict[str | None, int] = {}
    codes = []
    for row in found:
        code = frequency_index.get(row[3])
        if code is None:
            code = frequency_index[row[3]] = len(frequencies)
            frequencies.append(row[3])
        codes.append(code)
    lasts = np.array([row[4] for row in found], dtype=np.int64)
    status, days_late, due = snapshot.evaluate_groups(
        np.array(codes, dtype=np.int64), frequencies, lasts, as_of.toordinal()
    )
    # Each day turned into a date once; no due date is FAR.
    days: dict[int, dt.date | None] = {
        day: dt.date.fromordinal(day)
        for day in np.unique(np.concatenate([lasts, due])).tolist()
        if 0 < day < snapshot.FAR
    }
    days[snapshot.FAR] = None
    statuses = snapshot.STATUSES
    report = []
    for row, last, state, late, due_day in zip(
        found, lasts.tolist(), status.tolist(), days_late.tolist(), due.tolist(), strict=True
    ):
        if last < 0:  # no date at all: as `evaluate` has it
            evaluation = evaluate(row[3], None, as_of)
            last_day, due_date = None, evaluation.due_date
            freshness, late = evaluation.status, evaluation.days_late
        else:
            last_day, due_date, freshness = days[last], days[due_day], statuses[state]
        report.append(
            FreshnessRow(
                id=row[0],
                title=row[1],
                agency=row[2],
                frequency=row[3],
                last_update=last_day,
                due_date=due_date,
                status=freshness,
                days_late=late,
                classification=row[5],
                access_level=row[6],
                publication_state=row[7],
                dataset_status=row[8],
            )
        )
    return report


def summary(found: list[FreshnessRow]) -> dict[str, int]:
    """How many datasets have each status."""
    counts = {status.value: 0 for status in Freshness}
    for row in found:
        counts[row.status.value] += 1
    return counts
