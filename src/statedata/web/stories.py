"""Data stories: Markdown files in the home folder's `stories/`, each with a front matter
(title, summary, author, date, tags) and live charts from saved queries, listed at `/stories`
(newest first, searchable) and shown at `/stories/{slug}`.

A chart is a fenced block:

    ```chart
    dataset: yjfs-9wte
    type: bar
    query: SELECT injury_county, count(*) GROUP BY injury_county
      ORDER BY count(*) DESC LIMIT 8
    x: County
    y: deaths
    ```

`type` is `bar` (a name and a number a row), `line` (a date and a number; `step: year`,
`month` or `day` names the dates) or `stacked bar` (parts of a whole). The query is SoQL, run
by the SODA API's engine as the reader; the chart is drawn as the chart builder draws it, with
its takeaway title, summary and table. A chart over data the reader may not see is left out
entirely. Markdown is rendered with raw HTML off: what a story's author types is never HTML.

A story written in the portal (`web/story_editor.py`) is the same kind of file, with three more
keys: `agency`, `status` (`draft` until a data officer publishes it, then `published`) and
`written_by`. A file without `status` (written by hand) is published. A draft is seen only by
those who may edit it: the access policy is asked about the story as about an open dataset of
its agency once published, and a draft one before (`access_of`). A change to a published story
that waits for approval is kept beside it as `{slug}.pending.md`, which is never listed or
served: the published text stays what readers see until the change is approved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt

from statedata.access import Action, Actor, can, require
from statedata.access.reads import require_rows
from statedata.api import deps
from statedata.catalog import service
from statedata.catalog.models import Agency, Dataset
from statedata.catalog.vocab import AccessLevel, Classification
from statedata.errors import StatedataError
from statedata.query import QueryError
from statedata.web.base import ENV, not_found, render
from statedata.web.charts import Chart, Choices, _compare, _over_time, _parts, runner

router = APIRouter(include_in_schema=False)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DRAFT = "draft"
PUBLISHED = "published"
PENDING_SUFFIX = ".pending.md"  # a change waiting for approval, beside the published file
# The front matter's keys in the order they are written.
KEYS = ("title", "summary", "author", "date", "tags", "agency", "status", "written_by")
TYPES = {"bar": "compare", "line": "time", "stacked bar": "parts"}
MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@dataclass
class Story:
    slug: str
    title: str
    summary: str = ""
    author: str = ""
    date: dt.date | None = None
    tags: list[str] = field(default_factory=list)
    body: str = ""
    agency: str | None = None
    status: str = PUBLISHED
    written_by: str = ""

    @property
    def is_published(self) -> bool:
        return self.status != DRAFT

    @property
    def key(self) -> str:
        """The story's key in the usage counts (9 characters, as a dataset id)."""
        return "s" + hashlib.sha256(self.slug.encode()).hexdigest()[:8]


def stories_dir(settings: Any) -> Path:
    return Path(settings.home) / "stories"


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The `key: value` lines between the opening and closing `---`, and the rest."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    meta: dict[str, str] = {}
    for number_, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, "\n".join(lines[number_ + 1 :])
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = _unquote(value.strip())
    return {}, text  # never closed: all of it is the story


