"""Suggest a dataset and follow suggestions: the pages for `requests.suggestions`.

The same rules as `/api/v1/suggestions` (they are the same functions): a rate limit per keyed
sender hash, the honeypot field, duplicates of open suggestions refused, one vote each. What a
viewer sees of a suggestion is its `document`, so the contact email and who moved it stay
with the agency's staff and the CDO.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.access import Actor
from statedata.api import deps
from statedata.catalog import service
from statedata.catalog.sharing import SuggestionVote
from statedata.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SpamSuspected,
    StatedataError,
    SuggestionDuplicate,
)
from statedata.requests import suggestions
from statedata.web.base import not_found, render
from statedata.web.viewer import error_page, sender

router = APIRouter(include_in_schema=False)

PER_PAGE = 20
SuggestionId = Annotated[int, Path(ge=1, le=2_147_483_647)]
FIELDS = ("title", "description", "reason", "contact_email", "agency")


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _sender_hash(request: Request, actor: Actor) -> str:
    installation = request.app.state.installation
    secret = suggestions.installation_secret(installation.settings.home)
    return suggestions.sender_hash(secret, actor, _address(request))


def _moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


@router.get("/suggestions", response_class=HTMLResponse)
def suggestion_list(
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    status: str | None = None,
    sort: str = "newest",
    page: int = 1,
) -> HTMLResponse:
    status = status if status in suggestions.STATUSES else None
    sort = sort if sort in suggestions.SORTS else "newest"
    page = max(1, min(page, 50_000))
    total, found = suggestions.list_suggestions(
        session, status, None, sort, PER_PAGE, (page - 1) * PER_PAGE
    )
    items = [{**suggestions.document(session, s, actor), "created": s.created_at} for s in found]
    pages = max(1, -(-total // PER_PAGE))
    return render(
        request,
        "suggestions/list.html",
        items=items,
        total=total,
        status=status,
        sort=sort,
        page=page,
        pages=pages,
        statuses=[(s, suggestions.STATUS_NAMES[s]) for s in suggestions.STATUSES],
    )


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
    duplicate: int | None = None,
) -> HTMLResponse:
    return render(
        request,
        "suggestions/new.html",
        status_code=status,
        values=values,
        errors=errors or {},
        problem=problem,
        duplicate=duplicate,
        agencies=service.list_agencies(session),
        honeypot=suggestions.HONEYPOT_FIELD,
        lengths={
            "title": suggestions.TITLE_LENGTH,
            "description": suggestions.DESCRIPTION_LENGTH,
            "reason": suggestions.REASON_LENGTH,
        },
    )


@router.get("/suggestions/new", response_class=HTMLResponse)
def new_suggestion_form(request: Request, session: deps.SessionDep) -> HTMLResponse:
    return _form_page(request, session, dict.fromkeys(FIELDS, ""))


def field_errors(values: dict[str, str]) -> dict[str, str]:
    """Every field that does not fit, each with its own message, so the sender can fix them
    all at once; `suggestions.create` checks everything again."""
    errors: dict[str, str] = {}
    checks = (
        ("title", suggestions.TITLE_LENGTH, "title"),
        ("description", suggestions.DESCRIPTION_LENGTH, "description"),
        ("reason", suggestions.REASON_LENGTH, "reason it is needed"),
    )
    for name, length, label in checks:
        try:
            suggestions.clean_text(values.get(name, ""), name, length, label)
        except InvalidInput as error:
            errors[name] = error.message
    email = values.get("contact_email", "").strip()
    if email and not suggestions.EMAIL.match(email):
        errors["contact_email"] = (
            f"'{email}' is not an email address; leave it out or give one like name@example.org."
        )
    return errors


@router.post("/suggestions/new", response_class=HTMLResponse)
async def send_suggestion(request: Request) -> Response:
    installation = request.app.state.installation
    try:
        actor = await sender(request)
    except StatedataError as error:
        return error_page(request, error)
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in FIELDS}
    trap = str(form.get(suggestions.HONEYPOT_FIELD) or "")
    with installation.catalog.session() as session:
        errors = field_errors(values)
        if errors:
            return _form_page(request, session, values, errors, status=400)
        new = suggestions.NewSuggestion(**values, website=trap)
        try:
            made = suggestions.create(
                session,
                new,
                _sender_hash(request, actor),
                installation.settings.suggestions_per_hour,
                actor,
            )
        except SuggestionDuplicate as error:
            session.rollback()  # nothing of a refused suggestion is kept
            other = error.data.get("suggestion_id")
            message = (
                f"Suggestion {other} asks for this already and is still open. "
                "You can vote for it instead."
            )
            return _form_page(
                request,
                session,
                values,
                problem=message,
                status=409,
                duplicate=other if isinstance(other, int) else None,
            )
        except (InvalidInput, SpamSuspected) as error:
            session.rollback()
            field = error.data.get("field")
            if isinstance(field, str) and field in FIELDS:
                return _form_page(request, session, values, {field: error.message}, status=400)
            return _form_page(request, session, values, problem=error.message, status=400)
        except RateLimited as error:
            session.rollback()
            response = _form_page(request, session, values, problem=error.message, status=429)
            response.headers["Retry-After"] = str(error.data.get("retry_after", 3600))
            return response
        made_id = made.id
    return RedirectResponse(f"/suggestions/{made_id}?sent=1", status_code=303)


def _has_voted(session: Session, suggestion_id: int, voter: str) -> bool:
    return (
        session.scalar(
            select(SuggestionVote.suggestion_id).where(
                SuggestionVote.suggestion_id == suggestion_id, SuggestionVote.voter_hash == voter
            )
        )
        is not None
    )


MOVE_FIELDS = ("status", "note", "target_date", "dataset_id", "decline_reason", "legal_citation")


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    found: Any,
    status: int = 200,
    problem: str | None = None,
    move: dict[str, str] | None = None,
    flags: dict[str, bool] | None = None,
) -> HTMLResponse:
    document = suggestions.document(session, found, actor, history=True)
    history = [{**event, "when": _moment(event["at"])} for event in document["history"]]
    is_open = found.status in suggestions.OPEN_STATUSES
    triage = is_open and not actor.is_anonymous and suggestions.can_triage(actor, found)
    return render(
        request,
        "suggestions/detail.html",
        status_code=status,
        s=document,
        created=found.created_at,
        target=found.target_date,
        history=history,
        is_open=is_open,
        has_voted=_has_voted(session, found.id, _sender_hash(request, actor)),
        status_names=suggestions.STATUS_NAMES,
        moves=list(suggestions.NEXT_STATUSES[found.status]) if triage else [],
        move=move or dict.fromkeys(MOVE_FIELDS, ""),
        problem=problem,
        **{"sent": False, "voted": False, "moved": False, **(flags or {})},
    )


@router.get("/suggestions/{suggestion_id}", response_class=HTMLResponse)
def suggestion_page(
    suggestion_id: SuggestionId,
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    sent: str | None = None,
    voted: str | None = None,
    moved: str | None = None,
) -> HTMLResponse:
    try:
        found = suggestions.get(session, suggestion_id)
    except NotFound:
        return not_found(request, "suggestion")
    flags = {"sent": sent == "1", "voted": voted == "1", "moved": moved == "1"}
    return _detail_page(request, session, actor, found, flags=flags)


@router.post("/suggestions/{suggestion_id}/status", response_class=HTMLResponse)
async def move_suggestion(suggestion_id: SuggestionId, request: Request) -> Response:
    """Staff of the suggestion's agency (or the CDO) move it on one status."""
    installation = request.app.state.installation
    try:
        actor = await sender(request)
    except StatedataError as error:
        return error_page(request, error)
    form = await request.form()
    move = {name: str(form.get(name) or "").strip() for name in MOVE_FIELDS}
    with installation.catalog.session() as session:
        try:
            found = suggestions.get(session, suggestion_id)
        except NotFound:
            return not_found(request, "suggestion")
        if actor.is_anonymous or not suggestions.can_triage(actor, found):
            # Only the agency's staff and the CDO see this form; to others it is not there.
            return error_page(
                request,
                Forbidden("Only the suggestion's agency staff or the Chief Data Officer move it."),
            )
        try:
            when = dt.date.fromisoformat(move["target_date"]) if move["target_date"] else None
        except ValueError:
            return _detail_page(
                request,
                session,
                actor,
                found,
                400,
                "Give the target date as a date, like 2027-03-31.",
                move,
            )
        change = suggestions.StatusChange(
            status=move["status"],
            note=move["note"],
            target_date=when,
            dataset_id=move["dataset_id"] or None,
            decline_reason=move["decline_reason"] or None,
            legal_citation=move["legal_citation"] or None,
        )
        try:
            suggestions.change_status(session, actor, suggestion_id, change)
        except StatedataError as error:
            session.rollback()
            found = suggestions.get(session, suggestion_id)
            status = error.status if 400 <= error.status < 500 else 400
            return _detail_page(request, session, actor, found, status, error.message, move)
    return RedirectResponse(f"/suggestions/{suggestion_id}?moved=1", status_code=303)


@router.post("/suggestions/{suggestion_id}/vote")
async def vote(suggestion_id: SuggestionId, request: Request) -> Response:
    installation = request.app.state.installation
    try:
        actor = await sender(request)
        with installation.catalog.session() as session:
            suggestions.vote(session, suggestion_id, _sender_hash(request, actor))
    except NotFound:
        return not_found(request, "suggestion")
    except StatedataError as error:
        return error_page(request, error)
    return RedirectResponse(f"/suggestions/{suggestion_id}?voted=1", status_code=303)
