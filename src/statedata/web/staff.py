"""Pages for agency staff: their agency's queue, editing a dataset's metadata and data
dictionary, and publishing a file.

The same rules as the API, by the same functions: `access.can` decides who may publish or
approve, a publisher's change to a published dataset waits for a data officer
(`catalog.drafts`, `policy.needs_approval`), and a file goes through `ingest.open_table` and
`storage.publish`, which leaves the current version served when anything fails. Someone who is
not signed in is sent to the sign-in page; a dataset the viewer may not publish to is the
same 404 page as one that does not exist.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload
from starlette.datastructures import UploadFile

from statedata.access import Action, Actor, can
from statedata.access.policy import needs_approval
from statedata.api import deps
from statedata.catalog import DatasetMetadata, dictionary, drafts, notices, service
from statedata.catalog.models import Agency, Dataset
from statedata.catalog.vocab import UPDATE_FREQUENCIES, Status, frequency_name
from statedata.errors import NotFound, StatedataError
from statedata.ingest import open_table
from statedata.requests import data_requests, suggestions
from statedata.storage import NewDataset, PublishResult, publish
from statedata.web.base import not_found, render
from statedata.web.viewer import error_page, forbidden, sender, to_sign_in

router = APIRouter(include_in_schema=False)

DatasetId = Annotated[str, PathParam(max_length=9)]
DraftId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".json", ".geojson", ".zip")
NOT_STAFF = (
    "These pages are for agency staff. Your account has no role in an agency; ask your "
    "agency's data officer or the Chief Data Officer to add you."
)
# The metadata the edit page offers, in the order shown: (field, label, kind).
EDITABLE = (
    ("title", "Title", "text"),
    ("description", "What the data is, in plain language", "textarea"),
    ("category", "Topic", "category"),
    ("tags", "Tags (separated by commas)", "text"),
    ("update_frequency", "How often it is updated", "frequency"),
    ("contact_name", "Contact name", "text"),
    ("contact_email", "Contact email", "email"),
    ("limitations", "Limits of the data (what it does not show)", "textarea"),
    ("processing_notes", "How the data was made", "textarea"),
)


def is_staff(actor: Actor) -> bool:
    return actor.is_cdo or bool(actor.staff_agencies())


def _publishable(session: Session, actor: Actor) -> list[Dataset]:
    """The datasets the actor may publish to: their agencies' (every one for the CDO), in
    title order, with agency and current version loaded in the same query or one more."""
    query = (
        select(Dataset)
        .options(joinedload(Dataset.agency), selectinload(Dataset.current_version))
        .where(Dataset.status != Status.RETIRED.value)
        .order_by(Dataset.title, Dataset.id)
    )
    if not actor.is_cdo:
        codes = sorted(actor.staff_agencies())
        query = query.join(Agency, Dataset.agency_id == Agency.id).where(Agency.code.in_(codes))
    return [d for d in session.scalars(query).unique() if can(actor, Action.PUBLISH, d)]


# The queue ----------------------------------------------------------------------------------


@router.get("/staff", response_class=HTMLResponse)
def queue(
    request: Request, session: deps.SessionDep, actor: deps.ActorDep, done: str | None = None
) -> Response:
    if actor.is_anonymous:
        return to_sign_in(request)
    if not is_staff(actor):
        return forbidden(request, NOT_STAFF)
    mine = _publishable(session, actor)
    by_id = {d.id: d for d in mine}
    pending = [
        {
            "draft": draft,
            "dataset": by_id[draft.dataset_id],
            "may_approve": can(actor, Action.APPROVE, by_id[draft.dataset_id]),
            # Only a change that describes columns needs them, to show what each says now.
            "columns": {c.field_name: c for c in by_id[draft.dataset_id].columns}
            if drafts.COLUMNS in draft.changes
            else {},
        }
        for draft in drafts.pending(session, list(by_id))
    ]
    draft_datasets = [
        (d, can(actor, Action.APPROVE, d)) for d in mine if d.publication_state == drafts.DRAFT
    ]
    return render(
        request,
        "staff/queue.html",
        agencies=sorted(actor.staff_agencies()),
        draft_datasets=draft_datasets,
        pending=pending,
        triage=suggestions.triage_queue(session, actor),
        requests=[(r, data_requests.standing(r)) for r in data_requests.queue(session, actor)],
        notices=notices.list_for(session, actor),
        datasets=sorted(mine, key=lambda d: d.title.lower()),
        done=done,
    )


async def staff_sender(request: Request) -> Actor | Response:
    """The staff member sending a form, or the page to answer with instead."""
    try:
        actor = await sender(request)
    except StatedataError as error:
        return error_page(request, error)
    if actor.is_anonymous:
        return to_sign_in(request)
    if not is_staff(actor):
        return forbidden(request, NOT_STAFF)
    return actor


@router.post("/staff/datasets/{dataset_id}/approve")
async def approve_dataset(dataset_id: DatasetId, request: Request) -> Response:
    actor = await staff_sender(request)
    if isinstance(actor, Response):
        return actor
    installation = request.app.state.installation
    try:
        with installation.catalog.session() as session:
            dataset = service.get_dataset(session, dataset_id)
            if not can(actor, Action.PUBLISH, dataset):
                return not_found(request, "dataset")
            if not can(actor, Action.APPROVE, dataset):
                return forbidden(request, "Only the agency's data officer approves a draft.")
            drafts.approve_dataset(session, dataset_id, actor.name or "")
    except NotFound:
        return not_found(request, "dataset")
    except StatedataError as error:
        return error_page(request, error)
    return RedirectResponse("/staff?done=approved", status_code=303)


@router.post("/staff/drafts/{draft_id}/{decision}")
async def decide_draft(draft_id: DraftId, decision: str, request: Request) -> Response:
    if decision not in ("approve", "reject"):
        return not_found(request)
    actor = await staff_sender(request)
    if isinstance(actor, Response):
        return actor
    form = await request.form()
    note = str(form.get("note") or "").strip()[:5000] or None
    installation = request.app.state.installation
    try:
        with installation.catalog.session() as session:
            draft = drafts.get_draft(session, draft_id)
            dataset = service.get_dataset(session, draft.dataset_id)
            if not can(actor, Action.PUBLISH, dataset):
                return not_found(request, "change")
            if not can(actor, Action.APPROVE, dataset):
                return forbidden(request, "Only the agency's data officer decides on a change.")
            drafts.decide(
                session,
                draft_id,
                decision == "approve",
                installation.settings.categories,
                actor.name or "",
                note,
            )
    except NotFound:
        return not_found(request, "change")
    except StatedataError as error:
        return error_page(request, error)
    return RedirectResponse(
        "/staff?done=" + ("approved" if decision == "approve" else "rejected"), status_code=303
    )


NoticeId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]


@router.post("/staff/notices/{notice_id}/read")
async def mark_notice_read(notice_id: NoticeId, request: Request) -> Response:
    actor = await staff_sender(request)
    if isinstance(actor, Response):
        return actor
    installation = request.app.state.installation
    try:
        with installation.catalog.session() as session:
            notices.mark_read(session, actor, notice_id)
    except NotFound:
        # Someone else's notice is reported as missing, as the API does.
        return not_found(request, "notice")
    return RedirectResponse("/staff?done=read", status_code=303)


# Editing metadata and the data dictionary ---------------------------------------------------


def _current_values(dataset: Dataset) -> dict[str, str]:
    values = {}
    for name, _, _ in EDITABLE:
        value = getattr(dataset, name, None)
        if name == "tags":
            value = ", ".join(dataset.tag_names)
        values[name] = "" if value is None else str(value)
    return values


def _edit_page(
    request: Request,
    dataset: Dataset,
    values: dict[str, str],
    columns: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    saved: str | None = None,
) -> HTMLResponse:
    settings = request.app.state.installation.settings
    return render(
        request,
        "staff/edit.html",
        status_code=status,
        dataset=dataset,
        fields=EDITABLE,
        values=values,
        columns=[(c, columns.get(c.field_name, c.description or "")) for c in dataset.columns],
        errors=errors or {},
        categories=settings.categories,
        frequencies=list(UPDATE_FREQUENCIES),
        saved=saved,
        waits=dataset.publication_state == drafts.PUBLISHED,
    )


@router.get("/staff/datasets/{dataset_id}/edit", response_class=HTMLResponse)
def edit_form(
    dataset_id: DatasetId,
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    saved: str | None = None,
) -> Response:
    if actor.is_anonymous:
        return to_sign_in(request)
    try:
        dataset = service.get_dataset(session, dataset_id)
    except NotFound:
        return not_found(request, "dataset")
    if not can(actor, Action.PUBLISH, dataset):
        return not_found(request, "dataset")
    values = _current_values(dataset)
    values["update_frequency"] = frequency_name(dataset.update_frequency) or ""
    return _edit_page(request, dataset, values, {}, saved=saved)


def _changes(dataset: Dataset, values: dict[str, str]) -> dict[str, Any]:
    """Only the fields the form changed, as DatasetMetadata takes them."""
    current = _current_values(dataset)
    current["update_frequency"] = frequency_name(dataset.update_frequency) or ""
    changes: dict[str, Any] = {}
    for name, _, _ in EDITABLE:
        given = values.get(name, "").strip()
        if given == current[name].strip():
            continue
        if name == "tags":
            changes[name] = [t for t in (part.strip() for part in given.split(",")) if t]
        else:
            changes[name] = given or None
    return changes


def _pydantic_errors(error: ValidationError) -> dict[str, str]:
    found = {}
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "title"
        message = problem["msg"].removeprefix("Value error, ")
        found.setdefault(field, message[:1].upper() + message[1:] + ".")
    return found


@router.post("/staff/datasets/{dataset_id}/edit", response_class=HTMLResponse)
async def save_edit(dataset_id: DatasetId, request: Request) -> Response:
    actor = await staff_sender(request)
    if isinstance(actor, Response):
        return actor
    form = await request.form()
    values = {name: str(form.get(name) or "") for name, _, _ in EDITABLE}
    installation = request.app.state.installation
    settings = installation.settings
    with installation.catalog.session() as session:
        try:
            dataset = service.get_dataset(session, dataset_id)
        except NotFound:
            return not_found(request, "dataset")
        if not can(actor, Action.PUBLISH, dataset):
            return not_found(request, "dataset")
        columns = {
            c.field_name: str(form.get(f"column-{c.field_name}") or "")
            for c in dataset.columns
            if f"column-{c.field_name}" in form
        }
        changes = _changes(dataset, values)
        try:
            metadata = DatasetMetadata.model_validate(changes)
        except ValidationError as error:
            return _edit_page(request, dataset, values, columns, _pydantic_errors(error), 400)
        except StatedataError as error:
            field = str(error.data.get("field") or "title")
            return _edit_page(request, dataset, values, columns, {field: error.message}, 400)
        outcome = "saved"
        try:
            if dataset.publication_state == drafts.PUBLISHED and needs_approval(
                actor, dataset, settings.drafts_need_approval
            ):
                # What the columns mean is published metadata too: it waits in the same draft.
                described = list(dictionary.changed_descriptions(session, dataset_id, columns))
                if changes or described:
                    drafts.propose(
                        session,
                        dataset_id,
                        metadata,
                        settings.categories,
                        actor=actor.name or "",
                        columns=columns,
                    )
                    outcome = "pending"
            else:
                if changes:
                    service.update_metadata(
                        session, dataset_id, metadata, settings.categories, actor=actor.name or ""
                    )
                described = dictionary.describe_columns(
                    session, dataset_id, columns, actor.name or ""
                )
        except StatedataError as error:
            session.rollback()  # neither half of a refused edit is kept
            dataset = service.get_dataset(session, dataset_id)
            field = str(error.data.get("field") or "title")
            if field == "columns":
                field = f"column-{error.data.get('column')}"
            return _edit_page(request, dataset, values, columns, {field: error.message}, 400)
        if not changes and not described:
            outcome = "unchanged"
    return RedirectResponse(f"/staff/datasets/{dataset_id}/edit?saved={outcome}", status_code=303)


# Publishing a file --------------------------------------------------------------------------


def _publish_page(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, str],
    problem: str | None = None,
    status: int = 200,
    published: dict[str, Any] | None = None,
) -> HTMLResponse:
    agencies = [
        a for a in service.list_agencies(session) if actor.is_cdo or actor.has_role_in(a.code)
    ]
    return render(
        request,
        "staff/publish.html",
        status_code=status,
        datasets=sorted(_publishable(session, actor), key=lambda d: d.title.lower()),
        agencies=agencies,
        values=values,
        problem=problem,
        published=published,
        max_bytes=request.app.state.installation.settings.soda_max_write_bytes,
        accept=",".join(UPLOAD_SUFFIXES),
    )


@router.get("/staff/publish", response_class=HTMLResponse)
def publish_form(
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    dataset: str | None = None,
    published: str | None = None,
) -> Response:
    if actor.is_anonymous:
        return to_sign_in(request)
    if not is_staff(actor):
        return forbidden(request, NOT_STAFF)
    done = None
    if published:
        try:
            found = service.get_dataset(session, published[:9])
        except NotFound:
            found = None
        if found is not None and can(actor, Action.PUBLISH, found) and found.current_version:
            done = {
                "dataset": found,
                "version": found.current_version,
                "draft": found.publication_state == drafts.DRAFT,
            }
    values = {"dataset": (dataset or "")[:9], "title": "", "agency": ""}
    return _publish_page(request, session, actor, values, published=done)


def _safe_name(name: str | None) -> str:
    """The upload's own file name, reduced to safe characters; the suffix tells the format."""
    base = Path(name or "upload").name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip(".-") or "upload"
    return cleaned[-120:]


