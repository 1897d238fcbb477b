"""Accounts over HTTP: web sign-in and sign-out, your own API keys and password, and user
and role management for the CDO and agency data officers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from statedata.access import Actor, Role, accounts, app_tokens, passwords
from statedata.access import sessions as web_sessions
from statedata.api import deps
from statedata.catalog.models import ApiKey, AppToken, User
from statedata.errors import AuthenticationFailed, Forbidden, InvalidInput

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class SignIn(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)


class PasswordChange(BaseModel):
    model_config = {"extra": "forbid"}
    current_password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)
    new_password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)


class NewKey(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(default="API key", min_length=1, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class NewUser(BaseModel):
    model_config = {"extra": "forbid"}
    name: str
    role: Role
    agency: str | None = None
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=passwords.MAX_LENGTH)


class RoleGrant(BaseModel):
    model_config = {"extra": "forbid"}
    agency: str
    role: Role


def me_document(actor: Actor, signed_in: web_sessions.SignedIn | None = None) -> dict:
    document: dict = {
        "name": actor.name,
        "roles": sorted(r.value for r in actor.roles),
        "memberships": [
            {"agency": code, "role": role.value} for code, role in sorted(actor.memberships)
        ],
        "granted_datasets": sorted(actor.granted),
    }
    if signed_in is not None:
        document["csrf_token"] = signed_in.csrf_token
        document["expires_at"] = signed_in.expires_at
    return document


def key_document(key: ApiKey) -> dict:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }


def user_document(user: User) -> dict:
    return {
        "name": user.name,
        "display_name": user.display_name,
        "role": user.role,
        "memberships": [{"agency": m.agency.code, "role": m.role} for m in user.memberships],
        "can_sign_in": user.password_hash is not None and user.disabled_at is None,
        "disabled_at": user.disabled_at,
    }


@router.post("/session", summary="Sign in: sets the session cookie, returns the CSRF token")
async def sign_in(request: Request, response: Response, session: deps.SessionDep) -> dict:
    if not deps.same_origin(request):
        raise Forbidden("Sign in from this portal's own pages.")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(deps.FORM_TYPES):
        form = await request.form()
        raw = {k: v for k, v in form.items() if k in ("name", "password")}
    else:
        try:
            raw = await request.json()
        except ValueError:
            raise InvalidInput("Send the name and password as JSON or as a form.") from None
    credentials = SignIn.model_validate(raw)
    limiter = deps.sign_in_limiter(request)
    key = credentials.name.strip().lower()
    limiter.check(key)
    try:
        user = passwords.verify(session, credentials.name, credentials.password)
    except AuthenticationFailed:
        limiter.failed(key)
        raise
    limiter.succeeded(key)
    settings = request.app.state.installation.settings
    token, signed_in = web_sessions.start(session, user, settings.session_hours)
    secure = settings.cookie_secure
    response.set_cookie(
        web_sessions.COOKIE_NAME,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=request.url.scheme == "https" if secure is None else secure,
        samesite="lax",
        path="/",
    )
    return me_document(signed_in.actor, signed_in)


@router.get("/session", summary="Who is signed in, and the session's CSRF token")
def current_session(actor: deps.UserDep, signed_in: deps.SignedInDep) -> dict:
    return me_document(actor, signed_in)


@router.delete("/session", summary="Sign out: ends the session on the server")
def sign_out(response: Response, session: deps.SessionDep, signed_in: deps.SignedInDep) -> dict:
    if signed_in is not None:
        web_sessions.end(session, signed_in.session_id, signed_in.actor.name or "")
    response.delete_cookie(web_sessions.COOKIE_NAME, path="/")
    return {"signed_out": True}


@router.post("/me/password", summary="Change your password (ends your other sign-ins)")
def change_password(
    change: PasswordChange,
    session: deps.SessionDep,
    actor: deps.UserDep,
    signed_in: deps.SignedInDep,
) -> dict:
    user = passwords.verify(session, actor.name or "", change.current_password)
    passwords.set_password(session, user, change.new_password, actor=user.name)
    # Whoever knew the old password is signed out everywhere but here.
    keep = signed_in.session_id if signed_in is not None else None
    ended = web_sessions.end_all(session, user, user.name, keep=keep)
    return {"changed": True, "other_sessions_ended": ended}


@router.get("/me/keys", summary="Your API keys (never their secrets)")
def my_keys(session: deps.SessionDep, actor: deps.UserDep) -> dict:
    return {"results": [key_document(k) for k in accounts.list_keys(session, actor.name or "")]}


@router.post("/me/keys", status_code=201, summary="Create an API key; its secret is shown once")
def create_my_key(new: NewKey, session: deps.SessionDep, actor: deps.UserDep) -> dict:
    key, secret = accounts.create_key(
        session, actor.name or "", new.name, new.expires_in_days, actor=actor.name or ""
    )
    return {**key_document(key), "secret": secret, "use_as": f"{key.key_id}:{secret}"}


@router.delete("/me/keys/{key_id}", summary="Revoke one of your API keys")
def revoke_my_key(key_id: str, session: deps.SessionDep, actor: deps.UserDep) -> dict:
    mine = {k.key_id for k in accounts.list_keys(session, actor.name or "")}
    if key_id not in mine:
        raise accounts.NotFound(f"You have no API key '{key_id}'.", key_id=key_id)
    return key_document(accounts.revoke_key(session, key_id, actor=actor.name or ""))


def _may_manage(actor: Actor, agency: str | None, role: Role) -> bool:
    """The CDO manages every account; a data officer may add and remove publishers of their
    own agency, nothing else."""
    if actor.is_cdo:
        return True
    return role is Role.PUBLISHER and actor.has_role_in(agency, Role.DATA_OFFICER)


@router.get("/users", summary="Users: all for the CDO, your agencies' staff for a data officer")
def list_users(session: deps.SessionDep, actor: deps.UserDep) -> dict:
    officer_of = actor.staff_agencies(Role.DATA_OFFICER)
    if not actor.is_cdo and not officer_of:
        raise Forbidden("Only the CDO and agency data officers may list users.")
    users = [
        u
        for u in accounts.list_users(session)
        if actor.is_cdo or any(m.agency.code in officer_of for m in u.memberships)
    ]
    return {"results": [user_document(u) for u in users]}


@router.post("/users", status_code=201, summary="Add a user")
def add_user(new: NewUser, session: deps.SessionDep, actor: deps.UserDep) -> dict:
    if not _may_manage(actor, new.agency, new.role):
        raise Forbidden("You may not add this user.")
    user = accounts.add_user(
        session,
        new.name,
        new.role.value,
        new.agency,
        new.display_name,
        new.email,
        actor=actor.name or "",
    )
    if new.password is not None:
        passwords.set_password(session, user, new.password, actor=actor.name or "")
    return user_document(user)


@router.post("/users/{name}/roles", status_code=201, summary="Give a user a role in an agency")
def grant_role(name: str, grant: RoleGrant, session: deps.SessionDep, actor: deps.UserDep) -> dict:
    if not _may_manage(actor, grant.agency, grant.role):
        raise Forbidden("You may not give this role.")
    accounts.grant_role(session, name, grant.agency, grant.role.value, actor=actor.name or "")
    return user_document(accounts.get_user(session, name))


@router.delete("/users/{name}/roles/{agency}/{role}", summary="Take a role away")
def revoke_role(
    name: str, agency: str, role: Role, session: deps.SessionDep, actor: deps.UserDep
) -> dict:
    if not _may_manage(actor, agency, role):
        raise Forbidden("You may not take this role away.")
    accounts.revoke_role(session, name, agency, role.value, actor=actor.name or "")
    return user_document(accounts.get_user(session, name))


@router.post("/users/{name}/disable", summary="Disable a user: no more sign-in or API keys")
def disable_user(name: str, session: deps.SessionDep, actor: deps.UserDep) -> dict:
    if not actor.is_cdo:
        raise Forbidden("Only the CDO may disable a user.")
    return user_document(accounts.disable_user(session, name, actor=actor.name or ""))


class NewAppToken(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=1, max_length=200, description="The app the token is for")


def app_token_document(token: AppToken) -> dict:
    return {
        "token": token.token,
        "name": token.name,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/me/app-tokens", summary="Your registered app tokens")
def my_app_tokens(session: deps.SessionDep, actor: deps.UserDep) -> dict:
    tokens = app_tokens.list_for(session, actor.name or "")
    return {"results": [app_token_document(t) for t in tokens]}


@router.post(
    "/me/app-tokens",
    status_code=201,
    summary="Register an app token: send it as X-App-Token for the higher rate limit",
)
def create_my_app_token(new: NewAppToken, session: deps.SessionDep, actor: deps.UserDep) -> dict:
    token = app_tokens.create(session, actor.name or "", new.name, actor=actor.name or "")
    return app_token_document(token)


@router.delete("/me/app-tokens/{token}", summary="Revoke one of your app tokens")
def revoke_my_app_token(token: str, session: deps.SessionDep, actor: deps.UserDep) -> dict:
    revoked = app_tokens.revoke(session, actor.name or "", token, actor=actor.name or "")
    return app_token_document(revoked)
