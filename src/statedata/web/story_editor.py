"""Writing data stories in the portal: agency staff write a story in Markdown, add live charts
from saved queries, see it as readers will, and their data officer publishes it.

A story made here is the same Markdown file as one written by hand (`web/stories.py` reads
both), with its `agency`, its `status` and who wrote it. Private first, as datasets are: a new
story is a draft that only its agency sees; a data officer (or the CDO) publishes it; a
publisher's change to a published story is kept beside it, and readers keep the published text
until it is approved. Who may do what is `access.can` on the story (`stories.access_of`); a
story the viewer may not edit is the same 404 page as one that does not exist. Every save,
publish and unpublish is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from statedata.access import ANONYMOUS, Action, Actor, can
from statedata.access.accounts import get_user
from statedata.access.policy import is_open, needs_approval
from statedata.api import deps
from statedata.catalog import audit, service
from statedata.catalog.models import Dataset
from statedata.catalog.vocab import Status
from statedata.errors import NotFound, StatedataError
from statedata.query import QueryError
from statedata.web.base import ENV, address_part, not_found, render
from statedata.web.charts import ChartColumn, chart_columns, runner
from statedata.web.staff import NOT_STAFF, is_staff, staff_sender
from statedata.web.stories import (
    DRAFT,
    MARKDOWN,
    PUBLISHED,
    SLUG,
    TYPES,
    Story,
    access_of,
    chart_block,
    find_story,
    load_stories,
    render_story,
    story_path,
    write_story,
)
from statedata.web.viewer import error_page, forbidden, sender, to_sign_in

router = APIRouter(include_in_schema=False)

FIELDS = ("title", "address", "summary", "tags", "agency", "body")
LIMITS = {"title": 200, "address": 300, "summary": 500, "tags": 300, "body": 100_000}
CHART_KEYS = ("dataset", "type", "query", "x", "y", "measure", "step")
MEASURES = {"count": "count(*)", "sum": "sum", "avg": "avg", "min": "min", "max": "max"}
STEPS = {"year": "date_trunc_y", "month": "date_trunc_ym", "day": "date_trunc_ymd"}
BAD_ADDRESS = (
    "The address may hold only lower-case letters, digits and single dashes between them "
    "(like overdose-deaths), at most 100 characters."
)


# Who may do what -----------------------------------------------------------------------------


def may_edit(actor: Actor, story: Story) -> bool:
    """The agency's staff (the CDO: every story) edit a story."""
    return can(actor, Action.PUBLISH, access_of(story))


def may_publish(actor: Actor, story: Story) -> bool:
    """The agency's data officer (the CDO: every story) publishes and unpublishes it."""
    return can(actor, Action.APPROVE, access_of(story))


def editable_stories(settings: Any, actor: Actor) -> list[dict[str, Any]]:
    """The stories the actor may edit, drafts too, newest first, each with its state."""
    found = []
    for story in load_stories(settings, drafts=True):
        if not may_edit(actor, story):
            continue
        pending = find_story(settings, story.slug, pending=True)
        found.append(
            {
                "story": story,
                "pending": pending,
                "may_publish": may_publish(actor, story),
            }
        )
    return found


def waiting_stories(request: Request) -> list[dict[str, Any]]:
    """The viewer's stories that wait for a data officer: drafts and changes to published
    stories (for the staff queue)."""
    from statedata.web.viewer import viewer

    current = viewer(request)
    if current is None:
        return []
    settings = request.app.state.installation.settings
    return [
        item
        for item in editable_stories(settings, current.actor)
        if not item["story"].is_published or item["pending"] is not None
    ]


ENV.globals["waiting_stories"] = waiting_stories


# Checking a story's chart blocks ---------------------------------------------------------------


@dataclass
class ChartNote:
    """What the editor says about one chart block: a problem to fix, or that the public page
    leaves it out."""

    line: int
    message: str
    problem: bool = True


