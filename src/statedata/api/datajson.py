"""`/data.json`: the public catalog in DCAT-US 1.1, for harvesters such as data.gov."""

from __future__ import annotations

from fastapi import APIRouter

from statedata.access import Action, can
from statedata.api import deps
from statedata.api.responses import JSON
from statedata.catalog import service
from statedata.catalog.dcat import catalog_document

router = APIRouter(tags=["catalog"])


@router.get("/data.json", summary="The catalog as DCAT-US 1.1")
def data_json(
    installation: deps.InstallationDep,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    base: deps.BaseUrlDep,
) -> JSON:
    datasets = [d for d in service.list_datasets(session) if can(actor, Action.READ_METADATA, d)]
    settings = installation.settings.model_copy(update={"base_url": base})
    return JSON(catalog_document(datasets, settings))
