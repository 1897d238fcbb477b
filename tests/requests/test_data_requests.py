"""Interagency data requests: the form is validated, a request moves one stage at a time and
only by the right people, every move is recorded, and only those involved see it."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from statedata.access import ANONYMOUS
from statedata.access.accounts import actor_for, add_user, get_user
from statedata.catalog import audit, service
from statedata.catalog.models import AuditEvent, as_utc
from statedata.catalog.sharing import Agreement, AgreementParty, DataRequest, LegalAuthority
from statedata.errors import (
    AuthenticationRequired,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
)
from statedata.requests import data_requests as dr
from statedata.requests.data_requests import Stage

USERS = [
    ("ana", "analyst", None),
    ("dph.officer", "data_officer", "DPH"),
    ("dss.officer", "data_officer", "DSS"),
    ("dph.publisher", "publisher", "DPH"),
    ("sde.officer", "data_officer", "SDE"),
    ("chief", "cdo", None),
]


def form(**changes: object) -> dict:
    base = {
        "organisation": "Office of Early Childhood",
        "title": "Home visiting and birth outcomes",
        "purpose": "Learn whether home visiting improves birth outcomes.",
        "planned_use": "A matched analysis published as aggregate tables.",
        "who_has_access": "Two named OEC research analysts.",
        "data_elements": [
            {
                "dataset_id": "abcd-2345",
                "elements": ["birth_weight", "gestational_age"],
                "level": "individual",
                "period_start": "2019-01-01",
                "period_end": "2023-12-31",
                "parameters": "Births to mothers enrolled in home visiting.",
            },
            {"elements": ["enrolment_count"], "level": "aggregate", "parameters": "by town"},
        ],
        "recurring": False,
        "retention_period": "Three years from receipt",
        "destruction_method": "Secure deletion, certified in writing.",
        "destruction_date": "2027-06-30",
        "agencies": ["dph", "DSS"],
        "legal_basis": "C.G.S. § 4-67n (data-sharing program for executive agencies).",
    }
    base.update(changes)
    return base


@pytest.fixture
def people(installation) -> None:
    with installation.catalog.session() as session:
        for code in ("DPH", "DSS", "SDE"):
            service.add_agency(session, code, f"Agency {code}")
        for name, role, agency in USERS:
            add_user(session, name, role, agency)


def act(installation, who: str | None, do, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run one operation as a user in its own transaction, as the API and CLI do."""
    with installation.catalog.session() as session:
        actor = actor_for(session, get_user(session, who)) if who else ANONYMOUS
        result = do(session, actor, *args, **kwargs)
        return dr.document(result) if isinstance(result, DataRequest) else result


def agreement(installation, status: str, parties: int = 2) -> int:
    with installation.catalog.session() as session:
        row = Agreement(
            reference=f"AG-{secrets.token_hex(4)}",
            title="Home visiting data",
            kind="data_sharing_agreement",
            status=status,
            created_by="chief",
        )
        row.parties = [
            AgreementParty(organisation=f"Party {n}", role="provider") for n in range(parties)
        ]
        session.add(row)
        session.flush()
        return row.id


def moved_to(installation, key: int, *stages: Stage, by: str = "dph.officer") -> dict:
    document = {}
    for stage in stages:
        document = act(installation, by, dr.move, key, stage)
    return document


@pytest.fixture
def draft(installation, people) -> int:
    return act(installation, "ana", dr.create, form())["id"]


@pytest.fixture
def submitted(installation, draft) -> int:
    act(installation, "ana", dr.move, draft, Stage.SUBMITTED)
    return draft


def stage_of(installation, key: int) -> tuple[str, int]:
    with installation.catalog.session() as session:
        request = session.get(DataRequest, key)
        return request.stage, len(request.events)