def _block_lines(content: str, first_line: int) -> tuple[dict[str, tuple[str, int]], list[str]]:
    """The block's `key: value` pairs with the line each starts on, and the problems of lines
    that are neither (`chart_block` reads the same lines the same way)."""
    found: dict[str, tuple[str, int]] = {}
    problems = []
    last = ""
    for offset, line in enumerate(content.splitlines()):
        number = first_line + offset
        if not line.strip():
            continue
        if line[:1].isspace() and last:
            value, start = found[last]
            found[last] = (f"{value} {line.strip()}".strip(), start)
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            problems.append(
                f"Line {number}: “{line.strip()[:60]}” is not a “name: value” line. A chart "
                "block holds lines such as “type: bar”; an indented line goes on with the one "
                "above."
            )
            continue
        last = key.strip().lower()
        found[last] = (value.strip(), number)
    return found, problems


def check_charts(
    request: Request, session: Session, actor: Actor, body: str
) -> tuple[list[ChartNote], list[dict[str, str]]]:
    """Every chart block of `body` checked as its author: the notes (problems naming the line,
    and charts the public will not see), and the blocks that are fine."""
    notes: list[ChartNote] = []
    good: list[dict[str, str]] = []
    for token in MARKDOWN.parse(body):
        if token.type != "fence" or token.info.strip().lower() != "chart":
            continue
        fence_line = (token.map[0] if token.map else 0) + 1
        found, problems = _block_lines(token.content, fence_line + 1)
        notes.extend(ChartNote(fence_line, p) for p in problems)
        block_notes = _check_block(request, session, actor, found, fence_line)
        notes.extend(block_notes)
        if not problems and not any(n.problem for n in block_notes):
            good.append({key: value for key, (value, _) in found.items()})
    return notes, good


def _check_block(
    request: Request,
    session: Session,
    actor: Actor,
    found: dict[str, tuple[str, int]],
    fence_line: int,
) -> list[ChartNote]:
    def line_of(key: str) -> int:
        return found[key][1] if key in found else fence_line

    notes = []
    for key, (_, number) in found.items():
        if key not in CHART_KEYS:
            notes.append(
                ChartNote(
                    number,
                    f"Line {number}: a chart has no “{key}”. The names it knows are "
                    + ", ".join(CHART_KEYS)
                    + ".",
                )
            )
    for key in ("dataset", "type", "query"):
        if not found.get(key, ("", 0))[0]:
            notes.append(
                ChartNote(
                    fence_line,
                    f"Line {fence_line}: the chart has no {key}. Add a line “{key}: ...” "
                    "(or use “Add a chart” below to write the block).",
                )
            )
    kind = found.get("type", ("", 0))[0].lower()
    if kind and kind not in TYPES:
        notes.append(
            ChartNote(
                line_of("type"),
                f"Line {line_of('type')}: “{kind}” is not a chart the portal draws. "
                "Use bar, line or stacked bar.",
            )
        )
    measure = found.get("measure", ("count", 0))[0].lower()
    if measure not in MEASURES:
        notes.append(
            ChartNote(
                line_of("measure"),
                f"Line {line_of('measure')}: the measure “{measure}” is not one of count, sum, "
                "avg, min or max.",
            )
        )
    step = found.get("step", ("year", 0))[0].lower()
    if step not in STEPS:
        notes.append(
            ChartNote(
                line_of("step"),
                f"Line {line_of('step')}: the step “{step}” is not one of year, month or day.",
            )
        )
    if notes:
        return notes
    dataset_id = found["dataset"][0]
    dataset = _readable(session, actor, dataset_id)
    if dataset is None:
        return [
            ChartNote(
                line_of("dataset"),
                f"Line {line_of('dataset')}: there is no dataset “{dataset_id[:20]}” you may "
                "read. Give its id, as in the address of its page (like abcd-2345).",
            )
        ]
    if dataset.current_version is None:
        return [
            ChartNote(
                line_of("dataset"),
                f"Line {line_of('dataset')}: “{dataset.title}” has no data yet, so there is "
                "nothing to chart.",
            )
        ]
    try:
        rows = runner(request, dataset)({"$query": found["query"][0]})
    except (QueryError, StatedataError) as error:
        return [
            ChartNote(
                line_of("query"),
                f"Line {line_of('query')}: the query does not run. {error.message}",
            )
        ]
    if rows and len(rows[0]) < 2:
        return [
            ChartNote(
                line_of("query"),
                f"Line {line_of('query')}: the query gives one column; a chart needs two: a "
                "name (or a date) first, then a number.",
            )
        ]
    if not is_open(dataset):
        return [
            ChartNote(
                fence_line,
                f"The chart at line {fence_line} is over “{dataset.title}”, which is not open "
                "data: the public page leaves it out, as the preview does. Only those who may "
                "read that data see it.",
                problem=False,
            )
        ]
    return []


