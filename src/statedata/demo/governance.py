"""The demo's people and paperwork: staff and analysts who can sign in, the registry of laws,
a year of public dataset suggestions, interagency data requests at every stage, and sharing
agreements (one of them multi-party), all through the same workflows the API uses, then dated
back across the year so the plan's metrics have a history to show.

Everyone here signs in with the password in `DEMO_PASSWORD`: this is a demo on loopback, not
a portal to deploy as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.access import passwords
from statedata.access.accounts import actor_for, add_user, get_user
from statedata.catalog.models import Agency, Dataset, User
from statedata.catalog.sharing import (
    Agreement,
    DataRequest,
    DataRequestEvent,
    SuggestionEvent,
)
from statedata.requests import agreements, authorities, data_requests, suggestions
from statedata.requests.agreements import AgreementIn, PartyIn

DEMO_PASSWORD = "statedata demo 2026"
ACTOR = "demo"

# name, display name, role, agency
PEOPLE = [
    ("demo.cdo", "Dana Whitfield", "cdo", None),
    ("dph.officer", "Priya Raman", "data_officer", "DPH"),
    ("dph.publisher", "Marcus Bell", "publisher", "DPH"),
    ("dss.officer", "Elena Ortiz", "data_officer", "DSS"),
    ("dol.officer", "James Okafor", "data_officer", "DOL"),
    ("dmhas.officer", "Grace Liu", "data_officer", "DMHAS"),
    ("sde.officer", "Tom Brennan", "data_officer", "SDE"),
    ("dot.publisher", "Ana Souza", "publisher", "DOT"),
    ("uconn.analyst", "Dr. Kim Nguyen", "analyst", None),
    ("yale.analyst", "Dr. Sam Patel", "analyst", None),
]

# What residents ask for: a topic, the agency it is for, and why.
SUGGESTED = [
    ("School bus routes and stops", "SDE", "Parents want to plan mornings."),
    ("Restaurant inspection results", "DPH", "To choose where to eat safely."),
    ("Road construction schedule", "DOT", "Commuters plan around closures."),
    ("Child care slots available by town", "OEC", "Families look for care near work."),
    ("Unemployment claims by industry", "DOL", "Local planners track the economy."),
    ("Opioid treatment wait times", "DMHAS", "People seeking help need to know."),
    ("Affordable housing units by town", "DOH", "Renters and towns plan housing."),
    ("Electric vehicle charging stations", "DEEP", "Drivers plan trips."),
    ("Lead testing results in schools", "DPH", "Parents care about water safety."),
    ("State park visitor counts", "DEEP", "Towns plan parking and staff."),
    ("SNAP participation by town", "DSS", "Food banks plan their stock."),
    ("Nursing home staffing levels", "DPH", "Families choosing a home need it."),
    ("Traffic crashes at intersections", "DOT", "Residents ask for safer crossings."),
    ("Teacher vacancies by district", "SDE", "Districts compare hiring needs."),
    ("Small business grants awarded", "DECD", "Owners want to see who got help."),
    ("Liquor permits by town", "LCD", "Zoning boards review new permits."),
    ("Wait times at DMV offices", "DMV", "People pick the quickest office."),
    ("Flood insurance claims by town", "CID", "Coastal towns plan for storms."),
    ("Veterans services usage", "DVA", "Advocates plan outreach."),
    ("State contracts awarded", "DAS", "Vendors and reporters follow spending."),
    ("Broadband coverage by census block", "DEEP", "Towns apply for federal grants."),
    ("Shelter bed availability", "DOH", "Outreach workers place people fast."),
    ("Air quality readings by hour", "DEEP", "People with asthma plan the day."),
    ("Prison population by facility", "DOC", "Families and researchers follow it."),
]
VARIANTS = ["", " (monthly)", " for earlier years"]
DECLINE = [
    ("The records are exempt from disclosure.", "C.G.S. § 1-210(b)"),
    ("We do not collect this information.", None),
    ("It is already published by the federal government; see data.gov.", None),
]


def _rng(purpose: str) -> np.random.Generator:
    seed = int.from_bytes(hashlib.sha256(f"governance:{purpose}".encode()).digest()[:8], "big")
    return np.random.default_rng(seed)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def is_built(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.name == PEOPLE[0][0])) is not None


def build(session: Session, as_of: dt.date, secret: bytes) -> None:
    """Add the demo's people, laws, suggestions, requests and agreements (once)."""
    if is_built(session):
        return
    # One hash for everyone: argon2 is slow on purpose, and they all share the demo password.
    shared = passwords.hash_password(DEMO_PASSWORD)
    for name, display, role, agency in PEOPLE:
        user = add_user(session, name, role, agency, display, f"{name}@example.gov", ACTOR)
        user.password_hash = shared
    cdo = actor_for(session, get_user(session, "demo.cdo"))
    authorities.add_known(session, cdo)
    _suggestions(session, as_of, secret)
    agreement_ids = _agreements(session, as_of)
    _requests(session, as_of, agreement_ids)


