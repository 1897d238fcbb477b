"""Passwords: set them, check them, and slow down whoever guesses.

Stored as argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile). A wrong
user name costs the same time as a wrong password, so neither reveals which names exist.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statedata.catalog import audit
from statedata.catalog.models import User, utcnow
from statedata.errors import AuthenticationFailed, InvalidInput, RateLimited

MIN_LENGTH = 12
MAX_LENGTH = 1000
WINDOW_SECONDS = 15 * 60

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a miss takes as long as a hit.
_DUMMY_HASH = _hasher.hash("statedata: no such user")


def check_strength(password: str, user_name: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"A password needs at least {MIN_LENGTH} characters; a few words in a row is easy "
            "to remember and hard to guess.",
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"A password may have at most {MAX_LENGTH} characters.")
    if user_name.lower() in password.lower():
        raise InvalidInput("A password may not contain the user name.", field="password")


def hash_password(password: str) -> str:
    """The argon2id hash to store for a password (salted: never the same twice)."""
    return _hasher.hash(password)


def set_password(session: Session, user: User, password: str, actor: str = "system") -> None:
    check_strength(password, user.name)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    audit.record(session, actor, "user.password", name=user.name)


def verify(session: Session, name: str, password: str) -> User:
    """The user whose name and password these are; raises AuthenticationFailed otherwise."""
    user = session.scalar(
        select(User).options(selectinload(User.agency)).where(User.name == name.strip().lower())
    )
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
        matched = user is not None and user.password_hash is not None
    except (VerificationError, InvalidHashError):
        matched = False
    if not matched or user is None:
        raise AuthenticationFailed("The user name or password is wrong.")
    if user.disabled_at is not None:
        raise AuthenticationFailed("This account is disabled; ask the portal's administrator.")
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return user


class SignInLimiter:
    """Counts failed sign-ins per user name in a sliding window; past the limit, refuses.

    Per process: with several workers each keeps its own count, which still bounds guessing
    to a small multiple of the limit.
    """

    def __init__(self, attempts: int, window_seconds: float = WINDOW_SECONDS) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, name: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(name, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def check(self, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            failures = self._recent(name, now)
            if len(failures) >= self.attempts:
                wait = int(failures[0] + self.window - now) + 1
                raise RateLimited(
                    f"Too many failed sign-ins for this user name; try again in {wait} seconds.",
                    retry_after=wait,
                )

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name, time.monotonic()).append(time.monotonic())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
