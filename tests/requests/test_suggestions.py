"""Dataset suggestions, on SQLite and PostgreSQL: input rules, spam and rate limits, votes
(also from many threads at once), the status workflow and who may drive it, and the counts."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from statedata.access.accounts import add_user
from statedata.access.policy import ANONYMOUS, Actor, Role
from statedata.catalog import DatasetMetadata, audit, service
from statedata.catalog.models import AuditEvent
from statedata.catalog.sharing import Suggestion, SuggestionEvent, SuggestionVote
from statedata.config import DEFAULT_CATEGORIES
from statedata.errors import (
    AuthenticationRequired,
    Conflict,
    Forbidden,
    InvalidInput,
    RateLimited,
    SpamSuspected,
    SuggestionDuplicate,
    SuggestionNotFound,
)
from statedata.requests import suggestions as sg
from statedata.requests.suggestions import NewSuggestion, StatusChange

CDO = Actor(name="cdo", roles=frozenset({Role.CDO}))
DPH_OFFICER = Actor(
    name="dph.officer",
    roles=frozenset({Role.DATA_OFFICER}),
    memberships=frozenset({("DPH", Role.DATA_OFFICER)}),
)
DPH_PUBLISHER = Actor(
    name="dph.publisher",
    roles=frozenset({Role.PUBLISHER}),
    memberships=frozenset({("DPH", Role.PUBLISHER)}),
)
DOT_OFFICER = Actor(
    name="dot.officer",
    roles=frozenset({Role.DATA_OFFICER}),
    memberships=frozenset({("DOT", Role.DATA_OFFICER)}),
)
ANALYST = Actor(name="ana.lyst", roles=frozenset({Role.ANALYST}))
SENDER = "a" * 64
TOMORROW = dt.date.today() + dt.timedelta(days=30)
EXAMPLES = itertools.count()  # a fresh title for every generated example


def idea(title: str = "Restaurant inspection results", **changes: object) -> NewSuggestion:
    values: dict[str, object] = {
        "title": title,
        "description": "Every restaurant inspection by town with the score and violations.",
        "reason": "Diners and journalists want to compare kitchens across the state.",
        "contact_email": "resident@example.org",
        "agency": "DPH",
    }
    values.update(changes)
    return NewSuggestion(**values)  # type: ignore[arg-type]


@pytest.fixture
def agencies(installation, agency) -> None:
    with installation.catalog.session() as session:
        service.add_agency(session, "DOT", "Department of Transportation")


def make(installation, new: NewSuggestion | None = None, sender: str = SENDER) -> int:
    with installation.catalog.session() as session:
        return sg.create(session, new or idea(), sender, per_hour=100).id


def move(installation, actor: Actor, suggestion_id: int, **change: object) -> Suggestion:
    with installation.catalog.session() as session:
        return sg.change_status(session, actor, suggestion_id, StatusChange(**change))


def read(installation, suggestion_id: int) -> Suggestion:
    with installation.catalog.session() as session:
        return sg.get(session, suggestion_id)


def count(installation, table) -> int:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        return session.scalar(select(func.count()).select_from(table))


@pytest.fixture
def open_dataset(installation, agency) -> str:
    with installation.catalog.session() as session:
        metadata = DatasetMetadata(title="Restaurant inspections")
        return service.create_dataset(session, metadata, "DPH", DEFAULT_CATEGORIES).id


# Creating -----------------------------------------------------------------------------------


def test_create_keeps_the_suggestion_with_a_received_event(installation, agencies):
    suggestion_id = make(installation)
    suggestion = read(installation, suggestion_id)
    assert suggestion.status == "received" and suggestion.vote_count == 0
    assert suggestion.agency.code == "DPH" and suggestion.submitter_hash == SENDER
    assert [e.status for e in suggestion.events] == ["received"]
    with installation.catalog.session() as session:
        assert session.scalar(
            select(AuditEvent.action).where(AuditEvent.action == "suggestion.create")
        )
        assert audit.verify(session) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "Cars"}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": None}, "title"),
        ({"description": "Too short."}, "description"),
        ({"description": "d" * 5001}, "description"),
        ({"reason": "   "}, "reason"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"contact_email": "a@" + "b" * 200 + ".org"}, "contact_email"),
        ({"agency": "NOPE"}, "agency"),
        ({"title": 12345}, "title"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(installation, agencies, changes, field):
    with pytest.raises(InvalidInput) as caught:
        make(installation, idea(**changes))
    assert caught.value.data["field"] == field
    assert field.replace("_", " ").split()[0] in caught.value.message.lower()
    assert count(installation, Suggestion) == 0


def test_control_characters_are_dropped_and_spaces_trimmed(installation, agencies):
    suggestion_id = make(installation, idea(title="  Bridge\x00 inspections\x07  "))
    assert read(installation, suggestion_id).title == "Bridge inspections"


def test_honeypot_field_filled_is_refused(installation, agencies):
    with pytest.raises(SpamSuspected) as caught:
        make(installation, idea(website="http://cheap-pills.example"))
    assert caught.value.data["field"] == "website"
    assert count(installation, Suggestion) == 0


def test_more_than_three_links_is_refused(installation, agencies):
    links = " ".join(f"https://spam{i}.example/" for i in range(4))
    with pytest.raises(SpamSuspected, match="at most 3 links"):
        make(installation, idea(description=f"Look at these pages please: {links}"))
    three = " ".join(f"https://source{i}.example/" for i in range(3))
    make(installation, idea(description=f"The data is kept at these places: {three}"))
    assert count(installation, Suggestion) == 1


def test_duplicate_title_of_an_open_suggestion_points_to_it(installation, agencies):
    first = make(installation)
    with pytest.raises(SuggestionDuplicate) as caught:
        make(installation, idea(title="  restaurant   INSPECTION results "), sender="b" * 64)
    assert caught.value.status == 409 and caught.value.data["suggestion_id"] == first
    assert f"/api/v1/suggestions/{first}/votes" in caught.value.message
    assert count(installation, Suggestion) == 1


def test_duplicate_of_a_closed_suggestion_is_allowed(installation, agencies):
    first = make(installation)
    move(installation, DPH_OFFICER, first, status="declined", decline_reason="We do not hold it.")
    second = make(installation)
    assert second != first


def test_rate_limit_per_sender_within_an_hour(installation, agencies):
    with installation.catalog.session() as session:
        for n in range(3):
            sg.create(session, idea(title=f"Dataset number {n}"), SENDER, per_hour=3)
    with installation.catalog.session() as session, pytest.raises(RateLimited) as caught:
        sg.create(session, idea(title="One too many"), SENDER, per_hour=3)
    assert caught.value.status == 429 and "try again in" in caught.value.message
    assert 0 < caught.value.data["retry_after"] <= 3600
    # Another sender is not held back.
    with installation.catalog.session() as session:
        sg.create(session, idea(title="From someone else"), "c" * 64, per_hour=3)
    assert count(installation, Suggestion) == 4


def test_rate_limit_forgets_suggestions_older_than_an_hour(installation, agencies):
    for n in range(3):
        make(installation, idea(title=f"Old dataset {n}"))
    with installation.catalog.session() as session:
        for suggestion in session.scalars(select(Suggestion)):
            suggestion.created_at = suggestion.created_at - dt.timedelta(hours=2)
    with installation.catalog.session() as session:
        sg.create(session, idea(title="New one"), SENDER, per_hour=3)


def test_sender_hash_is_keyed_and_hides_the_address(tmp_path):
    secret = sg.installation_secret(tmp_path / "one")
    again = sg.installation_secret(tmp_path / "one")
    other = sg.installation_secret(tmp_path / "two")
    assert secret == again and secret != other
    assert (tmp_path / "one" / "secret.key").stat().st_mode & 0o077 == 0
    hashed = sg.sender_hash(secret, ANONYMOUS, "203.0.113.7")
    assert len(hashed) == 64 and "203.0.113.7" not in hashed
    assert hashed != sg.sender_hash(other, ANONYMOUS, "203.0.113.7")
    assert hashed == sg.sender_hash(secret, ANONYMOUS, "203.0.113.7")
    assert sg.sender_hash(secret, DPH_OFFICER, "203.0.113.7") != hashed


def test_an_existing_secret_file_is_reused(tmp_path):
    (tmp_path / "secret.key").write_text("an-existing-installation-secret-0123456789\n")
    assert sg.installation_secret(tmp_path) == b"an-existing-installation-secret-0123456789"
    (tmp_path / "short" / "secret.key").parent.mkdir()
    (tmp_path / "short" / "secret.key").write_text("abc")
    with pytest.raises(RuntimeError, match="too short"):
        sg.installation_secret(tmp_path / "short")


# Reading ------------------------------------------------------------------------------------


def test_list_filters_sorts_and_pages(installation, agencies):
    a = make(installation, idea(title="Bus ridership by route", agency="DOT"))
    b = make(installation, idea(title="Flu vaccinations by town"))
    c = make(installation, idea(title="Lead in school water", agency=None))
    for n in range(3):
        with installation.catalog.session() as session:
            sg.vote(session, b, f"voter-{n}")
    with installation.catalog.session() as session:
        sg.vote(session, a, "voter-0")
        total, newest = sg.list_suggestions(session)
        assert total == 3 and [s.id for s in newest] == [c, b, a]
        _, by_votes = sg.list_suggestions(session, sort="votes")
        assert [s.id for s in by_votes] == [b, a, c]
        total, page = sg.list_suggestions(session, sort="votes", limit=1, offset=1)
        assert total == 3 and [s.id for s in page] == [a]
        assert [s.id for s in sg.list_suggestions(session, agency="dot")[1]] == [a]
        assert sg.list_suggestions(session, status="planned") == (0, [])
        with pytest.raises(InvalidInput):
            sg.list_suggestions(session, status="maybe")
        with pytest.raises(InvalidInput):
            sg.list_suggestions(session, sort="oldest")
        with pytest.raises(InvalidInput):
            sg.list_suggestions(session, agency="NOPE")


def test_contact_email_only_for_the_agency_staff_and_cdo(installation, agencies):
    suggestion_id = make(installation)
    orphan = make(installation, idea(title="Unassigned idea", agency=None))
    with installation.catalog.session() as session:
        suggestion = sg.get(session, suggestion_id)
        for actor in (CDO, DPH_OFFICER, DPH_PUBLISHER):
            shown = sg.document(session, suggestion, actor, history=True)
            assert shown["contact_email"] == "resident@example.org"
            assert shown["history"][0]["by"] == "public"
        for actor in (ANONYMOUS, DOT_OFFICER, ANALYST):
            shown = sg.document(session, suggestion, actor, history=True)
            assert "contact_email" not in shown and "resident@" not in repr(shown)
            assert "by" not in shown["history"][0]
        unassigned = sg.get(session, orphan)
        assert "contact_email" in sg.document(session, unassigned, CDO)
        assert "contact_email" not in sg.document(session, unassigned, DPH_OFFICER)


def test_missing_suggestion(installation):
    with installation.catalog.session() as session, pytest.raises(SuggestionNotFound):
        sg.get(session, 999)


def test_triage_queue_holds_the_agency_open_suggestions(installation, agencies):
    dph = make(installation)
    dot = make(installation, idea(title="Bridge inspections", agency="DOT"))
    orphan = make(installation, idea(title="Unassigned idea", agency=None))
    done = make(installation, idea(title="Closed one"))
    move(installation, DPH_OFFICER, done, status="declined", decline_reason="Not held by us.")
    with installation.catalog.session() as session:
        assert [s.id for s in sg.triage_queue(session, DPH_PUBLISHER)] == [dph]
        assert [s.id for s in sg.triage_queue(session, DOT_OFFICER)] == [dot]
        assert [s.id for s in sg.triage_queue(session, CDO)] == [orphan, dph, dot]
        with pytest.raises(Forbidden):
            sg.triage_queue(session, ANALYST)
        with pytest.raises(AuthenticationRequired):
            sg.triage_queue(session, ANONYMOUS)


# Votes --------------------------------------------------------------------------------------


def test_vote_once_per_voter(installation, agencies):
    suggestion_id = make(installation)
    with installation.catalog.session() as session:
        assert sg.vote(session, suggestion_id, "voter-1") == 1
    with installation.catalog.session() as session, pytest.raises(Conflict) as caught:
        sg.vote(session, suggestion_id, "voter-1")
    assert caught.value.code == "state.conflict"
    assert read(installation, suggestion_id).vote_count == 1
    assert count(installation, SuggestionVote) == 1
    with installation.catalog.session() as session:
        assert sg.vote(session, suggestion_id, "voter-2") == 2


def test_vote_for_missing_or_closed_suggestion(installation, agencies):
    with installation.catalog.session() as session, pytest.raises(SuggestionNotFound):
        sg.vote(session, 404, "voter-1")
    suggestion_id = make(installation)
    move(
        installation,
        DPH_OFFICER,
        suggestion_id,
        status="declined",
        decline_reason="Not data we hold.",
    )
    with installation.catalog.session() as session, pytest.raises(Conflict, match="declined"):
        sg.vote(session, suggestion_id, "voter-1")
    assert count(installation, SuggestionVote) == 0


def test_concurrent_votes_are_all_counted_exactly(installation, agencies):
    suggestion_id = make(installation)
    voters = [f"voter-{n % 12}" for n in range(24)]  # each voter tries twice
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(voters))

    def cast(voter: str) -> None:
        start.wait()
        try:
            with installation.catalog.session() as session:
                sg.vote(session, suggestion_id, voter)
            result = "counted"
        except Conflict:
            result = "repeat"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=cast, args=(v,)) for v in voters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["counted"] * 12 + ["repeat"] * 12
    assert read(installation, suggestion_id).vote_count == 12
    assert count(installation, SuggestionVote) == 12


def run_together(count: int, work) -> list[str]:  # type: ignore[no-untyped-def]
    """Run `work(n)` in `count` threads released at once; each outcome's class name, or 'ok'."""
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
            outcome = "ok"
        except Exception as error:  # the outcome is what the test checks
            outcome = type(error).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def test_rate_limit_holds_when_one_sender_sends_at_once(installation, agencies):
    def send(n: int) -> None:
        with installation.catalog.session() as session:
            sg.create(session, idea(title=f"Burst number {n}"), SENDER, per_hour=3)

    assert run_together(8, send) == ["RateLimited"] * 5 + ["ok"] * 3
    assert count(installation, Suggestion) == 3