def _readable(session: Session, actor: Actor, dataset_id: str) -> Dataset | None:
    try:
        dataset = service.get_dataset(session, dataset_id.strip()[:20])
    except NotFound:
        return None
    return dataset if can(actor, Action.READ_ROWS, dataset) else None


# Building a chart block from the form -------------------------------------------------------------


def chartable(session: Session, actor: Actor) -> list[Dataset]:
    """The datasets a chart may use: those with rows the actor may read, in title order."""
    query = (
        select(Dataset)
        .options(joinedload(Dataset.agency), selectinload(Dataset.current_version))
        .where(Dataset.status != Status.RETIRED.value)
        .order_by(Dataset.title, Dataset.id)
    )
    return [
        d
        for d in session.scalars(query).unique()
        if d.current_version is not None and can(actor, Action.READ_ROWS, d)
    ]


def build_block(dataset: Dataset, form: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """The ```chart block the form asks for, or the problems (by field) that stop it. Column
    names in a built query come from the data dictionary only."""
    kind = form.get("chart_type", "")
    if kind not in TYPES:
        return None, {"chart_type": "Choose the kind of chart: bar, line or stacked bar."}
    query = form.get("chart_query", "").strip()
    columns = {c.field: c for c in chart_columns(dataset)}
    measure = form.get("chart_measure", "count")
    y_label = form.get("chart_y", "").strip()
    x_label = form.get("chart_x_label", "").strip()
    step = form.get("chart_step", "year")
    if not query:
        x = columns.get(form.get("chart_x", ""))
        if x is None:
            return None, {"chart_x": "Choose the column the chart is about (or write a query)."}
        if kind == "line" and x.kind != "date":
            return None, {"chart_x": "A line chart goes over time: choose a date column."}
        if measure not in MEASURES:
            return None, {"chart_measure": "Choose what to count or add up."}
        if measure == "count":
            value = "count(*)"
            y_label = y_label or "rows"
        else:
            number = columns.get(form.get("chart_number", ""))
            if number is None or number.kind != "number":
                return None, {"chart_number": "Choose the number column to add up or average."}
            value = f"{MEASURES[measure]}({number.field})"
            y_label = y_label or number.name
        query = _query_for(kind, x, value, STEPS.get(step, STEPS["year"]))
        x_label = x_label or x.name
    lines = [
        "```chart",
        f"dataset: {dataset.id}",
        f"type: {kind}",
        f"measure: {measure if measure in MEASURES else 'count'}",
    ]
    if kind == "line":
        lines.append(f"step: {step if step in STEPS else 'year'}")
    # The query on one line: a line break typed in it would end the value in the block.
    lines.append("query: " + " ".join(query.split()))
    lines.append(f"x: {' '.join((x_label or 'Name').split())}")
    lines.append(f"y: {' '.join((y_label or 'value').split())}")
    lines.append("```")
    return "\n".join(lines), {}


def _query_for(kind: str, x: ChartColumn, value: str, trunc: str) -> str:
    if kind == "line":
        return (
            f"SELECT {trunc}({x.field}) AS period, {value} AS value "
            f"WHERE {x.field} IS NOT NULL GROUP BY period ORDER BY period"
        )
    limit = 8 if kind == "stacked bar" else 12
    return (
        f"SELECT {x.field}, {value} AS value WHERE {x.field} IS NOT NULL "
        f"GROUP BY {x.field} ORDER BY value DESC LIMIT {limit}"
    )


# The pages ---------------------------------------------------------------------------------------


def _agencies(session: Session, actor: Actor) -> list[str]:
    if actor.is_cdo:
        return [a.code for a in service.list_agencies(session)]
    return sorted(actor.staff_agencies())


def _values_of(story: Story) -> dict[str, str]:
    return {
        "title": story.title,
        "address": story.slug,
        "summary": story.summary,
        "tags": ", ".join(story.tags),
        "agency": story.agency or "",
        "body": story.body.strip("\n"),
    }


def _editor(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, str],
    story: Story | None,
    chart: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notes: list[ChartNote] | None = None,
    status: int = 200,
    message: str | None = None,
    preview: str | None = None,
) -> HTMLResponse:
    chart = chart or {}
    datasets = chartable(session, actor)
    chosen = next((d for d in datasets if d.id == chart.get("chart_dataset")), None)
    pending = (
        find_story(request.app.state.installation.settings, story.slug, pending=True)
        if story
        else None
    )
    return render(
        request,
        "story/edit.html",
        status_code=status,
        story=story,
        pending=pending,
        values=values,
        chart=chart,
        datasets=datasets,
        columns=chart_columns(chosen) if chosen else [],
        agencies=_agencies(session, actor),
        errors=errors or {},
        notes=notes or [],
        message=message,
        preview=preview,
        waits=bool(story and story.is_published and needs_approval_for(request, actor, story)),
        may_publish=bool(story and may_publish(actor, story)),
        types=list(TYPES),
        measures=list(MEASURES),
        steps=list(STEPS),
    )


