"""Public dataset suggestions under /api/v1/suggestions: suggest, list, vote, follow, triage.

Thin: each route parses, calls `requests.suggestions`, and returns what it gives back.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from statedata.api import deps
from statedata.requests import suggestions

router = APIRouter(prefix="/api/v1/suggestions", tags=["suggestions"])

# Ids are 32-bit integers in both databases; a larger one is simply not there.
SuggestionId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The suggestion's id")]


class SuggestionBody(BaseModel):
    """A new suggestion. Leave `website` out or empty: it is a trap for robots."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = Field(default=None, description="What data you would like, 5-300 chars.")
    description: str | None = Field(
        default=None, description="What it should hold, 20-5000 characters."
    )
    reason: str | None = Field(default=None, description="Why it is needed, 10-5000 characters.")
    contact_email: str | None = Field(
        default=None, description="Optional; seen only by the agency's staff and the CDO."
    )
    agency: str | None = Field(default=None, description="Optional code of the agency it is for.")
    website: str | None = Field(default=None, description="Leave empty.")


class StatusBody(BaseModel):
    """A status move: `target_date` for planned, `dataset_id` for published,
    `decline_reason` (and `legal_citation` where the law is the reason) for declined."""

    model_config = ConfigDict(extra="forbid")

    status: str
    note: str | None = Field(default=None, description="A public note explaining the move.")
    target_date: dt.date | None = None
    dataset_id: str | None = None
    decline_reason: str | None = None
    legal_citation: str | None = None
    agency: str | None = Field(default=None, description="CDO only: hand it to this agency.")


class AgencyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency: str
    note: str | None = None


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("", status_code=201, summary="Suggest a dataset (anyone may)")
def create_suggestion(
    body: SuggestionBody,
    request: Request,
    installation: deps.InstallationDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
) -> dict:
    secret = suggestions.installation_secret(installation.settings.home)
    sender = suggestions.sender_hash(secret, actor, _address(request))
    new = suggestions.NewSuggestion(**body.model_dump())
    with installation.catalog.session() as session:
        made = suggestions.create(
            session, new, sender, installation.settings.suggestions_per_hour, actor
        )
        return suggestions.document(session, made, actor, base, history=True)


@router.get("", summary="Suggestions, newest or most voted first")
def list_suggestions(
    session: deps.SessionDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
    status: Annotated[
        str | None, Query(description="received, under_review, planned, published or declined")
    ] = None,
    agency: Annotated[str | None, Query(description="Agency code")] = None,
    sort: Annotated[str, Query(description="newest or votes")] = "newest",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    total, page = suggestions.list_suggestions(session, status, agency, sort, limit, offset)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "results": [suggestions.document(session, s, actor, base) for s in page],
    }


@router.get("/metrics", summary="Suggestions received each week or month, by status")
def suggestion_metrics(
    session: deps.SessionDep,
    period: Annotated[str, Query(description="week or month")] = "month",
    start: Annotated[dt.date | None, Query(description="First day counted")] = None,
    end: Annotated[dt.date | None, Query(description="Last day counted")] = None,
    agency: Annotated[str | None, Query(description="Agency code")] = None,
) -> dict:
    return suggestions.counts_over_time(session, period, start, end, agency)


@router.get("/queue", summary="The open suggestions your agency triages (staff and the CDO)")
def triage_queue(
    session: deps.SessionDep,
    actor: deps.UserDep,
    base: deps.BaseUrlDep,
) -> dict:
    queue = suggestions.triage_queue(session, actor)
    return {
        "total": len(queue),
        "results": [suggestions.document(session, s, actor, base) for s in queue],
    }


@router.get("/{suggestion_id}", summary="One suggestion with its status history")
def get_suggestion(
    suggestion_id: SuggestionId,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
) -> dict:
    found = suggestions.get(session, suggestion_id)
    return suggestions.document(session, found, actor, base, history=True)


@router.post("/{suggestion_id}/votes", status_code=201, summary="Vote for a suggestion, once")
def vote(
    suggestion_id: SuggestionId,
    request: Request,
    installation: deps.InstallationDep,
    actor: deps.ActorDep,
) -> dict:
    secret = suggestions.installation_secret(installation.settings.home)
    voter = suggestions.sender_hash(secret, actor, _address(request))
    with installation.catalog.session() as session:
        count = suggestions.vote(session, suggestion_id, voter)
    return {"suggestion_id": suggestion_id, "vote_count": count}


@router.post("/{suggestion_id}/status", summary="Move a suggestion on (its agency's staff, CDO)")
def change_status(
    suggestion_id: SuggestionId,
    body: StatusBody,
    installation: deps.InstallationDep,
    actor: deps.UserDep,
    base: deps.BaseUrlDep,
) -> dict:
    change = suggestions.StatusChange(**body.model_dump())
    with installation.catalog.session() as session:
        changed = suggestions.change_status(session, actor, suggestion_id, change)
        return suggestions.document(session, changed, actor, base, history=True)


@router.post("/{suggestion_id}/agency", summary="Hand a suggestion to an agency (the CDO)")
def assign_agency(
    suggestion_id: SuggestionId,
    body: AgencyBody,
    installation: deps.InstallationDep,
    actor: deps.UserDep,
    base: deps.BaseUrlDep,
) -> dict:
    with installation.catalog.session() as session:
        changed = suggestions.assign_agency(
            session, actor, suggestion_id, body.agency, body.note or ""
        )
        return suggestions.document(session, changed, actor, base, history=True)
