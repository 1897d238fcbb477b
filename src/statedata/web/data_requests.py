"""Pages for interagency data requests (`requests.data_requests`): a signed-in user's requests
and those their agencies hold, the request form, and one request with its timeline and the
moves the viewer may make.

The rules are those of `/api/v1/data-requests`, by the same functions: who sees a request,
who moves it and where to are decided there, not here. A request the viewer may not see, and
any request to someone not signed in, is the not-found page, so its existence is not given
away.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from statedata.access import Action, Actor, can
from statedata.api import deps
from statedata.catalog import service
from statedata.catalog.sharing import DataRequest
from statedata.errors import InvalidInput, NotFound, StatedataError
from statedata.requests import agreements, authorities
from statedata.requests import data_requests as requests
from statedata.requests.data_requests import CLOSED, Stage
from statedata.web.base import not_found, render
from statedata.web.viewer import error_page, sender, to_sign_in

router = APIRouter(include_in_schema=False)

RequestId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]

# What each stage means, for the person whose request it is and for the agencies.
STAGE_HELP = {
    "draft": "Not sent yet. Only the requester sees it until it is sent.",
    "submitted": "Sent. The agencies that hold the data have it and will start with a "
    "legal review.",
    "legal_review": "The agencies are checking that the law allows the data to be shared, "
    "and drafting the sharing agreement.",
    "agreement_executed": "Everyone has signed the sharing agreement.",
    "data_matched": "The agencies have put together the data asked for.",
    "analysis": "The data is being analysed.",
    "pre_publication_review": "The agencies are checking the results before they are "
    "published, so that nobody can be identified in them.",
    "completed": "Done: the request was answered.",
    "declined": "The agencies declined the request. The reason is below.",
    "withdrawn": "The requester withdrew the request. The reason is below.",
}

# The text fields of the form, in the order they appear, and what to say when one is empty.
TEXT_FIELDS = (
    "organisation",
    "title",
    "purpose",
    "planned_use",
    "who_has_access",
    "retention_period",
    "destruction_method",
    "legal_basis",
)
NEEDED = {
    "organisation": "Give your agency or organisation.",
    "title": "Give the request a short title.",
    "purpose": "Say what the request is for.",
    "planned_use": "Say how the data will be used.",
    "who_has_access": "Say who will have access to the data.",
    "retention_period": "Say how long the data will be kept.",
    "destruction_method": "Say how the data will be destroyed.",
    "legal_basis": "Say which law allows the data to be shared.",
    "agencies": "Choose at least one agency that holds the data.",
    "elements": "Name at least one data element (a field or column), one a line.",
    "level": "Choose whether you ask for records about individuals or for aggregate numbers.",
    "recurrence": "Say how often the data is needed, for example every quarter.",
}
GROUP_FIELDS = ("dataset_id", "elements", "level", "period_start", "period_end", "parameters")
MAX_GROUPS = 50
DAY = "Give the date like 2027-06-30."


def _stage_name(stage: str) -> str:
    return Stage(stage).label.capitalize()


# Reading the form ---------------------------------------------------------------------------


def _blank_group() -> dict[str, str]:
    return dict.fromkeys(GROUP_FIELDS, "")


def _blank_form() -> dict[str, Any]:
    return {
        **dict.fromkeys(TEXT_FIELDS, ""),
        "recurring": "one_time",
        "recurrence": "",
        "destruction_date": "",
        "agencies": [],
        "authority_ids": [],
        "groups": [_blank_group()],
    }


def _read_form(form: FormData) -> dict[str, Any]:
    """What the sender typed, as strings, kept to show the form again."""
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in TEXT_FIELDS}
    values["recurring"] = "recurring" if form.get("recurring") == "recurring" else "one_time"
    values["recurrence"] = str(form.get("recurrence") or "")
    values["destruction_date"] = str(form.get("destruction_date") or "")
    values["agencies"] = [str(v) for v in form.getlist("agencies")][:100]
    values["authority_ids"] = [str(v) for v in form.getlist("authority_ids")][:100]
    try:
        count = int(str(form.get("groups") or "1"))
    except ValueError:
        count = 1
    count = max(1, min(count, MAX_GROUPS))
    values["groups"] = [
        {name: str(form.get(f"{name}-{i}") or "") for name in GROUP_FIELDS} for i in range(count)
    ]
    return values


def _is_blank(group: dict[str, str]) -> bool:
    return not any(group[name].strip() for name in GROUP_FIELDS if name != "level")


def _as_request(values: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The form as `DataRequestForm` takes it, and for each data element given, the number of
    its group on the page (blank groups are left out, so the two can differ)."""
    kept = [i for i, group in enumerate(values["groups"]) if not _is_blank(group)] or [0]
    elements = []
    for i in kept:
        group = values["groups"][i]
        elements.append(
            {
                "dataset_id": group["dataset_id"] or None,
                "elements": [line for line in group["elements"].splitlines() if line.strip()],
                "level": group["level"] or None,
                "period_start": group["period_start"] or None,
                "period_end": group["period_end"] or None,
                "parameters": group["parameters"],
            }
        )
    recurring = values["recurring"] == "recurring"
    data = {
        **{name: values[name] for name in TEXT_FIELDS},
        "data_elements": elements,
        "recurring": recurring,
        # The schedule field belongs to a recurring request; a one-time one ignores it.
        "recurrence": (values["recurrence"] or None) if recurring else None,
        "destruction_date": values["destruction_date"] or None,
        "agencies": values["agencies"],
        "authority_ids": [int(v) for v in values["authority_ids"] if v.isdigit()],
    }
    return data, kept


