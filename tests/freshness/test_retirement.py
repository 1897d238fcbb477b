"""Retiring datasets: a notice first, out of public lists after it, withdrawn at once when new
or protected; each agency told of long-overdue data; the public register of retirements."""

from __future__ import annotations

import datetime as dt

import pytest

from statedata.catalog import service
from statedata.catalog.sharing import Notice
from statedata.errors import Conflict, InvalidInput
from statedata.freshness import retirement

TODAY = dt.date(2026, 6, 1)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def test_a_retirement_gives_notice_then_takes_the_dataset_out_of_lists(
    installation, make_dataset, get
):
    old = make_dataset("Old counts", "monthly", dt.date(2024, 1, 1))
    new = make_dataset("New counts", "monthly", TODAY)
    with installation.catalog.session() as session:
        retirement.retire(session, old, "replaced", "cdo", 30, "See the new one.", new,
                          "https://archive.example.gov/old", now=at(TODAY))  # fmt: skip
    noticed = get(old)
    assert noticed.status == "deprecated"
    assert noticed.status_reason == "It was discontinued or replaced: See the new one."
    assert noticed.retire_after.date() == TODAY + dt.timedelta(days=30)
    with installation.catalog.session() as session:
        assert old in {d.id for d in service.list_datasets(session)}
        assert retirement.apply_due(session, at(TODAY + dt.timedelta(days=29))) == []
        assert retirement.apply_due(session, at(TODAY + dt.timedelta(days=30))) == [old]
        assert old not in {d.id for d in service.list_datasets(session)}
    retired = get(old)
    assert (retired.status, retired.replaced_by) == ("retired", new)


@pytest.mark.parametrize("reason", ["protected_data", "published_by_mistake"])
def test_some_reasons_withdraw_at_once(installation, make_dataset, get, reason):
    dataset_id = make_dataset("Leaky", "daily", TODAY)
    with installation.catalog.session() as session:
        retirement.retire(session, dataset_id, reason, "cdo", 30, now=at(TODAY))
    assert get(dataset_id).status == "retired"


def test_a_dataset_under_seven_days_old_is_withdrawn_at_once(installation, make_dataset, get):
    dataset_id = make_dataset("Brand new", "daily", TODAY, created=TODAY - dt.timedelta(days=3))
    with installation.catalog.session() as session:
        retirement.retire(session, dataset_id, "inaccurate", "cdo", 30, now=at(TODAY))
    assert get(dataset_id).retired_at is not None


def test_bad_retirements_are_refused_and_change_nothing(installation, make_dataset, get):
    dataset_id = make_dataset("Counts", "daily", TODAY)
    with installation.catalog.session() as session:
        for reason, extra in [("bored", {}), ("outdated", {"archive_url": "ftp://x"})]:
            with pytest.raises(InvalidInput):
                retirement.retire(session, dataset_id, reason, "cdo", 30, **extra)
        with pytest.raises(InvalidInput):
            retirement.retire(session, dataset_id, "replaced", "cdo", 30, replaced_by=dataset_id)
    assert get(dataset_id).status == "active"
    with installation.catalog.session() as session:
        retirement.retire(session, dataset_id, "outdated", "cdo", 30)
        with pytest.raises(Conflict):
            retirement.retire(session, dataset_id, "outdated", "cdo", 30)


def test_a_retirement_can_be_cancelled_during_its_notice(installation, make_dataset, get):
    dataset_id = make_dataset("Counts", "daily", TODAY)
    with installation.catalog.session() as session:
        retirement.retire(session, dataset_id, "rarely_used", "cdo", 30)
        retirement.cancel(session, dataset_id, "cdo")
    assert (get(dataset_id).status, get(dataset_id).retire_after) == ("active", None)


def test_agencies_hear_of_datasets_overdue_past_the_grace_period(installation, make_dataset):
    late = make_dataset("Forgotten", "monthly", dt.date(2025, 1, 1))
    make_dataset("Recent", "monthly", TODAY - dt.timedelta(days=40))
    with installation.catalog.session() as session:
        told = retirement.tell_agencies_of_long_overdue(session, TODAY, grace_days=90)
        again = retirement.tell_agencies_of_long_overdue(session, TODAY, grace_days=90)
        sent = session.query(Notice).filter(Notice.kind == "freshness.long_overdue").all()
    assert told == again == {"DPH": [late]}
    assert len(sent) == 1 and "Forgotten" in sent[0].body


def test_the_register_lists_open_datasets_retired(installation, make_dataset):
    public = make_dataset("Old counts", "monthly", dt.date(2024, 1, 1))
    private = make_dataset("Case notes", "monthly", dt.date(2024, 1, 1),
                           classification="private", access_level="non-public")  # fmt: skip
    with installation.catalog.session() as session:
        retirement.retire(session, public, "outdated", "cdo", 30)
        retirement.retire(session, private, "outdated", "cdo", 30)
    register_id = retirement.publish_register(installation)
    assert retirement.publish_register(installation) == register_id
    with installation.catalog.session() as session:
        rows = retirement.register_rows(session)
        register = service.get_dataset(session, register_id)
    assert [r["dataset_id"] for r in rows] == [public]
    assert rows[0]["reason"] == "It is out of date"
    assert register.title == "Retired datasets" and register.current_version.row_count == 1
    assert register.current_version.number == 2
