"""`statedata metrics`: the open data plan's metrics, as of any day; `statedata metrics
publish` puts them (and the dataset inventory) into the portal as datasets. Thin: the work
is in `metrics.plan` and `metrics.publish`."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from statedata.cli import Home, app, opened, out
from statedata.metrics import plan
from statedata.metrics.publish import CSV_FIELDS, csv_rows, publish_metrics, report

metrics_app = typer.Typer(
    help="The open data plan's metrics: print them, or publish them into the portal.",
    invoke_without_command=True,
)
app.add_typer(metrics_app, name="metrics")

AsOf = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Measure on this day (default today)."),
]


def _day(as_of: dt.datetime | None) -> dt.date | None:
    return as_of.date() if as_of else None


def show(value: plan.Value, unit: str) -> str:
    """A value as people read it: shares as percentages."""
    if value is None:
        return "-"
    if unit == "share":
        return f"{100 * float(value):.1f}%"
    if unit == "count":
        return f"{int(value):,}"
    return f"{float(value):g}"


@metrics_app.callback()
def metrics_show(
    ctx: typer.Context,
    as_of: AsOf = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's datasets.")] = None,
    since_year: Annotated[
        int, typer.Option("--since-year", help="The year of 'not updated since'.")
    ] = plan.DEFAULT_SINCE_YEAR,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    home: Home = None,
) -> None:
    """Print every plan metric: its value on the day, and the plan goal it measures."""
    if ctx.invoked_subcommand is not None:
        return
    if fmt not in ("table", "json", "csv"):
        raise typer.BadParameter(f"'{fmt}' is not a format; use table, json or csv.")
    with opened(home) as installation:
        found = report(installation, _day(as_of), agency, since_year)
    if fmt == "json":
        print(json.dumps(found.as_dict(), indent=2))
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_rows(found))
        return
    scope = f" ({found.agency})" if found.agency else ""
    table = Table("goal", "metric", "value", "key", title=f"Plan metrics on {found.as_of}{scope}")
    for metric in found.metrics:
        table.add_row(str(metric.goal), metric.name, show(metric.value, metric.unit), metric.key)
    out.print(table)
    for number, name in plan.GOALS.items():
        out.print(f"Goal {number}: {name}.", highlight=False)


@metrics_app.command("publish")
def metrics_publish(as_of: AsOf = None, home: Home = None) -> None:
    """Publish the metrics (one row per metric per month) and the dataset inventory (one row
    per public dataset) as two datasets of the portal; running again replaces their rows."""
    with opened(home) as installation:
        done = publish_metrics(installation, _day(as_of))
    out.print(
        f"Open data plan metrics: {done.plan_metrics} ({done.metric_rows:,} rows).\n"
        f"Dataset inventory: {done.inventory} ({done.inventory_rows:,} rows).",
        highlight=False,
    )
