"""SODA 3, which Socrata asks new clients to use: `POST /api/v3/views/{id}/query.json` with a
JSON body, and `GET|POST /api/v3/views/{id}/export.csv`. Both need an app token or an API key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from statedata.access import Actor
from statedata.access.reads import require_rows
from statedata.api import deps
from statedata.api.soda import engine
from statedata.api.soda_render import render_csv, render_json
from statedata.api.throttle import app_token
from statedata.catalog import service
from statedata.errors import AuthenticationRequired, Forbidden, InvalidInput, NotFound
from statedata.installation import Installation
from statedata.query import (
    QueryEngine,
    QueryResult,
    columns_of,
    compile_query,
    parse_request,
)
from statedata.storage.versions import version_rows_sql

router = APIRouter(prefix="/api/v3/views/{dataset_id}", tags=["soda3"])


class Page(BaseModel):
    pageNumber: int = Field(default=1, ge=1)
    pageSize: int = Field(default=1000, ge=1)


class QueryBody(BaseModel):
    model_config = {"extra": "ignore"}

    query: str = "SELECT *"
    page: Page | None = None
    includeSynthetic: bool = False


def _identified(request: Request, actor: Actor) -> None:
    if not actor.is_anonymous:
        return
    token = app_token(request)
    if not token:
        raise AuthenticationRequired(
            "SODA 3 requests need an app token (the X-App-Token header) or an API key."
        )
    if not request.app.state.app_tokens(token):
        raise Forbidden(
            "This app token is not registered on this portal. Register one with "
            "POST /api/v1/me/app-tokens (signed in), or send an API key."
        )


def _run(
    installation: Installation,
    query_engine: QueryEngine,
    session: Session,
    actor: Actor,
    dataset_id: str,
    body: QueryBody,
    page: Page | None,
    max_rows: int,
    geometry_as: str = "geojson",
) -> QueryResult:
    dataset = service.get_dataset(session, dataset_id)
    require_rows(session, actor, dataset, "soda3")
    version = dataset.current_version
    if version is None:
        raise NotFound(f"Dataset {dataset_id} has no rows to query.", id=dataset_id)
    settings = installation.settings
    query = parse_request(
        {"$query": body.query},
        columns_of(version.schema),
        default_limit=max_rows,
        max_limit=max_rows,
        include_system=body.includeSynthetic,
    )
    if page is not None:
        # The page applies to the statement's own result, inside any LIMIT/OFFSET it has.
        skipped = (page.pageNumber - 1) * page.pageSize
        query.offset += skipped
        query.limit = max(0, min(page.pageSize, query.limit - skipped))
    compiled = compile_query(
        query, version_rows_sql(installation, version), geometry_as, rows_in_id_order=True
    )
    return query_engine.run(compiled, settings.query_timeout_seconds)


@router.post("/query.json", summary="SODA 3: run a SoQL statement, a page at a time")
def query_json(
    dataset_id: str,
    body: QueryBody,
    request: Request,
    installation: deps.InstallationDep,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    query_engine: Annotated[QueryEngine, Depends(engine)],
) -> Response:
    _identified(request, actor)
    settings = installation.settings
    page = body.page or Page(pageNumber=1, pageSize=settings.soda_default_limit)
    if page.pageSize > settings.soda_max_limit:
        raise InvalidInput(
            f"pageSize {page.pageSize} is above the most one page may hold "
            f"({settings.soda_max_limit}).",
            field="page.pageSize",
        )
    result = _run(
        installation,
        query_engine,
        session,
        actor,
        dataset_id,
        body,
        page,
        settings.soda_export_max_rows,
    )
    return Response(
        render_json(result.fields, result.types, result.rows), media_type="application/json"
    )


@router.get("/export.csv", summary="SODA 3: export as CSV", operation_id="soda3_export_get")
@router.post("/export.csv", summary="SODA 3: export as CSV", operation_id="soda3_export_post")
async def export_csv(
    dataset_id: str,
    request: Request,
    installation: deps.InstallationDep,
    actor: deps.ActorDep,
    query_engine: Annotated[QueryEngine, Depends(engine)],
) -> Response:
    _identified(request, actor)
    if request.method == "POST" and await request.body():
        body = QueryBody.model_validate_json(await request.body())
    else:
        body = QueryBody(query=request.query_params.get("query", "SELECT *"))

    def run() -> QueryResult:
        with installation.catalog.session() as session:
            return _run(
                installation,
                query_engine,
                session,
                actor,
                dataset_id,
                body,
                None,
                installation.settings.soda_export_max_rows,
                geometry_as="wkt",
            )

    result = await run_in_threadpool(run)
    return Response(
        render_csv(result.fields, result.types, result.rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{dataset_id}.csv"'},
    )