def _message(problem: dict[str, Any], field: str) -> str:
    kind = problem.get("type", "")
    limits = problem.get("ctx") or {}
    if kind in ("missing", "string_too_short", "too_short", "literal_error", "none_required"):
        return NEEDED.get(field, "Fill this in.")
    if kind == "string_too_long":
        return f"Keep this to {limits.get('max_length')} characters or fewer."
    if kind == "too_long":
        return f"Give at most {limits.get('max_length')}."
    if kind.startswith("date"):
        return DAY
    text = str(problem.get("msg", "is not valid")).removeprefix("Value error, ")
    return text[:1].upper() + text[1:].rstrip(".") + "."


def _field_of(loc: tuple[Any, ...], kept: list[int]) -> str:
    """The form field (its id after `field-`) a validation problem is about."""
    if not loc:
        # The form's one check across fields is that a recurring request says how often.
        return "recurrence"
    if loc[0] != "data_elements":
        return str(loc[0])
    if len(loc) == 1:
        return f"elements-{kept[0]}"
    group = kept[int(loc[1])] if int(loc[1]) < len(kept) else kept[0]
    if len(loc) == 2:
        # A data element's one check across fields is that its period starts before it ends.
        return f"period_end-{group}"
    return f"{loc[2]}-{group}"


def _without_field(error: StatedataError) -> str:
    """The part's message without the field name it starts with (the page shows the message
    by the field), first letter up."""
    field = str(error.data.get("field") or "")
    text = error.message.removeprefix(f"{field}: ") if field else error.message
    return text[:1].upper() + text[1:]


def field_errors(error: ValidationError, kept: list[int]) -> dict[str, str]:
    """Each field that does not fit, with a plain message, in the order of the form."""
    found: dict[str, str] = {}
    for problem in error.errors():
        field = _field_of(tuple(problem.get("loc", ())), kept)
        found.setdefault(field, _message(problem, field.split("-")[0]))
    return found


# The list -----------------------------------------------------------------------------------


def _row(request: DataRequest) -> dict[str, Any]:
    where = requests.standing(request)
    return {
        "id": request.id,
        "reference": request.reference,
        "title": request.title,
        "organisation": request.organisation,
        "requester": request.requester_name,
        "agencies": [link.agency.code for link in request.agencies],
        "stage": request.stage,
        "stage_name": _stage_name(request.stage),
        "days": where.days_in_stage,
        "since": where.since,
        "closed": Stage(request.stage) in CLOSED,
    }


