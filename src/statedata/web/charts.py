"""The chart builder of a dataset page: the reader asks a question of the data (how it changed
over time, which is biggest, what share each part has, whether two numbers go together, how
values are spread), picks columns and a measure, and gets a chart whose type follows the
question, with a plain-language takeaway title, a one-line summary and the numbers as a table.

Following the state's data visualization guidelines: the title says the takeaway, marks are
labelled directly (no legends), colours are colour-blind-safe and at WCAG contrast, and colour
never carries meaning alone (labels, separators and the table say the same). The query is SoQL
run by the SODA API's own engine; column names come only from the data dictionary, and the
only other values in it are numbers this module computed (histogram bin edges).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from statedata.access import Action, require
from statedata.access.reads import require_rows
from statedata.api import deps
from statedata.catalog.models import Dataset
from statedata.errors import InvalidInput, StatedataError
from statedata.query import QueryEngine, QueryError, columns_of, compile_query, parse_request
from statedata.storage.versions import version_path, version_rows_sql
from statedata.web.base import ENV, MONTHS, dataset_path, not_found, number, render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Question:
    code: str
    label: str
    chart: str  # the chart type the guidelines suggest for the question
    column_hint: str


QUESTIONS = {
    q.code: q
    for q in (
        Question("compare", "Which is biggest or smallest?", "bar", "a column of names or kinds"),
        Question("time", "How has it changed over time?", "line", "a date column"),
        Question("parts", "What share does each part have?", "stacked bar", "a column of kinds"),
        Question("relation", "Do two numbers go together?", "scatter", "a number column"),
        Question("spread", "How are the values spread out?", "histogram", "a number column"),
    )
}
MEASURES = {
    "count": "Number of rows",
    "sum": "Total of",
    "avg": "Average of",
    "min": "Smallest",
    "max": "Largest",
}
STEPS = {"year": "date_trunc_y", "month": "date_trunc_ym", "day": "date_trunc_ymd"}
DATE_TYPES = frozenset({"floating_timestamp", "calendar_date", "fixed_timestamp", "date"})
# Colour-blind-safe (Okabe-Ito hues, darkened): each is at least 3:1 against the white page
# (WCAG 1.4.11) and white label text on each is at least 4.5:1.
PALETTE = ["#0072b2", "#b34700", "#007a5a", "#aa3377", "#6f4e00", "#565c65"]
INK = "#1b1b1b"
MARK = "#005ea2"
TOP_BARS = 15
TOP_PARTS = 5
SCATTER_POINTS = 1000
BINS = 10
TABLE_ROWS = 100
IDENTIFIER = re.compile(r"(^|_)(id|number|no|code|key|address|name)$")


@dataclass(frozen=True)
class ChartColumn:
    field: str
    name: str
    kind: str  # "number", "date" or "text"


@dataclass
class Choices:
    question: str = ""
    x: str = ""
    y: str = ""
    measure: str = "count"
    step: str = "month"

    def as_params(self) -> dict[str, str]:
        found = {"chart": self.question, "x": self.x, "measure": self.measure}
        if self.y:
            found["y"] = self.y
        if self.question == "time":
            found["step"] = self.step
        return found


@dataclass
class Chart:
    """A chart ready to show: or `error`, a plain message of what to change."""

    choices: Choices
    title: str = ""
    summary: str = ""
    headers: list[str] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""
    spec: dict[str, Any] | None = None
    soda_url: str = ""
    error: str = ""
    key: list[Any] = field(default_factory=list)  # a map's shades, each with its range
    shapes_title: str = ""  # the dataset a map's areas come from
    shapes_path: str = ""


def chart_columns(dataset: Dataset) -> list[ChartColumn]:
    """The columns a chart may use: those of the data dictionary, with a kind each."""
    found = []
    for column in sorted(dataset.columns, key=lambda c: c.position):
        kind = column.data_type
        if kind == "number":
            found.append(
                ChartColumn(column.field_name, column.display_name or column.field_name, "number")
            )
        elif kind in DATE_TYPES:
            found.append(
                ChartColumn(column.field_name, column.display_name or column.field_name, "date")
            )
        elif kind in ("text", "checkbox"):
            found.append(
                ChartColumn(column.field_name, column.display_name or column.field_name, "text")
            )
    return found


def default_choices(columns: list[ChartColumn]) -> Choices:
    """A first chart worth seeing: the count of rows by the first text column, or over time."""
    # An identifier has a value a row, so a chart of it says nothing: prefer a kind of thing.
    texts = [c for c in columns if c.kind == "text" and not IDENTIFIER.search(c.field)]
    dates = [c for c in columns if c.kind == "date"]
    numbers = [c for c in columns if c.kind == "number"]
    if texts:
        return Choices("compare", texts[0].field, "", "count")
    if dates:
        return Choices("time", dates[0].field, "", "count")
    if numbers:
        return Choices("spread", numbers[0].field, "", "count")
    return Choices()


def read_choices(params: Mapping[str, str], columns: list[ChartColumn]) -> Choices:
    if not params.get("chart"):
        return default_choices(columns)
    return Choices(
        question=params.get("chart", ""),
        x=params.get("x", ""),
        y=params.get("y", ""),
        measure=params.get("measure", "count") or "count",
        step=params.get("step", "month") or "month",
    )


def _column(columns: list[ChartColumn], name: str, role: str) -> ChartColumn:
    for column in columns:
        if column.field == name:
            return column
    raise InvalidInput(f"Pick {role} from the list: this dataset has no column '{name}'.")


def _measure(choices: Choices, columns: list[ChartColumn]) -> tuple[str, str]:
    """The SoQL of the measure and its plain name."""
    if choices.measure not in MEASURES:
        raise InvalidInput("Pick a measure from the list: number of rows, total, average, ...")
    if choices.measure == "count":
        return "count(*)", "rows"
    if not choices.y:
        raise InvalidInput(f"Pick the number column to take the {choices.measure} of.")
    column = _column(columns, choices.y, "the number column")
    if column.kind != "number":
        raise InvalidInput(f"{column.name} is not a number column: pick one that is.")
    word = {"sum": "total", "avg": "average", "min": "smallest", "max": "largest"}[choices.measure]
    name = column.name if column.name.lower().startswith(word) else f"{word} {column.name}"
    return f"{choices.measure}(`{choices.y}`)", name


def plan(choices: Choices, columns: list[ChartColumn]) -> dict[str, str]:
    """The SoQL parameters of the chart's main query; InvalidInput when the choices do not fit.

    Only dictionary field names (in backticks) and numbers this module wrote reach the query.
    """
    question = QUESTIONS.get(choices.question)
    if question is None:
        raise InvalidInput("Pick a question from the list.")
    x = _column(columns, choices.x, "the column to look at")
    if choices.question == "time":
        if x.kind != "date":
            raise InvalidInput(f"{x.name} is not a date: for a change over time pick a date.")
        if choices.step not in STEPS:
            raise InvalidInput("Pick a time step: year, month or day.")
        value, _ = _measure(choices, columns)
        return {
            "$select": f"{STEPS[choices.step]}(`{x.field}`) AS period, {value} AS value",
            "$where": f"`{x.field}` IS NOT NULL",
            "$group": "period",
            "$order": "period",
            "$limit": "5000",
        }
    if choices.question in ("compare", "parts"):
        if x.kind == "number" and choices.question == "parts":
            raise InvalidInput(f"{x.name} is a number: for shares pick a column of kinds.")
        if choices.question == "parts" and choices.measure not in ("count", "sum"):
            raise InvalidInput("Shares add up only for a count or a total: pick one of those.")
        value, _ = _measure(choices, columns)
        return {
            "$select": f"`{x.field}` AS label, {value} AS value",
            "$where": f"`{x.field}` IS NOT NULL",
            "$group": f"`{x.field}`",
            "$order": "value DESC, label",
            "$limit": str(TOP_BARS if choices.question == "compare" else 1000),
        }
    if choices.question == "relation":
        y = _column(columns, choices.y, "the second number column")
        if x.kind != "number" or y.kind != "number":
            raise InvalidInput("To see if two numbers go together, pick two number columns.")
        return {
            "$select": f"`{x.field}` AS x, `{y.field}` AS y",
            "$where": f"`{x.field}` IS NOT NULL AND `{y.field}` IS NOT NULL",
            "$limit": str(SCATTER_POINTS),
        }
    if x.kind != "number":
        raise InvalidInput(f"{x.name} is not a number: to see how values spread, pick a number.")
    return {
        "$select": (
            f"min(`{x.field}`) AS low, max(`{x.field}`) AS high, "
            f"avg(`{x.field}`) AS mean, count(`{x.field}`) AS n"
        )
    }


def bin_edges(low: float, high: float, bins: int = BINS) -> list[float]:
    """`bins + 1` round edges from at most `low` to at least `high`, equally spaced."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidInput("These values cannot be spread into groups.")
    if high - low <= max(abs(low), 1.0) * 1e-9:
        # One value (or as good as one): one bin around it.
        return [low, low + max(abs(low), 1.0) * 1e-6 + 1]
    raw = (high - low) / bins
    power = 10 ** math.floor(math.log10(raw))
    width = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / width) * width
    if start > low:
        # A value too near zero for low / width (it rounds to -0.0): one step lower.
        start -= width
    edges = [start]
    while edges[-1] <= high and len(edges) <= bins + 2:
        edges.append(start + len(edges) * width)
    return edges


