"""The freshness report over a real catalog, on both databases."""

from __future__ import annotations

import datetime as dt

from statedata.catalog import service
from statedata.freshness import Freshness
from statedata.freshness.report import rows, summary

TODAY = dt.date(2026, 6, 1)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def test_every_dataset_with_its_status_as_of_a_day(installation, make_dataset):
    daily = make_dataset("Daily counts", "daily", TODAY - dt.timedelta(days=1))
    monthly = make_dataset("Monthly report", "monthly", dt.date(2026, 4, 15))
    never = make_dataset("No schedule", None, dt.date(2019, 5, 5))
    historic = make_dataset("Old census", "not updated", dt.date(2010, 1, 1))
    unpublished = make_dataset("Waiting for rows", "weekly", None, created=dt.date(2026, 5, 1))
    with installation.catalog.session() as session:
        found = {r.id: r for r in rows(session, TODAY)}
        later = {r.id: r for r in rows(session, TODAY + dt.timedelta(days=3))}
    assert found[daily].status is Freshness.DUE
    assert later[daily].status is Freshness.OVERDUE and later[daily].days_late == 3
    assert found[monthly].status is Freshness.OVERDUE
    assert (found[monthly].due_date, found[monthly].days_late) == (dt.date(2026, 5, 15), 17)
    assert found[never].status is Freshness.NO_SCHEDULE
    assert found[historic].status is Freshness.NOT_UPDATED
    # Never updated since it was first published: counted from then.
    assert found[unpublished].last_update == dt.date(2026, 5, 1)
    assert (found[unpublished].status, found[unpublished].days_late) == (Freshness.OVERDUE, 24)


def test_one_agencys_report_and_the_summary(installation, make_dataset):
    with installation.catalog.session() as session:
        service.add_agency(session, "DOT", "Department of Transportation")
    make_dataset("Ours", "daily", TODAY)
    theirs = make_dataset("Theirs", "daily", TODAY, agency_code="DOT")
    with installation.catalog.session() as session:
        found = rows(session, TODAY, "DOT")
    assert [r.id for r in found] == [theirs]
    assert summary(found)["due"] == 1 and sum(summary(found).values()) == 1
