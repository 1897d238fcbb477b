"""Users and their API keys: adding them, and turning presented credentials into an `Actor`.

A key's secret is 32 random bytes, shown once; only its SHA-256 is stored (a slow password
hash buys nothing against a secret that cannot be guessed, and would slow every API call).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statedata.access.grants import granted_dataset_ids
from statedata.access.policy import Actor, Role
from statedata.catalog import audit, service
from statedata.catalog.models import ApiKey, Membership, User, as_utc, utcnow
from statedata.errors import (
    AlreadyExists,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    UserNotFound,
)

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")


def add_user(
    session: Session,
    name: str,
    role: str,
    agency_code: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    actor: str = "system",
) -> User:
    name = name.strip().lower()
    if not NAME.match(name):
        raise InvalidInput(
            f"'{name}' is not a usable user name: 2 to 100 lowercase letters, digits, '.', '_' "
            "or '-'.",
            field="name",
        )
    try:
        role = Role(role).value
    except ValueError:
        raise InvalidInput(
            f"'{role}' is not a role. Use one of: {', '.join(r.value for r in Role)}.",
            field="role",
        ) from None
    if role in (Role.DATA_OFFICER, Role.PUBLISHER) and not agency_code:
        raise InvalidInput(f"A {role.replace('_', ' ')} belongs to an agency: give --agency.")
    if session.scalar(select(User).where(User.name == name)):
        raise AlreadyExists(f"A user named {name} already exists.", name=name)
    agency = service.get_agency(session, agency_code) if agency_code else None
    user = User(name=name, display_name=display_name or name, email=email, role=role, agency=agency)
    if agency is not None and role in (Role.DATA_OFFICER, Role.PUBLISHER):
        user.memberships.append(Membership(agency=agency, role=role))
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", name=name, role=role, agency=agency_code)
    return user


def get_user(session: Session, name: str) -> User:
    user = session.scalar(
        select(User).options(selectinload(User.agency)).where(User.name == name.strip().lower())
    )
    if user is None:
        raise UserNotFound(f"There is no user named '{name}'.", name=name)
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(
        select(User).options(selectinload(User.agency)).order_by(User.name)
    ).all()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    user_name: str,
    name: str = "API key",
    expires_in_days: int | None = None,
    actor: str = "system",
) -> tuple[ApiKey, str]:
    """A new key for the user; returns it and its secret, which is never shown again."""
    user = get_user(session, user_name)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        key_id="sd_" + secrets.token_hex(10),
        secret_hash=_digest(secret),
        user=user,
        name=name,
        expires_at=utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(key)
    session.flush()
    audit.record(session, actor, "api_key.create", user=user.name, key_id=key.key_id)
    return key, secret


def revoke_key(session: Session, key_id: str, actor: str = "system") -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if key is None:
        raise NotFound(f"There is no API key '{key_id}'.", key_id=key_id)
    key.revoked_at = key.revoked_at or utcnow()
    audit.record(session, actor, "api_key.revoke", key_id=key_id)
    return key


def authenticate_key(session: Session, key_id: str, secret: str) -> Actor:
    """The actor a key id and secret stand for; raises if they do not match a live key."""
    key = session.scalar(
        select(ApiKey)
        .options(selectinload(ApiKey.user).selectinload(User.agency))
        .where(ApiKey.key_id == key_id)
    )
    # compare_digest on a dummy keeps a wrong key id and a wrong secret equally slow.
    expected = key.secret_hash if key else _digest("no such key")
    if not hmac.compare_digest(expected, _digest(secret)) or key is None:
        raise AuthenticationFailed("The API key id or secret is wrong.")
    if key.revoked_at is not None:
        raise AuthenticationFailed("This API key was revoked.")
    if key.expires_at is not None and as_utc(key.expires_at) <= utcnow():
        raise AuthenticationFailed("This API key has expired; create a new one.")
    if key.user.disabled_at is not None:
        raise AuthenticationFailed("The account this API key belongs to is disabled.")
    return actor_for(session, key.user)


def actor_for(session: Session, user: User) -> Actor:
    """The actor a user acts as: their roles in each agency and what agreements open to them."""
    memberships = frozenset(
        (m.agency.code, Role(m.role))
        for m in session.scalars(
            select(Membership)
            .options(selectinload(Membership.agency))
            .where(Membership.user_id == user.id)
        )
    )
    roles = {Role(user.role)} | {role for _, role in memberships}
    return Actor(
        name=user.name,
        roles=frozenset(roles),
        agencies=frozenset(code for code, _ in memberships),
        memberships=memberships,
        granted=frozenset(granted_dataset_ids(session, user.id)),
        user_id=user.id,
    )


def actor_from_authorization(session: Session, header: str | None) -> Actor | None:
    """The actor for an `Authorization` header (Basic key-id:secret, or Bearer key-id:secret);
    None when there is no header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise AuthenticationFailed("The Basic credentials are not valid base64.") from None
    elif scheme.lower() != "bearer":
        raise AuthenticationFailed(f"'{scheme}' credentials are not accepted; use Basic or Bearer.")
    key_id, separator, secret = value.partition(":")
    if not separator or not key_id or not secret:
        raise AuthenticationFailed("Give the API key as key-id:secret.")
    return authenticate_key(session, key_id, secret)


def grant_role(
    session: Session, user_name: str, agency_code: str, role: str, actor: str = "system"
) -> Membership:
    """Make the user a data officer or publisher of the agency (again harmless)."""
    user = get_user(session, user_name)
    try:
        agency_role = Role(role)
    except ValueError:
        agency_role = None
    if agency_role not in (Role.DATA_OFFICER, Role.PUBLISHER):
        raise InvalidInput(
            f"'{role}' is not an agency role. Use data_officer or publisher.", field="role"
        )
    agency = service.get_agency(session, agency_code)
    for membership in user.memberships:
        if membership.agency_id == agency.id and membership.role == agency_role.value:
            return membership
    membership = Membership(agency=agency, role=agency_role.value)
    user.memberships.append(membership)
    if user.agency is None:
        user.agency = agency
    session.flush()
    audit.record(session, actor, "role.grant", name=user.name, agency=agency.code, role=role)
    return membership


def revoke_role(
    session: Session, user_name: str, agency_code: str, role: str, actor: str = "system"
) -> None:
    user = get_user(session, user_name)
    agency = service.get_agency(session, agency_code)
    held = [m for m in user.memberships if m.agency_id == agency.id and m.role == role]
    if not held:
        raise NotFound(f"{user.name} is not a {role.replace('_', ' ')} of {agency.code}.")
    for membership in held:
        user.memberships.remove(membership)
    session.flush()
    audit.record(session, actor, "role.revoke", name=user.name, agency=agency.code, role=role)


def disable_user(session: Session, user_name: str, actor: str = "system") -> User:
    """Stop the user signing in or using keys; their history stays."""
    from statedata.access.sessions import end_all

    user = get_user(session, user_name)
    user.disabled_at = user.disabled_at or utcnow()
    end_all(session, user, actor)
    audit.record(session, actor, "user.disable", name=user.name)
    return user


def list_keys(session: Session, user_name: str) -> Sequence[ApiKey]:
    user = get_user(session, user_name)
    return session.scalars(
        select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id)
    ).all()