def test_the_same_title_at_once_is_saved_once(installation, agencies):
    def send(n: int) -> None:
        with installation.catalog.session() as session:
            sg.create(session, idea(), f"sender-{n}", per_hour=3)

    assert run_together(6, send) == ["SuggestionDuplicate"] * 5 + ["ok"]
    assert count(installation, Suggestion) == 1


def test_two_staff_moving_at_once_only_one_lands(installation, agencies):
    suggestion_id = make(installation)

    def review(n: int) -> None:
        move(
            installation, (DPH_OFFICER, DPH_PUBLISHER)[n % 2], suggestion_id, status="under_review"
        )

    assert run_together(6, review) == ["Conflict"] * 5 + ["ok"]
    suggestion = read(installation, suggestion_id)
    assert [e.status for e in suggestion.events] == ["received", "under_review"]


# The status workflow ------------------------------------------------------------------------


def test_the_whole_way_to_published(installation, agencies, open_dataset):
    suggestion_id = make(installation)
    move(installation, DPH_PUBLISHER, suggestion_id, status="under_review", note="Looking.")
    move(installation, DPH_OFFICER, suggestion_id, status="planned", target_date=TOMORROW)
    done = move(installation, CDO, suggestion_id, status="published", dataset_id=open_dataset)
    assert done.status == "published" and done.dataset_id == open_dataset
    suggestion = read(installation, suggestion_id)
    assert suggestion.target_date == TOMORROW
    assert [(e.status, e.actor) for e in suggestion.events] == [
        ("received", "public"),
        ("under_review", "dph.publisher"),
        ("planned", "dph.officer"),
        ("published", "cdo"),
    ]
    assert suggestion.events[1].note == "Looking."
    assert suggestion.events[2].note == f"Planned for {TOMORROW.isoformat()}."
    with installation.catalog.session() as session:
        moves = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "suggestion.status")
        ).all()
        assert [(m.detail["status_from"], m.detail["status_to"]) for m in moves] == [
            ("received", "under_review"),
            ("under_review", "planned"),
            ("planned", "published"),
        ]
        assert moves[-1].dataset_id == open_dataset
        assert audit.verify(session) == []
        shown = sg.document(session, sg.get(session, suggestion_id), ANONYMOUS, history=True)
    assert shown["dataset"]["id"] == open_dataset
    assert [e["status"] for e in shown["history"]][-1] == "published"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "planned"),
        ([], "published"),
        ([], "received"),
        (["under_review"], "under_review"),
        (["under_review"], "received"),
        (["under_review"], "published"),
        (["under_review", "planned"], "under_review"),
        (["declined"], "under_review"),
        (["declined"], "declined"),
    ],
)
def test_skipped_or_backward_moves_are_refused(installation, agencies, path, target):
    suggestion_id = make(installation)
    for step in path:
        move(
            installation,
            DPH_OFFICER,
            suggestion_id,
            status=step,
            target_date=TOMORROW,
            decline_reason="We do not collect this data.",
        )
    events = len(read(installation, suggestion_id).events)
    with pytest.raises(Conflict):
        move(
            installation,
            DPH_OFFICER,
            suggestion_id,
            status=target,
            target_date=TOMORROW,
            decline_reason="We do not collect this data.",
        )
    after = read(installation, suggestion_id)
    assert after.status == (path[-1] if path else "received") and len(after.events) == events


