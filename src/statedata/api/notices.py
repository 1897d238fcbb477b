"""In-app notices under /api/v1/notices: what the caller, or an agency they work for, has been
told (an agreement about to expire, one to sign). Thin: the rules live in `catalog.notices`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from statedata.api import deps
from statedata.catalog import notices
from statedata.errors import AuthenticationRequired

router = APIRouter(prefix="/api/v1", tags=["notices"])


@router.get("/notices", summary="Your unread notices and your agencies'")
def list_notices(
    session: deps.SessionDep,
    actor: deps.ActorDep,
    all: Annotated[bool, Query(description="Include notices already read")] = False,
) -> dict:
    if actor.is_anonymous:
        raise AuthenticationRequired("Give an API key (or sign in) to see your notices.")
    found = notices.list_for(session, actor, unread_only=not all)
    return {"total": len(found), "results": [notices.notice_document(n) for n in found]}


@router.post("/notices/{notice_id}/read", summary="Mark a notice read")
def mark_read(notice_id: int, session: deps.SessionDep, actor: deps.ActorDep) -> dict:
    if actor.is_anonymous:
        raise AuthenticationRequired("Give an API key (or sign in) to see your notices.")
    return notices.notice_document(notices.mark_read(session, actor, notice_id))