def needs_approval_for(request: Request, actor: Actor, story: Story) -> bool:
    settings = request.app.state.installation.settings
    return needs_approval(actor, access_of(story), settings.drafts_need_approval)


def _viewer_page(actor: Actor, request: Request) -> Response | None:
    if actor.is_anonymous:
        return to_sign_in(request)
    if not is_staff(actor):
        return forbidden(request, NOT_STAFF)
    return None


@router.get("/staff/stories", response_class=HTMLResponse)
def story_desk(
    request: Request, actor: deps.ActorDep, done: str | None = None, story: str | None = None
) -> Response:
    refused = _viewer_page(actor, request)
    if refused is not None:
        return refused
    settings = request.app.state.installation.settings
    items = editable_stories(settings, actor)
    named = next((i["story"] for i in items if i["story"].slug == story), None)
    return render(request, "staff/stories.html", items=items, done=done, named=named)


@router.get("/staff/stories/new", response_class=HTMLResponse)
def new_story(request: Request, session: deps.SessionDep, actor: deps.ActorDep) -> Response:
    refused = _viewer_page(actor, request)
    if refused is not None:
        return refused
    agencies = _agencies(session, actor)
    values = {name: "" for name in FIELDS}
    values["agency"] = agencies[0] if len(agencies) == 1 else ""
    return _editor(request, session, actor, values, None)


