"""Sharing agreements, drafted from the state's uniform template: who the parties are, which
datasets they share, for which purposes, under which laws, who may see the data, from when
until when, with which exhibits; then sent for signature, signed by every party, executed,
and ended by expiry or termination, after which each recipient owes a destruction certificate.

Status: draft -> signing -> executed -> expired | terminated (a draft or one being signed may
also be terminated). Only the Chief Data Officer and the data officers of a party agency change
an agreement; every change is audited. What an executed agreement opens is decided by
`access.grants`, not here.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statedata.access.grants import in_force
from statedata.access.policy import Action, Actor, Role, can
from statedata.catalog import audit, notices, service
from statedata.catalog.models import Agency, Dataset, User, utcnow
from statedata.catalog.sharing import (
    Agreement,
    AgreementAuthority,
    AgreementDataset,
    AgreementExhibit,
    AgreementParty,
    AgreementUser,
)
from statedata.errors import (
    AgencyNotFound,
    AgreementNotFound,
    AuthenticationRequired,
    AuthorityNotFound,
    Conflict,
    DatasetNotFound,
    Forbidden,
    InvalidInput,
    UserNotFound,
)
from statedata.requests import authorities as registry

TEMPLATE_VERSION = "1"

DRAFT, SIGNING, EXECUTED, EXPIRED, TERMINATED = (
    "draft",
    "signing",
    "executed",
    "expired",
    "terminated",
)
STATUSES = (DRAFT, SIGNING, EXECUTED, EXPIRED, TERMINATED)
ENDED = (EXPIRED, TERMINATED)
PROVIDER, RECIPIENT = "provider", "recipient"


@dataclass(frozen=True)
class Kind:
    name: str
    use: str


# The kinds of agreement the state's data sharing playbook describes, each with when to use it.
KINDS: dict[str, Kind] = {
    "mou": Kind(
        "Memorandum of Understanding",
        "ongoing transfers of data on settled terms, setting out each party's role and "
        "responsibilities",
    ),
    "data_use_agreement": Kind(
        "Data Use Agreement",
        "a single transfer of data, saying exactly what is shared, who may see it, what it "
        "may be used for and how it is destroyed",
    ),
    "enterprise_mou": Kind(
        "Enterprise Memorandum of Understanding",
        "a long-term agreement among many agencies for many data requests, with shared "
        "governance and request procedures",
    ),
    "data_sharing_agreement": Kind(
        "Data Sharing Agreement",
        "a long-term relationship with several transfers, including how requests are "
        "authorised and how shared data is stored, protected and disposed of",
    ),
    "business_associate_agreement": Kind(
        "Business Associate Agreement",
        "protected health information handled for a HIPAA covered entity",
    ),
    "nda": Kind(
        "Non-Disclosure Agreement",
        "keeping sensitive information from being shared with anyone else",
    ),
}

# The exhibits of the uniform template, in the order they are lettered.
EXHIBIT_KINDS: dict[str, str] = {
    "request_form": "Data sharing request form and requested variables",
    "user_acknowledgement": "User acknowledgement form",
    "confidentiality": "Confidentiality and non-disclosure agreement",
    "irb_approval": "Institutional Review Board (IRB) approval",
    "data_destruction_certificate": "Data destruction certificate",
}

MAX_TEXT = 20_000
MAX_EXHIBIT = 100_000


def _clean(value: str) -> str:
    return " ".join(value.split())


class PartyIn(BaseModel):
    """A party: an agency by its code, or an outside organisation by its name."""

    model_config = ConfigDict(extra="forbid")

    agency: str | None = Field(default=None, max_length=32)
    organisation: str | None = Field(default=None, max_length=300)
    role: Literal["provider", "recipient"]

    @model_validator(mode="after")
    def _one_of(self) -> PartyIn:
        has_agency = bool(self.agency and self.agency.strip())
        has_org = bool(self.organisation and self.organisation.strip())
        if has_agency == has_org:
            raise ValueError("a party is either an agency (its code) or an organisation (a name)")
        return self


class ExhibitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    title: str | None = Field(default=None, max_length=300)
    body: str = Field(default="", max_length=MAX_EXHIBIT)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in EXHIBIT_KINDS:
            raise ValueError(f"'{value}' is not an exhibit; use one of {', '.join(EXHIBIT_KINDS)}")
        return value


class AgreementChanges(BaseModel):
    """Changes to a draft: each field given replaces the one stored; lists are replaced whole."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = None
    title: str | None = Field(default=None, max_length=300)
    parties: list[PartyIn] | None = Field(default=None, max_length=50)
    datasets: list[str] | None = Field(default=None, max_length=500)
    purposes: list[str] | None = Field(default=None, max_length=50)
    authorities: list[str] | None = Field(default=None, max_length=100)
    users: list[str] | None = Field(default=None, max_length=500)
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    exhibits: list[ExhibitIn] | None = Field(default=None, max_length=20)
    retention_period: str | None = Field(default=None, max_length=500)
    destruction_method: str | None = Field(default=None, max_length=MAX_TEXT)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str | None) -> str | None:
        if value is not None and value not in KINDS:
            raise ValueError(f"'{value}' is not a kind of agreement; use one of {', '.join(KINDS)}")
        return value

    @field_validator("purposes")
    @classmethod
    def _purposes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [" ".join(p.split()) for p in value]
        if not cleaned or any(not p or len(p) > MAX_TEXT for p in cleaned):
            raise ValueError("give at least one purpose, each 1 to 20,000 characters")
        return cleaned


