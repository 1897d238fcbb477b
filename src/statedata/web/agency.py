"""Agency pages: the list of agencies, and one agency's datasets with its freshness scorecard."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from statedata.api import deps
from statedata.catalog import service
from statedata.errors import AgencyNotFound
from statedata.freshness import Freshness
from statedata.freshness.report import rows, summary
from statedata.web.base import not_found, render
from statedata.web.freshness_text import LATE, STATUS_MEANINGS
from statedata.web.listing import visible_datasets

router = APIRouter(include_in_schema=False)


@router.get("/agencies", response_class=HTMLResponse)
def agencies(request: Request, session: deps.SessionDep, actor: deps.ActorDep) -> HTMLResponse:
    counts = Counter(d.agency_id for d in visible_datasets(session, actor))
    listed = [(a, counts[a.id]) for a in service.list_agencies(session)]
    return render(request, "agencies.html", agencies=listed)


@router.get("/agencies/{code}", response_class=HTMLResponse)
def agency(
    code: str, request: Request, session: deps.SessionDep, actor: deps.ActorDep
) -> HTMLResponse:
    try:
        found = service.get_agency(session, code)
    except AgencyNotFound:
        return not_found(request, "agency")
    datasets = visible_datasets(session, actor, agency_id=found.id)
    visible = {d.id for d in datasets}
    today = dt.datetime.now(dt.UTC).date()
    # One query for the whole agency's freshness, then only what the viewer may see.
    report = [r for r in rows(session, today, found.code) if r.id in visible]
    counts = summary(report)
    statuses = [
        (status.value, counts[status.value], STATUS_MEANINGS[status.value]) for status in Freshness
    ]
    late = sorted((r for r in report if r.status in LATE), key=lambda r: -r.days_late)
    on_time = sum(counts[s] for s in (Freshness.FRESH.value, Freshness.DUE.value))
    scheduled = on_time + len(late)
    return render(
        request,
        "agency.html",
        agency=found,
        datasets=datasets,
        statuses=statuses,
        late=late,
        on_time=on_time,
        scheduled=scheduled,
        today=today,
    )
