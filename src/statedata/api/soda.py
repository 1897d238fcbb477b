"""SODA 2.1 reads: `/resource/{id}.json|.csv|.geojson` and `/resource/{id}/{row}.json`.

Parse the SoQL parameters, check them against the version's columns, run on DuckDB, render.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from statedata.access import Action, Actor, require
from statedata.api import deps
from statedata.api.soda_render import RENDERERS, row_object
from statedata.catalog import service
from statedata.catalog.models import Dataset
from statedata.errors import NotFound
from statedata.installation import Installation
from statedata.query import QueryEngine, columns_of, compile_query, parse_request
from statedata.storage.versions import version_rows_sql

router = APIRouter(tags=["soda"])

# Parameters that identify the caller rather than shape the query.
NOT_QUERY = {"$$app_token"}


def engine(request: Request) -> QueryEngine:
    return request.app.state.query_engine


def _http_date(dataset: Dataset) -> str:
    moment = dataset.data_updated_at or dataset.metadata_updated_at
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _answer(
    request: Request,
    installation: Installation,
    engine: QueryEngine,
    dataset: Dataset,
    params: dict[str, str],
    fmt: str,
    one_row: bool = False,
) -> Response:
    render, media_type = RENDERERS[fmt]
    version = dataset.current_version
    if version is None:
        raise NotFound(f"Dataset {dataset.id} has no rows to query.", id=dataset.id)
    settings = installation.settings
    tag = hashlib.sha256(
        "\n".join([version.checksum, fmt, *sorted(f"{k}={v}" for k, v in params.items())]).encode()
    ).hexdigest()[:32]
    headers = {
        "ETag": f'"{tag}"',
        "Last-Modified": _http_date(dataset),
        "X-SODA2-Truth-Last-Modified": _http_date(dataset),
        "X-Socrata-RequestId": uuid.uuid4().hex,
        "Access-Control-Allow-Origin": "*",
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    query = parse_request(
        params,
        columns_of(version.schema),
        default_limit=settings.soda_default_limit,
        max_limit=settings.soda_max_limit,
        include_system=request.query_params.get("$$exclude_system_fields", "").lower() == "false",
    )
    compiled = compile_query(query, version_rows_sql(installation, version))
    result = engine.run(compiled, settings.query_timeout_seconds)
    headers["X-SODA2-Fields"] = orjson.dumps(result.fields).decode()
    headers["X-SODA2-Types"] = orjson.dumps(result.types).decode()
    if one_row:
        if not result.rows:
            raise NotFound(f"Dataset {dataset.id} has no such row.", id=dataset.id)
        body = orjson.dumps(row_object(result.fields, result.types, result.rows[0]))
    else:
        body = render(result.fields, result.types, result.rows)
    return Response(body, media_type=media_type, headers=headers)


def _query_params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k not in NOT_QUERY}


@router.get("/resource/{dataset_id}.{fmt}", summary="SODA 2.1: query a dataset's rows")
def resource(
    dataset_id: str,
    fmt: str,
    request: Request,
    installation: Annotated[Installation, Depends(deps.installation)],
    session: Annotated[Session, Depends(deps.session)],
    actor: Annotated[Actor, Depends(deps.actor)],
    query_engine: Annotated[QueryEngine, Depends(engine)],
) -> Response:
    if fmt not in RENDERERS:
        raise NotFound(f"SODA answers in .json, .csv or .geojson, not .{fmt}.", format=fmt)
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.READ_ROWS, dataset)
    return _answer(request, installation, query_engine, dataset, _query_params(request), fmt)


@router.get("/resource/{dataset_id}/{row_id}.json", summary="SODA 2.1: one row")
def resource_row(
    dataset_id: str,
    row_id: str,
    request: Request,
    installation: Annotated[Installation, Depends(deps.installation)],
    session: Annotated[Session, Depends(deps.session)],
    actor: Annotated[Actor, Depends(deps.actor)],
    query_engine: Annotated[QueryEngine, Depends(engine)],
) -> Response:
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.READ_ROWS, dataset)
    key = dataset.row_identifier or ":id"
    params = {key: row_id, "$limit": "1"}
    return _answer(request, installation, query_engine, dataset, params, "json", one_row=True)