class AgreementIn(AgreementChanges):
    """A new agreement. Kind, title, parties, datasets and purposes are required."""

    kind: str
    title: str = Field(max_length=300)
    parties: list[PartyIn] = Field(max_length=50)
    datasets: list[str] = Field(max_length=500)
    purposes: list[str] = Field(max_length=50)


# Loading and who may do what ----------------------------------------------------------------


def _load(session: Session, agreement_id: int) -> Agreement | None:
    return session.get(
        Agreement,
        agreement_id,
        options=[
            selectinload(Agreement.parties).selectinload(AgreementParty.agency),
            selectinload(Agreement.datasets),
            selectinload(Agreement.users).selectinload(AgreementUser.user),
            selectinload(Agreement.authorities).selectinload(AgreementAuthority.authority),
            selectinload(Agreement.exhibits),
        ],
        populate_existing=True,
    )


def party_agencies(agreement: Agreement) -> set[str]:
    return {p.agency.code for p in agreement.parties if p.agency is not None}


def can_see(actor: Actor, agreement: Agreement) -> bool:
    """The CDO, the staff of a party agency and the users the agreement names see it."""
    if actor.is_cdo:
        return True
    if actor.staff_agencies() & party_agencies(agreement):
        return True
    return actor.user_id is not None and any(u.user_id == actor.user_id for u in agreement.users)


def can_manage(actor: Actor, agreement: Agreement) -> bool:
    """The CDO and the data officers of a party agency draft, send, end and sign for it."""
    return actor.is_cdo or bool(actor.staff_agencies(Role.DATA_OFFICER) & party_agencies(agreement))


def _missing(agreement_id: int) -> AgreementNotFound:
    return AgreementNotFound(f"There is no agreement {agreement_id}.", id=agreement_id)


def get_agreement(session: Session, actor: Actor, agreement_id: int) -> Agreement:
    """The agreement, if the actor may see it; otherwise reported as missing."""
    agreement = _load(session, agreement_id)
    if agreement is None or not can_see(actor, agreement):
        raise _missing(agreement_id)
    return agreement


def _managed(session: Session, actor: Actor, agreement_id: int) -> Agreement:
    agreement = get_agreement(session, actor, agreement_id)
    if not can_manage(actor, agreement):
        raise Forbidden(
            "Only the data officers of a party agency and the Chief Data Officer may change "
            "this agreement."
        )
    return agreement


def _need_status(agreement: Agreement, *allowed: str, doing: str) -> None:
    if agreement.status not in allowed:
        raise Conflict(
            f"Agreement {agreement.reference} is {agreement.status}; it can be {doing} only "
            f"while {' or '.join(allowed)}.",
            status=agreement.status,
        )


def _actor_name(actor: Actor) -> str:
    return actor.name or "system"


