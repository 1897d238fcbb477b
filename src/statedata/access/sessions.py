"""Web sign-in sessions: a random token in an HttpOnly cookie, its hash in the catalog.

The server keeps the session, so signing out or expiry ends it everywhere: a copied or replayed
cookie stops working, and a forged one matches nothing. Each session has its own CSRF token;
a change sent with the cookie must carry it (header `X-CSRF-Token` or form field
`csrf_token`), which a page on another site cannot read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statedata.access.accounts import actor_for
from statedata.access.policy import Actor
from statedata.catalog import audit
from statedata.catalog.models import User, WebSession, as_utc, utcnow
from statedata.errors import AuthenticationFailed, CsrfFailed

COOKIE_NAME = "statedata_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# Record activity at most this often, so reads do not write on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    session_id: int
    csrf_token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, hours: float) -> tuple[str, SignedIn]:
    """A new session for the user: the cookie's token (shown once) and what it stands for."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    web_session = WebSession(
        token_hash=_digest(token),
        csrf_token=secrets.token_urlsafe(32),
        user=user,
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=hours),
    )
    session.add(web_session)
    user.last_sign_in_at = now
    session.flush()
    audit.record(session, user.name, "session.start", session_id=web_session.id)
    signed_in = SignedIn(
        actor_for(session, user), web_session.id, web_session.csrf_token, web_session.expires_at
    )
    return token, signed_in


def resume(session: Session, token: str, idle_minutes: float) -> SignedIn:
    """The signed-in actor for a cookie's token; raises if the session is unknown or over."""
    web_session = session.scalar(
        select(WebSession)
        .options(selectinload(WebSession.user))
        .where(WebSession.token_hash == _digest(token))
    )
    if web_session is None:
        raise AuthenticationFailed("This sign-in is not valid; sign in again.")
    now = utcnow()
    if web_session.ended_at is not None:
        raise AuthenticationFailed("You signed out of this session; sign in again.")
    if as_utc(web_session.expires_at) <= now:
        raise AuthenticationFailed("Your sign-in has expired; sign in again.")
    if as_utc(web_session.last_seen_at) + dt.timedelta(minutes=idle_minutes) <= now:
        web_session.ended_at = now
        raise AuthenticationFailed("Your sign-in ended after a time without use; sign in again.")
    if web_session.user.disabled_at is not None:
        raise AuthenticationFailed("This account is disabled.")
    if now - as_utc(web_session.last_seen_at) >= TOUCH_EVERY:
        web_session.last_seen_at = now
    return SignedIn(
        actor_for(session, web_session.user),
        web_session.id,
        web_session.csrf_token,
        as_utc(web_session.expires_at),
    )


def end(session: Session, session_id: int, actor_name: str) -> None:
    web_session = session.get(WebSession, session_id)
    if web_session is not None and web_session.ended_at is None:
        web_session.ended_at = utcnow()
        audit.record(session, actor_name, "session.end", session_id=session_id)


def end_all(session: Session, user: User, actor_name: str, keep: int | None = None) -> int:
    """End every open session of the user but `keep` (after a password change, or when the
    user is disabled)."""
    query = select(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id != keep)
    open_sessions = session.scalars(query).all()
    for web_session in open_sessions:
        web_session.ended_at = utcnow()
    if open_sessions:
        audit.record(session, actor_name, "session.end_all", name=user.name)
    return len(open_sessions)


def check_csrf(signed_in: SignedIn, presented: str | None) -> None:
    if not presented or not hmac.compare_digest(presented, signed_in.csrf_token):
        raise CsrfFailed(
            "This change came without this session's CSRF token. Reload the page and try "
            "again; API scripts should use an API key instead of the sign-in cookie."
        )
