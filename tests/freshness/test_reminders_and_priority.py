"""Reminders batched per agency, once a day; and the priority list with its reasons."""

from __future__ import annotations

import datetime as dt
import itertools
import math

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


def ranked_one_by_one(session, as_of: dt.date) -> list[tuple]:  # type: ignore[no-untyped-def]
    """The priority list as it was first written: each dataset loaded with its columns and
    tags, its freshness by `evaluate` and its quality by `quality.score`. The reference the
    list worked out over the whole catalog at once must match."""
    from collections import Counter

    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from statedata.catalog.models import Dataset
    from statedata.catalog.vocab import HIGH_VALUE_CRITERIA
    from statedata.freshness import priority
    from statedata.freshness.quality import score
    from statedata.freshness.status import Freshness, evaluate

    usage = priority._usage(session, as_of)
    requested = priority._requested(session)
    suggested: Counter[str] = Counter()
    votes: Counter[str] = Counter()
    for suggestion in session.scalars(select(Suggestion)):
        if suggestion.dataset_id:
            suggested[suggestion.dataset_id] += 1
            votes[suggestion.dataset_id] += suggestion.vote_count
    query = select(Dataset).options(
        selectinload(Dataset.agency), selectinload(Dataset.tags), selectinload(Dataset.columns)
    )
    found = []
    for dataset in session.scalars(query.where(Dataset.status != "retired")):
        points, reasons = 0, []
        criteria = [c for c in dataset.high_value_criteria or [] if c in HIGH_VALUE_CRITERIA]
        if criteria:
            points += min(80, 10 * len(criteria))
            reasons.append(f"high-value under criteria {', '.join(criteria)}")
        used = usage[dataset.id]
        if used:
            points += min(20, round(5 * math.log10(1 + used)))
            reasons.append(f"used {used:,} times in the last {priority.USAGE_DAYS} days")
        if suggested[dataset.id]:
            points += min(20, 5 * suggested[dataset.id] + votes[dataset.id])
            reasons.append(
                f"asked for in {suggested[dataset.id]} suggestion(s) with "
                f"{votes[dataset.id]} vote(s)"
            )
        if requested[dataset.id]:
            points += min(30, 10 * requested[dataset.id])
            reasons.append(f"named in {requested[dataset.id]} interagency data request(s)")
        freshness = evaluate(
            dataset.update_frequency, dataset.data_updated_at or dataset.created_at, as_of
        )
        if freshness.status in (Freshness.OVERDUE, Freshness.STALE):
            points += 10
            reasons.append(f"{freshness.days_late} days overdue: update it")
        quality = score(dataset, as_of)
        if quality.total < 60:
            points += 10
            reasons.append(f"metadata quality {quality.total}/100: describe it better")
        code = dataset.agency.code if dataset.agency else None
        found.append((dataset.id, dataset.title, code, points, reasons))
    return sorted(found)


DESCRIBED = {
    "description": "Licensed child care centres by town, with capacity. " * 3,
    "license": "CC0-1.0",
    "contact_email": "data@ct.gov",
    "category": "Education",
    "temporal_coverage_start": dt.date(2020, 1, 1),
    "temporal_coverage_end": dt.date(2025, 12, 31),
}


def test_the_list_over_the_whole_catalog_is_the_list_dataset_by_dataset(installation, make_dataset):
    """Every kind of dataset the score tells apart: each frequency, fresh and late, never
    updated, high-value, used, suggested, described or not, without an agency, retired."""
    frequencies = ["daily", "weekly", "monthly", "annually", "irregular", "not updated", None]
    lasts = [TODAY, dt.date(2026, 5, 20), dt.date(2025, 1, 1), None]
    made = []
    for number, (frequency, last) in enumerate(itertools.product(frequencies, lasts)):
        fields: dict = {}
        if number % 3 == 0:
            fields["high_value_criteria"] = ["A", "C", "Z"][: 1 + number % 3]
        if number % 3 == 1:  # described well enough to score about 60, on time or not
            fields.update(DESCRIBED)
        if number % 5 == 2:
            fields["agency_code"] = None
        if number % 11 == 3:
            fields["status"] = "retired"
        made.append(make_dataset(f"Dataset {number:02d}", frequency, last, **fields))
    made.append(make_dataset("Described, no schedule", None, TODAY, **DESCRIBED))  # 50
    with installation.catalog.session() as session:
        for number, dataset_id in enumerate(made[::4]):
            session.add(
                UsageCount(day=TODAY, dataset_id=dataset_id, kind="download", count=10**number)
            )
        session.add(
            Suggestion(
                title="Same data, by month",
                description="Monthly, please.",
                status="received",
                vote_count=3,
                submitter_hash="y" * 64,
                dataset_id=made[5],
            )
        )
    with installation.catalog.session() as session:
        fast = sorted(
            (p.id, p.title, p.agency, p.score, p.reasons)
            for p in ranked(session, TODAY)
            if p.kind == "dataset"
        )
        reference = ranked_one_by_one(session, TODAY)
    assert fast == reference
    # The catalog tells the rules apart: datasets on both sides of the quality line.
    with installation.catalog.session() as session:
        from statedata.catalog import service
        from statedata.freshness.quality import score

        listed = [service.get_dataset(session, i) for i in made]
        totals = {score(d, TODAY).total for d in listed if d.status != "retired"}
    assert min(totals) < 50 and any(50 <= t < 60 for t in totals) and max(totals) >= 60