def _suggestions(session: Session, as_of: dt.date, secret: bytes) -> None:
    rng = _rng("suggestions")
    cdo = actor_for(session, get_user(session, "demo.cdo"))
    public_by_agency: dict[str, list[str]] = {}
    for dataset_id, code in session.execute(
        select(Dataset.id, Agency.code)
        .join(Agency, Agency.id == Dataset.agency_id)
        .where(Dataset.classification == "public", Dataset.status == "active")
        .order_by(Dataset.id)
    ):
        public_by_agency.setdefault(code, []).append(dataset_id)
    number = 0
    for variant in VARIANTS:
        for title, code, reason in SUGGESTED:
            number += 1
            created = as_of - dt.timedelta(days=int(rng.integers(1, 365)))
            sender = suggestions.keyed_hash(secret, f"demo-resident-{number}")
            suggestion = suggestions.create(
                session,
                suggestions.NewSuggestion(
                    title=title + variant,
                    description=f"Please publish {title.lower()}{variant}, updated regularly.",
                    reason=reason,
                    agency=code,
                ),
                sender,
                per_hour=1000,
            )
            suggestion.vote_count = int(rng.zipf(1.8)) - 1
            roll = rng.random()
            moves: list[suggestions.StatusChange] = []
            if roll > 0.35:
                moves.append(suggestions.StatusChange("under_review", "We are looking at it."))
            publishable = 0.7 < roll <= 0.85 and bool(public_by_agency.get(code))
            if 0.55 < roll <= 0.7 or publishable:
                target = as_of + dt.timedelta(days=int(rng.integers(30, 200)))
                moves.append(suggestions.StatusChange("planned", "Planned.", target_date=target))
            if publishable:
                dataset_id = public_by_agency[code][number % len(public_by_agency[code])]
                moves.append(
                    suggestions.StatusChange("published", "Now published.", dataset_id=dataset_id)
                )
            elif roll > 0.85:
                why, citation = DECLINE[number % len(DECLINE)]
                moves.append(
                    suggestions.StatusChange(
                        "declined", why, decline_reason=why, legal_citation=citation
                    )
                )
            for move in moves:
                suggestions.change_status(session, cdo, suggestion.id, move, today=as_of)
            # Dated back: created on its day, each move a few days after the last.
            suggestion.created_at = _at(created)
            when = created
            for event in session.scalars(
                select(SuggestionEvent)
                .where(SuggestionEvent.suggestion_id == suggestion.id)
                .order_by(SuggestionEvent.id)
            ):
                event.occurred_at = _at(when)
                when = min(as_of, when + dt.timedelta(days=int(rng.integers(2, 20))))
            suggestion.updated_at = _at(when)
    session.flush()


def _first_dataset(session: Session, code: str, classification: str | None = None) -> str:
    query = (
        select(Dataset.id)
        .join(Agency, Agency.id == Dataset.agency_id)
        .where(Agency.code == code, Dataset.current_version_id.is_not(None))
        .order_by(Dataset.id)
    )
    if classification:
        query = query.where(Dataset.classification == classification)
    found = session.scalar(query) or session.scalar(
        select(Dataset.id).join(Agency).where(Agency.code == code).order_by(Dataset.id)
    )
    assert found is not None, f"the demo has no dataset of {code}"
    return found


def _sign_all(session: Session, agreement: Agreement, today: dt.date) -> None:
    cdo = actor_for(session, get_user(session, "demo.cdo"))
    officers = {
        "DPH": "dph.officer",
        "DSS": "dss.officer",
        "DOL": "dol.officer",
        "DMHAS": "dmhas.officer",
        "SDE": "sde.officer",
    }
    for party in list(agreement.parties):
        if party.agency is not None and party.agency.code in officers:
            signer = actor_for(session, get_user(session, officers[party.agency.code]))
            agreements.sign(session, signer, agreement.id, party.id, today=today)
        else:
            agreements.sign(
                session, cdo, agreement.id, party.id, signed_by="Dr. Kim Nguyen", today=today
            )