def test_unknown_status_is_bad_input(installation, agencies):
    suggestion_id = make(installation)
    with pytest.raises(InvalidInput, match="not a status"):
        move(installation, DPH_OFFICER, suggestion_id, status="done")


def test_planned_needs_a_target_date_not_in_the_past(installation, agencies):
    suggestion_id = make(installation)
    move(installation, DPH_OFFICER, suggestion_id, status="under_review")
    with pytest.raises(InvalidInput) as caught:
        move(installation, DPH_OFFICER, suggestion_id, status="planned")
    assert caught.value.data["field"] == "target_date"
    with pytest.raises(InvalidInput, match="past"):
        move(
            installation,
            DPH_OFFICER,
            suggestion_id,
            status="planned",
            target_date=dt.date(2001, 1, 1),
        )
    assert read(installation, suggestion_id).status == "under_review"


def test_published_needs_an_existing_open_dataset(installation, agencies, open_dataset):
    suggestion_id = make(installation)
    move(installation, DPH_OFFICER, suggestion_id, status="under_review")
    move(installation, DPH_OFFICER, suggestion_id, status="planned", target_date=TOMORROW)
    with installation.catalog.session() as session:
        hidden = service.create_dataset(
            session,
            DatasetMetadata(title="Case reports", classification="protected"),
            "DPH",
            DEFAULT_CATEGORIES,
        ).id
    for dataset_id, words in (
        (None, "needs the id"),
        ("zzzz-9999", "no dataset"),
        (hidden, "not open"),
    ):
        with pytest.raises(InvalidInput, match=words) as caught:
            move(
                installation, DPH_OFFICER, suggestion_id, status="published", dataset_id=dataset_id
            )
        assert caught.value.data["field"] == "dataset_id"
    # Another agency's staff cannot learn of a protected dataset through this door.
    with installation.catalog.session() as session:
        service.add_agency(session, "DSS", "Department of Social Services")
        other = service.create_dataset(
            session,
            DatasetMetadata(title="Benefit cases", classification="private"),
            "DSS",
            DEFAULT_CATEGORIES,
        ).id
    with pytest.raises(InvalidInput, match="no dataset"):
        move(installation, DPH_OFFICER, suggestion_id, status="published", dataset_id=other)
    assert read(installation, suggestion_id).status == "planned"


