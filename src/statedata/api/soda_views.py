"""Socrata's metadata doors: view metadata, the metadata API and the Discovery catalog API.

Routes only parse, ask `access`, and shape with `catalog/socrata.py`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from statedata import search as catalog_search
from statedata.access import Action, Actor, can, require
from statedata.api import deps
from statedata.catalog import service
from statedata.catalog.models import Dataset
from statedata.catalog.socrata import discovery_result, metadata_v1_document, view_document
from statedata.errors import InvalidInput
from statedata.metrics import usage_totals

router = APIRouter(tags=["soda"])

ORDERS = {
    "name": lambda d: d.title.lower(),
    "createdat": lambda d: d.created_at,
    "updatedat": lambda d: d.metadata_updated_at,
    "data_updated_at": lambda d: d.data_updated_at or d.metadata_updated_at,
}


def _visible(session: Session, actor: Actor) -> list[Dataset]:
    return [d for d in service.list_datasets(session) if can(actor, Action.READ_METADATA, d)]


@router.get("/api/views/{dataset_id}.json", summary="Socrata view metadata")
def view(
    dataset_id: str,
    session: deps.SessionDep,
    actor: deps.ActorDep,
) -> dict:
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.READ_METADATA, dataset)
    return view_document(dataset, usage_totals(session, dataset.id))


@router.get("/api/views/metadata/v1", summary="Socrata metadata API: every dataset")
def metadata_all(
    session: deps.SessionDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
) -> list[dict]:
    return [metadata_v1_document(d, base) for d in _visible(session, actor)]


@router.get("/api/views/metadata/v1/{dataset_id}", summary="Socrata metadata API: one dataset")
def metadata_one(
    dataset_id: str,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
) -> dict:
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.READ_METADATA, dataset)
    return metadata_v1_document(dataset, base)


def _many(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values += [v.strip() for v in raw.split(",") if v.strip()]
    return values


@router.get("/api/catalog/v1", summary="Discovery API: search the catalog")
def catalog(
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
    installation: deps.InstallationDep,
    q: str | None = None,
    attribution: str | None = None,
    limit: Annotated[int, Query(ge=0, le=10000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    order: str | None = None,
) -> dict:
    datasets = _visible(session, actor)
    ids = set(_many(request, "ids"))
    categories = {c.lower() for c in _many(request, "categories")}
    tags = {t.lower() for t in _many(request, "tags")}
    only = {o.lower() for o in _many(request, "only")}
    if only and not only & {"dataset", "datasets"}:
        datasets = []
    if ids:
        datasets = [d for d in datasets if d.id in ids]
    if categories:
        datasets = [d for d in datasets if (d.category or "").lower() in categories]
    if tags:
        datasets = [d for d in datasets if tags & set(d.tag_names)]
    if attribution:
        wanted = attribution.lower()
        datasets = [
            d
            for d in datasets
            if d.agency and wanted in (d.agency.name.lower(), d.agency.code.lower())
        ]
    if q:
        # The catalog search: stemming, misspellings, ranked by relevance.
        rank = {i: n for n, i in enumerate(catalog_search.ranked_ids(installation, actor, q))}
        datasets = sorted((d for d in datasets if d.id in rank), key=lambda d: rank[d.id])
    datasets = _ordered(datasets, order)
    page = datasets[offset : offset + limit] if limit else datasets[offset:]
    return {
        "results": [discovery_result(d, base) for d in page],
        "resultSetSize": len(datasets),
        "timings": {"serviceMillis": 0, "searchMillis": [0]},
    }


def _ordered(datasets: list[Dataset], order: str | None) -> list[Dataset]:
    if not order or order.lower().startswith("relevance"):
        return datasets
    field, _, direction = order.partition(" ")
    key = ORDERS.get(field.lower())
    if key is None:
        raise InvalidInput(
            f"Cannot order by '{field}'. Use one of: relevance, {', '.join(ORDERS)}.",
            field="order",
        )
    return sorted(datasets, key=key, reverse=direction.strip().upper() == "DESC")
