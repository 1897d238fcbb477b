"""Interagency data requests: the request form the state's data sharing playbook asks for, and
the stages a request moves through, each move time-stamped with who made it and why.

Who sees and moves a request is decided here; the sharing agreements and the registry of legal
authorities a request points at are kept by their own modules, and only looked up here.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from statedata.access.policy import Actor, Role
from statedata.catalog import audit
from statedata.catalog.models import Agency, User, as_utc, utcnow
from statedata.catalog.sharing import (
    Agreement,
    DataRequest,
    DataRequestAgency,
    DataRequestAuthority,
    DataRequestEvent,
    LegalAuthority,
)
from statedata.errors import (
    AuthenticationRequired,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    from_validation,
)
from statedata.ids import ALPHABET, is_dataset_id


class Stage(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    LEGAL_REVIEW = "legal_review"
    AGREEMENT_EXECUTED = "agreement_executed"
    DATA_MATCHED = "data_matched"
    ANALYSIS = "analysis"
    PRE_PUBLICATION_REVIEW = "pre_publication_review"
    COMPLETED = "completed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


# The way forward, one stage at a time; declined and withdrawn are the two ways out.
PATH: tuple[Stage, ...] = (
    Stage.DRAFT,
    Stage.SUBMITTED,
    Stage.LEGAL_REVIEW,
    Stage.AGREEMENT_EXECUTED,
    Stage.DATA_MATCHED,
    Stage.ANALYSIS,
    Stage.PRE_PUBLICATION_REVIEW,
    Stage.COMPLETED,
)
CLOSED = frozenset({Stage.COMPLETED, Stage.DECLINED, Stage.WITHDRAWN})
OPEN = tuple(s for s in PATH if s not in CLOSED)
EXECUTED = "executed"

SHORT = 300
LONG = 10_000


def next_stage(stage: Stage) -> Stage | None:
    """The one stage a request may move on to from `stage`; None once it is closed."""
    if stage in CLOSED:
        return None
    return PATH[PATH.index(stage) + 1]


# The form ------------------------------------------------------------------------------------


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class DataElements(BaseModel):
    """One dataset (or a database the catalog does not list) and the data elements wanted."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    dataset_id: str | None = Field(None, description="The catalog id (abcd-1234), if listed.")
    elements: list[str] = Field(min_length=1, max_length=500, description="Fields or columns.")
    level: Literal["individual", "aggregate"] = Field(
        description="Record-level data about individuals, or counts and other aggregates."
    )
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    parameters: str = Field(
        "", max_length=LONG, description="Filters: age, program, geography, ..."
    )

    @field_validator("dataset_id")
    @classmethod
    def _dataset_id(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        value = value.lower()
        if not is_dataset_id(value):
            raise ValueError(f"'{value}' is not a dataset id like abcd-2345")
        return value

    @field_validator("elements")
    @classmethod
    def _elements(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v or len(v) > SHORT for v in cleaned):
            raise ValueError(f"each element needs a name of 1 to {SHORT} characters")
        return cleaned

    @model_validator(mode="after")
    def _period(self) -> DataElements:
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValueError("period_start is after period_end")
        return self


class DataRequestForm(BaseModel):
    """What the playbook asks a requester: purpose, use, who has access, the data and its
    parameters, how long it is kept and how it is destroyed, who holds it and under what law."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organisation: str = Field(min_length=1, max_length=SHORT)
    title: str = Field(min_length=1, max_length=SHORT)
    purpose: str = Field(min_length=1, max_length=LONG, description="What is the request for?")
    planned_use: str = Field(
        min_length=1, max_length=LONG, description="How will the data be used?"
    )
    who_has_access: str = Field(
        min_length=1, max_length=LONG, description="Who will have access to the data?"
    )
    data_elements: list[DataElements] = Field(min_length=1, max_length=50)
    recurring: bool = Field(False, description="False for a one-time request.")
    recurrence: str | None = Field(None, max_length=100, description="e.g. 'quarterly'.")
    retention_period: str = Field(
        min_length=1, max_length=200, description="How long the data will be kept."
    )
    destruction_method: str = Field(
        min_length=1, max_length=LONG, description="How the data will be destroyed."
    )
    destruction_date: dt.date | None = Field(None, description="When it will be destroyed.")
    agencies: list[str] = Field(
        min_length=1, max_length=30, description="Codes of the agencies holding the data."
    )
    legal_basis: str = Field(min_length=1, max_length=LONG)
    authority_ids: list[int] = Field(
        default_factory=list, max_length=50, description="Legal authorities in the registry."
    )
    agreement_id: int | None = Field(None, description="The sharing agreement, once there is one.")

    @field_validator("agencies")
    @classmethod
    def _agencies(cls, values: list[str]) -> list[str]:
        codes = [_text(v).upper() for v in values]
        return list(dict.fromkeys(codes))

    @field_validator("authority_ids")
    @classmethod
    def _authorities(cls, values: list[int]) -> list[int]:
        return list(dict.fromkeys(values))

    @model_validator(mode="after")
    def _recurrence(self) -> DataRequestForm:
        if self.recurring and not self.recurrence:
            raise ValueError("a recurring request needs its recurrence, e.g. 'quarterly'")
        if not self.recurring and self.recurrence:
            raise ValueError("recurrence is only for a recurring request: set recurring to true")
        return self


class DataRequestChanges(BaseModel):
    """Changes to a draft: any field of the form; what is left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    organisation: str | None = None
    title: str | None = None
    purpose: str | None = None
    planned_use: str | None = None
    who_has_access: str | None = None
    data_elements: list[dict[str, Any]] | None = None
    recurring: bool | None = None
    recurrence: str | None = None
    retention_period: str | None = None
    destruction_method: str | None = None
    destruction_date: dt.date | None = None
    agencies: list[str] | None = None
    legal_basis: str | None = None
    authority_ids: list[int] | None = None
    agreement_id: int | None = None


class StageMove(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: Stage
    reason: str | None = Field(None, max_length=LONG)
    agreement_id: int | None = Field(
        None, description="Links the executed agreement when moving to agreement_executed."
    )


class Satisfaction(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied).")
    comment: str | None = Field(None, max_length=LONG)


def _validated(model: type[BaseModel], data: BaseModel | dict) -> Any:
    if isinstance(data, model):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump(exclude_unset=True)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation(error) from None


# Looking requests up and who sees them ------------------------------------------------------


def _agency_codes(request: DataRequest) -> list[str]:
    return [link.agency.code for link in request.agencies]


def is_requester(actor: Actor, request: DataRequest) -> bool:
    return actor.user_id is not None and actor.user_id == request.requester_id


def is_officer(actor: Actor, request: DataRequest) -> bool:
    """A data officer of one of the agencies holding the data, or the CDO."""
    return actor.is_cdo or any(
        actor.has_role_in(code, Role.DATA_OFFICER) for code in _agency_codes(request)
    )


def can_see(actor: Actor, request: DataRequest) -> bool:
    """The requester, the CDO, and once it is submitted, staff of the agencies holding the
    data. A draft is the requester's own until it is sent."""
    if actor.is_anonymous:
        return False
    if actor.is_cdo or is_requester(actor, request):
        return True
    if request.stage == Stage.DRAFT:
        return False
    return any(actor.has_role_in(code) for code in _agency_codes(request))


def _signed_in(actor: Actor) -> None:
    if actor.is_anonymous:
        raise AuthenticationRequired(
            "Data requests are for signed-in users: sign in or send an API key."
        )


def _query():  # type: ignore[no-untyped-def]
    return select(DataRequest).options(
        selectinload(DataRequest.agencies).selectinload(DataRequestAgency.agency),
        selectinload(DataRequest.events),
        selectinload(DataRequest.authorities),
        selectinload(DataRequest.requester),
    )


def _missing(key: object) -> NotFound:
    return NotFound(f"There is no data request '{key}'.", id=str(key))


def get_request(
    session: Session, actor: Actor, key: int | str, for_update: bool = False
) -> DataRequest:
    """The request with this id (or reference, e.g. DR-AB23-CD45) if the actor may see it;
    a request they may not see is reported as missing. `for_update` holds the row until the
    transaction ends, so two people moving the same request take turns."""
    _signed_in(actor)
    text = str(key).strip()
    query = _query()
    if for_update:
        query = query.with_for_update(of=DataRequest).execution_options(populate_existing=True)
    if text.isdigit():
        request = session.scalar(query.where(DataRequest.id == int(text)))
    else:
        request = session.scalar(query.where(DataRequest.reference == text.upper()))
    if request is None or not can_see(actor, request):
        raise _missing(key)
    return request


# Creating and editing a draft ---------------------------------------------------------------


def _agencies(session: Session, codes: Sequence[str]) -> list[Agency]:
    found = {a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(codes)))}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise InvalidInput(
            f"agencies: there is no agency with code {', '.join(unknown)}. "
            "`statedata agencies list` shows them.",
            field="agencies",
        )
    return [found[code] for code in codes]


