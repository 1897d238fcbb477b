"""What routes receive: the installation, a catalog session and the actor asking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from statedata.access import ANONYMOUS, Actor, actor_from_authorization
from statedata.installation import Installation


def installation(request: Request) -> Installation:
    return request.app.state.installation


def session(request: Request) -> Iterator[Session]:
    with request.app.state.installation.catalog.session() as db:
        yield db


def actor(request: Request) -> Actor:
    """Who is asking: the holder of the API key in `Authorization`, or anonymous."""
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    with request.app.state.installation.catalog.session() as db:
        return actor_from_authorization(db, header) or ANONYMOUS


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


# The dependencies as annotated types, so each route names what it needs in one word.
InstallationDep = Annotated[Installation, Depends(installation)]
SessionDep = Annotated[Session, Depends(session)]
ActorDep = Annotated[Actor, Depends(actor)]
BaseUrlDep = Annotated[str, Depends(base_url)]
