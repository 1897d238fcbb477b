"""What every page shares: the Jinja2 environment, its filters, rendering, and the page a
viewer gets for an address with nothing (or nothing they may see) at it."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup

import statedata
from statedata.catalog.vocab import frequency_name

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def day(value: dt.date | dt.datetime | None) -> str:
    """A date as people write it: 3 March 2026."""
    if value is None:
        return "never"
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def number(value: int | float | Decimal | None) -> str:
    """A count with thousands separators; a fraction with at most 4 significant decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{float(value):,.4f}".rstrip("0").rstrip(".")
    return text or "0"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def address_part(text: str | None, fallback: str = "dataset") -> str:
    """A path segment as data.ct.gov writes it: words joined by '-', case kept."""
    if not text:
        return fallback
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")[:150] or fallback


def dataset_path(dataset: Any) -> str:
    """The address of a dataset's page: /{category}/{title}/{id}."""
    return f"/{address_part(dataset.category)}/{address_part(dataset.title)}/{dataset.id}"


@pass_context
def csrf_field(context: Any) -> Markup:
    """The hidden field that carries the session's CSRF token; every form renders it, and a
    change sent with the sign-in cookie but without it is refused (api/deps.py)."""
    token = context.get("csrf_token")
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day=day, number=number, frequency=lambda code: frequency_name(code) or "not stated"
    )
    env.globals.update(
        plural=plural,
        dataset_path=dataset_path,
        version=statedata.__version__,
        csrf_field=csrf_field,
    )
    return env


ENV = _environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` with `context`, plus what the layout needs."""
    from statedata.web.viewer import viewer

    installation = request.app.state.installation
    current = viewer(request)
    html = ENV.get_template(template).render(
        {
            "request": request,
            "path": request.url.path,
            "portal_title": installation.settings.portal_title,
            # Who is signed in (the header shows it) and the token every form carries.
            "signed_in": current,
            "csrf_token": current.csrf_token if current else None,
            **context,
        }
    )
    return HTMLResponse(html, status_code=status_code)


def not_found(request: Request, what: str = "page") -> HTMLResponse:
    """The 404 page. A dataset the viewer may not see gets exactly this page too, so its
    existence is not given away."""
    return render(request, "not_found.html", status_code=404, what=what)