def list_agreements(
    session: Session,
    actor: Actor,
    status: str | None = None,
    agency: str | None = None,
) -> list[Agreement]:
    """The agreements the actor may see, newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"'{status}' is not an agreement status; use one of {', '.join(STATUSES)}.",
            field="status",
        )
    query = (
        select(Agreement)
        .options(
            selectinload(Agreement.parties).selectinload(AgreementParty.agency),
            selectinload(Agreement.users),
            selectinload(Agreement.datasets),
        )
        .order_by(Agreement.id.desc())
    )
    if status:
        query = query.where(Agreement.status == status)
    found = [a for a in session.scalars(query) if can_see(actor, a)]
    if agency:
        code = agency.strip().upper()
        found = [a for a in found if code in party_agencies(a)]
    return found


# Drafting -----------------------------------------------------------------------------------


def _apply(session: Session, actor: Actor, agreement: Agreement, changes: AgreementChanges) -> None:
    """Check every given field against the catalog, then write them onto `agreement`."""
    given = changes.model_fields_set
    if "kind" in given and changes.kind is not None:
        agreement.kind = changes.kind
    if "title" in given and changes.title is not None:
        title = _clean(changes.title)
        if not title:
            raise InvalidInput("An agreement needs a title.", field="title")
        agreement.title = title
    if "purposes" in given and changes.purposes is not None:
        agreement.purposes = changes.purposes
    if "parties" in given and changes.parties is not None:
        agreement.parties = _parties(session, changes.parties)
    if "datasets" in given and changes.datasets is not None:
        agreement.datasets = _datasets(session, actor, changes.datasets)
    if "authorities" in given and changes.authorities is not None:
        agreement.authorities = _authorities(session, changes.authorities)
    if "users" in given and changes.users is not None:
        agreement.users = _users(session, changes.users)
    if "effective_date" in given:
        agreement.effective_date = changes.effective_date
    if "expiry_date" in given:
        agreement.expiry_date = changes.expiry_date
    if "exhibits" in given and changes.exhibits is not None:
        agreement.exhibits = [
            AgreementExhibit(
                kind=e.kind,
                title=_clean(e.title or "") or EXHIBIT_KINDS[e.kind],
                body=e.body.strip(),
                added_by=_actor_name(actor),
            )
            for e in sorted(changes.exhibits, key=lambda e: list(EXHIBIT_KINDS).index(e.kind))
        ]
    terms = dict(agreement.terms or {})
    for name in ("retention_period", "destruction_method"):
        if name in given:
            value = getattr(changes, name)
            terms[name] = value.strip() if value and value.strip() else None
    agreement.terms = terms
    _check_whole(session, agreement)


def _parties(session: Session, given: list[PartyIn]) -> list[AgreementParty]:
    parties: list[AgreementParty] = []
    seen: set[str] = set()
    for party in given:
        if party.agency:
            try:
                agency = service.get_agency(session, party.agency)
            except AgencyNotFound as error:
                raise InvalidInput(error.message, field="parties") from None
            key = f"agency:{agency.code}"
            parties.append(AgreementParty(agency=agency, role=party.role))
        else:
            name = _clean(party.organisation or "")
            key = f"organisation:{name.lower()}"
            parties.append(AgreementParty(organisation=name, role=party.role))
        if key in seen:
            raise InvalidInput(
                f"{key.split(':', 1)[1]} is named as a party twice.", field="parties"
            )
        seen.add(key)
    return parties


def _datasets(session: Session, actor: Actor, given: list[str]) -> list[AgreementDataset]:
    chosen: list[AgreementDataset] = []
    for dataset_id in dict.fromkeys(d.strip() for d in given):
        try:
            dataset = service.get_dataset(session, dataset_id)
        except DatasetNotFound:
            dataset = None
        # A dataset the drafter may not see is reported as missing, like one that is.
        if dataset is None or not can(actor, Action.READ_METADATA, dataset):
            raise InvalidInput(f"There is no dataset with id '{dataset_id}'.", field="datasets")
        chosen.append(AgreementDataset(dataset_id=dataset.id))
    return chosen


def _authorities(session: Session, given: list[str]) -> list[AgreementAuthority]:
    chosen: dict[int, AgreementAuthority] = {}
    for reference in given:
        try:
            authority = registry.resolve(session, reference)
        except AuthorityNotFound as error:
            raise InvalidInput(error.message, field="authorities") from None
        chosen.setdefault(authority.id, AgreementAuthority(authority=authority))
    return list(chosen.values())


def _users(session: Session, given: list[str]) -> list[AgreementUser]:
    from statedata.access.accounts import get_user

    chosen: dict[int, AgreementUser] = {}
    for name in given:
        try:
            user = get_user(session, name)
        except UserNotFound as error:
            raise InvalidInput(error.message, field="users") from None
        chosen.setdefault(user.id, AgreementUser(user=user))
    return list(chosen.values())


def _check_whole(session: Session, agreement: Agreement) -> None:
    """Rules across fields, checked after every change to a draft."""
    roles = {p.role for p in agreement.parties}
    if len(agreement.parties) < 2 or roles != {PROVIDER, RECIPIENT}:
        raise InvalidInput(
            "An agreement needs at least two parties: at least one provider and one recipient.",
            field="parties",
        )
    if not agreement.datasets:
        raise InvalidInput("An agreement covers at least one dataset.", field="datasets")
    if not agreement.purposes:
        raise InvalidInput("An agreement needs at least one permitted purpose.", field="purposes")
    providers = {
        p.agency.id for p in agreement.parties if p.role == PROVIDER and p.agency is not None
    }
    holders = dict(
        session.execute(
            select(Dataset.id, Dataset.agency_id).where(
                Dataset.id.in_([d.dataset_id for d in agreement.datasets])
            )
        ).all()
    )
    for link in agreement.datasets:
        if holders.get(link.dataset_id) not in providers:
            raise InvalidInput(
                f"Dataset {link.dataset_id} is held by an agency that is not a provider in "
                "this agreement; add that agency as a provider.",
                field="datasets",
            )
    if (
        agreement.effective_date
        and agreement.expiry_date
        and agreement.expiry_date <= agreement.effective_date
    ):
        raise InvalidInput("The expiry date must come after the effective date.", field="dates")


def _require_drafter(actor: Actor, agreement: Agreement) -> None:
    """The drafter must remain able to manage what they draft."""
    if actor.is_anonymous:
        raise AuthenticationRequired("Sign in or give an API key to draft an agreement.")
    if not can_manage(actor, agreement):
        raise Forbidden(
            "Only the Chief Data Officer and data officers of a party agency draft agreements; "
            "name your agency as a party."
        )


def create_agreement(session: Session, actor: Actor, draft: AgreementIn) -> Agreement:
    """A new draft from the uniform template."""
    if actor.is_anonymous:
        raise AuthenticationRequired("Sign in or give an API key to draft an agreement.")
    named = {p.agency.strip().upper() for p in draft.parties if p.agency}
    if not (actor.is_cdo or actor.staff_agencies(Role.DATA_OFFICER) & named):
        raise Forbidden(
            "Only the Chief Data Officer and data officers of a party agency draft agreements; "
            "name your agency as a party."
        )
    agreement = Agreement(
        reference=f"new-{secrets.token_hex(6)}",
        title="",
        kind=draft.kind,
        purposes=[],
        status=DRAFT,
        template_version=TEMPLATE_VERSION,
        terms={},
        created_by=_actor_name(actor),
    )
    # Checked before it joins the session, so a refused draft leaves nothing behind.
    with session.no_autoflush:
        _apply(session, actor, agreement, draft)
        _require_drafter(actor, agreement)
    session.add(agreement)
    session.flush()
    agreement.reference = f"AGR-{agreement.created_at.year}-{agreement.id:04d}"
    session.flush()
    audit.record(
        session,
        _actor_name(actor),
        "agreement.create",
        agreement=agreement.reference,
        kind=agreement.kind,
        parties=[party_name(p) for p in agreement.parties],
        datasets=[d.dataset_id for d in agreement.datasets],
    )
    return agreement


def update_agreement(
    session: Session, actor: Actor, agreement_id: int, changes: AgreementChanges
) -> Agreement:
    """Change a draft. Once sent for signature the text is fixed."""
    agreement = _managed(session, actor, agreement_id)
    _need_status(agreement, DRAFT, doing="edited")
    with session.no_autoflush:
        _apply(session, actor, agreement, changes)
        _require_drafter(actor, agreement)
    session.flush()
    audit.record(
        session,
        _actor_name(actor),
        "agreement.update",
        agreement=agreement.reference,
        fields=sorted(changes.model_fields_set),
    )
    return _load(session, agreement.id)  # type: ignore[return-value]


# Signing and ending -------------------------------------------------------------------------


def party_name(party: AgreementParty) -> str:
    return party.agency.name if party.agency is not None else party.organisation or ""


def _notify_parties(
    session: Session, agreement: Agreement, kind: str, subject: str, body: str, key: str
) -> int:
    """One notice to each party agency; returns how many were new."""
    sent = 0
    for party in agreement.parties:
        if party.agency is None:
            continue
        _, new = notices.notify_agency(
            session,
            party.agency,
            kind,
            subject,
            body,
            link=f"/api/v1/agreements/{agreement.id}",
            dedupe_key=f"agreement:{agreement.id}:{key}:{party.agency.code}",
        )
        sent += new
    return sent


def send_for_signature(
    session: Session, actor: Actor, agreement_id: int, today: dt.date | None = None
) -> Agreement:
    """Fix the text and ask every party to sign."""
    today = today or dt.date.today()
    agreement = _managed(session, actor, agreement_id)
    _need_status(agreement, DRAFT, doing="sent for signature")
    if agreement.effective_date is None or agreement.expiry_date is None:
        raise InvalidInput(
            "Give the agreement an effective date and an expiry date before sending it.",
            field="dates",
        )
    if agreement.expiry_date < today:
        raise InvalidInput("The expiry date has already passed.", field="expiry_date")
    if not agreement.authorities:
        raise InvalidInput(
            "Cite the legal authority for the sharing before sending the agreement.",
            field="authorities",
        )
    agreement.status = SIGNING
    session.flush()
    audit.record(session, _actor_name(actor), "agreement.send", agreement=agreement.reference)
    _notify_parties(
        session,
        agreement,
        "agreement.signing",
        f"Agreement {agreement.reference} is ready for your signature",
        f"“{agreement.title}” has been sent for signature. Your agency's data officer signs "
        "it on behalf of your agency.",
        "signing",
    )
    return agreement


def _display_name(session: Session, actor: Actor) -> str:
    if actor.user_id is not None:
        user = session.get(User, actor.user_id)
        if user is not None:
            return user.display_name
    return _actor_name(actor)


def sign(
    session: Session,
    actor: Actor,
    agreement_id: int,
    party_id: int,
    signed_by: str | None = None,
    today: dt.date | None = None,
) -> Agreement:
    """Record one party's signature. An agency signs through one of its data officers; the
    CDO records an outside organisation's signature, naming who signed. The last signature
    executes the agreement."""
    today = today or dt.date.today()
    agreement = get_agreement(session, actor, agreement_id)
    party = next((p for p in agreement.parties if p.id == party_id), None)
    if party is None:
        raise InvalidInput(
            f"Agreement {agreement.reference} has no party {party_id}.", field="party_id"
        )
    signer = _clean(signed_by or "")
    if party.agency is not None:
        if not actor.has_role_in(party.agency.code, Role.DATA_OFFICER):
            raise Forbidden(f"Only a data officer of {party.agency.code} signs for it.")
        signer = signer or _display_name(session, actor)
    else:
        if not actor.is_cdo:
            raise Forbidden(
                "The Chief Data Officer records the signature of an outside organisation."
            )
        if not signer:
            raise InvalidInput(
                f"Name the person who signed for {party.organisation} (signed_by).",
                field="signed_by",
            )
    if len(signer) > 200:
        raise InvalidInput("A signer's name is at most 200 characters.", field="signed_by")
    _need_status(agreement, SIGNING, doing="signed")
    if party.signed_at is not None:
        raise Conflict(f"{party_name(party)} has already signed {agreement.reference}.")
    if agreement.expiry_date is not None and agreement.expiry_date < today:
        raise Conflict(f"Agreement {agreement.reference} passed its expiry date unsigned.")
    party.signed_by = signer
    party.signed_at = utcnow()
    session.flush()
    audit.record(
        session,
        _actor_name(actor),
        "agreement.sign",
        agreement=agreement.reference,
        party=party_name(party),
        signed_by=signer,
    )
    if all(p.signed_at is not None for p in agreement.parties):
        agreement.status = EXECUTED
        agreement.executed_at = utcnow()
        session.flush()
        audit.record(session, "system", "agreement.execute", agreement=agreement.reference)
        _notify_parties(
            session,
            agreement,
            "agreement.executed",
            f"Agreement {agreement.reference} is executed",
            f"Every party has signed “{agreement.title}”. It is in force from "
            f"{agreement.effective_date} until {agreement.expiry_date}.",
            "executed",
        )
    return agreement


def terminate(session: Session, actor: Actor, agreement_id: int, reason: str) -> Agreement:
    """End an agreement before its expiry date, saying why."""
    agreement = _managed(session, actor, agreement_id)
    reason = reason.strip()
    if not reason or len(reason) > MAX_TEXT:
        raise InvalidInput("Say why the agreement is terminated (1 to 20,000 characters).")
    _need_status(agreement, DRAFT, SIGNING, EXECUTED, doing="terminated")
    agreement.status = TERMINATED
    agreement.ended_at = utcnow()
    agreement.end_reason = reason
    session.flush()
    audit.record(
        session,
        _actor_name(actor),
        "agreement.terminate",
        agreement=agreement.reference,
        reason=reason,
    )
    owed = agreement.executed_at is not None
    _notify_parties(
        session,
        agreement,
        "agreement.terminated",
        f"Agreement {agreement.reference} was terminated",
        f"“{agreement.title}” was terminated: {reason}"
        + (" Each recipient now owes a data destruction certificate." if owed else ""),
        "terminated",
    )
    return agreement


def certify_destruction(
    session: Session,
    actor: Actor,
    agreement_id: int,
    party_id: int,
    certified_by: str | None = None,
) -> Agreement:
    """Record a recipient's data destruction certificate once the agreement has ended. An
    agency certifies through one of its data officers; an outside organisation's certificate
    is recorded by the CDO or a provider's data officer, naming who certified."""
    agreement = get_agreement(session, actor, agreement_id)
    party = next((p for p in agreement.parties if p.id == party_id), None)
    if party is None:
        raise InvalidInput(
            f"Agreement {agreement.reference} has no party {party_id}.", field="party_id"
        )
    if party.role != RECIPIENT:
        raise InvalidInput(
            f"{party_name(party)} provides the data; only recipients certify destruction.",
            field="party_id",
        )
    certifier = _clean(certified_by or "")
    if party.agency is not None:
        if not actor.has_role_in(party.agency.code, Role.DATA_OFFICER):
            raise Forbidden(f"Only a data officer of {party.agency.code} certifies for it.")
        certifier = certifier or _display_name(session, actor)
    else:
        providers = {p.agency.code for p in agreement.parties if p.role == PROVIDER and p.agency}
        if not (actor.is_cdo or actor.staff_agencies(Role.DATA_OFFICER) & providers):
            raise Forbidden(
                "The Chief Data Officer or a provider's data officer records an outside "
                "organisation's certificate."
            )
        if not certifier:
            raise InvalidInput(
                f"Name the person who certified for {party.organisation} (certified_by).",
                field="certified_by",
            )
    if len(certifier) > 200:
        raise InvalidInput("A name is at most 200 characters.", field="certified_by")
    _need_status(agreement, *ENDED, doing="given a destruction certificate")
    if agreement.executed_at is None:
        raise Conflict(f"No data was shared under {agreement.reference}; nothing to destroy.")
    if party.destruction_certified_at is not None:
        raise Conflict(f"{party_name(party)} has already certified destruction.")
    party.destruction_certified_by = certifier
    party.destruction_certified_at = utcnow()
    session.flush()
    audit.record(
        session,
        _actor_name(actor),
        "agreement.destruction_certified",
        agreement=agreement.reference,
        party=party_name(party),
        certified_by=certifier,
    )
    return agreement


