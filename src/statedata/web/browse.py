"""Search and browse at `/browse?q=...` (Socrata's address): ranked results with facets and
their counts, sorting and paging, through the catalog search (`statedata.search`), which
decides relevance and leaves out what the viewer may not see."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from statedata.api import deps
from statedata.errors import InvalidInput
from statedata.search import FACETS, SORTS, search
from statedata.web.base import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
FACET_NAMES = {
    "category": "Topic",
    "agency": "Agency",
    "freshness": "On time?",
    "frequency": "How often it is updated",
    "tag": "Tag",
    "high_value": "High-value data",
    "disaggregated_by": "Broken down by",
    "classification": "Kind of data",
}
SORT_NAMES = {
    "relevance": "Best match",
    "updated": "Recently updated",
    "title": "Title, A to Z",
    "views": "Most used",
}
# Socrata's browse page names some parameters differently.
ALIASES = {"tags": "tag", "sortBy": "sort"}
FACET_SHOWN = 10


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    href: str


def _wanted(request: Request) -> tuple[str, dict[str, list[str]], str, int]:
    params = request.query_params
    q = params.get("q", "").strip()
    filters: dict[str, list[str]] = {}
    for key, value in params.multi_items():
        facet = ALIASES.get(key, key)
        if facet in FACETS and value:
            filters.setdefault(facet, [])
            if value not in filters[facet]:
                filters[facet].append(value)
    sort = params.get("sort") or params.get("sortBy") or ("relevance" if q else "updated")
    if sort not in SORTS:
        sort = "relevance"
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    return q, filters, sort, page


def _href(q: str, filters: dict[str, list[str]], sort: str, page: int = 1) -> str:
    pairs: list[tuple[str, str]] = []
    if q:
        pairs.append(("q", q))
    for facet in FACETS:
        pairs.extend((facet, value) for value in filters.get(facet, []))
    if sort != ("relevance" if q else "updated"):
        pairs.append(("sort", sort))
    if page > 1:
        pairs.append(("page", str(page)))
    return "/browse" + (f"?{urlencode(pairs)}" if pairs else "")


def _toggled(filters: dict[str, list[str]], facet: str, value: str) -> dict[str, list[str]]:
    changed = {k: list(v) for k, v in filters.items()}
    values = changed.setdefault(facet, [])
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    return changed


@router.get("/browse", response_class=HTMLResponse)
def browse(
    request: Request, actor: deps.ActorDep, installation: deps.InstallationDep
) -> HTMLResponse:
    q, filters, sort, page = _wanted(request)
    try:
        result = search(
            installation, actor, q=q, filters=filters, sort=sort, page=page, page_size=PAGE_SIZE
        )
    except InvalidInput as error:
        return render(
            request,
            "browse.html",
            status_code=400,
            q=q[:500],
            error=error.message,
            result=None,
            facets=[],
            sorts=SORT_NAMES,
            sort=sort,
            filters=filters,
            href=_href,
        )
    facets = []
    for facet in FACETS:
        values = [
            FacetValue(
                value,
                label,
                count,
                value in filters.get(facet, []),
                _href(q, _toggled(filters, facet, value), sort),
            )
            for value, label, count in result.facets.get(facet, [])
        ]
        if values:
            facets.append((facet, FACET_NAMES.get(facet, facet), values))
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render(
        request,
        "browse.html",
        q=q,
        error=None,
        result=result,
        facets=facets,
        facet_shown=FACET_SHOWN,
        sorts=SORT_NAMES,
        sort=sort,
        filters=filters,
        page=page,
        pages=pages,
        previous_href=_href(q, filters, sort, page - 1) if page > 1 else None,
        next_href=_href(q, filters, sort, page + 1) if page < pages else None,
        corrected_href=_href(result.corrected_query, filters, "relevance")
        if result.corrected_query
        else None,
        clear_href=_href(q, {}, sort),
    )
