"""The home page: search, categories and agencies with counts, recently updated, most used."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from statedata.api import deps
from statedata.catalog import service
from statedata.web.base import render
from statedata.web.listing import most_used, recently_updated, visible_datasets

router = APIRouter(include_in_schema=False)

USAGE_DAYS = 30
SHOWN = 6


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    installation: deps.InstallationDep,
) -> HTMLResponse:
    datasets = visible_datasets(session, actor)
    by_category = Counter(d.category for d in datasets if d.category)
    categories = [(c, by_category[c]) for c in installation.settings.categories if by_category[c]]
    by_agency = Counter(d.agency_id for d in datasets if d.agency_id is not None)
    agencies = [(a, by_agency[a.id]) for a in service.list_agencies(session) if by_agency[a.id]]
    since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=USAGE_DAYS)
    return render(
        request,
        "home.html",
        total=len(datasets),
        categories=categories,
        agencies=agencies,
        recent=recently_updated(datasets, SHOWN),
        popular=most_used(session, datasets, since, SHOWN),
        usage_days=USAGE_DAYS,
    )