def test_declined_needs_a_reason_and_keeps_the_citation(installation, agencies):
    suggestion_id = make(installation)
    with pytest.raises(InvalidInput) as caught:
        move(installation, DPH_OFFICER, suggestion_id, status="declined")
    assert caught.value.data["field"] == "decline_reason"
    move(
        installation,
        DPH_OFFICER,
        suggestion_id,
        status="declined",
        decline_reason="Inspection reports name private individuals.",
        legal_citation="C.G.S. § 1-210(b)(2)",
    )
    with installation.catalog.session() as session:
        shown = sg.document(session, sg.get(session, suggestion_id), ANONYMOUS, history=True)
    assert shown["status"] == "declined" and shown["legal_citation"] == "C.G.S. § 1-210(b)(2)"
    assert shown["decline_reason"] == "Inspection reports name private individuals."
    assert shown["history"][-1]["note"] == "Inspection reports name private individuals."


@pytest.mark.parametrize("start", [[], ["under_review"], ["under_review", "planned"]])
def test_declined_from_every_open_status(installation, agencies, start):
    suggestion_id = make(installation)
    for step in start:
        move(installation, DPH_OFFICER, suggestion_id, status=step, target_date=TOMORROW)
    move(
        installation,
        DPH_OFFICER,
        suggestion_id,
        status="declined",
        decline_reason="Not data we hold.",
    )
    assert read(installation, suggestion_id).status == "declined"