def _check_authorities(session: Session, ids: Sequence[int]) -> None:
    if not ids:
        return
    found = set(session.scalars(select(LegalAuthority.id).where(LegalAuthority.id.in_(ids))))
    unknown = [str(i) for i in ids if i not in found]
    if unknown:
        raise InvalidInput(
            f"authority_ids: there is no legal authority with id {', '.join(unknown)}.",
            field="authority_ids",
        )


def _agreement(session: Session, agreement_id: int | None, field: str) -> Agreement | None:
    if agreement_id is None:
        return None
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise InvalidInput(
            f"{field}: there is no sharing agreement with id {agreement_id}.", field=field
        )
    return agreement


def _apply(session: Session, request: DataRequest, form: DataRequestForm) -> None:
    agencies = _agencies(session, form.agencies)
    _check_authorities(session, form.authority_ids)
    _agreement(session, form.agreement_id, "agreement_id")
    request.organisation = form.organisation
    request.title = form.title
    request.purpose = form.purpose
    request.planned_use = form.planned_use
    request.who_has_access = form.who_has_access
    request.data_elements = [e.model_dump(mode="json") for e in form.data_elements]
    request.recurring = form.recurring
    request.recurrence = form.recurrence
    request.retention_period = form.retention_period
    request.destruction_method = form.destruction_method
    request.destruction_date = form.destruction_date
    request.legal_basis = form.legal_basis
    request.agreement_id = form.agreement_id
    request.agencies = [DataRequestAgency(agency_id=a.id, agency=a) for a in agencies]
    request.authorities = [DataRequestAuthority(authority_id=i) for i in form.authority_ids]


