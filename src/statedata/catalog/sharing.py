"""The governance tables: public dataset suggestions, interagency data requests, sharing
agreements, the registry of legal authorities, and in-app notices.

Only the shape lives here; `requests/` holds the workflows that read and change these rows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statedata.catalog.models import Agency, Base, User, utcnow


class Suggestion(Base):
    """A dataset someone asked for. The contact address is private to the agency's staff."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str | None] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    # received | under_review | planned | published | declined
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    target_date: Mapped[dt.date | None] = mapped_column(Date)
    dataset_id: Mapped[str | None] = mapped_column(String(9))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    legal_citation: Mapped[str | None] = mapped_column(String(300))
    vote_count: Mapped[int] = mapped_column(Integer, default=0)
    # A keyed hash of the sender's address: enough to rate-limit, useless to identify anyone.
    submitter_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    agency: Mapped[Agency | None] = relationship()
    events: Mapped[list[SuggestionEvent]] = relationship(
        cascade="all, delete-orphan", order_by="SuggestionEvent.id"
    )


class SuggestionVote(Base):
    __tablename__ = "suggestion_votes"

    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id"), primary_key=True)
    voter_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SuggestionEvent(Base):
    """One change of a suggestion's status, with the public note that explains it."""

    __tablename__ = "suggestion_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LegalAuthority(Base):
    """A statute, regulation or other law that governs some data, e.g. C.G.S. § 4-67p."""

    __tablename__ = "legal_authorities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citation: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(
        String(30)
    )  # state statute | federal statute | regulation ...
    summary: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    datasets: Mapped[list[AuthorityDataset]] = relationship(
        cascade="all, delete-orphan", order_by="AuthorityDataset.dataset_id"
    )


class AuthorityDataset(Base):
    __tablename__ = "authority_datasets"

    authority_id: Mapped[int] = mapped_column(ForeignKey("legal_authorities.id"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), primary_key=True)


class DataRequest(Base):
    """An interagency data request, with what the data sharing playbook asks of a request form."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requester_name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text)
    planned_use: Mapped[str] = mapped_column(Text)
    who_has_access: Mapped[str] = mapped_column(Text)
    # [{"dataset_id": ..., "elements": [...], "level": "individual|aggregate",
    #   "period_start": ..., "period_end": ..., "parameters": ...}]
    data_elements: Mapped[list] = mapped_column(JSON, default=list)
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    recurrence: Mapped[str | None] = mapped_column(String(100))
    retention_period: Mapped[str] = mapped_column(String(200))
    destruction_method: Mapped[str] = mapped_column(Text)
    destruction_date: Mapped[dt.date | None] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(Text)
    # draft | submitted | legal_review | agreement_executed | data_matched | analysis |
    # pre_publication_review | completed | declined | withdrawn
    stage: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    stage_reason: Mapped[str | None] = mapped_column(Text)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # 1 to 5, asked on completion
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)

    requester: Mapped[User] = relationship()
    agencies: Mapped[list[DataRequestAgency]] = relationship(
        cascade="all, delete-orphan", order_by="DataRequestAgency.agency_id"
    )
    events: Mapped[list[DataRequestEvent]] = relationship(
        cascade="all, delete-orphan", order_by="DataRequestEvent.id"
    )
    authorities: Mapped[list[DataRequestAuthority]] = relationship(cascade="all, delete-orphan")


class DataRequestAgency(Base):
    """An agency that holds data the request asks for."""

    __tablename__ = "data_request_agencies"

    request_id: Mapped[int] = mapped_column(ForeignKey("data_requests.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)

    agency: Mapped[Agency] = relationship()


class DataRequestAuthority(Base):
    __tablename__ = "data_request_authorities"

    request_id: Mapped[int] = mapped_column(ForeignKey("data_requests.id"), primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("legal_authorities.id"), primary_key=True)


class DataRequestEvent(Base):
    """One stage move of a data request: from where, to where, who, when and why."""

    __tablename__ = "data_request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("data_requests.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(30))
    to_stage: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Agreement(Base):
    """A sharing agreement drafted from the uniform template. Executed and unexpired, it is
    what lets the users it names read the non-public datasets it covers."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    # mou | data_use_agreement | enterprise_mou | data_sharing_agreement |
    # business_associate_agreement | nda
    kind: Mapped[str] = mapped_column(String(40))
    purposes: Mapped[list] = mapped_column(JSON, default=list)
    # draft | signing | executed | expired | terminated
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)
    template_version: Mapped[str] = mapped_column(String(20), default="1")
    terms: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    executed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)
    warned_60_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    warned_30_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    parties: Mapped[list[AgreementParty]] = relationship(
        cascade="all, delete-orphan", order_by="AgreementParty.id"
    )
    datasets: Mapped[list[AgreementDataset]] = relationship(
        cascade="all, delete-orphan", order_by="AgreementDataset.dataset_id"
    )
    users: Mapped[list[AgreementUser]] = relationship(cascade="all, delete-orphan")
    authorities: Mapped[list[AgreementAuthority]] = relationship(cascade="all, delete-orphan")
    exhibits: Mapped[list[AgreementExhibit]] = relationship(
        cascade="all, delete-orphan", order_by="AgreementExhibit.id"
    )


class AgreementParty(Base):
    """A party: an agency, or an outside organisation. Each signs; a recipient also owes a
    data destruction certificate once the agreement ends."""

    __tablename__ = "agreement_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    organisation: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # provider | recipient
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    destruction_certified_by: Mapped[str | None] = mapped_column(String(200))
    destruction_certified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    agency: Mapped[Agency | None] = relationship()


class AgreementDataset(Base):
    __tablename__ = "agreement_datasets"

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), primary_key=True)


class AgreementUser(Base):
    """A person the agreement lets see the data (its 'who will have access')."""

    __tablename__ = "agreement_users"

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)

    user: Mapped[User] = relationship()


class AgreementAuthority(Base):
    __tablename__ = "agreement_authorities"

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("legal_authorities.id"), primary_key=True)

    authority: Mapped[LegalAuthority] = relationship()


class AgreementExhibit(Base):
    """An exhibit: request form and variables, user acknowledgement, confidentiality, IRB
    approval, data destruction certificate."""

    __tablename__ = "agreement_exhibits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notice(Base):
    """An in-app notice to an agency's staff (or one user): an agreement about to expire, a
    failing feed, a dataset falling due. Email copies go out where SMTP is set up."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    # Set by senders that must not repeat themselves, e.g. "agreement:12:warn60".
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    emailed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