@dataclass
class Outstanding:
    """An ended agreement whose recipient has not certified destruction, seen by one agency."""

    agency: Agency
    agreement: Agreement
    party: AgreementParty

    @property
    def owes(self) -> bool:
        return self.party.agency_id == self.agency.id


def destruction_outstanding(
    session: Session, actor: Actor, agency: str | None = None
) -> list[Outstanding]:
    """For each agency the actor works for (every agency for the CDO): the ended agreements
    it is party to whose recipients have not filed a destruction certificate."""
    if actor.is_anonymous:
        raise AuthenticationRequired("Sign in or give an API key to see this report.")
    query = (
        select(Agreement)
        .options(selectinload(Agreement.parties).selectinload(AgreementParty.agency))
        .where(Agreement.status.in_(ENDED), Agreement.executed_at.is_not(None))
        .order_by(Agreement.id)
    )
    wanted = None if actor.is_cdo else actor.staff_agencies()
    if agency:
        code = agency.strip().upper()
        service.get_agency(session, code)
        if wanted is not None and code not in wanted:
            raise Forbidden(f"You do not work for {code}.")
        wanted = frozenset({code})
    rows: list[Outstanding] = []
    for agreement in session.scalars(query):
        unfiled = [
            p
            for p in agreement.parties
            if p.role == RECIPIENT and p.destruction_certified_at is None
        ]
        if not unfiled:
            continue
        for member in agreement.parties:
            if member.agency is None or (wanted is not None and member.agency.code not in wanted):
                continue
            rows.extend(Outstanding(member.agency, agreement, p) for p in unfiled)
    rows.sort(key=lambda r: (r.agency.code, r.agreement.id, r.party.id))
    return rows