@pytest.mark.parametrize(
    ("actor", "error"),
    [
        (ANONYMOUS, AuthenticationRequired),
        (DOT_OFFICER, Forbidden),
        (ANALYST, Forbidden),
    ],
)
def test_wrong_role_changes_nothing(installation, agencies, actor, error):
    suggestion_id = make(installation)
    before = count(installation, AuditEvent)
    with pytest.raises(error):
        move(installation, actor, suggestion_id, status="under_review")
    after = read(installation, suggestion_id)
    assert after.status == "received" and len(after.events) == 1
    assert count(installation, AuditEvent) == before


def test_suggestion_with_no_agency_is_the_cdo_to_triage_and_assign(installation, agencies):
    suggestion_id = make(installation, idea(agency=None))
    with pytest.raises(Forbidden, match="Chief Data Officer"):
        move(installation, DPH_OFFICER, suggestion_id, status="under_review")
    with installation.catalog.session() as session, pytest.raises(Forbidden):
        sg.assign_agency(session, DPH_OFFICER, suggestion_id, "DPH")
    with installation.catalog.session() as session, pytest.raises(InvalidInput):
        sg.assign_agency(session, CDO, suggestion_id, "NOPE")
    with installation.catalog.session() as session:
        sg.assign_agency(session, CDO, suggestion_id, "dph")
    move(installation, DPH_OFFICER, suggestion_id, status="under_review")
    suggestion = read(installation, suggestion_id)
    assert suggestion.agency.code == "DPH"
    assert [e.note for e in suggestion.events][1] == "Handed to Department of Public Health (DPH)."
    with installation.catalog.session() as session:
        assigned = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "suggestion.assign")
        ).one()
    assert assigned.detail == {"suggestion": suggestion_id, "agency_from": None, "agency_to": "DPH"}