def _plain(value: float) -> str:
    """A float as a SoQL number literal: digits and a point, never an exponent."""
    return format(Decimal(repr(value)), "f")


def bins_query(field_name: str, edges: list[float]) -> dict[str, str]:
    """Count the values of `field_name` in each bin [edges[i], edges[i+1])."""
    cases = ", ".join(f"`{field_name}` < {_plain(edge)}, {i}" for i, edge in enumerate(edges[1:-1]))
    last = len(edges) - 2
    expression = f"case({cases}, true, {last})" if cases else "0"
    return {
        "$select": f"{expression} AS bin, count(*) AS n",
        "$where": f"`{field_name}` IS NOT NULL",
        "$group": "bin",
        "$order": "bin",
    }


def _num(value: Any) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else float(str(value))


def period_name(value: Any, step: str) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if step == "year":
        return str(value.year)
    if step == "month":
        return f"{MONTHS[value.month - 1]} {value.year}"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _share(part: float, whole: float) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def correlation(pairs: list[tuple[float, float]]) -> float | None:
    """Pearson's r of the pairs; None when either number does not vary."""
    n = len(pairs)
    if n < 3:
        return None
    mx = sum(p[0] for p in pairs) / n
    my = sum(p[1] for p in pairs) / n
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    syy = sum((p[1] - my) ** 2 for p in pairs)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pairs)
    return sxy / math.sqrt(sxx * syy)