@router.get("/staff/stories/{slug}/edit", response_class=HTMLResponse)
def edit_story(
    slug: str,
    request: Request,
    session: deps.SessionDep,
    actor: deps.ActorDep,
    saved: str | None = None,
) -> Response:
    settings = request.app.state.installation.settings
    story = find_story(settings, slug)
    # Someone not signed in gets the 404 too: a story's edit page says nothing of it.
    if story is None or not may_edit(actor, story):
        return not_found(request, "story")
    shown = find_story(settings, slug, pending=True) or story
    message = {
        "draft": "Saved as a draft. Only your agency sees it until it is published.",
        "pending": "Saved. Your change waits for your agency's data officer; until it is "
        "approved, readers see the story as it was.",
        "published": "Saved. Readers see the change now.",
    }.get(saved or "")
    return _editor(request, session, actor, _values_of(shown), story, message=message)


def _form_values(form: Any) -> tuple[dict[str, str], dict[str, str]]:
    values = {name: str(form.get(name) or "")[: LIMITS.get(name, 20)] for name in FIELDS}
    values["body"] = values["body"].replace("\r\n", "\n").replace("\r", "\n")
    chart = {
        name: str(form.get(name) or "").strip()[:2000]
        for name in (
            "chart_dataset",
            "chart_type",
            "chart_query",
            "chart_x",
            "chart_measure",
            "chart_number",
            "chart_step",
            "chart_x_label",
            "chart_y",
        )
    }
    return values, chart


def _story_from(
    values: dict[str, str], slug: str, actor: Actor, session: Session, base: Story | None
) -> Story:
    tags = [t.strip() for t in values["tags"].split(",") if t.strip()]
    if base is None:
        try:
            author = get_user(session, actor.name or "").display_name or actor.name or ""
        except NotFound:
            author = actor.name or ""
        return Story(
            slug=slug,
            title=values["title"].strip(),
            summary=values["summary"].strip(),
            author=author,
            date=dt.date.today(),
            tags=tags,
            body=values["body"],
            agency=values["agency"].strip().upper() or None,
            status=DRAFT,
            written_by=actor.name or "",
        )
    return Story(
        slug=base.slug,
        title=values["title"].strip(),
        summary=values["summary"].strip(),
        author=base.author,
        date=base.date if base.is_published else dt.date.today(),
        tags=tags,
        body=values["body"],
        agency=base.agency,
        status=base.status,
        written_by=base.written_by,
    )


def _check_fields(
    values: dict[str, str], session: Session, actor: Actor, settings: Any, new: bool
) -> tuple[str, dict[str, str]]:
    """The new story's address and the problems of the fields, by field."""
    errors = {}
    if not values["title"].strip():
        errors["title"] = "Give the story a title."
    slug = ""
    if new:
        given = values["address"].strip()
        slug = given or address_part(values["title"], "").lower()[:100].strip("-")
        if given and (not SLUG.match(given) or len(given) > 100):
            errors["address"] = BAD_ADDRESS
        elif slug and (
            story_path(settings, slug).exists() or story_path(settings, slug, True).exists()
        ):
            errors["address"] = (
                f"There is already a story at /stories/{slug}. Choose another address."
            )
        elif not slug and "title" not in errors:
            errors["address"] = BAD_ADDRESS
        agency = values["agency"].strip().upper()
        if agency not in _agencies(session, actor):
            errors["agency"] = "Choose the agency the story is from."
    if not values["body"].strip():
        errors["body"] = "Write the story: the text, and any charts."
    return slug, errors


async def _editor_of(request: Request, slug: str) -> tuple[Actor, Story] | Response:
    """Who sends a form about the story at `slug` (its CSRF token checked), and the story; or
    the 404 page for anyone who may not edit it, whether signed in or not, so the answer says
    nothing of a draft (not even by a sign-in redirect naming its address)."""
    story = find_story(request.app.state.installation.settings, slug)
    try:
        actor = await sender(request)
    except StatedataError as error:
        return error_page(request, error)
    if story is None or not may_edit(actor, story):
        return not_found(request, "story")
    return actor, story


