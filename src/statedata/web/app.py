"""Wiring: the page routers and the static files, added to the one FastAPI app.

The dataset address `/{category}/{title-slug}/{id}` matches almost any three-part path, so
the pages are added after every API router, and its id must look like a 4x4 id.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException

from statedata.ids import ALPHABET
from statedata.web.base import STATIC


class FourByFour(Convertor[str]):
    """A Socrata-style dataset id in a path, so page routes never catch API paths."""

    regex = f"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("fourbyfour", FourByFour())


API_PREFIXES = ("/api", "/resource/", "/data.json", "/static/")


def _wants_page(request: Request) -> bool:
    """A browser asking for a page, not a client asking the API."""
    path = request.url.path
    accepts = request.headers.get("accept", "")
    return not path.startswith(API_PREFIXES) and "text/html" in accepts


def install(app: FastAPI) -> None:
    """Add the portal's pages and its static files to `app`."""
    from statedata.web import (
        agency,
        browse,
        charts,
        dashboard,
        data_requests,
        dataset,
        glossary,
        home,
        signin,
        staff,
        stories,
        story_editor,
        suggest,
    )
    from statedata.web.base import not_found

    api_handler = app.exception_handlers.get(StarletteHTTPException)

    async def page_or_json(request: Request, error: StarletteHTTPException) -> Response:
        # A person who follows a broken link gets the portal's page, an API client JSON.
        if error.status_code == 404 and _wants_page(request):
            return not_found(request)
        if api_handler is None:
            raise error
        return await api_handler(request, error)

    app.add_exception_handler(StarletteHTTPException, page_or_json)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    for module in (
        home,
        glossary,
        agency,
        browse,
        signin,
        suggest,
        staff,
        data_requests,
        charts,
        dashboard,
        stories,
        story_editor,
        dataset,
    ):
        app.include_router(module.router)