def _new_reference(session: Session) -> str:
    while True:
        group = lambda: "".join(secrets.choice(ALPHABET) for _ in range(4))  # noqa: E731
        reference = f"DR-{group()}-{group()}".upper()
        if session.scalar(select(DataRequest.id).where(DataRequest.reference == reference)) is None:
            return reference


def create(session: Session, actor: Actor, data: DataRequestForm | dict) -> DataRequest:
    """A new draft request by the actor: an analyst, agency staff or the CDO."""
    _signed_in(actor)
    if not actor.roles or actor.user_id is None:
        raise Forbidden("Only analysts, agency staff and the CDO may request data.")
    form = _validated(DataRequestForm, data)
    user = session.get(User, actor.user_id)
    if user is None:
        raise Forbidden("Only analysts, agency staff and the CDO may request data.")
    request = DataRequest(
        reference=_new_reference(session),
        requester_id=user.id,
        requester_name=user.display_name or user.name,
        stage=Stage.DRAFT.value,
    )
    _apply(session, request, form)
    session.add(request)
    session.flush()
    request.events.append(
        DataRequestEvent(from_stage=None, to_stage=Stage.DRAFT.value, actor=actor.name)
    )
    session.flush()
    audit.record(
        session,
        actor.name or "",
        "data_request.create",
        reference=request.reference,
        agencies=form.agencies,
    )
    return request


def form_of(request: DataRequest) -> dict[str, Any]:
    """The request's form as plain values, the shape `DataRequestForm` reads."""
    return {
        "organisation": request.organisation,
        "title": request.title,
        "purpose": request.purpose,
        "planned_use": request.planned_use,
        "who_has_access": request.who_has_access,
        "data_elements": list(request.data_elements or []),
        "recurring": request.recurring,
        "recurrence": request.recurrence,
        "retention_period": request.retention_period,
        "destruction_method": request.destruction_method,
        "destruction_date": request.destruction_date,
        "agencies": _agency_codes(request),
        "legal_basis": request.legal_basis,
        "authority_ids": sorted(a.authority_id for a in request.authorities),
        "agreement_id": request.agreement_id,
    }


