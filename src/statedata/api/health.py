"""`/api/v1/health`: is the server up and can it reach its catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

import statedata
from statedata.api import deps

router = APIRouter(tags=["health"])


@router.get("/api/v1/health", summary="Liveness and catalog reachability")
def health(session: Annotated[Session, Depends(deps.session)]) -> dict:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": statedata.__version__, "catalog": "ok"}