def test_full_path_through_every_stage(installation, draft):
    executed = agreement(installation, "executed", parties=3)
    act(installation, "ana", dr.move, draft, "submitted", "Ready for review")
    act(installation, "dph.officer", dr.move, draft, "legal_review")
    act(installation, "dss.officer", dr.move, draft, "agreement_executed", None, executed)
    moved_to(installation, draft, Stage.DATA_MATCHED, Stage.ANALYSIS)
    act(installation, "chief", dr.move, draft, "pre_publication_review", "Tables checked")
    done = act(installation, "chief", dr.move, draft, "completed", "Report published")

    assert done["stage"] == "completed" and done["next_stage"] is None
    assert done["agreement_id"] == executed
    assert done["submitted_at"] and done["closed_at"]
    assert done["last_reason"] == "Report published" and done["last_moved_by"] == "chief"
    history = [(h["from"], h["to"], h["actor"]) for h in done["history"]]
    assert history == [
        (None, "draft", "ana"),
        ("draft", "submitted", "ana"),
        ("submitted", "legal_review", "dph.officer"),
        ("legal_review", "agreement_executed", "dss.officer"),
        ("agreement_executed", "data_matched", "dph.officer"),
        ("data_matched", "analysis", "dph.officer"),
        ("analysis", "pre_publication_review", "chief"),
        ("pre_publication_review", "completed", "chief"),
    ]
    assert done["history"][1]["reason"] == "Ready for review"
    with installation.catalog.session() as session:
        moves = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "data_request.stage")
        ).all()
        assert [(m.actor, m.detail["to_stage"]) for m in moves] == [
            (actor, to) for _, to, actor in history[1:]
        ]
        assert audit.verify(session) == []


def test_the_form_is_kept_as_given(installation, draft):
    document = act(installation, "ana", dr.get_request, draft)
    assert document["reference"].startswith("DR-")
    assert document["agencies"] == ["DPH", "DSS"]
    assert document["requester"] == "ana" and document["stage"] == "draft"
    first, second = document["data_elements"]
    assert first == {
        "dataset_id": "abcd-2345",
        "elements": ["birth_weight", "gestational_age"],
        "level": "individual",
        "period_start": "2019-01-01",
        "period_end": "2023-12-31",
        "parameters": "Births to mothers enrolled in home visiting.",
    }
    assert second["dataset_id"] is None and second["level"] == "aggregate"
    assert document["destruction_date"] == "2027-06-30"
    assert act(installation, "ana", dr.get_request, document["reference"])["id"] == draft


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"title": "  "}, "title"),
        ({"purpose": None}, "purpose"),
        ({"data_elements": []}, "data_elements"),
        ({"data_elements": [{"elements": ["x"], "level": "some"}]}, "data_elements.0.level"),
        ({"data_elements": [{"elements": [], "level": "aggregate"}]}, "data_elements.0.elements"),
        (
            {"data_elements": [{"dataset_id": "nope", "elements": ["x"], "level": "aggregate"}]},
            "data_elements.0.dataset_id",
        ),
        (
            {
                "data_elements": [
                    {
                        "elements": ["x"],
                        "level": "aggregate",
                        "period_start": "2024-01-01",
                        "period_end": "2023-01-01",
                    }
                ]
            },
            "period_start is after period_end",
        ),
        ({"recurring": True}, "recurrence"),
        ({"recurrence": "monthly"}, "recurrence is only for a recurring request"),
        ({"agencies": []}, "agencies"),
        ({"agencies": ["DPH", "NOPE"]}, "agencies: there is no agency with code NOPE"),
        ({"authority_ids": [999]}, "authority_ids: there is no legal authority with id 999"),
        ({"agreement_id": 999}, "agreement_id: there is no sharing agreement with id 999"),
        ({"retention_period": "x" * 201}, "retention_period"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"destruction_date": "soon"}, "destruction_date"),
    ],
)
def test_bad_forms_are_refused_naming_the_field(installation, people, changes, named):
    with pytest.raises(InvalidInput) as caught:
        act(installation, "ana", dr.create, form(**changes))
    assert named in caught.value.message
    with installation.catalog.session() as session:
        assert session.scalar(select(func.count()).select_from(DataRequest)) == 0