def test_cdo_assigns_and_moves_in_one_step(installation, agencies):
    suggestion_id = make(installation, idea(agency=None))
    moved = move(installation, CDO, suggestion_id, status="under_review", agency="DOT")
    assert moved.agency.code == "DOT" and moved.status == "under_review"
    with pytest.raises(Forbidden):
        move(
            installation,
            DOT_OFFICER,
            suggestion_id,
            status="planned",
            agency="DPH",
            target_date=TOMORROW,
        )
    assert read(installation, suggestion_id).agency.code == "DOT"


def test_a_refused_move_after_an_assignment_rolls_back_both(installation, agencies):
    suggestion_id = make(installation, idea(agency=None))
    with pytest.raises(Conflict):
        move(installation, CDO, suggestion_id, status="published", agency="DOT")
    suggestion = read(installation, suggestion_id)
    assert suggestion.agency is None and len(suggestion.events) == 1
    assert count(installation, SuggestionEvent) == 1


# Counting -----------------------------------------------------------------------------------


def test_counts_by_month_and_week_with_empty_periods(installation, agencies):
    ids = [make(installation, idea(title=f"Suggested dataset {n}")) for n in range(4)]
    moments = [
        dt.datetime(2024, 1, 3, 12, tzinfo=dt.UTC),  # a Wednesday
        dt.datetime(2024, 1, 8, 9, tzinfo=dt.UTC),  # the Monday after
        dt.datetime(2024, 1, 31, 23, 59, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 1, 0, 1, tzinfo=dt.UTC),
    ]
    with installation.catalog.session() as session:
        for suggestion_id, moment in zip(ids, moments, strict=True):
            session.get(Suggestion, suggestion_id).created_at = moment
    move(installation, DPH_OFFICER, ids[0], status="under_review")
    move(installation, DPH_OFFICER, ids[3], status="declined", decline_reason="Not held here.")
    with installation.catalog.session() as session:
        months = sg.counts_over_time(session, "month", end=dt.date(2024, 3, 31))
        weeks = sg.counts_over_time(
            session, "week", dt.date(2024, 1, 1), dt.date(2024, 1, 14), agency="dph"
        )
        with pytest.raises(InvalidInput):
            sg.counts_over_time(session, "year")
        with pytest.raises(InvalidInput):
            sg.counts_over_time(session, "week", dt.date(1900, 1, 1), dt.date(2024, 1, 1))
    assert [p["start"] for p in months["periods"]] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert [p["total"] for p in months["periods"]] == [3, 0, 1]
    assert months["periods"][0]["by_status"]["under_review"] == 1
    assert months["periods"][2]["by_status"] == {
        "received": 0,
        "under_review": 0,
        "planned": 0,
        "published": 0,
        "declined": 1,
    }
    assert months["total"] == 4 and months["by_status"]["received"] == 2
    assert [(p["start"], p["total"]) for p in weeks["periods"]] == [
        ("2024-01-01", 1),
        ("2024-01-08", 1),
    ]
    assert weeks["per_day"] == round(2 / 14, 3)


