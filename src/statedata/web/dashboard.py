"""The plan metrics dashboard at `/metrics`: every metric of `/api/v1/metrics` with its
definition and the plan goal it measures, its value now, a takeaway sentence, and its numbers
over time and by agency as tables (rendered here), with Vega-Lite charts drawn over them by
the same script as the chart builder, following the same rules (takeaway first, direct labels,
one dark colour, never colour alone, a table beside every chart).

The report behind the page is kept for `metrics_page_seconds` (`PageFigures`); the API's
`/api/v1/metrics` works it out on every call.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from statedata.api import deps
from statedata.catalog import service
from statedata.installation import Installation
from statedata.metrics import plan
from statedata.metrics.publish import report
from statedata.web.base import MONTHS, number, render
from statedata.web.charts import MARK, base_spec

router = APIRouter(include_in_schema=False)

TOP_AGENCIES = 10


def shown(value: float | int | None, unit: str) -> str:
    """A metric's value as people read it: 1,234; 28%; 12 days; 76 of 100."""
    if value is None:
        return "not measured"
    if unit == "share":
        return f"{round(100 * value)}%"
    if unit == "days":
        return f"{number(round(value, 1))} days"
    if unit == "score":
        return f"{number(round(value, 1))} of 100"
    return number(value)


def month_name(key: str) -> str:
    year, month = key.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


@dataclass
class MetricView:
    key: str
    name: str
    definition: str
    goal: int
    goal_name: str
    unit: str
    value: str
    trend: str = ""
    series: list[tuple[str, str]] = field(default_factory=list)
    agencies: list[tuple[str, str]] = field(default_factory=list)
    agency_count: int = 0
    time_spec: dict[str, Any] | None = None
    agency_spec: dict[str, Any] | None = None
    agency_summary: str = ""


def _scale(unit: str) -> float:
    return 100.0 if unit == "share" else 1.0


def trend(series: list[dict], unit: str) -> str:
    """A plain sentence of how the metric moved over the months of the series."""
    points = [(p["month"], p["value"]) for p in series if p.get("value") is not None]
    if len(points) < 2:
        return ""
    (first_month, first), (last_month, last) = points[0], points[-1]
    since, until = month_name(first_month), month_name(last_month)
    moved = f"from {shown(first, unit)} in {since} to {shown(last, unit)} in {until}."
    if last > first:
        return f"Up {moved}"
    if last < first:
        return f"Down {moved}"
    return f"The same in {until} as in {since}: {shown(last, unit)}."


def _time_spec(metric: dict, summary: str) -> dict[str, Any]:
    unit = metric["unit"]
    scale = _scale(unit)
    values = [
        {
            "month": f"{p['month']}-01",
            "value": p["value"] * scale,
            "text": shown(p["value"], unit),
        }
        for p in metric["series"]
        if p.get("value") is not None
    ]
    values[-1]["last"] = True  # the one value labelled at the end of the line
    spec = base_spec(summary, values)
    spec["height"] = 180
    x = {"field": "month", "type": "temporal", "timeUnit": "yearmonth", "title": None}
    y = {
        "field": "value",
        "type": "quantitative",
        "title": {"share": "Per cent", "days": "Days", "score": "Score"}.get(unit, "Count"),
        "scale": {"domainMin": 0},
        "axis": {"format": ",~r"},
    }
    if all(v["value"] == 0 for v in values):
        # Nothing yet: a flat line at 0 on a 0-to-1 scale, not an axis of 0.000000.
        y["scale"] = {"domain": [0, 1]}
        y["axis"] = {"values": [0]}
    spec["layer"] = [
        {
            "mark": {"type": "line", "color": MARK, "strokeWidth": 3, "point": {"size": 40}},
            "encoding": {"x": x, "y": y},
        },
        {
            "transform": [{"filter": "datum.last"}],
            "mark": {"type": "text", "align": "right", "dy": -12, "fontWeight": "bold"},
            "encoding": {"x": x, "y": y, "text": {"field": "text"}},
        },
    ]
    return spec


