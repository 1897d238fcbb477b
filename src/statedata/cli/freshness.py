"""`statedata freshness ...`: the freshness report, the daily check (reminders, long-overdue
notices, retirements that are due), retiring datasets, quality and priorities; and
`statedata datasets set` for a dataset's expected update frequency."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from statedata.cli import Home, app, datasets_app, opened, out

freshness_app = typer.Typer(
    help="Is each dataset updated on time? Reminders, retirement, quality, priorities.",
    no_args_is_help=True,
)
app.add_typer(freshness_app, name="freshness")

AsOf = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Evaluate on this day (default today)."),
]
Format = Annotated[str, typer.Option("--format", help="table, json or csv.")]
FRESHNESS_COLUMNS = [
    "id",
    "title",
    "agency",
    "frequency",
    "last_update",
    "due_date",
    "status",
    "days_late",
]


def _day(as_of: dt.datetime | None) -> dt.date:
    return as_of.date() if as_of else dt.datetime.now(dt.UTC).date()


def _emit(records: list[dict], columns: list[str], fmt: str, title: str | None = None) -> None:
    if fmt == "json":
        print(json.dumps(records, indent=2, default=str))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    elif fmt == "table":
        table = Table(*columns, title=title)
        for record in records:
            table.add_row(*("" if record.get(c) is None else str(record.get(c)) for c in columns))
        out.print(table)
    else:
        raise typer.BadParameter(f"'{fmt}' is not a format; use table, json or csv.")


@freshness_app.command("report")
def freshness_report(
    as_of: AsOf = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's datasets.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status (fresh, due, overdue, stale ...).")
    ] = None,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """Every dataset: frequency, last data update, due date, status and days late."""
    from statedata.freshness.report import rows, summary

    day = _day(as_of)
    with opened(home) as installation, installation.catalog.session() as session:
        found = rows(session, day, agency)
    if status:
        found = [r for r in found if r.status.value == status]
    _emit([r.as_dict() for r in found], FRESHNESS_COLUMNS, fmt, f"Freshness on {day}")
    if fmt == "table":
        counts = ", ".join(f"{n} {s}" for s, n in summary(found).items() if n)
        out.print(counts or "No datasets.")


@freshness_app.command("check")
def freshness_check(as_of: AsOf = None, home: Home = None) -> None:
    """The daily round: remind agencies of datasets due or overdue, tell them of datasets
    overdue past the grace period, and take retirements that are due out of public view."""
    from statedata.freshness import reminders, retirement

    day = _day(as_of)
    now = dt.datetime.combine(day, dt.time(23, 59), tzinfo=dt.UTC) if as_of else None
    with opened(home) as installation:
        grace = installation.settings.overdue_grace_days
        with installation.catalog.session() as session:
            reminded = reminders.send(session, day)
            long_overdue = retirement.tell_agencies_of_long_overdue(session, day, grace)
            retired = retirement.apply_due(session, now)
        if retired:
            retirement.publish_register(installation)
    out.print(f"Reminders to {len(reminded)} agencies about {sum(reminded.values())} datasets.")
    out.print(
        f"{sum(len(v) for v in long_overdue.values())} datasets more than {grace} days "
        f"overdue, in {len(long_overdue)} agencies."
    )
    out.print(f"Retired today: {', '.join(retired) if retired else 'none'}.")


@freshness_app.command("retire")
def freshness_retire(
    dataset_id: str,
    reason: Annotated[
        str,
        typer.Option(
            help="inaccurate, protected_data, replaced, "
            "published_by_mistake, rarely_used, outdated, not_ours."
        ),
    ],
    explanation: Annotated[str | None, typer.Option(help="More, in plain words.")] = None,
    replaced_by: Annotated[str | None, typer.Option(help="The dataset that replaces it.")] = None,
    archive_url: Annotated[str | None, typer.Option(help="Where its last version is kept.")] = None,
    home: Home = None,
) -> None:
    """Retire a dataset: a notice now, out of public lists after the notice period (at once
    when it is under 7 days old or contains protected data)."""
    from statedata.freshness import retirement

    with opened(home) as installation:
        with installation.catalog.session() as session:
            dataset = retirement.retire(
                session,
                dataset_id,
                reason,
                "cli",
                installation.settings.retirement_notice_days,
                explanation,
                replaced_by,
                archive_url,
            )
            when = dataset.retire_after.date() if dataset.retire_after else None
            retired_now = dataset.retired_at is not None
        retirement.publish_register(installation)
    if retired_now:
        out.print(f"Withdrew {dataset_id} at once.")
    else:
        out.print(f"{dataset_id} carries a retirement notice; it leaves public lists on {when}.")


@freshness_app.command("cancel-retirement")
def freshness_cancel(dataset_id: str, home: Home = None) -> None:
    """Stop a retirement during its notice period."""
    from statedata.freshness import retirement

    with opened(home) as installation:
        with installation.catalog.session() as session:
            retirement.cancel(session, dataset_id, "cli")
        retirement.publish_register(installation)
    out.print(f"{dataset_id} is no longer being retired.")


@freshness_app.command("quality")
def freshness_quality(dataset_id: str, fmt: Format = "table", home: Home = None) -> None:
    """A dataset's metadata quality score, each point with how to earn it."""
    from statedata.catalog import service
    from statedata.freshness.quality import score

    with opened(home) as installation, installation.catalog.session() as session:
        quality = score(service.get_dataset(session, dataset_id)).as_dict()
    if fmt == "json":
        print(json.dumps(quality, indent=2))
        return
    title = f"Metadata quality of {dataset_id}: {quality['score']}/100"
    _emit(quality["criteria"], ["label", "earned", "points", "how_to_fix"], fmt, title)


@freshness_app.command("priorities")
def freshness_priorities(
    as_of: AsOf = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency.")] = None,
    limit: Annotated[int, typer.Option(help="How many to list.")] = 20,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """What to publish or improve next: high-value criteria, use, suggestions and requests."""
    from statedata.freshness.priority import ranked

    with opened(home) as installation, installation.catalog.session() as session:
        found = ranked(session, _day(as_of), agency)[:limit]
    records = [{**p.as_dict(), "reasons": "; ".join(p.reasons)} for p in found]
    _emit(records, ["score", "kind", "id", "title", "agency", "reasons"], fmt, "Priorities")


@datasets_app.command("set")
def datasets_set(
    dataset_id: str,
    frequency: Annotated[
        str, typer.Option(help="How often it is updated: daily, weekly, monthly, R/P1D ...")
    ],
    home: Home = None,
) -> None:
    """Set a dataset's expected update frequency."""
    from statedata.catalog import DatasetMetadata, service
    from statedata.catalog.vocab import frequency_name

    with opened(home) as installation, installation.catalog.session() as session:
        dataset = service.update_metadata(
            session,
            dataset_id,
            DatasetMetadata(update_frequency=frequency),
            installation.settings.categories,
            actor="cli",
        )
        out.print(f"{dataset_id} is expected to update {frequency_name(dataset.update_frequency)}.")