def test_counts_with_one_end_beyond_every_suggestion(installation, agencies):
    make(installation)
    today = dt.date.today()
    with installation.catalog.session() as session:
        before = sg.counts_over_time(session, "month", end=today - dt.timedelta(days=400))
        after = sg.counts_over_time(session, "week", start=today + dt.timedelta(days=400))
        empty_day = sg.counts_over_time(session, "week", today, today, agency="DOT")
    assert before["total"] == 0 and len(before["periods"]) == 1 and before["per_day"] == 0
    assert after["total"] == 0 and len(after["periods"]) == 1
    assert empty_day["total"] == 0 and empty_day["start"] == empty_day["end"]


# Properties ---------------------------------------------------------------------------------


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=st.text(max_size=320),
    description=st.text(max_size=60),
    email=st.one_of(st.none(), st.text(max_size=30), st.emails()),
)
def test_validate_either_cleans_or_names_a_field(title, description, email):
    new = NewSuggestion(title, description + " " * 20 + "x", "Because people need it.", email)
    try:
        clean = sg.validate(new)
    except InvalidInput as problem:
        assert problem.data["field"] in {"title", "description", "contact_email"}
        assert problem.status == 400
        return
    assert 5 <= len(clean.title) <= 300 and clean.title == clean.title.strip()
    assert not any(ord(c) < 32 for c in clean.title)
    assert "\x00" not in clean.description
    # Cleaning is stable: a clean suggestion passes again unchanged.
    assert sg.validate(clean) == clean


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=st.text(min_size=5, max_size=40))
def test_any_accepted_title_round_trips_through_the_database(installation, agencies, title):
    try:
        new = sg.validate(idea(title=title))
    except InvalidInput:
        return
    try:
        suggestion_id = make(installation, new, sender=f"round-trip-{title!r}"[:64])
    except SuggestionDuplicate:
        return  # the same title, up to case and spaces, came in an earlier example
    assert read(installation, suggestion_id).title == new.title


