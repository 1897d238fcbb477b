"""Wiring: the page routers and the static files, added to the one FastAPI app.

The dataset address `/{category}/{title-slug}/{id}` matches almost any three-part path, so
the pages are added after every API router, and its id must look like a 4x4 id.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.convertors import Convertor, register_url_convertor

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


def install(app: FastAPI) -> None:
    """Add the portal's pages and its static files to `app`."""
    from statedata.web import agency, browse, dataset, glossary, home

    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    for module in (home, glossary, agency, browse, dataset):
        app.include_router(module.router)
