"""Catalog search over HTTP: GET /api/v1/search, a thin door to `statedata.search`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from statedata import search as catalog_search
from statedata.api import deps
from statedata.search import FACETS
from statedata.search.documents import result_document

router = APIRouter(prefix="/api/v1", tags=["search"])

Values = Annotated[list[str] | None, Query(description="Repeat for several values (any of them)")]


@router.get("/search", summary="Search the catalog: ranked hits, facet counts, did-you-mean")
def search(
    installation: deps.InstallationDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
    q: Annotated[str, Query(max_length=500, description="Words to look for")] = "",
    agency: Values = None,
    category: Values = None,
    tag: Values = None,
    frequency: Values = None,
    freshness: Values = None,
    classification: Values = None,
    high_value: Values = None,
    disaggregated_by: Values = None,
    sort: Annotated[str, Query(description="relevance, updated, title or views")] = "relevance",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    as_of: Annotated[dt.date | None, Query(description="Judge freshness on this day")] = None,
) -> dict:
    given = {
        "agency": agency,
        "category": category,
        "tag": tag,
        "frequency": frequency,
        "freshness": freshness,
        "classification": classification,
        "high_value": high_value,
        "disaggregated_by": disaggregated_by,
    }
    filters = {f: given[f] for f in FACETS if given.get(f)}
    result = catalog_search.search(
        installation,
        actor,
        q=q,
        filters=filters,
        sort=sort,
        page=page,
        page_size=page_size,
        as_of=as_of,
    )
    return result_document(result, base)