def edit(
    session: Session, actor: Actor, key: int | str, changes: DataRequestChanges | dict
) -> DataRequest:
    """Change a draft; only its requester may, and only while it is a draft."""
    request = get_request(session, actor, key, for_update=True)
    if not is_requester(actor, request):
        raise Forbidden("Only the requester may edit a request.")
    if request.stage != Stage.DRAFT:
        raise Conflict(
            f"Request {request.reference} was submitted and can no longer be edited; "
            "withdraw it and make a new one to change it.",
            stage=request.stage,
        )
    if isinstance(changes, BaseModel):
        given = changes.model_dump(exclude_unset=True)
    else:
        given = dict(_validated(DataRequestChanges, changes).model_dump(exclude_unset=True))
    if "recurring" in given and given["recurring"] is False and "recurrence" not in given:
        given["recurrence"] = None  # turning a request into a one-time one drops its schedule
    form = _validated(DataRequestForm, {**form_of(request), **given})
    _apply(session, request, form)
    session.flush()
    audit.record(
        session,
        actor.name or "",
        "data_request.edit",
        reference=request.reference,
        fields=sorted(given),
    )
    return request


# Moving through the stages ------------------------------------------------------------------


def _allowed_next(request: DataRequest) -> str:
    stage = Stage(request.stage)
    following = next_stage(stage)
    assert following is not None  # only asked of open requests
    exits = "be withdrawn" if stage == Stage.DRAFT else "be declined or withdrawn"
    return (
        f"Request {request.reference} is at '{stage.label}'; it can move on only to "
        f"'{following.label}' (or {exits})."
    )


