"""The native catalog API: datasets and agencies under /api/v1/."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from statedata.access import Action, Actor, can, require
from statedata.access.policy import needs_approval
from statedata.api import deps
from statedata.catalog import DatasetMetadata, drafts, service
from statedata.catalog.documents import agency_document, dataset_document, dataset_summary
from statedata.catalog.models import MetadataDraft
from statedata.errors import Forbidden, NotFound
from statedata.installation import Installation

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


class NewDataset(DatasetMetadata):
    agency: str = Field(min_length=1, max_length=32, description="Code of the owning agency")


class Decision(BaseModel):
    model_config = {"extra": "forbid"}
    note: str | None = Field(default=None, max_length=5000)


def _draft_document(draft: MetadataDraft) -> dict:
    return {
        "id": draft.id,
        "dataset_id": draft.dataset_id,
        "changes": draft.changes,
        "proposed_by": draft.proposed_by,
        "proposed_at": draft.proposed_at,
        "decision": draft.decision,
        "decided_by": draft.decided_by,
        "decided_at": draft.decided_at,
        "note": draft.note,
    }


@router.post("/datasets", status_code=201, summary="Create a dataset (a draft for publishers)")
def create_dataset(
    new: NewDataset,
    session: deps.SessionDep,
    actor: deps.UserDep,
    installation: deps.InstallationDep,
    base: deps.BaseUrlDep,
) -> dict:
    if not actor.is_cdo and not actor.has_role_in(new.agency):
        # Naming an agency you are not staff of is refused without saying more about it.
        raise Forbidden(f"You may not create datasets for agency {new.agency}.")
    metadata = DatasetMetadata.model_validate(
        new.model_dump(exclude_unset=True, exclude={"agency"})
    )
    settings = installation.settings
    dataset = service.create_dataset(
        session, metadata, new.agency, settings.categories, actor=actor.name or ""
    )
    if needs_approval(actor, dataset, settings.drafts_need_approval):
        drafts.mark_draft(session, dataset, actor.name or "")
    return dataset_document(session, dataset, base)


@router.patch(
    "/datasets/{dataset_id}",
    summary="Change a dataset's metadata (a publisher's change to a published dataset waits "
    "for approval: 202 with the draft)",
)
def change_dataset(
    dataset_id: str,
    change: DatasetMetadata,
    session: deps.SessionDep,
    actor: deps.UserDep,
    installation: deps.InstallationDep,
    base: deps.BaseUrlDep,
    response: Response,
) -> dict:
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.PUBLISH, dataset)
    settings = installation.settings
    if dataset.publication_state == drafts.PUBLISHED and needs_approval(
        actor, dataset, settings.drafts_need_approval
    ):
        draft = drafts.propose(
            session, dataset_id, change, settings.categories, actor=actor.name or ""
        )
        response.status_code = 202
        return {"pending": True, "draft": _draft_document(draft)}
    dataset = service.update_metadata(
        session, dataset_id, change, settings.categories, actor=actor.name or ""
    )
    return dataset_document(session, dataset, base)


@router.post("/datasets/{dataset_id}/approve", summary="Approve a draft dataset: publish it")
def approve_dataset(
    dataset_id: str, session: deps.SessionDep, actor: deps.UserDep, base: deps.BaseUrlDep
) -> dict:
    require(actor, Action.APPROVE, service.get_dataset(session, dataset_id))
    dataset = drafts.approve_dataset(session, dataset_id, actor.name or "")
    return dataset_document(session, dataset, base)


@router.get("/drafts", summary="What waits for approval in your agencies")
def list_drafts(session: deps.SessionDep, actor: deps.UserDep) -> dict:
    mine = [
        d
        for d in service.list_datasets(session)
        if can(actor, Action.PUBLISH, d) and (actor.is_cdo or d.agency is not None)
    ]
    ids = [d.id for d in mine]
    return {
        "datasets": [
            {"id": d.id, "title": d.title, "agency": d.agency.code if d.agency else None}
            for d in mine
            if d.publication_state == drafts.DRAFT
        ],
        "metadata_changes": [_draft_document(x) for x in drafts.pending(session, ids)],
    }


def _decide(
    draft_id: int,
    approve: bool,
    decision: Decision,
    session: Session,
    actor: Actor,
    installation: Installation,
) -> dict:
    draft = drafts.get_draft(session, draft_id)
    dataset = service.get_dataset(session, draft.dataset_id)
    if not can(actor, Action.PUBLISH, dataset):
        raise NotFound(f"There is no metadata draft {draft_id}.", id=draft_id)
    require(actor, Action.APPROVE, dataset)
    draft = drafts.decide(
        session,
        draft_id,
        approve,
        installation.settings.categories,
        actor.name or "",
        decision.note,
    )
    return _draft_document(draft)


@router.post("/drafts/{draft_id}/approve", summary="Approve a metadata change: apply it")
def approve_draft(
    draft_id: int,
    decision: Decision,
    session: deps.SessionDep,
    actor: deps.UserDep,
    installation: deps.InstallationDep,
) -> dict:
    return _decide(draft_id, True, decision, session, actor, installation)


@router.post("/drafts/{draft_id}/reject", summary="Reject a metadata change, with a note")
def reject_draft(
    draft_id: int,
    decision: Decision,
    session: deps.SessionDep,
    actor: deps.UserDep,
    installation: deps.InstallationDep,
) -> dict:
    return _decide(draft_id, False, decision, session, actor, installation)
