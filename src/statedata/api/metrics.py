"""The open data plan's metrics under /api/v1/metrics (JSON) and /api/v1/metrics.csv.

Thin: each route parses, calls `metrics.publish.report`, and renders. The metrics are
aggregate counts over public datasets, open to anyone; no dataset is named in them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from statedata.api import deps
from statedata.metrics import plan
from statedata.metrics.publish import CSV_FIELDS, csv_rows, report

router = APIRouter(prefix="/api/v1", tags=["metrics"])

AsOf = Annotated[
    dt.date | None,
    Query(description="The day to measure at (YYYY-MM-DD); today when left out."),
]
AgencyCode = Annotated[
    str | None, Query(max_length=32, description="Only this agency's datasets (its code).")
]
SinceYear = Annotated[
    int,
    Query(ge=1900, le=9999, description="The year of 'not updated since' (default 2015)."),
]


@router.get("/metrics", summary="The open data plan's metrics, as of a day")
async def plan_metrics(
    installation: deps.InstallationDep,
    as_of: AsOf = None,
    agency: AgencyCode = None,
    since_year: SinceYear = plan.DEFAULT_SINCE_YEAR,
) -> dict:
    # A thread: computing over a large catalog takes a moment and must not hold the loop.
    found = await run_in_threadpool(report, installation, as_of, agency, since_year)
    return found.as_dict()


@router.get("/metrics.csv", summary="The open data plan's metrics as CSV, one row each")
async def plan_metrics_csv(
    installation: deps.InstallationDep,
    as_of: AsOf = None,
    agency: AgencyCode = None,
    since_year: SinceYear = plan.DEFAULT_SINCE_YEAR,
) -> Response:
    found = await run_in_threadpool(report, installation, as_of, agency, since_year)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(found))
    name = f"plan-metrics-{found.as_of.isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
