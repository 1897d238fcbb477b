"""Registered app tokens, as Socrata has them: a user registers a token for an app; calls that
send it (`X-App-Token`, or `$$app_token`) are counted against that app, at the higher limit.

A token names a client; it is not a secret (it travels in URLs), so it is stored as it is.
An unregistered or revoked token counts for nothing: the call is throttled by its address.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.access.accounts import get_user
from statedata.catalog import audit
from statedata.catalog.models import AppToken, utcnow
from statedata.errors import NotFound


def create(session: Session, user_name: str, name: str, actor: str = "system") -> AppToken:
    user = get_user(session, user_name)
    token = AppToken(token=secrets.token_urlsafe(18), user=user, name=name.strip() or "App")
    session.add(token)
    session.flush()
    audit.record(session, actor, "app_token.create", user=user.name, app=token.name)
    return token


def list_for(session: Session, user_name: str) -> Sequence[AppToken]:
    user = get_user(session, user_name)
    return session.scalars(
        select(AppToken).where(AppToken.user_id == user.id).order_by(AppToken.id)
    ).all()


def revoke(session: Session, user_name: str, token: str, actor: str = "system") -> AppToken:
    mine = {t.token: t for t in list_for(session, user_name)}
    if token not in mine:
        raise NotFound("You have no such app token.")
    found = mine[token]
    found.revoked_at = found.revoked_at or utcnow()
    audit.record(session, actor, "app_token.revoke", user=user_name, app=found.name)
    return found


def is_registered(session: Session, token: str) -> bool:
    found = session.scalar(select(AppToken).where(AppToken.token == token))
    return found is not None and found.revoked_at is None and found.user.disabled_at is None


class RegisteredTokens:
    """`is_registered` with a short memory, so the throttle asks the catalog about a token at
    most once a minute; a revoked token keeps working for at most that minute."""

    def __init__(self, lookup: Callable[[str], bool], seconds: float = 60.0) -> None:
        self._lookup = lookup
        self._seconds = seconds
        self._known: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> bool | None:
        """The remembered answer, or None when the catalog must be asked."""
        with self._lock:
            found = self._known.get(token)
        if found is None or time.monotonic() - found[1] >= self._seconds:
            return None
        return found[0]

    def __call__(self, token: str) -> bool:
        now = time.monotonic()
        with self._lock:
            cached = self._known.get(token)
            if cached is not None and now - cached[1] < self._seconds:
                return cached[0]
        answer = self._lookup(token)
        with self._lock:
            if len(self._known) > 100_000:
                self._known.clear()
            self._known[token] = (answer, now)
        return answer


def for_catalog(catalog) -> RegisteredTokens:  # type: ignore[no-untyped-def]
    """The remembered lookup against one installation's catalog."""

    def lookup(token: str) -> bool:
        with catalog.session() as session:
            return is_registered(session, token)

    return RegisteredTokens(lookup)
