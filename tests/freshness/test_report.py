"""The freshness report over a real catalog, on both databases."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from statedata.catalog import service
from statedata.catalog.models import Dataset
from statedata.freshness import Freshness, evaluate
from statedata.freshness.report import rows, summary
from statedata.freshness.status import INTERVALS

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


# Every kind of frequency the catalog may hold, valid or not.
FREQUENCIES = [None, "", "irregular", "not updated", "R/P9X", *INTERVALS]
EASTERN = dt.timezone(dt.timedelta(hours=-5))


def test_each_row_is_evaluate_of_its_dataset(installation, make_dataset):
    picks = random.Random(2026)
    for number in range(3 * len(FREQUENCIES)):
        last = dt.date(2018, 1, 1) + dt.timedelta(days=picks.randrange(3300))
        make_dataset(
            f"Dataset {picks.randrange(10)}",
            None,
            None if number % 5 == 0 else last,
            created=dt.date(2015, 1, 1) + dt.timedelta(days=picks.randrange(1200)),
            update_frequency=FREQUENCIES[number % len(FREQUENCIES)],
            status=picks.choice(["active", "active", "retired", "deprecated"]),
        )
    # Updated just before midnight UTC, and late in the evening west of UTC (the next day
    # in UTC): the report's day is the one the database holds.
    make_dataset("Late", "daily", None, data_updated_at=at(TODAY) + dt.timedelta(hours=11.99))
    make_dataset(
        "West", "weekly", None, data_updated_at=dt.datetime(2026, 5, 25, 22, tzinfo=EASTERN)
    )
    days = [
        TODAY,
        dt.date(2026, 5, 30),
        dt.date(2019, 3, 2),
        dt.date(2031, 1, 1),
        dt.date(2015, 6, 1),
    ]
    with installation.catalog.session() as session:
        datasets = {d.id: d for d in session.scalars(select(Dataset))}
        ordered = session.scalars(select(Dataset.id).order_by(Dataset.title, Dataset.id)).all()
        for as_of in days:
            found = rows(session, as_of, include_retired=True)
            assert [row.id for row in found] == ordered
            for row in found:
                dataset = datasets[row.id]
                expected = evaluate(
                    dataset.update_frequency, dataset.data_updated_at or dataset.created_at, as_of
                )
                assert (row.last_update, row.due_date, row.status, row.days_late) == (
                    expected.last_update,
                    expected.due_date,
                    expected.status,
                    expected.days_late,
                ), (row.id, as_of)
                assert (row.title, row.frequency, row.dataset_status) == (
                    dataset.title,
                    dataset.update_frequency,
                    dataset.status,
                )
                assert row.agency == (dataset.agency.code if dataset.agency else None)
        assert len(rows(session, TODAY)) == sum(d.status != "retired" for d in datasets.values())


def test_a_report_is_worked_out_again_only_after_a_change(installation, make_dataset, monkeypatch):
    from sqlalchemy import update

    from statedata.freshness import report
    from statedata.metrics import snapshot

    daily = make_dataset("Daily counts", "daily", TODAY - dt.timedelta(days=1))
    make_dataset("Monthly report", "monthly", dt.date(2026, 4, 15))
    reads: list[int] = []
    fetch = snapshot.fetch

    def counting_fetch(session, statement):  # type: ignore[no-untyped-def]
        reads.append(1)
        return fetch(session, statement)

    monkeypatch.setattr(snapshot, "fetch", counting_fetch)
    report.forget()
    with installation.catalog.session() as session:
        first = rows(session, TODAY)
        first.clear()  # the caller's own list
        again = rows(session, TODAY)
    assert len(reads) == 1 and len(again) == 2
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).where(Dataset.id == daily).values(update_frequency=None))
    with installation.catalog.session() as session:
        after = {r.id: r for r in rows(session, TODAY)}
    assert len(reads) == 2
    assert after[daily].status is Freshness.NO_SCHEDULE