def test_a_recurring_request_with_authorities(installation, people):
    with installation.catalog.session() as session:
        law = LegalAuthority(citation="C.G.S. § 4-67n", title="Data sharing", kind="statute")
        session.add(law)
        session.flush()
        law_id = law.id
    document = act(
        installation,
        "dph.publisher",
        dr.create,
        form(recurring=True, recurrence="quarterly", authority_ids=[law_id, law_id]),
    )
    assert document["recurring"] and document["recurrence"] == "quarterly"
    assert document["authority_ids"] == [law_id]


def test_anonymous_may_not_request_or_look(installation, draft):
    with pytest.raises(AuthenticationRequired):
        act(installation, None, dr.create, form())
    with pytest.raises(AuthenticationRequired):
        act(installation, None, dr.get_request, draft)
    with pytest.raises(AuthenticationRequired):
        act(installation, None, dr.queue)


def test_only_the_requester_edits_a_draft(installation, draft):
    edited = act(
        installation, "ana", dr.edit, draft, {"title": "Birth outcomes", "agencies": ["DPH"]}
    )
    assert edited["title"] == "Birth outcomes" and edited["agencies"] == ["DPH"]
    assert edited["purpose"] == form()["purpose"]
    with pytest.raises(InvalidInput, match="recurrence"):
        act(installation, "ana", dr.edit, draft, {"recurring": True})
    with pytest.raises(NotFound):  # a draft is the requester's own until it is sent
        act(installation, "dph.officer", dr.edit, draft, {"title": "Mine now"})
    with pytest.raises(Forbidden):
        act(installation, "chief", dr.edit, draft, {"title": "Mine now"})
    act(installation, "ana", dr.move, draft, "submitted")
    with pytest.raises(Conflict, match="can no longer be edited"):
        act(installation, "ana", dr.edit, draft, {"title": "Too late"})
    assert act(installation, "ana", dr.get_request, draft)["title"] == "Birth outcomes"


def test_a_skipped_stage_is_refused_naming_the_next(installation, submitted):
    for target in ("agreement_executed", "completed", "analysis"):
        with pytest.raises(Conflict) as caught:
            act(installation, "dph.officer", dr.move, submitted, target)
        assert caught.value.code == "state.conflict"
        assert "'legal review'" in caught.value.message
        assert caught.value.data["allowed"] == "legal_review"
    assert stage_of(installation, submitted) == ("submitted", 2)


def test_going_backwards_or_standing_still_is_refused(installation, submitted):
    act(installation, "dph.officer", dr.move, submitted, "legal_review")
    for target in ("submitted", "draft", "legal_review"):
        with pytest.raises(Conflict, match="'agreement executed'"):
            act(installation, "chief", dr.move, submitted, target)
    assert stage_of(installation, submitted) == ("legal_review", 3)


def test_wrong_roles_are_refused(installation, draft):
    with pytest.raises(NotFound):  # agency staff do not see a draft
        act(installation, "dph.officer", dr.move, draft, "submitted")
    with pytest.raises(Forbidden, match="Only the requester may submit"):
        act(installation, "chief", dr.move, draft, "submitted")
    act(installation, "ana", dr.move, draft, "submitted")
    with pytest.raises(Forbidden, match="data officer"):  # the requester cannot review
        act(installation, "ana", dr.move, draft, "legal_review")
    with pytest.raises(Forbidden, match="data officer"):  # a publisher sees but cannot move
        act(installation, "dph.publisher", dr.move, draft, "legal_review")
    with pytest.raises(Forbidden, match="data officer"):
        act(installation, "dph.publisher", dr.move, draft, "declined", "No")
    with pytest.raises(NotFound):  # another agency's officer
        act(installation, "sde.officer", dr.move, draft, "legal_review")
    with pytest.raises(Forbidden, match="Only the requester may withdraw"):
        act(installation, "dph.officer", dr.move, draft, "withdrawn", "Not needed")
    assert stage_of(installation, draft) == ("submitted", 2)


def test_declining_and_withdrawing_need_a_reason(installation, submitted):
    for who, target in (("dss.officer", "declined"), ("ana", "withdrawn")):
        for reason in (None, "   "):
            with pytest.raises(InvalidInput, match="reason"):
                act(installation, who, dr.move, submitted, target, reason)
    declined = act(
        installation, "dss.officer", dr.move, submitted, "declined", "C.G.S. § 17b-90 forbids it"
    )
    assert declined["stage"] == "declined" and declined["closed_at"]
    mine = act(installation, "ana", dr.get_request, submitted)
    assert mine["last_reason"] == "C.G.S. § 17b-90 forbids it"
    assert mine["history"][-1]["actor"] == "dss.officer"


