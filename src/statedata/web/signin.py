"""Sign-in and sign-out pages: the same checks and the same cookie as `POST /api/v1/session`
(the password check, the limiter of failed attempts per name, the Origin check), as a form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from statedata.access import passwords
from statedata.access import sessions as web_sessions
from statedata.api import deps
from statedata.errors import AuthenticationFailed, RateLimited, StatedataError
from statedata.web.base import render
from statedata.web.viewer import error_page, local_path, sender, viewer

router = APIRouter(include_in_schema=False)


def _form(
    request: Request,
    name: str = "",
    error: str | None = None,
    status: int = 200,
    next_: str = "/",
    signed_out: bool = False,
) -> HTMLResponse:
    return render(
        request,
        "signin.html",
        status_code=status,
        name=name,
        error=error,
        next=next_,
        signed_out=signed_out,
    )


@router.get("/signin", response_class=HTMLResponse)
def sign_in_page(
    request: Request, next: str | None = None, signed_out: str | None = None
) -> HTMLResponse:
    return _form(request, next_=local_path(next), signed_out=signed_out == "1")


@router.post("/signin", response_class=HTMLResponse)
def sign_in(
    request: Request,
    session: deps.SessionDep,
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    going = local_path(next)
    if not deps.same_origin(request):
        return _form(request, name, "Sign in from this portal's own sign-in page.", 403, going)
    if not name.strip() or not password:
        return _form(request, name, "Give your user name and your password.", 400, going)
    limiter = deps.sign_in_limiter(request)
    key = name.strip().lower()
    try:
        limiter.check(key)
        user = passwords.verify(session, name, password)
    except RateLimited as error:
        response = _form(request, name, error.message, 429, going)
        response.headers["Retry-After"] = str(error.data.get("retry_after", 60))
        return response
    except AuthenticationFailed:
        limiter.failed(key)
        return _form(
            request,
            name,
            "That user name and password do not match an account. Check them and try again.",
            401,
            going,
        )
    limiter.succeeded(key)
    settings = request.app.state.installation.settings
    token, _ = web_sessions.start(session, user, settings.session_hours)
    response = RedirectResponse(going, status_code=303)
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
    return response


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    if viewer(request) is None:
        # No live session: there is nothing to end, and no token to check.
        response: Response = RedirectResponse("/", status_code=303)
        response.delete_cookie(web_sessions.COOKIE_NAME, path="/")
        return response
    try:
        await sender(request)
    except StatedataError as error:
        return error_page(request, error)
    current = viewer(request)
    installation = request.app.state.installation
    if current is not None:
        with installation.catalog.session() as session:
            web_sessions.end(session, current.session_id, current.actor.name or "")
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    response.delete_cookie(web_sessions.COOKIE_NAME, path="/")
    return response
