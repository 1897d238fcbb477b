"""The registry of legal authorities under /api/v1/authorities: anyone reads it; the CDO and
data officers add, change and link entries. Thin: the rules live in `requests.authorities`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from statedata.api import deps
from statedata.requests import authorities

router = APIRouter(prefix="/api/v1", tags=["legal authorities"])


class AuthorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    citation: str = Field(max_length=200, examples=["C.G.S. § 4-67p"])
    title: str = Field(max_length=500)
    kind: str = Field(description=", ".join(authorities.KINDS))
    summary: str = Field(default="", max_length=20_000)
    url: str | None = Field(default=None, max_length=1000)
    datasets: list[str] = Field(default_factory=list, max_length=500)


class AuthorityChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    citation: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=500)
    kind: str | None = None
    summary: str | None = Field(default=None, max_length=20_000)
    url: str | None = Field(default=None, max_length=1000, description="Empty removes it")


class DatasetLinks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list, max_length=500)
    remove: list[str] = Field(default_factory=list, max_length=500)


@router.get("/authorities", summary="The statutes, regulations and orders that govern data")
def list_authorities(
    session: deps.SessionDep,
    actor: deps.ActorDep,
    kind: Annotated[str | None, Query(description="e.g. state statute")] = None,
    dataset: Annotated[str | None, Query(description="Only those governing this dataset")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words to look for")] = None,
) -> dict:
    found = authorities.list_authorities(session, kind, dataset, q)
    if dataset:
        # Asking by a dataset the caller may not see must not confirm that it exists.
        found = [a for a in found if dataset in authorities.visible_dataset_ids(session, actor, a)]
    return {
        "total": len(found),
        "results": [authorities.authority_document(session, actor, a) for a in found],
    }


@router.get("/authorities/{authority_id}", summary="One legal authority and what it governs")
def get_authority(authority_id: int, session: deps.SessionDep, actor: deps.ActorDep) -> dict:
    authority = authorities.get_authority(session, authority_id)
    return authorities.authority_document(session, actor, authority)


@router.post("/authorities", status_code=201, summary="Add a legal authority to the registry")
def add_authority(body: AuthorityIn, session: deps.SessionDep, actor: deps.ActorDep) -> dict:
    authority = authorities.add_authority(
        session,
        actor,
        body.citation,
        body.title,
        body.kind,
        body.summary,
        body.url,
        body.datasets,
    )
    return authorities.authority_document(session, actor, authority)


@router.patch("/authorities/{authority_id}", summary="Change a legal authority")
def update_authority(
    authority_id: int, body: AuthorityChanges, session: deps.SessionDep, actor: deps.ActorDep
) -> dict:
    authority = authorities.update_authority(
        session, actor, authority_id, **body.model_dump(exclude_unset=True)
    )
    return authorities.authority_document(session, actor, authority)


@router.post("/authorities/{authority_id}/datasets", summary="Link or unlink governed datasets")
def link_datasets(
    authority_id: int, body: DatasetLinks, session: deps.SessionDep, actor: deps.ActorDep
) -> dict:
    authority = authorities.link_datasets(session, actor, authority_id, body.add, body.remove)
    return authorities.authority_document(session, actor, authority)


@router.delete(
    "/authorities/{authority_id}", status_code=204, summary="Remove an entry no agreement cites"
)
def delete_authority(authority_id: int, session: deps.SessionDep, actor: deps.ActorDep) -> None:
    authorities.delete_authority(session, actor, authority_id)
