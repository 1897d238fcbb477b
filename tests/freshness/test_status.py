"""Freshness rules: due dates from the frequency, and a status that only worsens as days pass
without an update."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statedata.freshness import Freshness, due_date, evaluate
from statedata.freshness.status import INTERVALS, add_interval

START = dt.date(2026, 1, 30)
ORDER = [Freshness.FRESH, Freshness.DUE, Freshness.OVERDUE, Freshness.STALE]


@pytest.mark.parametrize(
    "frequency, due",
    [
        ("R/P1D", dt.date(2026, 1, 31)),
        ("R/P1W", dt.date(2026, 2, 6)),
        ("R/P1M", dt.date(2026, 2, 28)),  # the end of a shorter month
        ("R/P3M", dt.date(2026, 4, 30)),
        ("R/P1Y", dt.date(2027, 1, 30)),
        ("R/P1D/WEEKDAYS", dt.date(2026, 2, 2)),  # Friday -> Monday
        ("irregular", None),
        (None, None),
    ],
)
def test_due_dates(frequency, due):
    assert due_date(frequency, START) == due


@pytest.mark.parametrize(
    "days, status, late",
    [
        (0, Freshness.FRESH, 0),
        (26, Freshness.FRESH, 0),
        (27, Freshness.DUE, 0),  # three days before the due date (a tenth of 29 days)
        (29, Freshness.DUE, 0),  # the due date
        (30, Freshness.DUE, 1),  # one day's grace
        (31, Freshness.OVERDUE, 2),
        (58, Freshness.OVERDUE, 29),
        (59, Freshness.STALE, 30),  # a whole month missed (and at least 30 days)
    ],
)
def test_a_monthly_dataset_over_time(days, status, late):
    evaluation = evaluate("R/P1M", START, START + dt.timedelta(days=days))
    assert (evaluation.status, evaluation.days_late) == (status, late)
    assert evaluation.due_date == dt.date(2026, 2, 28)


def test_no_schedule_and_not_updated_are_flagged_not_late():
    far = START + dt.timedelta(days=4000)
    assert evaluate(None, START, far).status is Freshness.NO_SCHEDULE
    assert evaluate("irregular", START, far).status is Freshness.NO_SCHEDULE
    assert evaluate("not updated", START, far).status is Freshness.NOT_UPDATED
    assert evaluate("R/P1D", None, far).status is Freshness.NO_SCHEDULE


def test_a_timestamp_counts_by_its_day():
    moment = dt.datetime(2026, 1, 30, 23, 59, tzinfo=dt.UTC)
    assert evaluate("R/P1D", moment, START).due_date == dt.date(2026, 1, 31)


@given(
    st.sampled_from(sorted(INTERVALS)),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)),
    st.integers(min_value=0, max_value=3000),
    st.integers(min_value=0, max_value=3000),
)
def test_status_never_improves_while_no_update_comes(frequency, last, a, b):
    earlier, later = sorted((a, b))
    first = evaluate(frequency, last, last + dt.timedelta(days=earlier))
    second = evaluate(frequency, last, last + dt.timedelta(days=later))
    assert ORDER.index(second.status) >= ORDER.index(first.status)
    assert second.days_late >= first.days_late
    assert first.due_date == second.due_date > last
    if second.status in (Freshness.OVERDUE, Freshness.STALE):
        assert second.days_late > 1


@given(
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 1, 1)),
    st.sampled_from(sorted(INTERVALS)),
)
def test_intervals_agree_with_dateutil(day, frequency):
    from dateutil.relativedelta import relativedelta

    days, months = INTERVALS[frequency]
    assert add_interval(day, INTERVALS[frequency]) == day + relativedelta(days=days, months=months)