def base_spec(description: str, values: list[dict]) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": description,
        "width": "container",
        "height": 300,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": values},
        "config": {
            "font": "Source Sans Pro, Helvetica Neue, Helvetica, Arial, sans-serif",
            "axis": {
                "labelColor": INK,
                "titleColor": INK,
                "labelFontSize": 13,
                "titleFontSize": 14,
                "domainColor": INK,
                "tickColor": INK,
                "gridColor": "#dfe1e2",
            },
            "text": {"color": INK, "fontSize": 13},
            "view": {"stroke": None},
            # The figure around the chart carries the text alternative.
            "aria": False,
        },
    }


def build(choices: Choices, columns: list[ChartColumn], run: Any, soda_base: str) -> Chart:
    """The chart for `choices`: `run(params)` answers SoQL parameters with rows."""
    chart = Chart(choices)
    try:
        params = plan(choices, columns)
        names = {c.field: c.name for c in columns}
        x_name = names.get(choices.x, choices.x)
        if choices.question == "spread":
            low, high, mean, n = run(params)[0]
            if not n:
                raise InvalidInput(f"{x_name} has no values to spread out.")
            edges = bin_edges(_num(low), _num(high))
            params = bins_query(choices.x, edges)
            counted = {int(_num(b)): int(_num(c)) for b, c in run(params)}
            _spread(chart, x_name, edges, counted, _num(low), _num(high), _num(mean), int(n))
        else:
            rows = run(params)
            if not rows:
                raise InvalidInput("No rows have a value for these columns: pick others.")
            _, measure = _measure(choices, columns) if choices.question != "relation" else ("", "")
            if choices.question == "time":
                _over_time(chart, x_name, measure, rows)
            elif choices.question == "compare":
                _compare(chart, x_name, measure, rows)
            elif choices.question == "parts":
                _parts(chart, x_name, measure, rows)
            else:
                _relation(chart, x_name, names.get(choices.y, choices.y), rows)
        chart.soda_url = f"{soda_base}?{urlencode(params)}"
    except (InvalidInput, QueryError) as error:
        chart.error = error.message
    return chart


