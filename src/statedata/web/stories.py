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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt

from statedata.access import Action, Actor, require
from statedata.access.reads import require_rows
from statedata.api import deps
from statedata.catalog import service
from statedata.errors import StatedataError
from statedata.query import QueryError
from statedata.web.base import ENV, not_found, render
from statedata.web.charts import Chart, Choices, _compare, _over_time, _parts, runner

router = APIRouter(include_in_schema=False)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
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
            meta[key.strip().lower()] = value.strip().strip('"').strip("'")
    return {}, text  # never closed: all of it is the story


def read_story(path: Path) -> Story:
    meta, body = parse_front_matter(path.read_text(encoding="utf-8"))
    try:
        day = dt.date.fromisoformat(meta.get("date", ""))
    except ValueError:
        day = None
    tags = [t.strip() for t in meta.get("tags", "").strip("[]").split(",") if t.strip()]
    return Story(
        slug=path.stem,
        title=meta.get("title") or path.stem.replace("-", " ").capitalize(),
        summary=meta.get("summary", ""),
        author=meta.get("author", ""),
        date=day,
        tags=tags,
        body=body,
    )


def load_stories(settings: Any) -> list[Story]:
    """Every story, newest first; a file whose name is not a plain slug is left out."""
    folder = stories_dir(settings)
    if not folder.is_dir():
        return []
    found = [read_story(p) for p in folder.glob("*.md") if SLUG.match(p.stem)]
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
    path = stories_dir(installation.settings) / f"{slug}.md"
    if not SLUG.match(slug) or not path.is_file():
        return not_found(request, "story")
    story = read_story(path)
    html = render_story(request, session, actor, story)
    response = render(request, "story.html", story=story, body=html)
    request.app.state.usage.record(story.key, "story_view", dt.datetime.now(dt.UTC).date())
    return response
