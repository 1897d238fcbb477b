"""Who is looking at a page, and who is sending a form.

Pages find out who is signed in (the header names them, and forms carry their session's CSRF
token) from the sign-in cookie, once per request. Form posts ask `api/deps.py` exactly as the
API does, so a change sent with the cookie is refused without the session's CSRF token, and a
forged or ended cookie is refused, before anything changes.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from statedata.access import Actor
from statedata.access import sessions as web_sessions
from statedata.api import deps
from statedata.errors import AuthenticationFailed, StatedataError

_KEY = "web_viewer"


def viewer(request: Request) -> web_sessions.SignedIn | None:
    """The signed-in session of the cookie, or None (no cookie, or one that is over)."""
    if hasattr(request.state, _KEY):
        return getattr(request.state, _KEY)
    current = None
    token = request.cookies.get(web_sessions.COOKIE_NAME)
    if token:
        installation = request.app.state.installation
        try:
            with installation.catalog.session() as db:
                current = web_sessions.resume(db, token, installation.settings.session_idle_minutes)
        except AuthenticationFailed:
            current = None
    setattr(request.state, _KEY, current)
    return current


async def sender(request: Request) -> Actor:
    """Who sends a form: the API's own checks (cookie, CSRF token, API key). Raises the
    StatedataError the API would answer with (403 `csrf.invalid`, 401 for a dead cookie)."""
    current = await deps.signed_in(request)
    setattr(request.state, _KEY, current)
    return deps.actor(request, current)


def error_page(request: Request, error: StatedataError) -> HTMLResponse:
    """A plain page for an error a form post met (the API would answer it as JSON)."""
    from statedata.web.base import render

    headers = {}
    retry = error.data.get("retry_after")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    response = render(
        request,
        "message.html",
        status_code=error.status,
        heading=HEADINGS.get(error.status, "That did not work"),
        message=error.message,
    )
    response.headers.update(headers)
    return response


HEADINGS = {
    400: "Please check what you sent",
    401: "Please sign in again",
    403: "You may not do that",
    404: "We could not find that",
    409: "That has changed",
    413: "That file is too large",
    422: "We could not use that file",
    429: "Please wait a little",
}


def forbidden(request: Request, message: str) -> HTMLResponse:
    from statedata.web.base import render

    return render(request, "message.html", status_code=403, heading=HEADINGS[403], message=message)


def to_sign_in(request: Request) -> RedirectResponse:
    """Send someone who is not signed in to the sign-in page, and back to this page (its
    path alone: the query is not carried, so nothing of it is echoed back) afterwards."""
    return RedirectResponse(f"/signin?next={quote(request.url.path, safe='/')}", status_code=303)


def local_path(value: str | None, default: str = "/") -> str:
    """`value` when it is a path on this portal; never another site (an open redirect)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 33 for c in value)
    ):
        return default
    return value