def test_a_draft_cannot_be_declined_but_can_be_withdrawn(installation, draft):
    with pytest.raises(Conflict, match="still a draft"):
        act(installation, "chief", dr.move, draft, "declined", "No")
    assert act(installation, "ana", dr.move, draft, "withdrawn", "Asked too soon")["stage"] == (
        "withdrawn"
    )


def test_a_closed_request_cannot_move(installation, submitted):
    act(installation, "ana", dr.move, submitted, "withdrawn", "Found the data elsewhere")
    for who, target, reason in (
        ("dph.officer", "legal_review", None),
        ("dph.officer", "declined", "Too late"),
        ("ana", "withdrawn", "Again"),
        ("ana", "submitted", None),
    ):
        with pytest.raises(Conflict, match="closed"):
            act(installation, who, dr.move, submitted, target, reason)
    assert stage_of(installation, submitted) == ("withdrawn", 3)


def test_unknown_stage_is_bad_input(installation, submitted):
    with pytest.raises(InvalidInput, match="to"):
        act(installation, "dph.officer", dr.move, submitted, "approved")


def test_agreement_executed_needs_an_executed_agreement(installation, submitted):
    act(installation, "dph.officer", dr.move, submitted, "legal_review")
    with pytest.raises(Conflict, match="names no sharing agreement"):
        act(installation, "dph.officer", dr.move, submitted, "agreement_executed")
    signing = agreement(installation, "signing")
    with pytest.raises(Conflict, match="not executed yet .its status is 'signing'"):
        act(installation, "dph.officer", dr.move, submitted, "agreement_executed", None, signing)
    with pytest.raises(InvalidInput, match="no sharing agreement with id 4040"):
        act(installation, "dph.officer", dr.move, submitted, "agreement_executed", None, 4040)
    assert stage_of(installation, submitted) == ("legal_review", 3)
    with installation.catalog.session() as session:
        # A refused move changes nothing, not even the link.
        assert session.get(DataRequest, submitted).agreement_id is None
        row = session.get(Agreement, signing)
        row.status, row.expiry_date = "executed", dt.date(2020, 12, 31)
    with pytest.raises(Conflict, match="expired on 2020-12-31"):
        act(installation, "dph.officer", dr.move, submitted, "agreement_executed", None, signing)
    with installation.catalog.session() as session:
        session.get(Agreement, signing).expiry_date = dt.date(2099, 12, 31)
    moved = act(
        installation, "dph.officer", dr.move, submitted, "agreement_executed", None, signing
    )
    assert moved["stage"] == "agreement_executed" and moved["agreement_id"] == signing


def test_an_agreement_is_linked_only_on_the_way_to_agreement_executed(installation, submitted):
    executed = agreement(installation, "executed")
    with pytest.raises(InvalidInput, match="agreement_id"):
        act(installation, "dph.officer", dr.move, submitted, "legal_review", None, executed)


def test_a_draft_may_name_its_agreement(installation, people):
    executed = agreement(installation, "executed")
    key = act(installation, "ana", dr.create, form(agreement_id=executed))["id"]
    act(installation, "ana", dr.move, key, "submitted")
    moved = moved_to(installation, key, Stage.LEGAL_REVIEW, Stage.AGREEMENT_EXECUTED)
    assert moved["stage"] == "agreement_executed"