async def _save(request: Request, slug: str | None) -> Response:
    base = None
    if slug is None:
        actor = await staff_sender(request)
        if isinstance(actor, Response):
            return actor
    else:
        found = await _editor_of(request, slug)
        if isinstance(found, Response):
            return found
        actor, base = found
    form = await request.form()
    values, chart = _form_values(form)
    action = str(form.get("action") or "save")
    installation = request.app.state.installation
    settings = installation.settings
    with installation.catalog.session() as session:
        if action == "add-chart":
            return _add_chart(request, session, actor, values, chart, base)
        if action == "preview":
            html, notes = _preview(request, session, actor, values, base)
            return _editor(request, session, actor, values, base, chart, notes=notes, preview=html)
        new_slug, errors = _check_fields(values, session, actor, settings, base is None)
        notes, _ = check_charts(request, session, actor, values["body"])
        problems = [n for n in notes if n.problem]
        if errors or problems:
            if problems:
                errors.setdefault("body", "Fix the chart blocks: " + problems[0].message)
            return _editor(request, session, actor, values, base, chart, errors, notes, status=400)
        story = _story_from(values, new_slug, actor, session, base)
        outcome = _write(request, session, actor, story, base)
    return RedirectResponse(f"/staff/stories/{story.slug}/edit?saved={outcome}", status_code=303)


def _write(
    request: Request, session: Session, actor: Actor, story: Story, base: Story | None
) -> str:
    """Save the story as the rules say. The audit entry is added first, in the caller's
    transaction: a file that cannot be written rolls it back, so the log never names a save
    that did not happen, and no save goes unlogged."""
    settings = request.app.state.installation.settings
    # Private first: a publisher's change to a published story waits beside it, and readers
    # keep the published text until it is approved.
    waits = base is not None and base.is_published and needs_approval_for(request, actor, base)
    outcome = "pending" if waits else ("published" if story.is_published else "draft")
    audit.record(
        session,
        actor.name or "",
        "story.save",
        story=story.slug,
        agency=story.agency,
        outcome=outcome,
        title=story.title,
    )
    if waits:
        write_story(settings, replace(story, status=DRAFT), pending=True)
    else:
        write_story(settings, story)
        if base is not None and base.is_published:
            story_path(settings, story.slug, pending=True).unlink(missing_ok=True)
    return outcome


def _add_chart(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, str],
    chart: dict[str, str],
    base: Story | None,
) -> HTMLResponse:
    dataset = _readable(session, actor, chart["chart_dataset"]) if chart["chart_dataset"] else None
    if dataset is None or dataset.current_version is None:
        errors = {"chart_dataset": "Choose the dataset the chart shows."}
        return _editor(request, session, actor, values, base, chart, errors, status=400)
    block, errors = build_block(dataset, chart)
    if block is None:
        return _editor(request, session, actor, values, base, chart, errors, status=400)
    notes = _check_block(request, session, actor, _block_lines(block.split("\n", 1)[1], 1)[0], 1)
    problem = next((n for n in notes if n.problem), None)
    if problem is not None:
        message = problem.message.split(": ", 1)[-1]
        return _editor(
            request, session, actor, values, base, chart, {"chart_query": message}, status=400
        )
    body = values["body"].rstrip("\n")
    values = {**values, "body": (body + "\n\n" if body else "") + block + "\n"}
    return _editor(
        request,
        session,
        actor,
        values,
        base,
        {},
        message="The chart was added at the end of the story's text. Move it where it belongs, "
        "then save.",
    )


def _preview(
    request: Request, session: Session, actor: Actor, values: dict[str, str], base: Story | None
) -> tuple[str, list[ChartNote]]:
    """The story as a reader who is not signed in sees it, and what the editor should know."""
    story = _story_from(values, base.slug if base else "preview", actor, session, base)
    # Each chart's dataset is looked up twice (checked as the author, drawn as a reader);
    # held here, the session finds it in memory the second time instead of loading it again
    # with its columns, tags and files (the identity map keeps only what is referenced).
    held = _charted_datasets(session, story.body)
    notes, _ = check_charts(request, session, actor, story.body)
    body = render_story(request, session, ANONYMOUS, story)
    del held  # drawn: no more look-ups
    html = ENV.get_template("story/_article.html").render(
        story=story, body=body, heading="h2", request=request
    )
    return html, notes


