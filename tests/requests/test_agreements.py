"""Sharing agreements: drafting from the template, the status machine, who may do what,
expiry warnings, expiry, destruction certificates, and what an executed agreement opens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from statedata.access import Action, can
from statedata.access.accounts import actor_for, add_user, get_user
from statedata.access.policy import Actor, Role
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import AuditEvent
from statedata.catalog.sharing import Agreement, Notice
from statedata.config import DEFAULT_CATEGORIES
from statedata.errors import (
    AgreementNotFound,
    AuthenticationRequired,
    Conflict,
    Forbidden,
    InvalidInput,
)
from statedata.requests import agreements
from statedata.requests.agreements import AgreementChanges, AgreementIn
from statedata.requests.authorities import add_known

CDO = Actor(name="cdo", roles=frozenset({Role.CDO}))
TODAY = dt.date.today()


@dataclass
class World:
    protected: str
    public: str
    labor_data: str


@pytest.fixture
def world(installation) -> World:
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOL", "Department of Labor")
        service.add_agency(session, "DMV", "Department of Motor Vehicles")
        add_user(session, "dph.officer", "data_officer", "DPH", display_name="Dana Officer")
        add_user(session, "dph.publisher", "publisher", "DPH")
        add_user(session, "dol.officer", "data_officer", "DOL", display_name="Lee Labor")
        add_user(session, "dmv.officer", "data_officer", "DMV")
        add_user(session, "ana.analyst", "analyst", display_name="Ana Analyst")
        add_user(session, "other.analyst", "analyst")
        add_user(session, "chief", "cdo")
        protected = service.create_dataset(
            session,
            DatasetMetadata(title="Overdose deaths", classification="protected"),
            "DPH",
            DEFAULT_CATEGORIES,
        ).id
        public = service.create_dataset(
            session, DatasetMetadata(title="Clinics"), "DPH", DEFAULT_CATEGORIES
        ).id
        labor = service.create_dataset(
            session,
            DatasetMetadata(title="Wage records", classification="protected"),
            "DOL",
            DEFAULT_CATEGORIES,
        ).id
        add_known(session, CDO)
    return World(protected, public, labor)


def actor(installation, name: str) -> Actor:
    with installation.catalog.session() as session:
        return actor_for(session, get_user(session, name))


def draft_in(world: World, **changes) -> AgreementIn:
    fields = {
        "kind": "data_use_agreement",
        "title": "Overdose and employment study",
        "parties": [
            {"agency": "DPH", "role": "provider"},
            {"agency": "DOL", "role": "recipient"},
            {"organisation": "State University", "role": "recipient"},
        ],
        "datasets": [world.protected],
        "purposes": ["Study employment after overdose"],
        "authorities": ["C.G.S. § 4-67p", "45 CFR 164.512"],
        "users": ["ana.analyst"],
        "effective_date": TODAY - dt.timedelta(days=1),
        "expiry_date": TODAY + dt.timedelta(days=365),
        "exhibits": [
            {"kind": "user_acknowledgement", "body": "I will keep the data safe."},
            {"kind": "request_form", "body": "Variables: date of death, town."},
        ],
        "retention_period": "for two years",
    }
    fields.update(changes)
    return AgreementIn.model_validate(fields)


def create(installation, world: World, by: str = "dph.officer", **changes) -> int:
    with installation.catalog.session() as session:
        return agreements.create_agreement(
            session, actor(installation, by), draft_in(world, **changes)
        ).id


def load(installation, agreement_id: int) -> Agreement:
    with installation.catalog.session() as session:
        return agreements.get_agreement(session, CDO, agreement_id)


def sign_all(installation, agreement_id: int) -> Agreement:
    parties = {
        p.agency.code if p.agency else None: p.id for p in load(installation, agreement_id).parties
    }
    with installation.catalog.session() as session:
        agreements.sign(session, actor(installation, "dph.officer"), agreement_id, parties["DPH"])
        agreements.sign(session, actor(installation, "dol.officer"), agreement_id, parties["DOL"])
        return agreements.sign(
            session, actor(installation, "chief"), agreement_id, parties[None], "Pat Provost"
        )


def send(installation, agreement_id: int, by: str = "dph.officer") -> None:
    with installation.catalog.session() as session:
        agreements.send_for_signature(session, actor(installation, by), agreement_id)


def executed(installation, world: World, **changes) -> int:
    agreement_id = create(installation, world, **changes)
    send(installation, agreement_id)
    sign_all(installation, agreement_id)
    return agreement_id


# Drafting ------------------------------------------------------------------------------------


def test_draft_records_everything_from_the_template(installation, world):
    agreement = load(installation, create(installation, world))
    assert agreement.status == "draft" and agreement.reference.startswith("AGR-")
    assert [(p.agency.code if p.agency else p.organisation, p.role) for p in agreement.parties] == [
        ("DPH", "provider"),
        ("DOL", "recipient"),
        ("State University", "recipient"),
    ]
    assert [d.dataset_id for d in agreement.datasets] == [world.protected]
    assert sorted(a.authority.citation for a in agreement.authorities) == [
        "45 CFR 164.512",
        "C.G.S. § 4-67p",
    ]
    # Exhibits are kept in the template's order, whatever order they were given in.
    assert [e.kind for e in agreement.exhibits] == ["request_form", "user_acknowledgement"]
    assert agreement.terms["retention_period"] == "for two years"
    with installation.catalog.session() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "agreement.create" in actions


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"parties": [{"agency": "DPH", "role": "provider"}]}, "parties"),
        (
            {
                "parties": [
                    {"agency": "DPH", "role": "provider"},
                    {"agency": "DOL", "role": "provider"},
                ]
            },
            "parties",
        ),
        (
            {
                "parties": [
                    {"agency": "DPH", "role": "provider"},
                    {"agency": "NOPE", "role": "recipient"},
                ]
            },
            "parties",
        ),
        (
            {
                "parties": [
                    {"agency": "DPH", "role": "provider"},
                    {"agency": "DPH", "role": "recipient"},
                ]
            },
            "parties",
        ),
        ({"datasets": ["zzzz-9999"]}, "datasets"),
        ({"datasets": []}, "datasets"),
        ({"authorities": ["No Such Act § 1"]}, "authorities"),
        ({"users": ["nobody.here"]}, "users"),
        ({"expiry_date": TODAY - dt.timedelta(days=5)}, "dates"),
    ],
)
def test_bad_drafts_are_refused_and_change_nothing(installation, world, changes, field):
    with installation.catalog.session() as session:
        with pytest.raises(InvalidInput) as raised:
            agreements.create_agreement(
                session, actor(installation, "dph.officer"), draft_in(world, **changes)
            )
        assert raised.value.data.get("field") == field
    with installation.catalog.session() as session:
        assert session.scalars(select(Agreement)).all() == []


def test_a_provider_must_hold_each_dataset(installation, world):
    # Wage records belong to DOL, which is a recipient here.
    with (
        installation.catalog.session() as session,
        pytest.raises(InvalidInput, match="not a provider"),
    ):
        agreements.create_agreement(session, CDO, draft_in(world, datasets=[world.labor_data]))


def test_a_dataset_the_drafter_cannot_see_is_reported_missing(installation, world):
    # The DMV officer cannot see DPH's protected dataset, so is told it does not exist.
    parties = [{"agency": "DPH", "role": "provider"}, {"agency": "DMV", "role": "recipient"}]
    with installation.catalog.session() as session, pytest.raises(InvalidInput, match="no dataset"):
        agreements.create_agreement(
            session, actor(installation, "dmv.officer"), draft_in(world, parties=parties)
        )


@pytest.mark.parametrize("who", ["dph.publisher", "ana.analyst", "dmv.officer"])
def test_only_data_officers_of_a_party_or_the_cdo_draft(installation, world, who):
    with installation.catalog.session() as session, pytest.raises(Forbidden):
        agreements.create_agreement(session, actor(installation, who), draft_in(world))


def test_anonymous_cannot_draft(installation, world):
    with installation.catalog.session() as session, pytest.raises(AuthenticationRequired):
        agreements.create_agreement(session, Actor(), draft_in(world))


def test_the_cdo_drafts_for_any_agencies(installation, world):
    assert load(installation, create(installation, world, by="chief")).created_by == "chief"


def test_edit_a_draft(installation, world):
    agreement_id = create(installation, world)
    with installation.catalog.session() as session:
        agreements.update_agreement(
            session,
            actor(installation, "dol.officer"),
            agreement_id,
            AgreementChanges(title="A better title", purposes=["One", "Two"]),
        )
    agreement = load(installation, agreement_id)
    assert agreement.title == "A better title" and agreement.purposes == ["One", "Two"]


def test_an_edit_that_removes_the_drafters_agency_is_refused(installation, world):
    agreement_id = create(installation, world)
    parties = [{"agency": "DPH", "role": "provider"}, {"agency": "DMV", "role": "recipient"}]
    # The error leaves the session block, as it does from the API and the CLI: all rolls back.
    with pytest.raises(Forbidden), installation.catalog.session() as session:
        agreements.update_agreement(
            session,
            actor(installation, "dol.officer"),
            agreement_id,
            AgreementChanges.model_validate({"parties": parties}),
        )
    assert len(load(installation, agreement_id).parties) == 3


# The status machine ---------------------------------------------------------------------------


def test_signing_by_every_party_executes(installation, world):
    agreement_id = create(installation, world)
    send(installation, agreement_id)
    assert load(installation, agreement_id).status == "signing"
    agreement = sign_all(installation, agreement_id)
    assert agreement.status == "executed" and agreement.executed_at is not None
    signers = {
        p.agency.code if p.agency else p.organisation: p.signed_by for p in agreement.parties
    }
    assert signers == {"DPH": "Dana Officer", "DOL": "Lee Labor", "State University": "Pat Provost"}
    with installation.catalog.session() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
        assert actions.count("agreement.sign") == 3 and "agreement.execute" in actions
        subjects = session.scalars(select(Notice.subject)).all()
    assert any("executed" in s for s in subjects)


def test_not_executed_until_the_last_signature(installation, world):
    agreement_id = create(installation, world)
    send(installation, agreement_id)
    party = load(installation, agreement_id).parties[0]
    with installation.catalog.session() as session:
        agreement = agreements.sign(
            session, actor(installation, "dph.officer"), agreement_id, party.id
        )
        assert agreement.status == "signing"


def test_edit_after_sending_is_refused(installation, world):
    agreement_id = create(installation, world)
    send(installation, agreement_id)
    with installation.catalog.session() as session, pytest.raises(Conflict):
        agreements.update_agreement(
            session, actor(installation, "dph.officer"), agreement_id, AgreementChanges(title="x")
        )
    assert load(installation, agreement_id).title == "Overdose and employment study"


def test_signing_a_draft_is_refused(installation, world):
    agreement_id = create(installation, world)
    party = load(installation, agreement_id).parties[0]
    with installation.catalog.session() as session, pytest.raises(Conflict):
        agreements.sign(session, actor(installation, "dph.officer"), agreement_id, party.id)


def test_signing_twice_is_refused(installation, world):
    agreement_id = create(installation, world)
    send(installation, agreement_id)
    party = load(installation, agreement_id).parties[0]
    with installation.catalog.session() as session:
        agreements.sign(session, actor(installation, "dph.officer"), agreement_id, party.id)
    with installation.catalog.session() as session, pytest.raises(Conflict):
        agreements.sign(session, actor(installation, "dph.officer"), agreement_id, party.id)


def test_sending_needs_dates_and_a_legal_authority(installation, world):
    undated = create(installation, world, expiry_date=None)
    uncited = create(installation, world, authorities=[])
    for agreement_id in (undated, uncited):
        with installation.catalog.session() as session, pytest.raises(InvalidInput):
            agreements.send_for_signature(session, actor(installation, "dph.officer"), agreement_id)
        assert load(installation, agreement_id).status == "draft"


def test_only_the_agencys_own_data_officer_signs_for_it(installation, world):
    agreement_id = create(installation, world)
    send(installation, agreement_id)
    dph = load(installation, agreement_id).parties[0]
    for who in ("dol.officer", "chief", "dph.publisher"):
        with installation.catalog.session() as session, pytest.raises(Forbidden):
            agreements.sign(session, actor(installation, who), agreement_id, dph.id)


def test_an_outside_signature_is_recorded_by_the_cdo_with_a_name(installation, world):
    agreement_id = create(installation, world)
    send(installation, agreement_id)
    university = load(installation, agreement_id).parties[2]
    with installation.catalog.session() as session, pytest.raises(Forbidden):
        agreements.sign(
            session, actor(installation, "dph.officer"), agreement_id, university.id, "X"
        )
    with installation.catalog.session() as session, pytest.raises(InvalidInput):
        agreements.sign(session, actor(installation, "chief"), agreement_id, university.id)


def test_outsiders_are_told_the_agreement_does_not_exist(installation, world):
    agreement_id = create(installation, world)
    for who in ("dmv.officer", "other.analyst"):
        with installation.catalog.session() as session:
            with pytest.raises(AgreementNotFound):
                agreements.get_agreement(session, actor(installation, who), agreement_id)
            with pytest.raises(AgreementNotFound):
                agreements.send_for_signature(session, actor(installation, who), agreement_id)
            assert agreements.list_agreements(session, actor(installation, who)) == []


def test_named_users_and_party_staff_see_but_cannot_change(installation, world):
    agreement_id = create(installation, world)
    for who in ("ana.analyst", "dph.publisher"):
        with installation.catalog.session() as session:
            assert agreements.get_agreement(session, actor(installation, who), agreement_id)
            with pytest.raises(Forbidden):
                agreements.terminate(session, actor(installation, who), agreement_id, "no")


def test_terminate_needs_a_reason_and_notifies(installation, world):
    agreement_id = executed(installation, world)
    with installation.catalog.session() as session, pytest.raises(InvalidInput):
        agreements.terminate(session, actor(installation, "dol.officer"), agreement_id, "  ")
    with installation.catalog.session() as session:
        agreements.terminate(
            session, actor(installation, "dol.officer"), agreement_id, "The study was cancelled."
        )
    agreement = load(installation, agreement_id)
    assert agreement.status == "terminated" and agreement.end_reason == "The study was cancelled."
    with installation.catalog.session() as session, pytest.raises(Conflict):
        agreements.terminate(session, CDO, agreement_id, "again")


# Access ---------------------------------------------------------------------------------------


def test_executed_agreement_grants_the_named_user_read_access(installation, world):
    def can_read(name: str) -> bool:
        with installation.catalog.session() as session:
            dataset = service.get_dataset(session, world.protected)
            return can(actor(installation, name), Action.READ_ROWS, dataset)

    agreement_id = create(installation, world)
    send(installation, agreement_id)
    assert not can_read("ana.analyst")
    sign_all(installation, agreement_id)
    assert can_read("ana.analyst") and not can_read("other.analyst")
    with installation.catalog.session() as session:
        agreements.terminate(session, CDO, agreement_id, "Ended early.")
    assert not can_read("ana.analyst")


# Expiry warnings --------------------------------------------------------------------------------


def notices_about(installation, agreement_id: int, kind: str) -> list[Notice]:
    with installation.catalog.session() as session:
        return session.scalars(
            select(Notice)
            .where(Notice.kind == kind, Notice.dedupe_key.like(f"agreement:{agreement_id}:%"))
            .order_by(Notice.id)
        ).all()


def test_warnings_at_60_and_30_days_each_sent_once(installation, world):
    agreement_id = executed(installation, world, expiry_date=TODAY + dt.timedelta(days=100))
    expiry = TODAY + dt.timedelta(days=100)

    def run(days_before: int) -> agreements.ExpiryReport:
        with installation.catalog.session() as session:
            return agreements.warn_expiring(session, expiry - dt.timedelta(days=days_before))

    assert run(61).warned_60 == []
    first = run(60)
    reference = load(installation, agreement_id).reference
    assert first.warned_60 == [reference] and first.warned_30 == []
    # Two party agencies (the outside organisation gets no in-app notice).
    assert len(notices_about(installation, agreement_id, "agreement.expiring")) == 2
    assert run(59).warned_60 == [] and run(45).warned_60 == []
    assert len(notices_about(installation, agreement_id, "agreement.expiring")) == 2
    second = run(30)
    assert second.warned_30 == [reference] and second.warned_60 == []
    assert run(29).warned_30 == [] and run(1).warned_30 == []
    sent = notices_about(installation, agreement_id, "agreement.expiring")
    assert len(sent) == 4
    assert {n.subject for n in sent} == {
        f"Agreement {reference} expires in 60 days",
        f"Agreement {reference} expires in 30 days",
    }
    agreement = load(installation, agreement_id)
    assert agreement.warned_60_at is not None and agreement.warned_30_at is not None
    assert agreement.status == "executed"


def test_a_late_first_run_sends_only_the_30_day_warning(installation, world):
    agreement_id = executed(installation, world, expiry_date=TODAY + dt.timedelta(days=20))
    with installation.catalog.session() as session:
        report = agreements.warn_expiring(session, TODAY)
    assert report.warned_60 == [] and len(report.warned_30) == 1
    with installation.catalog.session() as session:
        assert agreements.warn_expiring(session, TODAY).warned_60 == []
    assert len(notices_about(installation, agreement_id, "agreement.expiring")) == 2


def test_drafts_and_signing_agreements_get_no_warnings(installation, world):
    draft = create(installation, world, expiry_date=TODAY + dt.timedelta(days=10))
    with installation.catalog.session() as session:
        report = agreements.warn_expiring(session, TODAY)
    assert report.warned_30 == [] and notices_about(installation, draft, "agreement.expiring") == []


def test_expiry_marks_expired_and_ends_access(installation, world):
    agreement_id = executed(installation, world, expiry_date=TODAY + dt.timedelta(days=10))
    with installation.catalog.session() as session:
        assert agreements.warn_expiring(session, TODAY + dt.timedelta(days=10)).expired == []
    with installation.catalog.session() as session:
        report = agreements.warn_expiring(session, TODAY + dt.timedelta(days=11))
    agreement = load(installation, agreement_id)
    assert report.expired == [agreement.reference]
    assert agreement.status == "expired" and agreement.ended_at is not None
    assert len(notices_about(installation, agreement_id, "agreement.expired")) == 2
    with installation.catalog.session() as session:
        assert agreements.warn_expiring(session, TODAY + dt.timedelta(days=12)).expired == []
    # An expired agreement is still a record: it can be read, never revived.
    with installation.catalog.session() as session, pytest.raises(Conflict):
        agreements.terminate(session, CDO, agreement_id, "too late")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(days=st.lists(st.integers(min_value=-5, max_value=90), min_size=1, max_size=12))
def test_however_often_it_runs_each_warning_goes_out_once(installation, world, days):
    """Any sequence of daily runs (in any order, repeated) sends at most one 60-day and one
    30-day notice per party agency, and never a 60-day one inside 30 days."""
    expiry = TODAY + dt.timedelta(days=200)
    with installation.catalog.session() as session:
        agreement = session.scalars(
            select(Agreement).where(Agreement.title == "hypothesis")
        ).first()
    if agreement is None:
        agreement_id = executed(installation, world, title="hypothesis", expiry_date=expiry)
    else:
        agreement_id = agreement.id
    for before in days:
        with installation.catalog.session() as session:
            agreements.warn_expiring(session, expiry - dt.timedelta(days=before))
    sent = notices_about(installation, agreement_id, "agreement.expiring")
    keys = [n.dedupe_key for n in sent]
    assert len(keys) == len(set(keys)) and len(keys) <= 4


# Destruction certificates ---------------------------------------------------------------------


def test_destruction_outstanding_until_each_recipient_certifies(installation, world):
    agreement_id = executed(installation, world)
    dph_officer, dol_officer = (
        actor(installation, "dph.officer"),
        actor(installation, "dol.officer"),
    )
    with installation.catalog.session() as session:
        assert agreements.destruction_outstanding(session, dph_officer) == []
        agreements.terminate(session, dph_officer, agreement_id, "Study over.")
    with installation.catalog.session() as session:
        rows = agreements.destruction_outstanding(session, dph_officer)
        assert [(r.agency.code, agreements.party_name(r.party), r.owes) for r in rows] == [
            ("DPH", "Department of Labor", False),
            ("DPH", "State University", False),
        ]
        rows = agreements.destruction_outstanding(session, dol_officer)
        assert [(r.agency.code, r.owes) for r in rows] == [("DOL", True), ("DOL", False)]
        assert len(agreements.destruction_outstanding(session, CDO)) == 4
    parties = load(installation, agreement_id).parties
    dph, dol, university = parties
    with installation.catalog.session() as session:
        with pytest.raises(InvalidInput):  # a provider owes no certificate
            agreements.certify_destruction(session, dph_officer, agreement_id, dph.id)
        with pytest.raises(Forbidden):  # DPH cannot certify for DOL
            agreements.certify_destruction(session, dph_officer, agreement_id, dol.id)
        agreements.certify_destruction(session, dol_officer, agreement_id, dol.id)
    with installation.catalog.session() as session:
        with pytest.raises(Conflict):
            agreements.certify_destruction(session, dol_officer, agreement_id, dol.id)
        rows = agreements.destruction_outstanding(session, dph_officer)
        assert [agreements.party_name(r.party) for r in rows] == ["State University"]
        agreements.certify_destruction(
            session, dph_officer, agreement_id, university.id, "Dr. Pat Provost"
        )
    with installation.catalog.session() as session:
        assert agreements.destruction_outstanding(session, CDO) == []
    certified = {p.id: p.destruction_certified_by for p in load(installation, agreement_id).parties}
    assert certified == {dph.id: None, dol.id: "Lee Labor", university.id: "Dr. Pat Provost"}


def test_no_certificate_while_in_force_or_for_agreements_never_executed(installation, world):
    live = executed(installation, world)
    never = create(installation, world)
    with installation.catalog.session() as session:
        agreements.terminate(session, CDO, never, "Abandoned.")
    for agreement_id in (live, never):
        dol = load(installation, agreement_id).parties[1]
        with installation.catalog.session() as session, pytest.raises(Conflict):
            agreements.certify_destruction(
                session, actor(installation, "dol.officer"), agreement_id, dol.id
            )
    with installation.catalog.session() as session:
        assert agreements.destruction_outstanding(session, CDO) == []


def test_expired_agreements_are_in_the_report(installation, world):
    executed(installation, world, expiry_date=TODAY + dt.timedelta(days=3))
    with installation.catalog.session() as session:
        agreements.warn_expiring(session, TODAY + dt.timedelta(days=4))
    with installation.catalog.session() as session:
        rows = agreements.destruction_outstanding(session, actor(installation, "dol.officer"))
    assert {r.agreement.status for r in rows} == {"expired"} and len(rows) == 2


def test_the_report_for_another_agency_is_refused(installation, world):
    with installation.catalog.session() as session, pytest.raises(Forbidden):
        agreements.destruction_outstanding(session, actor(installation, "dph.officer"), "DOL")


# The command line --------------------------------------------------------------------------------


def test_the_cli_drafts_signs_renders_and_warns(installation, world, tmp_path):
    import json

    from typer.testing import CliRunner

    from statedata.cli import app

    home = str(installation.settings.home)
    # The CLI opens the installation by its home and, on PostgreSQL, by the same URL.
    env = {"STATEDATA_DATABASE_URL": installation.settings.database_url or ""}
    draft = draft_in(world, expiry_date=TODAY + dt.timedelta(days=20)).model_dump(mode="json")
    path = tmp_path / "agreement.json"
    path.write_text(json.dumps(draft), encoding="utf-8")
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(app, [*args, "--home", home], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert "Drafted AGR-" in cli("agreements", "create", str(path), "--as", "dph.officer")
    cli("agreements", "send", "1", "--as", "dph.officer")
    cli("agreements", "sign", "1", "--party", "1", "--as", "dph.officer")
    cli("agreements", "sign", "1", "--party", "2", "--as", "dol.officer")
    refused = runner.invoke(
        app, ["agreements", "sign", "1", "--party", "3", "--home", home], env=env
    )
    assert refused.exit_code == 1 and "signed_by" in refused.output
    assert "executed" in cli("agreements", "sign", "1", "--party", "3", "--signed-by", "Pat")
    shown = json.loads(cli("agreements", "show", "1"))
    assert shown["status"] == "executed" and shown["parties"][2]["signed_by"] == "Pat"
    target = tmp_path / "agreement.pdf"
    cli("agreements", "render", "1", "--format", "pdf", "--output", str(target))
    assert target.read_bytes().startswith(b"%PDF-")
    assert "30-day warnings: 1" in cli("agreements", "warn-expiring")
    assert "30-day warnings: 0" in cli("agreements", "warn-expiring")
    assert "1 to C.G.S. § 4-67p" in cli("authorities", "link", "C.G.S. § 4-67p", world.public)
