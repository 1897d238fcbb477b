"""The dataset page, at `/d/{id}` and data.ct.gov's `/{category}/{title}/{id}`, and the
preview fragment its table loads with htmx as the reader sorts, filters and pages.

A dataset the viewer may not see is the same 404 page as a missing one. Each page shown is
counted once as a page view of the dataset for the day; nothing about the viewer is kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from statedata.access import Action, Actor, can
from statedata.access.reads import require_rows
from statedata.api import deps
from statedata.catalog import service
from statedata.catalog.models import Dataset
from statedata.catalog.vocab import (
    DEMOGRAPHIC_DIMENSIONS,
    GEOGRAPHIC_UNITS,
    HIGH_VALUE_CRITERIA,
    Status,
)
from statedata.errors import NotFound
from statedata.freshness import evaluate
from statedata.freshness.retirement import REASONS
from statedata.web.base import dataset_path, day, not_found, plural, render
from statedata.web.freshness_text import LATE, sentence
from statedata.web.preview import OPERATORS, read_choices, run_preview
from statedata.web.snippets import snippets

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Download:
    label: str
    url: str
    note: str


def _visible(session: Session, actor: Actor, ident: str) -> Dataset | None:
    try:
        dataset = service.get_dataset(session, ident)
    except NotFound:
        return None
    return dataset if can(actor, Action.READ_METADATA, dataset) else None


def _downloads(dataset: Dataset, max_limit: int) -> list[Download]:
    version = dataset.current_version
    if version is None:
        return []
    rows = f"/api/v1/datasets/{dataset.id}/rows"
    found = [
        Download("CSV", f"{rows}.csv", "For spreadsheets: Excel, LibreOffice, Google Sheets."),
        Download("JSON", f"{rows}.json", "For programs and web pages."),
        Download("Parquet", f"{rows}.parquet", "For data tools: pandas, R, DuckDB, Spark."),
    ]
    if any(item["type"].upper().startswith("GEOMETRY") for item in version.schema):
        limit = min(version.row_count, max_limit)
        note = "For maps: QGIS, ArcGIS, web maps."
        if version.row_count > max_limit:
            note += f" The first {limit:,} rows; ask the API for the rest a page at a time."
        found.append(Download("GeoJSON", f"/resource/{dataset.id}.geojson?$limit={limit}", note))
    return found


def _notice(session: Session, actor: Actor, dataset: Dataset) -> dict | None:
    """The banner of a deprecated, retiring or retired dataset: why, and what replaces it."""
    retiring = dataset.retirement_noticed_at is not None
    if dataset.status == Status.ACTIVE.value and not retiring:
        return None
    replacement = None
    if dataset.replaced_by:
        other = _visible(session, actor, dataset.replaced_by)
        if other is not None:
            replacement = (other.title, dataset_path(other))
    if dataset.status == Status.RETIRED.value:
        headline = f"This dataset was retired on {day(dataset.retired_at)}."
    elif retiring and dataset.retire_after is not None:
        headline = f"This dataset will be retired on {day(dataset.retire_after)}."
    else:
        headline = "This dataset is no longer kept up to date (deprecated)."
    reason = REASONS.get(dataset.retirement_reason or "", None)
    return {
        "headline": headline,
        "reason": reason,
        "explanation": dataset.status_reason,
        "replacement": replacement,
        "archive_url": dataset.archive_url,
    }


def _summary(dataset: Dataset) -> str:
    """One sentence saying what the dataset is, from its metadata."""
    parts = []
    version = dataset.current_version
    if version is not None:
        parts.append(
            f"{plural(version.row_count, 'row')} in {plural(len(dataset.columns), 'column')}"
        )
    else:
        parts.append("No rows published yet")
    if dataset.agency is not None:
        parts.append(f"published by the {dataset.agency.name}")
    if dataset.temporal_coverage_start and dataset.temporal_coverage_end:
        parts.append(
            f"covering {day(dataset.temporal_coverage_start)} to "
            f"{day(dataset.temporal_coverage_end)}"
        )
    if dataset.geographic_unit and dataset.geographic_unit != "not-applicable":
        unit = GEOGRAPHIC_UNITS.get(dataset.geographic_unit, dataset.geographic_unit)
        parts.append(f"by {unit.lower()}")
    return ", ".join(parts) + "."


def _page(request: Request, session: Session, actor: Actor, dataset: Dataset) -> HTMLResponse:
    installation = request.app.state.installation
    settings = installation.settings
    today = dt.datetime.now(dt.UTC).date()
    evaluation = evaluate(
        dataset.update_frequency, dataset.data_updated_at or dataset.created_at, today
    )
    readable = dataset.current_version is not None and can(actor, Action.READ_ROWS, dataset)
    choices = read_choices(request.query_params)
    preview = None
    if readable:
        require_rows(session, actor, dataset, "web")
        preview = run_preview(
            installation,
            request.app.state.query_engine,
            dataset,
            dataset.current_version,
            choices,
        )
    base = deps.base_url(request)
    response = render(
        request,
        "dataset/page.html",
        dataset=dataset,
        page_path=dataset_path(dataset),
        summary=_summary(dataset),
        evaluation=evaluation,
        on_time=sentence(evaluation),
        late=evaluation.status in LATE,
        notice=_notice(session, actor, dataset),
        readable=readable,
        preview=preview,
        operators=OPERATORS,
        downloads=_downloads(dataset, settings.soda_max_limit) if readable else [],
        files=dataset.files if can(actor, Action.READ_ROWS, dataset) else [],
        snippets=snippets(base, dataset.id) if readable else [],
        criteria=[(c, HIGH_VALUE_CRITERIA[c]) for c in dataset.high_value_criteria or []],
        dimensions=[DEMOGRAPHIC_DIMENSIONS.get(d, d) for d in dataset.demographic_dimensions or []],
        geographic_unit=GEOGRAPHIC_UNITS.get(dataset.geographic_unit or "", None),
        base_url=base,
    )
    request.app.state.usage.record(dataset.id, "page_view", today)
    return response


@router.get("/d/{ident:fourbyfour}", response_class=HTMLResponse)
def short_address(
    ident: str, request: Request, session: deps.SessionDep, actor: deps.ActorDep
) -> Response:
    dataset = _visible(session, actor, ident)
    if dataset is None:
        return not_found(request, "dataset")
    return _redirect(request, dataset)


def _redirect(request: Request, dataset: Dataset) -> RedirectResponse:
    query = request.url.query
    return RedirectResponse(dataset_path(dataset) + (f"?{query}" if query else ""), 301)


@router.get("/d/{ident:fourbyfour}/preview", response_class=HTMLResponse)
def preview_fragment(
    ident: str, request: Request, session: deps.SessionDep, actor: deps.ActorDep
) -> HTMLResponse:
    """The preview table alone, for htmx to swap in place."""
    dataset = _visible(session, actor, ident)
    if dataset is None or dataset.current_version is None:
        return not_found(request, "dataset")
    if not can(actor, Action.READ_ROWS, dataset):
        return not_found(request, "dataset")
    require_rows(session, actor, dataset, "web")
    preview = run_preview(
        request.app.state.installation,
        request.app.state.query_engine,
        dataset,
        dataset.current_version,
        read_choices(request.query_params),
    )
    page_path = dataset_path(dataset)
    response = render(
        request,
        "dataset/_preview.html",
        status_code=400 if preview.error else 200,
        dataset=dataset,
        page_path=page_path,
        preview=preview,
        operators=OPERATORS,
    )
    # The address bar shows the page as it now is, so a reload or a shared link shows it too.
    params = preview.choices.as_params()
    response.headers["HX-Push-Url"] = page_path + (f"?{urlencode(params)}" if params else "")
    return response


@router.get("/{category}/{slug}/{ident:fourbyfour}", response_class=HTMLResponse)
def dataset_page(
    category: str,
    slug: str,
    ident: str,
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
) -> Response:
    dataset = _visible(session, actor, ident)
    if dataset is None:
        return not_found(request, "dataset")
    if request.url.path != dataset_path(dataset):
        return _redirect(request, dataset)
    return _page(request, session, actor, dataset)