# Expiry ------------------------------------------------------------------------------------


@dataclass
class ExpiryReport:
    warned_60: list[str] = field(default_factory=list)
    warned_30: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


WARNINGS = ((30, "warned_30_at"), (60, "warned_60_at"))


def warn_expiring(session: Session, today: dt.date | None = None) -> ExpiryReport:
    """Warn every party agency 60 and 30 days before an agreement in force expires (each
    warning once), and mark agreements past their expiry date as expired. Safe to run daily."""
    today = today or dt.date.today()
    report = ExpiryReport()
    horizon = today + dt.timedelta(days=60)
    loading = selectinload(Agreement.parties).selectinload(AgreementParty.agency)
    for agreement in session.scalars(
        select(Agreement)
        .options(loading)
        .where(in_force(today), Agreement.expiry_date <= horizon)
        .order_by(Agreement.id)
        .with_for_update()
    ):
        days = (agreement.expiry_date - today).days  # type: ignore[operator]
        for limit, column in WARNINGS:
            if days > limit or getattr(agreement, column) is not None:
                continue
            now = utcnow()
            agreement.warned_30_at = agreement.warned_30_at or (now if limit == 30 else None)
            # A 60-day warning not sent in time is overtaken by the 30-day one, not sent late.
            agreement.warned_60_at = agreement.warned_60_at or now
            _notify_parties(
                session,
                agreement,
                "agreement.expiring",
                f"Agreement {agreement.reference} expires in {days} days",
                f"“{agreement.title}” expires on {agreement.expiry_date}. After that day the "
                "users it names lose access to its data. Renew it with a new agreement if the "
                "work goes on.",
                f"warn{limit}",
            )
            audit.record(
                session,
                "system",
                "agreement.warn_expiry",
                agreement=agreement.reference,
                days=days,
                warning=limit,
            )
            (report.warned_30 if limit == 30 else report.warned_60).append(agreement.reference)
            break
    for agreement in session.scalars(
        select(Agreement)
        .options(loading)
        .where(
            Agreement.status.in_((EXECUTED, SIGNING)),
            Agreement.expiry_date.is_not(None),
            Agreement.expiry_date < today,
        )
        .order_by(Agreement.id)
        .with_for_update()
    ):
        agreement.status = EXPIRED
        agreement.ended_at = utcnow()
        agreement.end_reason = f"Expired at the end of {agreement.expiry_date}."
        audit.record(session, "system", "agreement.expire", agreement=agreement.reference)
        owed = agreement.executed_at is not None
        _notify_parties(
            session,
            agreement,
            "agreement.expired",
            f"Agreement {agreement.reference} has expired",
            f"“{agreement.title}” expired on {agreement.expiry_date}; access under it has "
            "ended." + (" Each recipient now owes a data destruction certificate." if owed else ""),
            "expired",
        )
        report.expired.append(agreement.reference)
    session.flush()
    return report