def _over_time(chart: Chart, x_name: str, measure: str, rows: list[tuple]) -> None:
    step = chart.choices.step
    points = [(period_name(p, step), _num(v), p) for p, v in rows]
    first, last = points[0], points[-1]
    top = max(points, key=lambda p: p[1])
    low = min(points, key=lambda p: p[1])
    what = measure.capitalize()
    if len(points) == 1:
        chart.title = f"{what}: {number(first[1])} in {first[0]}"
    elif last[1] > first[1]:
        chart.title = (
            f"{what} rose from {number(first[1])} in {first[0]} to {number(last[1])} in {last[0]}"
        )
    elif last[1] < first[1]:
        chart.title = (
            f"{what} fell from {number(first[1])} in {first[0]} to {number(last[1])} in {last[0]}"
        )
    else:
        chart.title = f"{what} was {number(first[1])} in both {first[0]} and {last[0]}"
    same = x_name.lower() == step
    heading = x_name if same else f"{x_name} ({step})"
    chart.summary = (
        f"{len(points)} {step if len(points) == 1 else step + 's'}"
        + ("" if same else f" of {x_name}")
        + f": highest {number(top[1])} in {top[0]}, lowest {number(low[1])} in {low[0]}."
    )
    chart.headers = [heading, measure.capitalize()]
    chart.numeric = [False, True]
    chart.rows = [[p[0], number(p[1])] for p in points]
    values = [
        {"period": _iso(p[2]), "name": p[0], "value": p[1], "text": number(p[1])} for p in points
    ]
    values[-1]["last"] = True  # the one value labelled at the end of the line
    spec = base_spec(chart.summary, values)
    unit = {"year": "year", "month": "yearmonth", "day": "yearmonthdate"}[step]
    x = {"field": "period", "type": "temporal", "timeUnit": unit, "title": heading}
    y = {"field": "value", "type": "quantitative", "title": measure.capitalize()}
    spec["layer"] = [
        {
            "mark": {"type": "line", "color": MARK, "strokeWidth": 3, "point": {"size": 50}},
            "encoding": {"x": x, "y": y},
        },
        {
            # The last value labelled at the line's end, instead of a legend or a tooltip.
            "transform": [{"filter": "datum.last"}],
            "mark": {"type": "text", "align": "right", "dy": -14, "fontWeight": "bold"},
            "encoding": {"x": x, "y": y, "text": {"field": "text"}},
        },
    ]
    chart.spec = spec


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _compare(chart: Chart, x_name: str, measure: str, rows: list[tuple]) -> None:
    bars = [(_label(label), _num(value)) for label, value in rows]
    top, bottom = bars[0], bars[-1]
    word = "most" if chart.choices.measure in ("count", "sum") else "highest"
    noun = "rows" if chart.choices.measure == "count" else measure
    chart.title = f"{top[0]} has the {word} {noun}: {number(top[1])}"
    tied = sum(1 for _, value in bars if value == top[1])
    if tied > 1 and tied == len(bars):
        same = "number of rows" if noun == "rows" else noun
        chart.title = f"All {tied} have the same {same}: {number(top[1])} each"
    elif tied > 1:
        chart.title = f"{top[0]} and {tied - 1} more share the {word} {noun}: {number(top[1])}"
    shown = f"the {len(bars)} with the most" if len(bars) == TOP_BARS else f"all {len(bars)}"
    chart.summary = (
        f"{measure.capitalize()} by {x_name}, {shown}: {top[0]} is first with "
        f"{number(top[1])}"
        + (f", {bottom[0]} last with {number(bottom[1])}." if len(bars) > 1 else ".")
    )
    chart.headers = [x_name, measure.capitalize()]
    chart.numeric = [False, True]
    chart.rows = [[label, number(value)] for label, value in bars]
    values = [{"label": label, "value": value, "text": number(value)} for label, value in bars]
    spec = base_spec(chart.summary, values)
    spec["height"] = {"step": 28}
    # Room at the right for the value written at the end of the longest bar.
    spec["padding"] = {"left": 5, "top": 5, "bottom": 5, "right": 56}
    y = {
        "field": "label",
        "type": "nominal",
        "sort": None,
        "title": None,
        "axis": {"labelLimit": 160},
    }
    x = {
        "field": "value",
        "type": "quantitative",
        "title": measure.capitalize(),
        "axis": {"grid": False},
    }
    spec["layer"] = [
        {"mark": {"type": "bar", "color": MARK}, "encoding": {"y": y, "x": x}},
        {
            "mark": {"type": "text", "align": "left", "dx": 4},
            "encoding": {"y": y, "x": x, "text": {"field": "text"}},
        },
    ]
    chart.spec = spec


