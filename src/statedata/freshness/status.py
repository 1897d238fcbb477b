"""Is a dataset fresh? From its expected update frequency and its last data update: the date
the next update is due, and a status.

| status | meaning |
|---|---|
| fresh | the next update is not due yet |
| due | due within the reminder window (a tenth of the interval, 1 to 7 days), or today |
| overdue | past due by more than one day's grace (uData's rule), less than one interval |
| stale | late by a whole interval and at least 30 days: an update was missed entirely |
| no schedule | no expected frequency, or "as needed": nothing can be due |
| not updated | declared as never updated: a historical dataset |

The rules are pure functions of the dates and the day asked about (`as_of`), so a report can
be run for any day, and tests see time pass by asking about later days.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Freshness(StrEnum):
    FRESH = "fresh"
    DUE = "due"
    OVERDUE = "overdue"
    STALE = "stale"
    NO_SCHEDULE = "no schedule"
    NOT_UPDATED = "not updated"


GRACE_DAYS = 1
STALE_MIN_DAYS = 30

# Stored frequency code -> the interval between updates: (days, months).
INTERVALS: dict[str, tuple[int, int]] = {
    "R/P1D": (1, 0),
    "R/P1D/WEEKDAYS": (1, 0),
    "R/P1W": (7, 0),
    "R/P2W": (14, 0),
    "R/P1M": (0, 1),
    "R/P2M": (0, 2),
    "R/P3M": (0, 3),
    "R/P6M": (0, 6),
    "R/P1Y": (0, 12),
}


def add_interval(day: dt.date, interval: tuple[int, int]) -> dt.date:
    """`day` plus the interval; a month from 31 January is the last day of February."""
    days, months = interval
    if not months:
        return day + dt.timedelta(days=days)
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


@dataclass(frozen=True)
class Evaluation:
    status: Freshness
    last_update: dt.date | None
    due_date: dt.date | None
    days_late: int

    @property
    def on_schedule(self) -> bool:
        return self.status in (Freshness.FRESH, Freshness.DUE)


def _next_weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def due_date(frequency: str | None, last_update: dt.date | None) -> dt.date | None:
    """When the next update is due; None when nothing can be due."""
    interval = INTERVALS.get(frequency or "")
    if interval is None or last_update is None:
        return None
    due = add_interval(last_update, interval)
    if frequency == "R/P1D/WEEKDAYS":
        due = _next_weekday(due)
    return due


def _window(interval_days: int) -> int:
    """Days before the due date that count as 'due': a tenth of the interval, 1 to 7 days."""
    return max(1, min(7, interval_days // 10))


def evaluate(
    frequency: str | None, last_update: dt.date | dt.datetime | None, as_of: dt.date
) -> Evaluation:
    """The freshness of a dataset expected to update at `frequency`, last updated on
    `last_update` (its first publication when it was never updated since), on day `as_of`."""
    if isinstance(last_update, dt.datetime):
        last_update = last_update.date()
    if frequency == "not updated":
        return Evaluation(Freshness.NOT_UPDATED, last_update, None, 0)
    due = due_date(frequency, last_update)
    if due is None or last_update is None:
        return Evaluation(Freshness.NO_SCHEDULE, last_update, None, 0)
    interval_days = (due - last_update).days
    late = (as_of - due).days
    if late > GRACE_DAYS:
        missed = late >= max(interval_days, STALE_MIN_DAYS)
        status = Freshness.STALE if missed else Freshness.OVERDUE
        return Evaluation(status, last_update, due, late)
    if late >= -_window(interval_days):
        return Evaluation(Freshness.DUE, last_update, due, max(0, late))
    return Evaluation(Freshness.FRESH, last_update, due, 0)
