"""`/api/v1/health`: is the server up and can it reach its catalog."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

import statedata
from statedata.api import deps

router = APIRouter(tags=["health"])


@router.get("/api/v1/health", summary="Liveness and catalog reachability")
def health(session: deps.SessionDep) -> dict:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": statedata.__version__, "catalog": "ok"}