def _parts(chart: Chart, x_name: str, measure: str, rows: list[tuple]) -> None:
    parts = [(_label(label), _num(value)) for label, value in rows]
    whole = sum(v for _, v in parts)
    shown = parts[:TOP_PARTS]
    rest = parts[TOP_PARTS:]
    if rest:
        shown.append((f"All {len(rest)} others", sum(v for _, v in rest)))
    top = shown[0]
    chart.title = f"{top[0]} has the largest share: {_share(top[1], whole)} of {measure}"
    tied = sum(1 for _, value in parts if value == top[1])
    if tied > 1 and tied == len(parts):
        chart.title = (
            f"All {tied} parts are the same size: {_share(top[1], whole)} of {measure} each"
        )
    elif tied > 1:
        chart.title = (
            f"{tied} parts tie for the largest share: {_share(top[1], whole)} of {measure} each"
        )
    chart.summary = (
        f"{number(whole)} {measure} in all, split by {x_name} into {len(parts)} parts; "
        + "; ".join(f"{label} {_share(value, whole)}" for label, value in shown)
        + "."
    )
    chart.headers = [x_name, measure.capitalize(), "Share"]
    chart.numeric = [False, True, True]
    chart.rows = [
        [f"{i}. {label}", number(value), _share(value, whole)]
        for i, (label, value) in enumerate(shown, start=1)
    ]
    values = []
    so_far = 0.0
    for label, value in shown:
        share = value / whole if whole else 0.0
        values.append(
            {
                "label": label,
                "start": so_far,
                "end": so_far + share,
                "middle": so_far + share / 2,
                # Parts too narrow for their name are named in the table beside the chart.
                "text": _part_text(len(values) + 1, label, share),
            }
        )
        so_far += share
    spec = base_spec(chart.summary, values)
    spec["height"] = 70
    x = {
        "field": "start",
        "type": "quantitative",
        "title": f"Share of {measure}",
        "scale": {"domain": [0, 1]},
        "axis": {"format": "%", "grid": False},
    }
    spec["layer"] = [
        {
            # White edges between parts, so they are told apart without their colour.
            "mark": {"type": "bar", "stroke": "#ffffff", "strokeWidth": 2},
            "encoding": {
                "x": x,
                "x2": {"field": "end"},
                "color": {
                    "field": "label",
                    "type": "nominal",
                    "sort": None,
                    "scale": {"range": PALETTE},
                    "legend": None,
                },
            },
        },
        {
            "mark": {"type": "text", "color": "#ffffff", "fontWeight": "bold"},
            "encoding": {
                "x": {"field": "middle", "type": "quantitative"},
                "text": {"field": "text"},
            },
        },
    ]
    chart.spec = spec


