"""SODA 2.1: reads (`/resource/{id}.json|.csv|.geojson`, `/resource/{id}/{row}.json`) and
writes (POST upserts, PUT replaces; an API key of the dataset's agency is needed).

Reads parse the SoQL parameters, check them against the version's columns, run on DuckDB and
render; writes hand the rows to ingest and storage like any other publish.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session, joinedload
from starlette.concurrency import run_in_threadpool

from statedata.access import Action, Actor, require
from statedata.access.reads import require_rows
from statedata.api import deps
from statedata.api.soda_render import RENDERERS, row_object
from statedata.catalog import service
from statedata.catalog.models import Dataset
from statedata.errors import (
    AuthenticationRequired,
    DatasetNotFound,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from statedata.ingest import open_table
from statedata.installation import Installation
from statedata.query import (
    CompiledQuery,
    QueryEngine,
    columns_of,
    compile_query,
    parse_request,
)
from statedata.query.request import parse_offset
from statedata.storage import Mode, publish
from statedata.storage.versions import version_path, version_rows_sql

router = APIRouter(tags=["soda"])

# Parameters that identify the caller rather than shape the query.
NOT_QUERY = {"$$app_token"}


async def engine(request: Request) -> QueryEngine:
    # async: FastAPI would run a plain function in the thread pool, a hop for nothing.
    return request.app.state.query_engine


def _readable_dataset(session: Session, dataset_id: str) -> Dataset:
    """The dataset with what a read needs (its agency for the access check, its current
    version), in one query: a read has no use for the tags, files and columns that
    `service.get_dataset` also loads."""
    dataset = session.get(
        Dataset,
        dataset_id,
        options=[joinedload(Dataset.agency), joinedload(Dataset.current_version)],
    )
    if dataset is None:
        raise DatasetNotFound(f"There is no dataset with id '{dataset_id}'.", id=dataset_id)
    return dataset


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
    include_system = request.query_params.get("$$exclude_system_fields", "").lower() == "false"
    geometry_as = "wkt" if fmt == "csv" else "geojson"
    table_sql = version_rows_sql(installation, version)
    columns = columns_of(version.schema)
    text_columns = [
        c.field_name for c in columns if c.soda_type == "text" and not c.field_name.startswith(":")
    ]
    # The version's sidecar index; None until it is built (in the background).
    index = engine.indexes.get(
        version_path(installation, version), table_sql, version.schema, text_columns
    )

    def compile_now(these: dict[str, str]) -> Callable[[], CompiledQuery]:
        def compile_these() -> CompiledQuery:
            query = parse_request(
                these,
                columns,
                default_limit=settings.soda_default_limit,
                max_limit=settings.soda_max_limit,
                include_system=include_system,
            )
            return compile_query(query, table_sql, geometry_as, rows_in_id_order=True, index=index)

        return compile_these

    def key(these: dict[str, str]) -> tuple:
        return (
            version.id,
            table_sql,
            geometry_as,
            include_system,
            settings.soda_default_limit,
            settings.soda_max_limit,
            index is not None,
            tuple(sorted(these.items())),
        )

    compiled = None
    if index is not None and "$query" not in params:
        # A page the index answers is the same SQL at every offset but for the rows it
        # names: compile it once without $offset, then move it to the offset asked.
        base = {k: v for k, v in params.items() if k != "$offset"}
        template = engine.compiled.get(key(base), compile_now(base))
        if template.page is not None:
            compiled = template.at_offset(parse_offset(params.get("$offset")))
    if compiled is None:
        compiled = engine.compiled.get(key(params), compile_now(params))
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
    installation: deps.InstallationDep,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    query_engine: Annotated[QueryEngine, Depends(engine)],
) -> Response:
    if fmt not in RENDERERS:
        raise NotFound(f"SODA answers in .json, .csv or .geojson, not .{fmt}.", format=fmt)
    dataset = _readable_dataset(session, dataset_id)
    require_rows(session, actor, dataset, "soda")
    return _answer(request, installation, query_engine, dataset, _query_params(request), fmt)


@router.get("/resource/{dataset_id}/{row_id}.json", summary="SODA 2.1: one row")
def resource_row(
    dataset_id: str,
    row_id: str,
    request: Request,
    installation: deps.InstallationDep,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    query_engine: Annotated[QueryEngine, Depends(engine)],
) -> Response:
    dataset = service.get_dataset(session, dataset_id)
    require_rows(session, actor, dataset, "soda")
    key = dataset.row_identifier or ":id"
    params = {key: row_id, "$limit": "1"}
    return _answer(request, installation, query_engine, dataset, params, "json", one_row=True)


def _payload_file(installation: Installation, body: bytes, content_type: str) -> Path:
    """The request body as a file ingest can read: CSV as sent, JSON checked to be rows."""
    folder = installation.settings.home / "tmp" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    if "csv" in content_type:
        path = folder / f"{uuid.uuid4().hex}.csv"
        path.write_bytes(body)
        return path
    try:
        rows = orjson.loads(body or b"null")
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"The body is not valid JSON: {error}.") from None
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput("Send the rows as a JSON array of objects, one object per row.")
    path = folder / f"{uuid.uuid4().hex}.json"
    path.write_bytes(orjson.dumps(rows))
    return path


def _write_rows(
    installation: Installation,
    actor: Actor,
    dataset_id: str,
    body: bytes,
    content_type: str,
    replace: bool,
) -> dict[str, int]:
    if actor.is_anonymous:
        raise AuthenticationRequired(
            "Writing rows needs an API key: send it as HTTP Basic (key id and secret) or as "
            "'Authorization: Bearer key-id:secret'."
        )
    with installation.catalog.session() as session:
        dataset = service.get_dataset(session, dataset_id)
        require(actor, Action.PUBLISH, dataset)
        row_identifier = dataset.row_identifier
    limit = installation.settings.soda_max_write_bytes
    if len(body) > limit:
        raise PayloadTooLarge(
            f"The body is {len(body):,} bytes; the most one write takes is {limit:,}."
        )
    answer = {"Rows Created": 0, "Rows Updated": 0, "Rows Deleted": 0, "Errors": 0}
    path = _payload_file(installation, body, content_type)
    try:
        if path.suffix == ".json" and path.read_bytes() == b"[]":
            return answer
        if replace:
            mode = Mode.REPLACE
        elif row_identifier:
            mode = Mode.UPSERT
        else:  # without a row identifier there is nothing to match on: every row is new
            mode = Mode.APPEND
        result = publish(
            installation,
            open_table(path),
            dataset_id=dataset_id,
            mode=mode,
            actor=actor.name or "api",
            keep_columns=True,
        )
    finally:
        path.unlink(missing_ok=True)
    answer.update(
        {
            "Rows Created": result.rows_created,
            "Rows Updated": result.rows_updated,
            "Rows Deleted": result.rows_deleted,
        }
    )
    return answer


@router.post(
    "/resource/{dataset_id}.json",
    summary="SODA 2.1: upsert rows (API key needed)",
    operation_id="soda_upsert_rows",
)
@router.put(
    "/resource/{dataset_id}.json",
    summary="SODA 2.1: replace all rows (API key needed)",
    operation_id="soda_replace_rows",
)
async def write_rows(
    dataset_id: str,
    request: Request,
    installation: deps.InstallationDep,
    actor: deps.ActorDep,
) -> dict:
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json")
    replace = request.method == "PUT"
    return await run_in_threadpool(
        _write_rows, installation, actor, dataset_id, body, content_type, replace
    )