def _unquote(value: str) -> str:
    """The value without one pair of quotes around it, as `format_story` writes it; a quote
    left open at either end (by hand) is dropped."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value.strip('"').strip("'")


def _one_line(value: str) -> str:
    return " ".join(value.split())


def format_story(story: Story) -> str:
    """The file's text: the front matter, then the Markdown. `read_story` reads it back to the
    same story; a value that starts or ends with a quote is quoted, so the quote is kept."""
    values = {
        "title": story.title,
        "summary": story.summary,
        "author": story.author,
        "date": story.date.isoformat() if story.date else "",
        "tags": ", ".join(_one_line(t).replace(",", " ") for t in story.tags),
        "agency": story.agency or "",
        "status": story.status,
        "written_by": story.written_by,
    }
    lines = ["---"]
    for key in KEYS:
        value = _one_line(values[key])
        if not value:
            continue
        if value[:1] in "\"'" or value[-1:] in "\"'":
            value = f'"{value}"'
        lines.append(f"{key}: {value}")
    lines.append("---")
    body = story.body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return "\n".join(lines) + "\n\n" + body + "\n"


def story_path(settings: Any, slug: str, pending: bool = False) -> Path:
    """Where the story (or its change waiting for approval) is kept. Only a plain slug is a
    name: anything else (`..`, a slash) is refused before a path is made of it."""
    if not SLUG.match(slug) or len(slug) > 100:
        raise ValueError(f"not a story address: {slug!r}")
    return stories_dir(settings) / (slug + (PENDING_SUFFIX if pending else ".md"))


def write_story(settings: Any, story: Story, pending: bool = False) -> Path:
    """Write the story whole or not at all: a temporary file beside it, then `os.replace`, so
    a reader sees the old text or the new, never half of one."""
    path = story_path(settings, story.slug, pending)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{story.slug}.{secrets.token_hex(6)}.tmp"
    try:
        with temporary.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(format_story(story))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def find_story(settings: Any, slug: str, pending: bool = False) -> Story | None:
    """The story at `slug` (or its pending change), or None when there is none."""
    try:
        path = story_path(settings, slug, pending)
    except ValueError:
        return None
    if not path.is_file():
        return None
    story = read_story(path)
    story.slug = slug  # `{slug}.pending.md` has the stem `{slug}.pending`
    return story


def access_of(story: Story) -> Dataset:
    """The story as the access policy sees it: open data of its agency once published, a
    draft of its agency before. `can` then decides who reads it (everyone, or the agency's
    staff and the CDO), who edits it (`publish`: the agency's staff) and who publishes it
    (`approve`: its data officer, the CDO). A story with no agency is the CDO's alone.

    The object is never added to a database session: it only describes the story."""
    return Dataset(
        id=f"story:{story.slug}",  # never a dataset id, so no agreement can name it
        title=story.title,
        classification=Classification.PUBLIC.value,
        access_level=AccessLevel.PUBLIC.value,
        status="active",
        publication_state=PUBLISHED if story.is_published else DRAFT,
        metadata_public=False,
        agency=Agency(code=story.agency, name=story.agency) if story.agency else None,
    )


def may_read(actor: Actor, story: Story) -> bool:
    return can(actor, Action.READ_METADATA, access_of(story))


def read_story(path: Path) -> Story:
    meta, body = parse_front_matter(path.read_text(encoding="utf-8"))
    try:
        day = dt.date.fromisoformat(meta.get("date", ""))
    except ValueError:
        day = None
    tags = [t.strip() for t in meta.get("tags", "").strip("[]").split(",") if t.strip()]
    # Anything but a plain "published" or no status at all is a draft: a typo in a status
    # must not publish a story.
    status = meta.get("status", PUBLISHED).strip().lower() or PUBLISHED
    return Story(
        slug=path.stem,
        title=meta.get("title") or path.stem.replace("-", " ").capitalize(),
        summary=meta.get("summary", ""),
        author=meta.get("author", ""),
        date=day,
        tags=tags,
        body=body,
        agency=meta.get("agency", "").strip().upper() or None,
        status=PUBLISHED if status == PUBLISHED else DRAFT,
        written_by=meta.get("written_by", ""),
    )


def load_stories(settings: Any, drafts: bool = False) -> list[Story]:
    """Every published story, newest first (with `drafts`, the drafts too); a file whose name
    is not a plain slug (a pending change, a temporary file) is left out."""
    folder = stories_dir(settings)
    if not folder.is_dir():
        return []
    found = [read_story(p) for p in folder.glob("*.md") if SLUG.match(p.stem)]
    if not drafts:
        found = [s for s in found if s.is_published]
    return sorted(found, key=lambda s: (s.date or dt.date.min, s.title), reverse=True)


def matches(story: Story, q: str) -> bool:
    words = q.lower().split()
    text = " ".join([story.title, story.summary, story.author, *story.tags, story.body]).lower()
    return all(word in text for word in words)


def chart_block(text: str) -> dict[str, str]:
    """The `key: value` lines of a chart block; an indented line continues the one above."""
    found: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if line[:1].isspace() and last:
            # An indented line goes on with the value above (a long query).
            found[last] = f"{found[last]} {line.strip()}".strip()
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = key.strip().lower()
            found[last] = value.strip()
    return found


def story_chart(
    request: Request, session: Any, actor: Actor, block: dict[str, str]
) -> Chart | None:
    """The chart of one block, or None when it shows nothing: data the reader may not see, a
    query that does not run, or a block that is not complete."""
    question = TYPES.get(block.get("type", "").lower())
    if question is None or not block.get("dataset") or not block.get("query"):
        return None
    try:
        dataset = service.get_dataset(session, block["dataset"])
        require(actor, Action.READ_ROWS, dataset)
        if dataset.current_version is None:
            return None
        require_rows(session, actor, dataset, "web")
        params = {"$query": block["query"]}
        rows = runner(request, dataset)(params)
    except (StatedataError, QueryError):
        return None
    if not rows or len(rows[0]) < 2:
        return None
    # The words follow the measure: "the most deaths" for a count or a total, "the highest"
    # for an average; a count is named by `y` (deaths), never "rows".
    measure = block.get("measure", "sum").lower()
    measure = "sum" if measure in ("count", "sum") else "avg"
    chart = Chart(Choices(question, "", "", measure, block.get("step", "year").lower()))
    x_name, y_name = block.get("x", "Value"), block.get("y", "value")
    rows = [row[:2] for row in rows if row[0] is not None and row[1] is not None]
    if not rows:
        return None
    if question == "time":
        _over_time(chart, x_name, y_name, rows)
    elif question == "compare":
        _compare(chart, x_name, y_name, rows)
    else:
        _parts(chart, x_name, y_name, rows)
    chart.title = chart.title[:1].upper() + chart.title[1:]
    chart.soda_url = f"/resource/{dataset.id}.json?{urlencode(params)}"
    return chart


def render_story(request: Request, session: Any, actor: Actor, story: Story) -> str:
    """The story's HTML: Markdown without raw HTML, chart blocks replaced by their charts."""
    tokens = MARKDOWN.parse(story.body)
    template = ENV.get_template("story/_chart.html")
    number_ = 0
    for token in tokens:
        if token.type == "fence" and token.info.strip().lower() == "chart":
            chart = story_chart(request, session, actor, chart_block(token.content))
            token.type = "html_block"
            if chart is None or chart.error:
                token.content = ""
                continue
            number_ += 1
            # Rendered by our own template, autoescaped: no text of the story becomes HTML.
            token.content = template.render(chart=chart, n=number_)
    return MARKDOWN.renderer.render(tokens, MARKDOWN.options, {})


def stories_for(request: Request, dataset_id: str) -> list[Story]:
    """The stories that chart or link to a dataset, newest first (for its page)."""
    settings = request.app.state.installation.settings
    marks = (f"dataset: {dataset_id}", f"/d/{dataset_id}")
    return [s for s in load_stories(settings) if any(m in s.body for m in marks)]


ENV.globals["stories_for"] = stories_for


@router.get("/stories", response_class=HTMLResponse)
def story_list(request: Request, installation: deps.InstallationDep) -> HTMLResponse:
    q = request.query_params.get("q", "").strip()[:200]
    stories = load_stories(installation.settings)
    if q:
        stories = [s for s in stories if matches(s, q)]
    return render(request, "stories.html", stories=stories, q=q)


@router.get("/stories/{slug}", response_class=HTMLResponse)
def story_page(
    slug: str,
    request: Request,
    installation: deps.InstallationDep,
    session: deps.SessionDep,
    actor: deps.ActorDep,
) -> HTMLResponse:
    story = find_story(installation.settings, slug)
    # A draft is the same 404 as no story at all to anyone who may not edit it.
    if story is None or not may_read(actor, story):
        return not_found(request, "story")
    html = render_story(request, session, actor, story)
    response = render(request, "story.html", story=story, body=html)
    if story.is_published:
        # Staff checking a draft are not readers.
        request.app.state.usage.record(story.key, "story_view", dt.datetime.now(dt.UTC).date())
    return response