def _part_text(position: int, label: str, share: float) -> str:
    """A part's label in the bar: its number in the table always (so no part is told by its
    colour alone), with its name and share when there is room."""
    if share >= 0.3:
        return f"{position}. {label}: {round(100 * share)}%"
    if share >= 0.1:
        return f"{position}. {round(100 * share)}%"
    return str(position) if share >= 0.02 else ""


def _relation(chart: Chart, x_name: str, y_name: str, rows: list[tuple]) -> None:
    pairs = [(_num(x), _num(y)) for x, y in rows]
    r = correlation(pairs)
    if r is None or abs(r) < 0.2:
        chart.title = f"{x_name} and {y_name} show little relation"
    elif r > 0:
        chart.title = f"Where {x_name} is higher, {y_name} tends to be higher too"
    else:
        chart.title = f"Where {x_name} is higher, {y_name} tends to be lower"
    strength = "" if r is None else f" (correlation {r:.2f}, from -1 to 1)"
    chart.summary = f"{len(pairs):,} rows, each a point of {x_name} and {y_name}{strength}."
    if len(pairs) == SCATTER_POINTS:
        chart.note = f"The chart shows the first {SCATTER_POINTS:,} rows with both numbers."
    chart.headers = [x_name, y_name]
    chart.numeric = [True, True]
    chart.rows = [[number(x), number(y)] for x, y in pairs[:TABLE_ROWS]]
    if len(pairs) > TABLE_ROWS:
        chart.note = (chart.note + f" The table lists the first {TABLE_ROWS}.").strip()
    spec = base_spec(chart.summary, [{"x": x, "y": y} for x, y in pairs])
    spec["mark"] = {"type": "point", "color": MARK, "filled": False, "strokeWidth": 1.5}
    spec["encoding"] = {
        "x": {"field": "x", "type": "quantitative", "title": x_name, "scale": {"zero": False}},
        "y": {"field": "y", "type": "quantitative", "title": y_name, "scale": {"zero": False}},
    }
    chart.spec = spec


def _spread(
    chart: Chart,
    x_name: str,
    edges: list[float],
    counted: dict[int, int],
    low: float,
    high: float,
    mean: float,
    n: int,
) -> None:
    bins = [(edges[i], edges[i + 1], counted.get(i, 0)) for i in range(len(edges) - 1)]
    busiest = max(bins, key=lambda b: b[2])
    chart.title = (
        f"Most often, {x_name} is from {number(busiest[0])} to under {number(busiest[1])}: "
        f"{number(busiest[2])} of {number(n)} rows"
    )
    if sum(1 for b in bins if b[2] == busiest[2]) > 1:
        chart.title = (
            f"{x_name.capitalize()} is spread out: no range has more than "
            f"{number(busiest[2])} of the {number(n)} rows"
        )
    chart.summary = (
        f"{number(n)} values of {x_name}, from {number(low)} to {number(high)}, "
        f"{number(round(mean, 2))} on average, counted in {len(bins)} equal ranges."
    )
    chart.headers = [f"{x_name} from", "to under", "Rows"]
    chart.numeric = [True, True, True]
    chart.rows = [[number(a), number(b), number(c)] for a, b, c in bins]
    values = [{"start": a, "end": b, "count": c, "text": number(c)} for a, b, c in bins]
    spec = base_spec(chart.summary, values)
    x = {"field": "start", "type": "quantitative", "title": x_name, "scale": {"zero": False}}
    y = {"field": "count", "type": "quantitative", "title": "Rows"}
    spec["layer"] = [
        {
            "mark": {"type": "bar", "color": MARK, "stroke": "#ffffff", "strokeWidth": 1},
            "encoding": {"x": x, "x2": {"field": "end"}, "y": y},
        },
        {
            "transform": [{"calculate": "(datum.start + datum.end) / 2", "as": "middle"}],
            "mark": {"type": "text", "dy": -8},
            "encoding": {
                "x": {"field": "middle", "type": "quantitative"},
                "y": y,
                "text": {"field": "text"},
            },
        },
    ]
    chart.spec = spec