def _agency_spec(rows: list[tuple[str, float, str]], unit: str, summary: str) -> dict[str, Any]:
    values = [
        {"label": name, "value": value * _scale(unit), "text": text} for name, value, text in rows
    ]
    spec = base_spec(summary, values)
    spec["height"] = {"step": 24}
    spec["padding"] = {"left": 5, "top": 5, "bottom": 5, "right": 56}  # room for the labels
    y = {
        "field": "label",
        "type": "nominal",
        "sort": None,
        "title": None,
        "axis": {"labelLimit": 150},
    }
    x = {"field": "value", "type": "quantitative", "title": None, "axis": None}
    spec["layer"] = [
        {"mark": {"type": "bar", "color": MARK}, "encoding": {"y": y, "x": x}},
        {
            "mark": {"type": "text", "align": "left", "dx": 4},
            "encoding": {"y": y, "x": x, "text": {"field": "text"}},
        },
    ]
    return spec


def view(metric: dict, agency_names: dict[str, str]) -> MetricView:
    unit = metric["unit"]
    found = MetricView(
        key=metric["key"],
        name=metric["name"],
        definition=metric["definition"],
        goal=metric["goal"],
        goal_name=metric["goal_name"],
        unit=unit,
        value=shown(metric["value"], unit),
    )
    series = metric.get("series") or []
    if series:
        found.trend = trend(series, unit)
        found.series = [(month_name(p["month"]), shown(p.get("value"), unit)) for p in series]
        if any(p.get("value") is not None for p in series):
            found.time_spec = _time_spec(metric, found.trend or f"{metric['name']} by month.")
    by_agency = metric.get("by_agency") or {}
    ranked = sorted(
        (
            (agency_names.get(code, code), value)
            for code, value in by_agency.items()
            if value is not None
        ),
        key=lambda item: (-item[1], item[0]),
    )
    found.agency_count = len(ranked)
    top = [(name, value, shown(value, unit)) for name, value in ranked[:TOP_AGENCIES]]
    found.agencies = [(name, text) for name, _, text in top]
    if top:
        found.agency_summary = f"Highest: {top[0][0]}, {top[0][2]}" + (
            f"; of {len(ranked)} agencies, the {len(top)} highest are shown."
            if len(ranked) > len(top)
            else "."
        )
        found.agency_spec = _agency_spec(top, unit, found.agency_summary)
    return found


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Figures:
    """The plan report as the page shows it, the agencies' names, and when it was worked out."""

    report: dict[str, Any]
    agency_names: dict[str, str]
    worked_out_at: dt.datetime


class PageFigures:
    """The dashboard's figures, worked out at most once every `seconds` for each day.

    One copy serves every viewer: the report counts public datasets only, names none, and is
    worked out without the viewer (`metrics.plan.compute` takes no user), as the public API's
    is. The key is all the report depends on besides the catalog: the day, here with the
    page's fixed scope (every agency, the plan's first year). Worked out under a lock, so
    views arriving together wait for one computation rather than each start their own.
    """

    def __init__(self, seconds: float, clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._kept: tuple[tuple[Any, ...], Figures] | None = None

    def get(self, installation: Installation) -> Figures:
        with self._lock:
            now = self.clock()
            key = (now.date(), None, plan.DEFAULT_SINCE_YEAR)
            kept = self._kept
            if (
                kept is not None
                and kept[0] == key
                and (now - kept[1].worked_out_at).total_seconds() < self.seconds
            ):
                return kept[1]
            as_of, agency, since_year = key
            found = report(installation, as_of, agency=agency, since_year=since_year).as_dict()
            with installation.catalog.session() as session:
                names = {a.code: a.name for a in service.list_agencies(session)}
            figures = Figures(found, names, now)
            self._kept = (key, figures)
            return figures


_MAKING = threading.Lock()


def page_figures(request: Request) -> PageFigures:
    """The app's `PageFigures`, made on the first view."""
    state = request.app.state
    with _MAKING:
        kept = getattr(state, "metrics_page", None)
        if kept is None:
            seconds = state.installation.settings.metrics_page_seconds
            kept = state.metrics_page = PageFigures(seconds)
    return kept


@router.get("/metrics", response_class=HTMLResponse)
def dashboard(request: Request, installation: deps.InstallationDep) -> HTMLResponse:
    figures = page_figures(request).get(installation)
    found = figures.report
    metrics = [view(m, figures.agency_names) for m in found["metrics"]]
    goals = [
        (int(number_), name, [m for m in metrics if m.goal == int(number_)])
        for number_, name in sorted(found["goals"].items())
    ]
    as_of = dt.date.fromisoformat(found["as_of"])
    return render(
        request,
        "metrics.html",
        goals=goals,
        as_of=as_of,
        figures_time=figures.worked_out_at.astimezone(dt.UTC).strftime("%H:%M UTC"),
        metric_count=len(metrics),
    )