def _charted_datasets(session: Session, body: str) -> list[Dataset]:
    """The datasets the chart blocks of `body` name, each loaded once (unchecked: nothing is
    shown from them here)."""
    named = {
        chart_block(token.content).get("dataset", "").strip()[:20]
        for token in MARKDOWN.parse(body)
        if token.type == "fence" and token.info.strip().lower() == "chart"
    }
    found = []
    for dataset_id in sorted(named - {""}):
        try:
            found.append(service.get_dataset(session, dataset_id))
        except NotFound:
            continue
    return found


@router.post("/staff/stories/preview", response_class=HTMLResponse)
async def preview(request: Request) -> Response:
    """The live preview (an htmx fragment), as the public page renders the story."""
    actor = await staff_sender(request)
    if isinstance(actor, Response):
        return actor
    form = await request.form()
    values, _ = _form_values(form)
    installation = request.app.state.installation
    slug = str(form.get("story") or "")
    base = find_story(installation.settings, slug) if slug else None
    if base is not None and not may_edit(actor, base):
        base = None
    with installation.catalog.session() as session:
        html, notes = _preview(request, session, actor, values, base)
    return render(request, "story/_preview.html", preview=html, notes=notes)


@router.get("/staff/stories/columns", response_class=HTMLResponse)
def chart_columns_fragment(
    request: Request, session: deps.SessionDep, actor: deps.ActorDep, chart_dataset: str = ""
) -> Response:
    """The column choices of one dataset (an htmx fragment of the "add a chart" form)."""
    refused = _viewer_page(actor, request)
    if refused is not None:
        return refused
    dataset = _readable(session, actor, chart_dataset) if chart_dataset else None
    columns = chart_columns(dataset) if dataset is not None else []
    return render(
        request,
        "story/_columns.html",
        columns=columns,
        chart={},
        errors={},
        measures=list(MEASURES),
        steps=list(STEPS),
    )


@router.post("/staff/stories/new", response_class=HTMLResponse)
async def create_story(request: Request) -> Response:
    return await _save(request, None)


@router.post("/staff/stories/{slug}/edit", response_class=HTMLResponse)
async def save_story(slug: str, request: Request) -> Response:
    return await _save(request, slug)


@router.post("/staff/stories/{slug}/{decision}")
async def decide_story(slug: str, decision: str, request: Request) -> Response:
    """Publish a story (or its change waiting for approval), or take it back to a draft."""
    if decision not in ("publish", "unpublish"):
        return not_found(request)
    found = await _editor_of(request, slug)
    if isinstance(found, Response):
        return found
    actor, story = found
    installation = request.app.state.installation
    settings = installation.settings
    if not may_publish(actor, story):
        return forbidden(request, "Only the agency's data officer publishes a story.")
    pending = find_story(settings, slug, pending=True)
    with installation.catalog.session() as session:
        # The entry first, as for a save: a file that cannot be written rolls it back.
        audit.record(
            session,
            actor.name or "",
            f"story.{decision}",
            story=slug,
            agency=story.agency,
            **({"change": pending is not None} if decision == "publish" else {}),
        )
        if decision == "publish":
            # The first publication dates the story; an approved change keeps that date.
            day = story.date if story.is_published else dt.date.today()
            write_story(settings, replace(pending or story, status=PUBLISHED, date=day))
            story_path(settings, slug, pending=True).unlink(missing_ok=True)
        else:
            write_story(settings, replace(story, status=DRAFT))
    return RedirectResponse(f"/staff/stories?done={decision}ed&story={slug}", status_code=303)
