"""The native catalog API: datasets and agencies under /api/v1/."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from statedata.access import Action, can, require
from statedata.api import deps
from statedata.catalog import service
from statedata.catalog.documents import agency_document, dataset_document, dataset_summary

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.get("/datasets", summary="List the datasets you may see")
def list_datasets(
    session: deps.SessionDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
    agency: Annotated[str | None, Query(description="Agency code")] = None,
    category: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query(description="active, deprecated or archived")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    visible = [
        d
        for d in service.list_datasets(session, agency_code=agency, status=status)
        if can(actor, Action.READ_METADATA, d) and (category is None or d.category == category)
    ]
    page = visible[offset : offset + limit]
    return {
        "total": len(visible),
        "limit": limit,
        "offset": offset,
        "results": [dataset_summary(d, base) for d in page],
    }


@router.get("/datasets/{dataset_id}", summary="One dataset: metadata, columns, versions, files")
def get_dataset(
    dataset_id: str,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
) -> dict:
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.READ_METADATA, dataset)
    return dataset_document(session, dataset, base)


@router.get("/agencies", summary="Agencies and how many datasets you may see from each")
def list_agencies(
    session: deps.SessionDep,
    actor: deps.ActorDep,
) -> dict:
    counts: dict[int, int] = {}
    for dataset in service.list_datasets(session):
        if dataset.agency_id is not None and can(actor, Action.READ_METADATA, dataset):
            counts[dataset.agency_id] = counts.get(dataset.agency_id, 0) + 1
    agencies = service.list_agencies(session)
    return {"results": [agency_document(a, counts.get(a.id, 0)) for a in agencies]}