def move(
    session: Session,
    actor: Actor,
    key: int | str,
    to: Stage | str,
    reason: str | None = None,
    agreement_id: int | None = None,
) -> DataRequest:
    """Move a request one stage on, or close it (declined, withdrawn); each move is recorded
    with who made it and why, in the request's history and in the audit log."""
    request = get_request(session, actor, key, for_update=True)
    move_ = _validated(StageMove, {"to": to, "reason": reason, "agreement_id": agreement_id})
    target, reason = move_.to, move_.reason or None
    current = Stage(request.stage)
    if current in CLOSED:
        raise Conflict(
            f"Request {request.reference} is {current.label} and closed; it cannot move again.",
            stage=current.value,
        )
    if target in (Stage.DECLINED, Stage.WITHDRAWN):
        _check_exit(actor, request, current, target, reason)
    else:
        if target != next_stage(current):
            following = next_stage(current)
            raise Conflict(
                _allowed_next(request),
                stage=current.value,
                allowed=following.value if following else None,
            )
        _check_forward(actor, request, current)
    if move_.agreement_id is not None:
        if target != Stage.AGREEMENT_EXECUTED:
            raise InvalidInput(
                "agreement_id: an agreement is linked when the request moves to "
                "'agreement executed'.",
                field="agreement_id",
            )
        _agreement(session, move_.agreement_id, "agreement_id")
        request.agreement_id = move_.agreement_id
    if target == Stage.AGREEMENT_EXECUTED:
        _check_agreement(session, request)

    now = utcnow()
    # Compare and set: SQLite has no row locks, and of two moves from the same stage only the
    # first may land.
    moved = session.execute(
        update(DataRequest)
        .where(DataRequest.id == request.id, DataRequest.stage == current.value)
        .values(stage=target.value)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise Conflict(
            f"Request {request.reference} was moved by someone else just now; look at it again.",
            stage=current.value,
        )
    request.stage = target.value
    request.stage_reason = reason
    if target == Stage.SUBMITTED:
        request.submitted_at = now
    if target in CLOSED:
        request.closed_at = now
    request.events.append(
        DataRequestEvent(
            from_stage=current.value,
            to_stage=target.value,
            actor=actor.name,
            reason=reason,
            occurred_at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        actor.name or "",
        "data_request.stage",
        reference=request.reference,
        from_stage=current.value,
        to_stage=target.value,
        reason=reason,
        agreement_id=request.agreement_id,
    )
    return request


def _check_exit(
    actor: Actor, request: DataRequest, current: Stage, target: Stage, reason: str | None
) -> None:
    if target == Stage.WITHDRAWN:
        if not is_requester(actor, request):
            raise Forbidden("Only the requester may withdraw a request.")
    else:
        if current == Stage.DRAFT:
            raise Conflict(
                f"Request {request.reference} is still a draft: nothing was sent to decline. "
                "Its requester may withdraw it.",
                stage=current.value,
            )
        if not is_officer(actor, request):
            raise Forbidden(
                "Only a data officer of an agency holding the data, or the CDO, may decline "
                "a request."
            )
    if not reason:
        raise InvalidInput(
            f"reason: say why the request is {target.label}; the requester sees it.",
            field="reason",
        )


def _check_forward(actor: Actor, request: DataRequest, current: Stage) -> None:
    if current == Stage.DRAFT:
        if not is_requester(actor, request):
            raise Forbidden("Only the requester may submit a request.")
        return
    if not is_officer(actor, request):
        raise Forbidden(
            "Only a data officer of an agency holding the data, or the CDO, may move a "
            "submitted request on."
        )


def _check_agreement(session: Session, request: DataRequest) -> None:
    if request.agreement_id is None:
        raise Conflict(
            f"Request {request.reference} names no sharing agreement: link the executed "
            "agreement (agreement_id) to move it to 'agreement executed'.",
            stage=request.stage,
        )
    agreement = session.get(Agreement, request.agreement_id)
    if agreement is None or agreement.status != EXECUTED:
        status = agreement.status if agreement is not None else "missing"
        reference = agreement.reference if agreement is not None else request.agreement_id
        raise Conflict(
            f"Agreement {reference} is not executed yet (its status is '{status}'); a request "
            "moves to 'agreement executed' only once every party has signed.",
            stage=request.stage,
            agreement_status=status,
        )
    if agreement.expiry_date is not None and agreement.expiry_date < utcnow().date():
        raise Conflict(
            f"Agreement {agreement.reference} expired on {agreement.expiry_date.isoformat()}; "
            "a request needs an agreement in force to move to 'agreement executed'.",
            stage=request.stage,
            agreement_status="expired",
        )


# The requester's survey ---------------------------------------------------------------------


def rate(
    session: Session, actor: Actor, key: int | str, answer: Satisfaction | dict
) -> DataRequest:
    """The requester's answer to the short survey on completion: once, after completion."""
    request = get_request(session, actor, key, for_update=True)
    answer = _validated(Satisfaction, answer)
    if not is_requester(actor, request):
        raise Forbidden("Only the requester answers the satisfaction survey.")
    if request.stage != Stage.COMPLETED:
        raise Conflict(
            f"Request {request.reference} is not completed yet; the survey opens on completion.",
            stage=request.stage,
        )
    if request.satisfaction is not None:
        raise Conflict(
            f"The survey for request {request.reference} was already answered; it is asked once.",
            stage=request.stage,
        )
    answered = session.execute(
        update(DataRequest)
        .where(DataRequest.id == request.id, DataRequest.satisfaction.is_(None))
        .values(satisfaction=answer.score)
        .execution_options(synchronize_session=False)
    )
    if answered.rowcount != 1:  # answered in another transaction meanwhile
        raise Conflict(
            f"The survey for request {request.reference} was already answered; it is asked once.",
            stage=request.stage,
        )
    request.satisfaction = answer.score
    request.satisfaction_comment = answer.comment or None
    session.flush()
    audit.record(
        session,
        actor.name or "",
        "data_request.satisfaction",
        reference=request.reference,
        score=answer.score,
    )
    return request


# Lists: what a user sees, and each data officer's queue -------------------------------------


@dataclass(frozen=True)
class Standing:
    """Where a request stands on a day: its stage, since when, and why it last moved."""

    stage: str
    since: dt.datetime
    days_in_stage: int
    days_since_submission: int | None
    last_reason: str | None
    last_moved_by: str | None


def standing(request: DataRequest, as_of: dt.datetime | None = None) -> Standing:
    now = as_utc(as_of or utcnow())
    last = request.events[-1] if request.events else None
    since = as_utc(last.occurred_at if last else request.created_at)
    submitted = as_utc(request.submitted_at) if request.submitted_at else None
    return Standing(
        stage=request.stage,
        since=since,
        days_in_stage=max(0, (now - since).days),
        days_since_submission=max(0, (now - submitted).days) if submitted else None,
        last_reason=request.stage_reason,
        last_moved_by=last.actor if last else None,
    )


def visible_requests(session: Session, actor: Actor, stage: str | None = None) -> list[DataRequest]:
    """The actor's own requests and those they may see as staff or CDO, newest first."""
    _signed_in(actor)
    query = _query().order_by(DataRequest.id.desc())
    if stage is not None:
        try:
            query = query.where(DataRequest.stage == Stage(stage).value)
        except ValueError:
            raise InvalidInput(
                f"stage: '{stage}' is not a stage. Use one of: {', '.join(s for s in Stage)}.",
                field="stage",
            ) from None
    if not actor.is_cdo:
        staff_of = actor.staff_agencies()
        mine = DataRequest.requester_id == actor.user_id
        if staff_of:
            theirs = DataRequest.id.in_(
                select(DataRequestAgency.request_id)
                .join(Agency, Agency.id == DataRequestAgency.agency_id)
                .where(Agency.code.in_(staff_of))
            )
            query = query.where(mine | ((DataRequest.stage != Stage.DRAFT.value) & theirs))
        else:
            query = query.where(mine)
    return [r for r in session.scalars(query) if can_see(actor, r)]


def queue(session: Session, actor: Actor) -> list[DataRequest]:
    """Open, submitted requests waiting on the actor as a data officer of an agency holding
    the data (every open request for the CDO), longest waiting first."""
    _signed_in(actor)
    query = _query().where(DataRequest.stage.in_([s.value for s in OPEN if s != Stage.DRAFT]))
    if not actor.is_cdo:
        officer_of = actor.staff_agencies(Role.DATA_OFFICER)
        if not officer_of:
            return []
        query = query.where(
            DataRequest.id.in_(
                select(DataRequestAgency.request_id)
                .join(Agency, Agency.id == DataRequestAgency.agency_id)
                .where(Agency.code.in_(officer_of))
            )
        )
    requests = list(session.scalars(query))
    return sorted(requests, key=lambda r: (standing(r).since, r.id))


# Documents: what the API and the CLI show ---------------------------------------------------


def _iso(moment: dt.datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def summary(request: DataRequest, as_of: dt.datetime | None = None) -> dict[str, Any]:
    where = standing(request, as_of)
    following = next_stage(Stage(request.stage))
    return {
        "id": request.id,
        "reference": request.reference,
        "title": request.title,
        "requester": request.requester.name if request.requester else None,
        "organisation": request.organisation,
        "agencies": _agency_codes(request),
        "stage": request.stage,
        "next_stage": following.value if following else None,
        "stage_since": where.since.isoformat(),
        "days_in_stage": where.days_in_stage,
        "days_since_submission": where.days_since_submission,
        "last_reason": where.last_reason,
        "last_moved_by": where.last_moved_by,
        "submitted_at": _iso(request.submitted_at),
        "closed_at": _iso(request.closed_at),
    }


def document(request: DataRequest, as_of: dt.datetime | None = None) -> dict[str, Any]:
    """The whole request: its form, where it stands and its history of moves."""
    form = form_of(request)
    destruction = form["destruction_date"]
    return {
        **summary(request, as_of),
        "requester_name": request.requester_name,
        **{k: v for k, v in form.items() if k not in ("agencies",)},
        "destruction_date": destruction.isoformat() if destruction else None,
        "created_at": _iso(request.created_at),
        "satisfaction": (
            {"score": request.satisfaction, "comment": request.satisfaction_comment}
            if request.satisfaction is not None
            else None
        ),
        "history": [
            {
                "from": event.from_stage,
                "to": event.to_stage,
                "actor": event.actor,
                "reason": event.reason,
                "at": _iso(event.occurred_at),
            }
            for event in request.events
        ],
    }
