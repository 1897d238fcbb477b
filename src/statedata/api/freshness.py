"""Freshness over HTTP: the report, a dataset's freshness and quality, retiring a dataset,
and the priority list for staff."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from statedata.access import Action, require, visible_ids
from statedata.api import deps
from statedata.catalog import service
from statedata.errors import Forbidden
from statedata.freshness import evaluate, retirement
from statedata.freshness.priority import ranked
from statedata.freshness.quality import score
from statedata.freshness.report import rows, summary

router = APIRouter(prefix="/api/v1", tags=["freshness"])

AsOf = Annotated[dt.date | None, Query(description="The day to evaluate (YYYY-MM-DD)")]


class Retirement(BaseModel):
    model_config = {"extra": "forbid"}
    reason: str = Field(description=", ".join(retirement.REASONS))
    explanation: str | None = Field(default=None, max_length=2000)
    replaced_by: str | None = Field(default=None, max_length=9)
    archive_url: str | None = Field(default=None, max_length=1000)


def _today(as_of: dt.date | None) -> dt.date:
    return as_of or dt.datetime.now(dt.UTC).date()


@router.get("/freshness", summary="Every dataset you may see: due date, status, days late")
def freshness_report(
    session: deps.SessionDep,
    actor: deps.ActorDep,
    as_of: AsOf = None,
    agency: Annotated[str | None, Query(description="Agency code")] = None,
    status: Annotated[str | None, Query(description="fresh, due, overdue, stale ...")] = None,
) -> dict:
    day = _today(as_of)
    visible = visible_ids(session, actor)
    found = [r for r in rows(session, day, agency) if r.id in visible]
    if status:
        found = [r for r in found if r.status.value == status]
    return {
        "as_of": day.isoformat(),
        "summary": summary(found),
        "results": [r.as_dict() for r in found],
    }


@router.get("/datasets/{dataset_id}/freshness", summary="When the next update is due")
def dataset_freshness(
    dataset_id: str, session: deps.SessionDep, actor: deps.ActorDep, as_of: AsOf = None
) -> dict:
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.READ_METADATA, dataset)
    day = _today(as_of)
    evaluation = evaluate(
        dataset.update_frequency, dataset.data_updated_at or dataset.created_at, day
    )
    return {
        "id": dataset.id,
        "as_of": day.isoformat(),
        "frequency": dataset.update_frequency,
        "last_update": evaluation.last_update,
        "due_date": evaluation.due_date,
        "status": evaluation.status.value,
        "days_late": evaluation.days_late,
        "retirement": {
            "reason": dataset.retirement_reason,
            "explanation": dataset.status_reason,
            "noticed_at": dataset.retirement_noticed_at,
            "leaves_public_view": dataset.retire_after,
            "retired_at": dataset.retired_at,
            "replaced_by": dataset.replaced_by,
            "archive_url": dataset.archive_url,
        }
        if dataset.retirement_noticed_at
        else None,
    }


@router.get("/datasets/{dataset_id}/quality", summary="Metadata quality: each point explained")
def dataset_quality(
    dataset_id: str, session: deps.SessionDep, actor: deps.ActorDep, as_of: AsOf = None
) -> dict:
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.READ_METADATA, dataset)
    return {"id": dataset.id, **score(dataset, _today(as_of)).as_dict()}


@router.post("/datasets/{dataset_id}/retire", summary="Retire a dataset, with a reason")
def retire_dataset(
    dataset_id: str,
    request: Retirement,
    session: deps.SessionDep,
    actor: deps.UserDep,
    installation: deps.InstallationDep,
) -> dict:
    require(actor, Action.MANAGE, service.get_dataset(session, dataset_id))
    dataset = retirement.retire(
        session,
        dataset_id,
        request.reason,
        actor.name or "",
        installation.settings.retirement_notice_days,
        request.explanation,
        request.replaced_by,
        request.archive_url,
    )
    session.commit()
    register = retirement.publish_register(installation)
    return {
        "id": dataset.id,
        "status": dataset.status,
        "leaves_public_view": dataset.retire_after,
        "retired_at": dataset.retired_at,
        "register": register,
    }


@router.post("/datasets/{dataset_id}/retire/cancel", summary="Stop a retirement in its notice")
def cancel_retirement(
    dataset_id: str,
    session: deps.SessionDep,
    actor: deps.UserDep,
    installation: deps.InstallationDep,
) -> dict:
    require(actor, Action.MANAGE, service.get_dataset(session, dataset_id))
    dataset = retirement.cancel(session, dataset_id, actor.name or "")
    session.commit()
    retirement.publish_register(installation)
    return {"id": dataset.id, "status": dataset.status}


@router.get("/priorities", summary="What to publish or improve next (staff and the CDO)")
def priorities(
    session: deps.SessionDep,
    actor: deps.UserDep,
    as_of: AsOf = None,
    agency: Annotated[str | None, Query(description="Agency code")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict:
    if not actor.is_cdo and not actor.staff_agencies():
        raise Forbidden("The priority list is for agency staff and the CDO.")
    visible = None if actor.is_cdo else visible_ids(session, actor)
    found = ranked(session, _today(as_of), agency, visible)
    if not actor.is_cdo:
        staff = actor.staff_agencies()
        found = [p for p in found if p.kind == "dataset" or p.agency in staff]
    return {"results": [p.as_dict() for p in found[:limit]]}