def test_who_sees_a_request(installation, submitted, people):
    other = act(installation, "sde.officer", dr.create, form(agencies=["SDE"]))["id"]
    for who in ("ana", "dph.officer", "dss.officer", "dph.publisher", "chief"):
        assert act(installation, who, dr.get_request, submitted)["id"] == submitted
    with pytest.raises(NotFound) as caught:
        act(installation, "sde.officer", dr.get_request, submitted)
    assert "Home visiting" not in caught.value.message
    with pytest.raises(NotFound):
        act(installation, "dph.officer", dr.get_request, 9999)

    def listed(who: str) -> set[int]:
        return {r.id for r in act(installation, who, dr.visible_requests)}

    assert listed("ana") == {submitted}
    assert listed("dph.publisher") == {submitted}
    assert listed("sde.officer") == {other}  # their own draft only
    assert listed("chief") == {submitted, other}
    assert {r.id for r in act(installation, "ana", dr.visible_requests, "submitted")} == {submitted}
    assert act(installation, "ana", dr.visible_requests, "draft") == []
    with pytest.raises(InvalidInput, match="stage"):
        act(installation, "ana", dr.visible_requests, "pending")


def test_each_officer_sees_a_queue(installation, submitted, people):
    act(installation, "ana", dr.create, form(title="Still a draft"))
    closed = act(installation, "ana", dr.create, form(title="Withdrawn"))["id"]
    act(installation, "ana", dr.move, closed, "submitted")
    act(installation, "ana", dr.move, closed, "withdrawn", "Not needed")
    only_dss = act(installation, "ana", dr.create, form(title="DSS only", agencies=["DSS"]))["id"]
    act(installation, "ana", dr.move, only_dss, "submitted")

    def queued(who: str) -> list[int]:
        return [r.id for r in act(installation, who, dr.queue)]

    assert queued("dph.officer") == [submitted]
    assert queued("dss.officer") == [submitted, only_dss]  # longest waiting first
    assert queued("chief") == [submitted, only_dss]
    assert queued("sde.officer") == []
    assert queued("dph.publisher") == []  # the queue is the data officer's
    assert queued("ana") == []

    with installation.catalog.session() as session:
        request = session.get(DataRequest, submitted)
        later = as_utc(request.submitted_at) + dt.timedelta(days=12, hours=1)
        act(installation, "dph.officer", dr.move, submitted, "legal_review")
        request = session.get(DataRequest, submitted)
        session.refresh(request)
        where = dr.summary(request, as_of=later)
    assert where["stage"] == "legal_review" and where["next_stage"] == "agreement_executed"
    assert where["days_since_submission"] == 12
    assert where["days_in_stage"] in (11, 12)  # moved moments after submission
    assert where["last_moved_by"] == "dph.officer"


def test_satisfaction_is_asked_once_after_completion(installation, submitted):
    with pytest.raises(Conflict, match="not completed yet"):
        act(installation, "ana", dr.rate, submitted, {"score": 5})
    executed = agreement(installation, "executed")
    act(installation, "dph.officer", dr.move, submitted, "legal_review")
    act(installation, "dph.officer", dr.move, submitted, "agreement_executed", None, executed)
    moved_to(
        installation,
        submitted,
        Stage.DATA_MATCHED,
        Stage.ANALYSIS,
        Stage.PRE_PUBLICATION_REVIEW,
        Stage.COMPLETED,
    )
    with pytest.raises(Forbidden):
        act(installation, "dph.officer", dr.rate, submitted, {"score": 1})
    with pytest.raises(NotFound):
        act(installation, "sde.officer", dr.rate, submitted, {"score": 1})
    for bad in ({"score": 6}, {"score": 0}, {}, {"score": 3, "stars": 3}):
        with pytest.raises(InvalidInput):
            act(installation, "ana", dr.rate, submitted, bad)
    rated = act(installation, "ana", dr.rate, submitted, {"score": 4, "comment": "Quick legal"})
    assert rated["satisfaction"] == {"score": 4, "comment": "Quick legal"}
    with pytest.raises(Conflict, match="already answered"):
        act(installation, "ana", dr.rate, submitted, {"score": 1})
    assert act(installation, "chief", dr.get_request, submitted)["satisfaction"]["score"] == 4


