"""The data requests API under /api/v1/data-requests, and the goal-3 metrics at
/api/v1/metrics/data-sharing. Thin: the rules live in `requests.data_requests`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from statedata.api import deps
from statedata.requests import data_requests as requests
from statedata.requests import metrics

router = APIRouter(prefix="/api/v1", tags=["data requests"])

# Commit before the response goes out: the default (request scope) commits only after it is
# sent, so a caller's next call could miss the change, and a failed commit would follow a 200.
SessionDep = Annotated[Session, Depends(deps.session, scope="function")]


@router.post("/data-requests", status_code=201, summary="Start a data request (a draft)")
def create_request(
    body: requests.DataRequestForm, session: SessionDep, actor: deps.ActorDep
) -> dict:
    return requests.document(requests.create(session, actor, body))


@router.get("/data-requests", summary="Your requests, and those your agency holds data for")
def list_requests(
    session: SessionDep,
    actor: deps.ActorDep,
    stage: Annotated[str | None, Query(description="Only requests at this stage")] = None,
) -> dict:
    found = requests.visible_requests(session, actor, stage)
    return {"total": len(found), "results": [requests.summary(r) for r in found]}


@router.get("/data-requests/queue", summary="Open requests waiting on your agency")
def request_queue(session: SessionDep, actor: deps.ActorDep) -> dict:
    found = requests.queue(session, actor)
    return {"total": len(found), "results": [requests.summary(r) for r in found]}


@router.get("/data-requests/{key}", summary="One request, with where it stands and its history")
def get_request(key: str, session: SessionDep, actor: deps.ActorDep) -> dict:
    return requests.document(requests.get_request(session, actor, key))


@router.patch("/data-requests/{key}", summary="Change a draft request")
def edit_request(
    key: str,
    body: requests.DataRequestChanges,
    session: SessionDep,
    actor: deps.ActorDep,
) -> dict:
    return requests.document(requests.edit(session, actor, key, body))


@router.post("/data-requests/{key}/stage", summary="Move a request on, or decline or withdraw it")
def move_request(
    key: str, body: requests.StageMove, session: SessionDep, actor: deps.ActorDep
) -> dict:
    moved = requests.move(session, actor, key, body.to, body.reason, body.agreement_id)
    return requests.document(moved)


@router.post("/data-requests/{key}/satisfaction", summary="Answer the survey on completion")
def rate_request(
    key: str, body: requests.Satisfaction, session: SessionDep, actor: deps.ActorDep
) -> dict:
    return requests.document(requests.rate(session, actor, key, body))


@router.get("/metrics/data-sharing", summary="Goal 3: time to fulfil, multi-party share, ratings")
def data_sharing_metrics(
    session: SessionDep,
    as_of: Annotated[
        dt.date | None, Query(description="The day to measure at (YYYY-MM-DD)")
    ] = None,
) -> dict:
    return metrics.goal_three(session, as_of)
