"""What the search index holds about one dataset: a plain record, built from the catalog (or,
in the benchmark, from generated data), and turned into a tantivy document.

Access is decided by `access.can`; the flags here (`open`, `listed`, `grantable`) are that
same policy worked out when the dataset is indexed, so a query can filter by them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from statedata.freshness.status import (
    GRACE_DAYS,
    STALE_MIN_DAYS,
    Freshness,
    _window,  # the same reminder window as the freshness report
    due_date,
)

EPOCH = dt.date(1970, 1, 1)
# A day number no dataset ever reaches: used for "never" in the freshness thresholds.
NEVER = 10_000_000


@dataclass(frozen=True)
class Column:
    name: str
    display_name: str = ""
    description: str = ""


@dataclass(frozen=True)
class Record:
    """One dataset as the search index sees it."""

    id: str
    title: str
    description: str = ""
    agency: str = ""
    agency_name: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    update_frequency: str | None = None
    classification: str = "public"
    high_value_criteria: tuple[str, ...] = ()
    demographic_dimensions: tuple[str, ...] = ()
    columns: tuple[Column, ...] = ()
    created_at: dt.datetime | None = None
    data_updated_at: dt.datetime | None = None
    popularity: int = 0
    # The access policy's answers, worked out when indexed (see statedata.access.policy).
    open: bool = True
    listed: bool = False
    grantable: bool = True

    @property
    def last_update(self) -> dt.date | None:
        moment = self.data_updated_at or self.created_at
        return moment.date() if moment is not None else None


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


@dataclass(frozen=True)
class FreshnessThresholds:
    """A dataset's freshness as a function of the day asked about: `kind` is "scheduled",
    "no schedule" or "not updated"; a scheduled dataset is due from `due_from`, overdue from
    `overdue_from` and stale from `stale_from` (day numbers), fresh before. The statuses only
    move forward with time, so a status on any day is a range query on these numbers."""

    kind: str
    due_from: int = NEVER
    overdue_from: int = NEVER
    stale_from: int = NEVER


def thresholds(frequency: str | None, last_update: dt.date | None) -> FreshnessThresholds:
    """The same rules as `freshness.evaluate`, turned into the days each status starts."""
    if frequency == "not updated":
        return FreshnessThresholds(Freshness.NOT_UPDATED.value)
    due = due_date(frequency, last_update)
    if due is None or last_update is None:
        return FreshnessThresholds(Freshness.NO_SCHEDULE.value)
    interval = (due - last_update).days
    due_day = day_number(due)
    overdue = due_day + GRACE_DAYS + 1
    stale = due_day + max(GRACE_DAYS + 1, interval, STALE_MIN_DAYS)
    return FreshnessThresholds("scheduled", due_day - _window(interval), overdue, stale)


def status_on(t: FreshnessThresholds, as_of: dt.date) -> str:
    if t.kind != "scheduled":
        return t.kind
    day = day_number(as_of)
    if day >= t.stale_from:
        return Freshness.STALE.value
    if day >= t.overdue_from:
        return Freshness.OVERDUE.value
    if day >= t.due_from:
        return Freshness.DUE.value
    return Freshness.FRESH.value
