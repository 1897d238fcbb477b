"""Reminders batched per agency, once a day; and the priority list with its reasons."""

from __future__ import annotations

import datetime as dt

from statedata.catalog.models import UsageCount
from statedata.catalog.sharing import Notice, Suggestion
from statedata.freshness import reminders
from statedata.freshness.priority import ranked

TODAY = dt.date(2026, 6, 1)


def test_one_reminder_per_agency_per_day_naming_due_and_overdue(installation, make_dataset):
    make_dataset("Due tomorrow", "daily", TODAY)
    make_dataset("Late monthly", "monthly", dt.date(2026, 4, 20))
    make_dataset("Fine yearly", "annually", dt.date(2026, 1, 1))
    with installation.catalog.session() as session:
        assert reminders.send(session, TODAY) == {"DPH": 2}
        reminders.send(session, TODAY)
        sent = session.query(Notice).filter(Notice.kind == "freshness.reminder").all()
    assert len(sent) == 1
    assert sent[0].subject == "1 dataset(s) overdue, 1 due soon"
    assert "Late monthly" in sent[0].body and "Due tomorrow" in sent[0].body
    assert "Fine yearly" not in sent[0].body
    with installation.catalog.session() as session:
        reminders.send(session, TODAY + dt.timedelta(days=1))
        assert session.query(Notice).filter(Notice.kind == "freshness.reminder").count() == 2


def test_priorities_rank_high_value_used_and_asked_for_data_first(installation, make_dataset):
    valued = make_dataset("Valued", "annually", TODAY, high_value_criteria=["A", "B", "F"])
    used = make_dataset("Used", "annually", TODAY)
    plain = make_dataset("Plain", "annually", TODAY)
    with installation.catalog.session() as session:
        session.add(UsageCount(day=TODAY, dataset_id=used, kind="api_call", count=999))
        session.add(
            Suggestion(
                title="Bus stop locations",
                description="Every bus stop.",
                status="received",
                vote_count=7,
                submitter_hash="x" * 64,
            )
        )
    with installation.catalog.session() as session:
        found = ranked(session, TODAY)
    order = [p.id for p in found if p.kind == "dataset"]
    assert order.index(valued) < order.index(used) < order.index(plain)
    first = next(p for p in found if p.id == valued)
    assert "high-value under criteria A, B, F" in first.reasons
    suggestion = next(p for p in found if p.kind == "suggestion")
    assert suggestion.title == "Bus stop locations" and suggestion.score == 17
    assert "used 999 times" in next(p for p in found if p.id == used).reasons[0]
