"""`statedata suggestions ...`: list, show and triage the public's dataset suggestions, and
count them over time. Thin: the rules are in `requests.suggestions`.

The command line acts as the installation's operator (with the CDO's reach) unless `--by`
names a user, whose roles then apply.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from statedata.access.policy import Actor, Role
from statedata.cli import Home, app, opened, out
from statedata.errors import InvalidInput
from statedata.requests import suggestions

suggestions_app = typer.Typer(
    help="The public's dataset suggestions: list, show, triage, count.", no_args_is_help=True
)
app.add_typer(suggestions_app, name="suggestions")

OPERATOR = Actor(name="cli", roles=frozenset({Role.CDO}))

By = Annotated[
    str | None,
    typer.Option("--by", help="Act as this user (their roles apply); the operator if left out."),
]


def _actor(session: Session, user: str | None) -> Actor:
    if user is None:
        return OPERATOR
    from statedata.access.accounts import actor_for, get_user

    return actor_for(session, get_user(session, user))


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--{name} must be a date like 2025-03-31, not '{value}'.") from None


@suggestions_app.command("list")
def suggestions_list(
    status: Annotated[
        str | None, typer.Option(help="received, under_review, planned, published or declined.")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's suggestions.")] = None,
    sort: Annotated[str, typer.Option(help="newest or votes.")] = "newest",
    limit: Annotated[int, typer.Option(help="How many to show (1 to 100).")] = 20,
    offset: Annotated[int, typer.Option(help="How many to skip.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: Home = None,
) -> None:
    """List suggestions, newest or most voted first."""
    with opened(home) as installation, installation.catalog.session() as session:
        total, page = suggestions.list_suggestions(session, status, agency, sort, limit, offset)
        documents = [
            suggestions.document(session, s, OPERATOR, installation.settings.base_url) for s in page
        ]
        if as_json:
            print(json.dumps({"total": total, "results": documents}, indent=2))
            return
        table = Table(
            "id", "title", "agency", "status", "votes", "received", title=f"{total} in all"
        )
        for d in documents:
            table.add_row(
                str(d["id"]),
                str(d["title"]),
                d["agency"]["code"] if d["agency"] else "(none)",
                str(d["status"]),
                str(d["vote_count"]),
                str(d["created_at"])[:10],
            )
        out.print(table)


@suggestions_app.command("show")
def suggestions_show(suggestion_id: int, home: Home = None) -> None:
    """Show one suggestion with its contact email and status history, as JSON."""
    with opened(home) as installation, installation.catalog.session() as session:
        found = suggestions.get(session, suggestion_id)
        document = suggestions.document(
            session, found, OPERATOR, installation.settings.base_url, history=True
        )
        print(json.dumps(document, indent=2))


@suggestions_app.command("status")
def suggestions_status(
    suggestion_id: int,
    status: Annotated[str, typer.Argument(help="under_review, planned, published or declined.")],
    note: Annotated[str, typer.Option(help="A public note explaining the move.")] = "",
    target_date: Annotated[
        str | None, typer.Option(help="For planned: when the data should be out (YYYY-MM-DD).")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="For published: the id of the dataset that answers it.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="For declined: why, in plain words.")] = None,
    citation: Annotated[
        str | None, typer.Option(help="For declined: the law, where the law is the reason.")
    ] = None,
    agency: Annotated[
        str | None, typer.Option(help="Hand it to this agency as well (the CDO only).")
    ] = None,
    by: By = None,
    home: Home = None,
) -> None:
    """Move a suggestion to its next status (received, under_review, planned, published; or
    declined while open)."""
    with opened(home) as installation, installation.catalog.session() as session:
        change = suggestions.StatusChange(
            status=status,
            note=note,
            target_date=_date(target_date, "target-date"),
            dataset_id=dataset,
            decline_reason=reason,
            legal_citation=citation,
            agency=agency,
        )
        changed = suggestions.change_status(session, _actor(session, by), suggestion_id, change)
        out.print(f"Suggestion {changed.id} is now {changed.status}.", highlight=False)


@suggestions_app.command("metrics")
def suggestions_metrics(
    period: Annotated[str, typer.Option(help="week or month.")] = "month",
    start: Annotated[str | None, typer.Option(help="First day counted (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day counted (YYYY-MM-DD).")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's suggestions.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: Home = None,
) -> None:
    """Count suggestions received each week or month, by the status they have now."""
    with opened(home) as installation, installation.catalog.session() as session:
        counts = suggestions.counts_over_time(
            session, period, _date(start, "start"), _date(end, "end"), agency
        )
        if as_json:
            print(json.dumps(counts, indent=2))
            return
        table = Table(
            period,
            "total",
            *suggestions.STATUSES,
            title=f"Suggestions received: {counts['total']} ({counts['per_day']} a day)",
        )
        for row in counts["periods"]:
            table.add_row(
                row["start"],
                str(row["total"]),
                *(str(row["by_status"][s]) for s in suggestions.STATUSES),
            )
        out.print(table)