@router.post("/staff/publish", response_class=HTMLResponse)
async def publish_file(request: Request) -> Response:
    actor = await staff_sender(request)
    if isinstance(actor, Response):
        return actor
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("dataset", "title", "agency")}
    upload = form.get("file")
    installation = request.app.state.installation
    settings = installation.settings

    def again(problem: str, status: int = 400) -> HTMLResponse:
        with installation.catalog.session() as session:
            return _publish_page(request, session, actor, values, problem, status)

    if not isinstance(upload, UploadFile) or not upload.filename:
        return again("Choose a file to publish (CSV, Excel, JSON or GeoJSON).")
    name = _safe_name(upload.filename)
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        return again(
            f"{name} is not a file this portal reads. Publish a CSV, Excel (.xlsx), JSON or "
            "GeoJSON file."
        )
    with installation.catalog.session() as session:
        target: str | None = None
        new = None  # the id of a draft made for this file
        fresh: NewDataset | None = None
        if values["dataset"]:
            try:
                dataset = service.get_dataset(session, values["dataset"])
            except NotFound:
                dataset = None
            if dataset is None or not can(actor, Action.PUBLISH, dataset):
                return not_found(request, "dataset")
            target = dataset.id
        else:
            if not values["title"]:
                return _publish_page(
                    request,
                    session,
                    actor,
                    values,
                    "Choose one of your datasets, or give a title for a new one.",
                    400,
                )
            codes = actor.staff_agencies()
            agency = values["agency"].upper() or (next(iter(codes)) if len(codes) == 1 else "")
            if not agency or not (actor.is_cdo or actor.has_role_in(agency)):
                return _publish_page(
                    request, session, actor, values, "Choose the agency that publishes it.", 400
                )
            try:
                metadata = DatasetMetadata(title=values["title"][:300])
                dataset = service.create_dataset(
                    session, metadata, agency, settings.categories, actor=actor.name or ""
                )
            except (StatedataError, ValidationError) as error:
                session.rollback()
                message = error.message if isinstance(error, StatedataError) else str(error)
                return _publish_page(request, session, actor, values, message, 400)
            if needs_approval(actor, dataset, settings.drafts_need_approval):
                # Private first: the new dataset is a draft before it holds any rows, so the
                # public never sees it until a data officer approves.
                drafts.mark_draft(session, dataset, actor.name or "")
                target = dataset.id
                new = dataset.id
            else:
                # An approver's new dataset is made with its first version, in one
                # transaction: a file that fails leaves no empty dataset behind.
                session.rollback()
                fresh = NewDataset(metadata, agency)
    # The upload is copied under the data folder (same disk as the versions), then read.
    folder = settings.data_dir / "_staging" / f"upload-{secrets.token_hex(8)}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        with path.open("wb") as handle:
            await run_in_threadpool(shutil.copyfileobj, upload.file, handle, 1 << 20)

        def run() -> PublishResult:
            source = open_table(path)
            if fresh is not None:
                return publish(installation, source, new=fresh, actor=actor.name or "")
            return publish(installation, source, dataset_id=target, actor=actor.name or "")

        result = await run_in_threadpool(run)
    except StatedataError as error:
        if new:
            # The new dataset was made, empty; the next try publishes into it.
            values = {"dataset": new, "title": "", "agency": ""}
        kept = (
            ", and the version that was there is still the one served" if target and not new else ""
        )
        return again(
            f"Nothing was published{kept}. {error.message}",
            error.status if 400 <= error.status < 500 else 422,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return RedirectResponse(
        f"/staff/publish?published={result.dataset_id}&version={result.version}",
        status_code=303,
    )