def _agreements(session: Session, as_of: dt.date) -> dict[str, int]:
    cdo = actor_for(session, get_user(session, "demo.cdo"))
    start = as_of - dt.timedelta(days=200)
    made = {}
    specs = {
        "overdose": AgreementIn(
            kind="data_sharing_agreement",
            title="Overdose, treatment and employment outcomes",
            parties=[
                PartyIn(agency="DPH", role="provider"),
                PartyIn(agency="DMHAS", role="provider"),
                PartyIn(agency="DOL", role="provider"),
                PartyIn(organisation="University of Connecticut", role="recipient"),
            ],
            datasets=[
                _first_dataset(session, "DPH"),
                _first_dataset(session, "DMHAS"),
                _first_dataset(session, "DOL"),
            ],
            purposes=["Study employment and treatment after a non-fatal overdose"],
            authorities=["C.G.S. § 4-67p"],
            users=["uconn.analyst"],
            effective_date=start,
            expiry_date=start + dt.timedelta(days=3 * 365),
            exhibits=[{"kind": "user_acknowledgement", "body": "I will keep the data safe."}],
        ),
        "snap": AgreementIn(
            kind="mou",
            title="SNAP and school meals matching",
            parties=[
                PartyIn(agency="DSS", role="provider"),
                PartyIn(agency="SDE", role="recipient"),
            ],
            datasets=[_first_dataset(session, "DSS")],
            purposes=["Enrol eligible children in free school meals"],
            authorities=["C.G.S. § 4-67p"],
            effective_date=start + dt.timedelta(days=60),
            expiry_date=as_of + dt.timedelta(days=45),
        ),
    }
    for key, spec in specs.items():
        agreement = agreements.create_agreement(session, cdo, spec)
        agreements.send_for_signature(session, cdo, agreement.id, today=start)
        _sign_all(session, agreement, start)
        made[key] = agreement.id
    session.flush()
    return made


# (title, requester, organisation, agencies, how far it got, days each stage took)
REQUESTS = [
    ("Overdose and employment outcomes", "uconn.analyst", "University of Connecticut",
     ["DPH", "DMHAS", "DOL"], "completed", "overdose"),
    ("Reading scores and SNAP participation", "yale.analyst", "Yale School of Public Health",
     ["SDE", "DSS"], "analysis", "snap"),
    ("Emergency visits for heat illness", "uconn.analyst", "University of Connecticut",
     ["DPH"], "legal_review", None),
    ("Apprenticeship completion by program", "yale.analyst", "Yale School of Public Health",
     ["DOL"], "submitted", None),
    ("Child welfare and school attendance", "uconn.analyst", "University of Connecticut",
     ["SDE"], "declined", None),
    ("Medicaid and housing stability", "yale.analyst", "Yale School of Public Health",
     ["DSS"], "completed", "snap"),
]  # fmt: skip
PATH = list(data_requests.Stage)[:8]  # draft ... completed


def _requests(session: Session, as_of: dt.date, agreement_ids: dict[str, int]) -> None:
    rng = _rng("requests")
    cdo = actor_for(session, get_user(session, "demo.cdo"))
    for number, (title, who, organisation, agencies, reached, agreement) in enumerate(REQUESTS):
        requester = actor_for(session, get_user(session, who))
        request = data_requests.create(
            session,
            requester,
            {
                "organisation": organisation,
                "title": title,
                "purpose": f"To understand {title.lower()} across Connecticut.",
                "planned_use": "A peer-reviewed paper and a public brief.",
                "who_has_access": "Two named researchers on an encrypted university server.",
                "data_elements": [
                    {"elements": ["person id", "dates", "town"], "level": "individual"}
                ],
                "retention_period": "Three years from delivery",
                "destruction_method": "Secure deletion with a certificate",
                "agencies": agencies,
                "legal_basis": "C.G.S. § 4-67p",
                "agreement_id": agreement_ids[agreement] if agreement else None,
            },
        )
        if reached == "declined":
            data_requests.move(session, requester, request.id, "submitted")
            data_requests.move(
                session, cdo, request.id, "declined", "The records are confidential by law."
            )
        else:
            for stage in PATH[1 : PATH.index(data_requests.Stage(reached)) + 1]:
                mover = requester if stage is data_requests.Stage.SUBMITTED else cdo
                data_requests.move(session, mover, request.id, stage.value, "Moved on.")
        if reached == "completed":
            data_requests.rate(session, requester, request.id, {"score": 3 + number % 3})
        _date_back(session, request, as_of, rng)
    session.flush()


def _date_back(
    session: Session, request: DataRequest, as_of: dt.date, rng: np.random.Generator
) -> None:
    events = session.scalars(
        select(DataRequestEvent)
        .where(DataRequestEvent.request_id == request.id)
        .order_by(DataRequestEvent.id)
    ).all()
    # Stages take weeks to months, as the plan found; the whole path ends before today.
    spans = [int(rng.integers(5, 75)) for _ in events]
    when = as_of - dt.timedelta(days=sum(spans) + 1)
    request.created_at = _at(when)
    for event, span in zip(events, spans, strict=True):
        when += dt.timedelta(days=span)
        event.occurred_at = _at(when)
        if event.to_stage == "submitted":
            request.submitted_at = _at(when)
        if event.to_stage in ("completed", "declined", "withdrawn"):
            request.closed_at = _at(when)