def test_lone_surrogates_and_control_characters_never_reach_the_database(installation, agencies):
    suggestion_id = make(
        installation,
        idea(title="Lone \ud800surrogate\x85 title", description="Bad \udfff bytes " + "d" * 20),
    )
    suggestion = read(installation, suggestion_id)
    assert suggestion.title == "Lone surrogate title"
    assert suggestion.description == "Bad  bytes " + "d" * 20


# The command line ---------------------------------------------------------------------------


def cli(installation, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATEDATA_HOME": str(installation.settings.home), "COLUMNS": "200"}
    if installation.settings.database_url:
        env["STATEDATA_DATABASE_URL"] = installation.settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "statedata.cli", "suggestions", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_lists_shows_moves_and_counts(installation, agencies):
    suggestion_id = make(installation)
    with installation.catalog.session() as session:
        add_user(session, "dot.staff", "publisher", "DOT")
    listed = cli(installation, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)["results"]] == [suggestion_id]
    shown = json.loads(cli(installation, "show", str(suggestion_id)).stdout)
    assert shown["contact_email"] == "resident@example.org"
    refused = cli(installation, "status", str(suggestion_id), "under_review", "--by", "dot.staff")
    assert refused.returncode == 1 and "Only staff of DPH" in refused.stderr
    skipped = cli(installation, "status", str(suggestion_id), "planned")
    assert skipped.returncode == 1 and "can move to under_review" in skipped.stderr
    bad_date = cli(installation, "status", str(suggestion_id), "planned", "--target-date", "soon")
    assert bad_date.returncode == 1 and "--target-date" in bad_date.stderr
    moved = cli(installation, "status", str(suggestion_id), "under_review", "--note", "Looking.")
    assert moved.returncode == 0 and "now under_review" in moved.stdout
    declined = cli(
        installation,
        "status",
        str(suggestion_id),
        "declined",
        "--reason",
        "The reports name private individuals.",
        "--citation",
        "C.G.S. § 1-210(b)(2)",
    )
    assert declined.returncode == 0, declined.stderr
    suggestion = read(installation, suggestion_id)
    assert suggestion.status == "declined" and suggestion.legal_citation == "C.G.S. § 1-210(b)(2)"
    assert [e.actor for e in suggestion.events] == ["public", "cli", "cli"]
    counted = json.loads(cli(installation, "metrics", "--json", "--period", "week").stdout)
    assert counted["total"] == 1 and counted["by_status"]["declined"] == 1
    table = cli(installation, "metrics")
    assert table.returncode == 0 and "Suggestions received: 1" in table.stdout
    missing = cli(installation, "show", "999")
    assert missing.returncode == 1 and "no suggestion 999" in missing.stderr


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(st.sampled_from((*sg.STATUSES, "shelved")), max_size=6))
def test_any_sequence_of_moves_follows_the_workflow(installation, agencies, open_dataset, moves):
    suggestion_id = make(installation, idea(title=f"Workflow example {next(EXAMPLES)}"))
    expected, history = "received", ["received"]
    for target in moves:
        try:
            move(
                installation,
                DPH_OFFICER,
                suggestion_id,
                status=target,
                target_date=TOMORROW,
                dataset_id=open_dataset,
                decline_reason="We do not collect this data.",
            )
        except (Conflict, InvalidInput):
            assert target not in sg.NEXT_STATUSES.get(expected, ())
            continue
        assert target in sg.NEXT_STATUSES[expected]
        expected = target
        history.append(target)
    suggestion = read(installation, suggestion_id)
    assert suggestion.status == expected
    assert [e.status for e in suggestion.events] == history