@router.get("/data-requests", response_class=HTMLResponse)
def request_list(request: Request, session: deps.SessionDep, actor: deps.ActorDep) -> Response:
    if actor.is_anonymous:
        return to_sign_in(request)
    found = requests.visible_requests(session, actor)
    mine = [_row(r) for r in found if requests.is_requester(actor, r)]
    held = [_row(r) for r in found if not requests.is_requester(actor, r)]
    return render(
        request,
        "data_requests/list.html",
        mine=mine,
        held=held,
        staff=actor.is_cdo or bool(actor.staff_agencies()),
    )


# The form -----------------------------------------------------------------------------------


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
    draft: DataRequest | None = None,
) -> HTMLResponse:
    return render(
        request,
        "data_requests/new.html",
        status_code=status,
        values=values,
        errors=errors or {},
        problem=problem,
        agencies=service.list_agencies(session),
        authorities=authorities.list_authorities(session),
        draft={"id": draft.id, "title": draft.title} if draft is not None else None,
    )


def _values_of(draft: DataRequest) -> dict[str, Any]:
    """A saved draft as the form shows it."""
    form = requests.form_of(draft)
    groups = [
        {
            "dataset_id": element.get("dataset_id") or "",
            "elements": "\n".join(element.get("elements") or []),
            "level": element.get("level") or "",
            "period_start": element.get("period_start") or "",
            "period_end": element.get("period_end") or "",
            "parameters": element.get("parameters") or "",
        }
        for element in form["data_elements"]
    ]
    destruction = form["destruction_date"]
    return {
        **{name: form[name] or "" for name in TEXT_FIELDS},
        "recurring": "recurring" if form["recurring"] else "one_time",
        "recurrence": form["recurrence"] or "",
        "destruction_date": destruction.isoformat() if destruction else "",
        "agencies": form["agencies"],
        "authority_ids": [str(i) for i in form["authority_ids"]],
        "groups": groups or [_blank_group()],
    }


@router.get("/data-requests/new", response_class=HTMLResponse)
def new_request_form(request: Request, session: deps.SessionDep, actor: deps.ActorDep) -> Response:
    if actor.is_anonymous:
        return to_sign_in(request)
    return _form_page(request, session, _blank_form())


@router.get("/data-requests/{request_id}/edit", response_class=HTMLResponse)
def edit_request_form(
    request_id: RequestId, request: Request, session: deps.SessionDep, actor: deps.ActorDep
) -> Response:
    if actor.is_anonymous:
        return not_found(request, "data request")
    try:
        draft = requests.get_request(session, actor, request_id)
    except NotFound:
        return not_found(request, "data request")
    if not requests.is_requester(actor, draft) or draft.stage != Stage.DRAFT:
        # Only a draft is changed, by its requester; its page says where it stands.
        return RedirectResponse(f"/data-requests/{request_id}", status_code=303)
    return _form_page(request, session, _values_of(draft), draft=draft)