# "next" stands for whatever stage comes next, so that long runs along the path happen often.
EVERY_TARGET = st.one_of(st.just("next"), st.sampled_from([s.value for s in Stage]))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(targets=st.lists(EVERY_TARGET, min_size=1, max_size=12), with_agreement=st.booleans())
def test_any_sequence_of_moves_follows_the_path(installation, people, targets, with_agreement):
    """Whatever is asked, by whoever may ask, a request's history is a prefix of the path,
    perhaps ended by one way out, and every refusal leaves it as it was."""
    executed = agreement(installation, "executed") if with_agreement else None
    key = act(installation, "ana", dr.create, form(agreement_id=executed))["id"]
    for wanted in targets:
        before = stage_of(installation, key)
        following = dr.next_stage(Stage(before[0]))
        # On a closed request "next" asks for the first move again.
        target = wanted if wanted != "next" else following.value if following else "submitted"
        who = "ana" if target in ("submitted", "withdrawn") else "chief"
        try:
            act(installation, who, dr.move, key, target, "because")
        except (Conflict, Forbidden):
            assert stage_of(installation, key) == before
    history = [h["to"] for h in act(installation, "ana", dr.get_request, key)["history"]]
    ends = [s for s in history if s in ("declined", "withdrawn")]
    path = [s for s in history if s not in ("declined", "withdrawn")]
    assert path == [s.value for s in dr.PATH[: len(path)]]
    assert len(ends) <= 1 and (not ends or history[-1] == ends[0])
    assert len(history) <= len(targets) + 1
    if not with_agreement:
        # Without an executed agreement the path stops before 'agreement executed'.
        assert "agreement_executed" not in history


def run_cli(home, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATEDATA_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "statedata.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_cli_acts_as_a_named_user(sqlite_installation, tmp_path):
    installation = sqlite_installation
    with installation.catalog.session() as session:
        for code in ("DPH", "DSS", "SDE"):
            service.add_agency(session, code, f"Agency {code}")
        for name, role, agency in USERS:
            add_user(session, name, role, agency)
    home = installation.settings.home
    path = tmp_path / "request.json"
    path.write_text(json.dumps(form()))

    created = run_cli(home, "requests", "create", str(path), "--as", "ana")
    assert created.returncode == 0, created.stderr
    assert "Created draft DR-" in created.stdout
    reference = created.stdout.split("draft ")[1].split(" ")[0]

    assert (
        run_cli(home, "requests", "move", reference, "--to", "submitted", "--as", "ana").returncode
        == 0
    )
    queue = json.loads(run_cli(home, "requests", "queue", "--as", "dph.officer", "--json").stdout)
    assert [r["reference"] for r in queue["results"]] == [reference]

    skipped = run_cli(home, "requests", "move", reference, "--to", "analysis", "--as", "chief")
    assert skipped.returncode == 1 and "'legal review'" in skipped.stderr
    hidden = run_cli(home, "requests", "show", reference, "--as", "sde.officer")
    assert hidden.returncode == 1 and "There is no data request" in hidden.stderr
    shown = json.loads(run_cli(home, "requests", "show", reference, "--as", "dss.officer").stdout)
    assert shown["stage"] == "submitted"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(form(agencies=[])))
    refused = run_cli(home, "requests", "create", str(bad), "--as", "ana")
    assert refused.returncode == 1 and "agencies" in refused.stderr

    early = run_cli(home, "requests", "rate", reference, "--score", "5", "--as", "ana")
    assert early.returncode == 1 and "not completed yet" in early.stderr

    listed = run_cli(home, "requests", "list", "--as", "ana")
    assert reference in listed.stdout and "submitted" in listed.stdout
    metrics = json.loads(run_cli(home, "requests", "metrics", "--as-of", "2030-01-01").stdout)
    assert metrics["as_of"] == "2030-01-01"
    assert run_cli(home, "requests", "metrics", "--as-of", "soon").returncode == 1


def test_two_officers_moving_at_once_cannot_both_land(installation, submitted):
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def move_as(who: str) -> None:
        start.wait()
        try:
            act(installation, who, dr.move, submitted, "legal_review")
            outcomes.append("moved")
        except Conflict:
            outcomes.append("conflict")
        except Exception as error:  # anything else is what this test is looking for
            outcomes.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=move_as, args=(w,)) for w in ("dph.officer", "dss.officer")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "moved"]
    assert stage_of(installation, submitted) == ("legal_review", 3)
