"""What routes receive: the installation, a catalog session and the actor asking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from statedata.access import ANONYMOUS, Actor, actor_from_authorization
from statedata.access import sessions as web_sessions
from statedata.access.passwords import SignInLimiter
from statedata.errors import AuthenticationFailed, AuthenticationRequired
from statedata.installation import Installation

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def installation(request: Request) -> Installation:
    return request.app.state.installation


def session(request: Request) -> Iterator[Session]:
    with request.app.state.installation.catalog.session() as db:
        yield db


async def signed_in(request: Request) -> web_sessions.SignedIn | None:
    """The web session of the sign-in cookie, or None without one. A change sent with the
    cookie must carry the session's CSRF token, or it is refused before any route runs."""
    token = request.cookies.get(web_sessions.COOKIE_NAME)
    if not token:
        return None
    settings = request.app.state.installation.settings
    try:
        with request.app.state.installation.catalog.session() as db:
            current = web_sessions.resume(db, token, settings.session_idle_minutes)
    except AuthenticationFailed:
        if request.method in SAFE_METHODS:
            # A stale cookie should not stop anyone reading what the public may read.
            return None
        raise
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(web_sessions.CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if presented is None and content_type.startswith(FORM_TYPES):
            form = await request.form()
            field = form.get(web_sessions.CSRF_FIELD)
            presented = field if isinstance(field, str) else None
        web_sessions.check_csrf(current, presented)
    return current


SignedInDep = Annotated[web_sessions.SignedIn | None, Depends(signed_in)]


def actor(request: Request, current: SignedInDep) -> Actor:
    """Who is asking: the holder of the API key in `Authorization`, the signed-in user of the
    session cookie, or anonymous."""
    header = request.headers.get("authorization")
    if header:
        with request.app.state.installation.catalog.session() as db:
            return actor_from_authorization(db, header) or ANONYMOUS
    if current is not None:
        return current.actor
    return ANONYMOUS


def signed_in_actor(current: Annotated[Actor, Depends(actor)]) -> Actor:
    """The actor, who must not be anonymous (401 otherwise)."""
    if current.is_anonymous:
        raise AuthenticationRequired(
            "Sign in, or send an API key (HTTP Basic key-id:secret, or Bearer key-id:secret)."
        )
    return current


def sign_in_limiter(request: Request) -> SignInLimiter:
    """The app's one count of failed sign-ins, shared by the API and the sign-in page."""
    state = request.app.state
    if getattr(state, "sign_in_limiter", None) is None:
        state.sign_in_limiter = SignInLimiter(state.installation.settings.sign_in_attempts)
    return state.sign_in_limiter


def same_origin(request: Request) -> bool:
    """A sign-in posted from another site's page would sign the browser into someone else's
    account; browsers always say where a cross-site post comes from."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


# The dependencies as annotated types, so each route names what it needs in one word.
InstallationDep = Annotated[Installation, Depends(installation)]
# Committed when the route returns, before the answer leaves: a client told "done" can read
# its change back at once, and a failed commit is an error answer, not a lost write.
SessionDep = Annotated[Session, Depends(session, scope="function")]
ActorDep = Annotated[Actor, Depends(actor)]
UserDep = Annotated[Actor, Depends(signed_in_actor)]
BaseUrlDep = Annotated[str, Depends(base_url)]