async def _save(request: Request, request_id: int | None) -> Response:
    """Save the form as a new draft (`request_id` None) or over the actor's draft, and send it
    when asked; a form that does not fit comes back with what to fix, and nothing is kept."""
    try:
        actor = await sender(request)
    except StatedataError as error:
        return error_page(request, error)
    if actor.is_anonymous:
        return to_sign_in(request) if request_id is None else not_found(request, "data request")
    form = await request.form()
    values = _read_form(form)
    action = str(form.get("action") or "draft")
    installation = request.app.state.installation
    with installation.catalog.session() as session:
        draft = None
        if request_id is not None:
            try:
                # Whether the actor may change it is `requests.edit`'s to say, below.
                draft = requests.get_request(session, actor, request_id)
            except NotFound:
                return not_found(request, "data request")

        def again(
            errors: dict[str, str] | None = None, problem: str | None = None, status: int = 400
        ) -> HTMLResponse:
            return _form_page(request, session, values, errors, problem, status, draft)

        if action == "add_group":
            # Without scripts the form grows by asking the server for one more group.
            if len(values["groups"]) < MAX_GROUPS:
                values["groups"].append(_blank_group())
            return again(status=200)
        data, kept = _as_request(values)
        try:
            checked = requests.DataRequestForm.model_validate(data)
        except ValidationError as error:
            return again(field_errors(error, kept))
        try:
            if draft is None:
                saved = requests.create(session, actor, checked)
            else:
                # The form has no agreement field; a draft's linked agreement stays.
                changes = checked.model_dump(exclude={"agreement_id"})
                saved = requests.edit(session, actor, draft.id, changes)
            if action == "submit":
                requests.move(session, actor, saved.id, Stage.SUBMITTED)
        except InvalidInput as error:
            session.rollback()  # nothing of a refused form is kept
            field = str(error.data.get("field") or "")
            if field in ("agencies", "authority_ids"):
                return again({field: _without_field(error)})
            return again(problem=error.message)
        except StatedataError as error:
            session.rollback()
            return again(problem=error.message, status=error.status if error.status < 500 else 400)
        saved_id = saved.id
    outcome = "submitted" if action == "submit" else "draft"
    return RedirectResponse(f"/data-requests/{saved_id}?saved={outcome}", status_code=303)


@router.post("/data-requests/new", response_class=HTMLResponse)
async def make_request(request: Request) -> Response:
    return await _save(request, None)


@router.post("/data-requests/{request_id}/edit", response_class=HTMLResponse)
async def change_draft(request_id: RequestId, request: Request) -> Response:
    return await _save(request, request_id)


# One request --------------------------------------------------------------------------------


def _moment(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _datasets(session: Session, actor: Actor, elements: list[dict]) -> dict[str, str]:
    """The titles of the datasets the request names that the viewer may see; the others are
    shown by their id alone, as the requester typed it."""
    titles = {}
    for element in elements:
        dataset_id = element.get("dataset_id")
        if not dataset_id or dataset_id in titles:
            continue
        try:
            dataset = service.get_dataset(session, dataset_id)
        except NotFound:
            continue
        if can(actor, Action.READ_METADATA, dataset):
            titles[dataset_id] = dataset.title
    return titles


def _agreement(session: Session, actor: Actor, agreement_id: int | None) -> dict | None:
    if agreement_id is None:
        return None
    try:
        found = agreements.get_agreement(session, actor, agreement_id)
    except NotFound:
        # Linked, but the viewer is not a party to it: say so, and nothing of it.
        return {"visible": False}
    return {"visible": True, **agreements.summary(found)}


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    found: DataRequest,
    status: int = 200,
    problem: str | None = None,
    given: dict[str, str] | None = None,
    flags: dict[str, str | None] | None = None,
) -> HTMLResponse:
    document = requests.document(found)
    for element in document["data_elements"]:
        for end in ("period_start", "period_end"):
            element[end] = dt.date.fromisoformat(element[end]) if element.get(end) else None
    stage = Stage(found.stage)
    requester = requests.is_requester(actor, found)
    officer = requests.is_officer(actor, found)
    is_open = stage not in CLOSED
    following = requests.next_stage(stage)
    may_move = is_open and stage != Stage.DRAFT and officer
    choices = []
    if may_move and following == Stage.AGREEMENT_EXECUTED:
        choices = agreements.list_agreements(session, actor, status=requests.EXECUTED)
    return render(
        request,
        "data_requests/detail.html",
        status_code=status,
        r=document,
        stage_name=_stage_name(found.stage),
        stage_help=STAGE_HELP[found.stage],
        stage_names={s.value: _stage_name(s.value) for s in Stage},
        history=[{**event, "when": _moment(event["at"])} for event in document["history"]],
        since=_moment(document["stage_since"]),
        created=_moment(document["created_at"]),
        destruction_date=found.destruction_date,
        titles=_datasets(session, actor, document["data_elements"]),
        cited=[authorities.get_authority(session, i) for i in document["authority_ids"]],
        agreement=_agreement(session, actor, found.agreement_id),
        may_submit=requester and stage == Stage.DRAFT,
        may_withdraw=requester and is_open,
        may_move=may_move,
        may_decline=may_move,
        may_rate=requester and stage == Stage.COMPLETED and found.satisfaction is None,
        following=following.value if following else None,
        agreement_choices=[agreements.summary(a) for a in choices],
        problem=problem,
        given=given or {},
        flags={"saved": None, "moved": None, "rated": None, **(flags or {})},
    )