# The API's and the CLI's view of an agreement --------------------------------------------------


def exhibit_letters(agreement: Agreement) -> list[tuple[str, AgreementExhibit]]:
    return [(chr(ord("A") + i), e) for i, e in enumerate(agreement.exhibits)]


def agreement_document(session: Session, agreement: Agreement) -> dict:
    datasets = []
    for link in agreement.datasets:
        dataset = service.get_dataset(session, link.dataset_id)
        datasets.append(
            {
                "id": dataset.id,
                "title": dataset.title,
                "agency": dataset.agency.code if dataset.agency else None,
                "classification": dataset.classification,
            }
        )
    return {
        "id": agreement.id,
        "reference": agreement.reference,
        "title": agreement.title,
        "kind": agreement.kind,
        "kind_name": KINDS[agreement.kind].name,
        "status": agreement.status,
        "template_version": agreement.template_version,
        "effective_date": agreement.effective_date,
        "expiry_date": agreement.expiry_date,
        "purposes": list(agreement.purposes or []),
        "parties": [
            {
                "id": p.id,
                "role": p.role,
                "agency": p.agency.code if p.agency else None,
                "organisation": p.organisation,
                "name": party_name(p),
                "signed_by": p.signed_by,
                "signed_at": p.signed_at,
                "destruction_certified_by": p.destruction_certified_by,
                "destruction_certified_at": p.destruction_certified_at,
            }
            for p in agreement.parties
        ],
        "datasets": datasets,
        "authorities": sorted(
            (
                {
                    "id": a.authority.id,
                    "citation": a.authority.citation,
                    "title": a.authority.title,
                    "kind": a.authority.kind,
                    "url": a.authority.url,
                }
                for a in agreement.authorities
            ),
            key=lambda a: a["citation"],
        ),
        "users": sorted(
            ({"name": u.user.name, "display_name": u.user.display_name} for u in agreement.users),
            key=lambda u: u["name"],
        ),
        "exhibits": [
            {"letter": letter, "kind": e.kind, "title": e.title, "body": e.body}
            for letter, e in exhibit_letters(agreement)
        ],
        "retention_period": (agreement.terms or {}).get("retention_period"),
        "destruction_method": (agreement.terms or {}).get("destruction_method"),
        "created_by": agreement.created_by,
        "created_at": agreement.created_at,
        "executed_at": agreement.executed_at,
        "ended_at": agreement.ended_at,
        "end_reason": agreement.end_reason,
        "links": {
            "self": f"/api/v1/agreements/{agreement.id}",
            "html": f"/api/v1/agreements/{agreement.id}/document.html",
            "pdf": f"/api/v1/agreements/{agreement.id}/document.pdf",
        },
    }


def summary(agreement: Agreement) -> dict:
    return {
        "id": agreement.id,
        "reference": agreement.reference,
        "title": agreement.title,
        "kind": agreement.kind,
        "status": agreement.status,
        "parties": [party_name(p) for p in agreement.parties],
        "effective_date": agreement.effective_date,
        "expiry_date": agreement.expiry_date,
    }


def outstanding_document(rows: Sequence[Outstanding]) -> dict:
    by_agency: dict[str, dict] = {}
    for row in rows:
        entry = by_agency.setdefault(
            row.agency.code,
            {"agency": row.agency.code, "name": row.agency.name, "outstanding": []},
        )
        entry["outstanding"].append(
            {
                "agreement_id": row.agreement.id,
                "reference": row.agreement.reference,
                "title": row.agreement.title,
                "status": row.agreement.status,
                "ended_at": row.agreement.ended_at,
                "party_id": row.party.id,
                "recipient": party_name(row.party),
                "owed_by_this_agency": row.owes,
            }
        )
    return {"agencies": list(by_agency.values())}