def runner(request: Request, dataset: Dataset):  # type: ignore[no-untyped-def]
    """A function that runs SoQL parameters over the dataset's current rows with the SODA
    API's engine, as `/resource/{id}.json` would."""
    installation = request.app.state.installation
    engine: QueryEngine = request.app.state.query_engine
    version = dataset.current_version
    settings = installation.settings
    table_sql = version_rows_sql(installation, version)
    schema_columns = columns_of(version.schema)
    text_columns = [c.field_name for c in schema_columns if c.soda_type == "text"]
    index = engine.indexes.get(
        version_path(installation, version), table_sql, version.schema, text_columns
    )

    def run(params: dict[str, str]) -> list[tuple]:
        query = parse_request(params, schema_columns, max_limit=settings.soda_max_limit)
        compiled = compile_query(query, table_sql, rows_in_id_order=True, index=index)
        return engine.run(compiled, settings.query_timeout_seconds).rows

    return run


def chart_form(
    dataset: Dataset,
    params: Mapping[str, str],
    request: Request | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    """What the chart builder's form shows: the columns by kind and the current choices. With
    the request, also the columns of places a map can be drawn by (the "Where?" question is
    offered only when there are some)."""
    columns = chart_columns(dataset)
    places = _places(request, session, dataset) if request is not None else []
    questions = list(QUESTIONS.values())
    if places:
        questions.append(_choropleth.QUESTION)
    return {
        "columns": columns,
        "numbers": [c for c in columns if c.kind == "number"],
        "choices": read_choices(params, columns),
        "questions": questions,
        "places": places,
        "measures": MEASURES,
        "steps": list(STEPS),
    }


def _places(request: Request, session: Session | None, dataset: Dataset) -> list[Any]:
    try:
        if session is not None:
            return _choropleth.place_columns(request, session, dataset)
        with request.app.state.installation.catalog.session() as own:
            return _choropleth.place_columns(request, own, dataset)
    except (QueryError, StatedataError):
        # No map is offered when the shapes cannot be read; the other questions still are.
        return []


ENV.globals["chart_form"] = chart_form


@router.get("/d/{ident:fourbyfour}/chart", response_class=HTMLResponse)
def chart_view(
    ident: str, request: Request, session: deps.SessionDep, actor: deps.ActorDep
) -> HTMLResponse:
    """The chart for the choices in the address: a fragment for htmx, else a whole page."""
    from statedata.catalog import service

    try:
        dataset = service.get_dataset(session, ident)
        require(actor, Action.READ_METADATA, dataset)
        if dataset.current_version is None:
            return not_found(request, "dataset")
        require_rows(session, actor, dataset, "web")
    except StatedataError:
        # Not visible, or visible but its rows are not: either way nothing to draw.
        return not_found(request, "dataset")
    columns = chart_columns(dataset)
    choices = read_choices(request.query_params, columns)
    if choices.question == _choropleth.QUESTION.code:
        chart = _choropleth.places_chart(request, session, actor, dataset, choices, columns)
    else:
        chart = build(choices, columns, runner(request, dataset), f"/resource/{dataset.id}.json")
    fragment = request.headers.get("HX-Request") == "true"
    page_path = dataset_path(dataset)
    response = render(
        request,
        "dataset/_chart_result.html" if fragment else "dataset/chart_page.html",
        status_code=400 if chart.error else 200,
        dataset=dataset,
        chart=chart,
        # The fragment is the chart alone; only the whole page has the form.
        form=None if fragment else chart_form(dataset, request.query_params, request, session),
        page_path=page_path,
    )
    if fragment:
        params = urlencode(chart.choices.as_params())
        response.headers["HX-Push-Url"] = f"{page_path}?{params}#chart"
    return response


# The dataset page's map section shares this module's query runner; importing it here (the
# module the portal loads) registers its template function too. The choropleth builds on
# this module's charts.
from statedata.web import choropleth as _choropleth  # noqa: E402
from statedata.web import maps as _maps  # noqa: E402, F401