@router.get("/data-requests/{request_id}", response_class=HTMLResponse)
def request_page(
    request_id: RequestId,
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    saved: str | None = None,
    moved: str | None = None,
    rated: str | None = None,
) -> HTMLResponse:
    if actor.is_anonymous:
        return not_found(request, "data request")
    try:
        found = requests.get_request(session, actor, request_id)
    except NotFound:
        return not_found(request, "data request")
    flags = {
        "saved": saved if saved in ("draft", "submitted") else None,
        "moved": moved if moved in {s.value for s in Stage} else None,
        "rated": "1" if rated == "1" else None,
    }
    return _detail_page(request, session, actor, found, flags=flags)


async def _acting(request: Request) -> Actor | Response:
    """Who sends a form about a request, or the page to answer with instead."""
    try:
        actor = await sender(request)
    except StatedataError as error:
        return error_page(request, error)
    if actor.is_anonymous:
        return not_found(request, "data request")
    return actor


def _refused(
    request: Request,
    session: Session,
    actor: Actor,
    request_id: int,
    error: StatedataError,
    given: dict[str, str],
) -> HTMLResponse:
    """The request's page again, saying why the form was refused; nothing of it was kept."""
    session.rollback()
    found = requests.get_request(session, actor, request_id)
    status = error.status if 400 <= error.status < 500 else 400
    field = str(error.data.get("field") or "")
    given = {**given, "error_field": field}
    return _detail_page(request, session, actor, found, status, _without_field(error), given)


@router.post("/data-requests/{request_id}/stage", response_class=HTMLResponse)
async def move_request(request_id: RequestId, request: Request) -> Response:
    """Send a draft, move a request on, decline it or withdraw it."""
    actor = await _acting(request)
    if isinstance(actor, Response):
        return actor
    form = await request.form()
    given = {name: str(form.get(name) or "").strip() for name in ("to", "reason", "agreement_id")}
    installation = request.app.state.installation
    with installation.catalog.session() as session:
        try:
            requests.get_request(session, actor, request_id)
        except NotFound:
            return not_found(request, "data request")
        try:
            agreement_id = given["agreement_id"]
            if agreement_id and not agreement_id.isdigit():
                raise InvalidInput(
                    "Choose the sharing agreement from the list.", field="agreement_id"
                )
            requests.move(
                session,
                actor,
                request_id,
                given["to"],
                given["reason"] or None,
                int(agreement_id) if agreement_id else None,
            )
        except StatedataError as error:
            return _refused(request, session, actor, request_id, error, given)
    return RedirectResponse(f"/data-requests/{request_id}?moved={given['to']}", status_code=303)


@router.post("/data-requests/{request_id}/satisfaction", response_class=HTMLResponse)
async def rate_request(request_id: RequestId, request: Request) -> Response:
    """The requester's answer to the short survey once the request is completed."""
    actor = await _acting(request)
    if isinstance(actor, Response):
        return actor
    form = await request.form()
    given = {name: str(form.get(name) or "").strip() for name in ("score", "comment")}
    installation = request.app.state.installation
    with installation.catalog.session() as session:
        try:
            requests.get_request(session, actor, request_id)
        except NotFound:
            return not_found(request, "data request")
        try:
            if not given["score"].isdigit():
                raise InvalidInput("Choose how satisfied you are, from 1 to 5.", field="score")
            answer = {"score": int(given["score"]), "comment": given["comment"] or None}
            requests.rate(session, actor, request_id, answer)
        except StatedataError as error:
            return _refused(request, session, actor, request_id, error, given)
    return RedirectResponse(f"/data-requests/{request_id}?rated=1", status_code=303)
