"""`statedata requests ...`: interagency data requests from the command line, acting as a
named user (--as), and the goal-3 metrics. The rules live in `requests.data_requests`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from statedata.cli import Home, app, opened, out
from statedata.errors import InvalidInput

requests_app = typer.Typer(
    help="Interagency data requests: create, follow, move through the stages; goal-3 metrics.",
    no_args_is_help=True,
)
app.add_typer(requests_app, name="requests")

As = Annotated[
    str,
    typer.Option("--as", help="The user to act as (the operator acts for a named user)."),
]


def _actor(session, name: str):  # type: ignore[no-untyped-def]
    from statedata.access.accounts import actor_for, get_user

    return actor_for(session, get_user(session, name))


def _print(document: dict) -> None:
    print(json.dumps(document, indent=2, default=str))


@requests_app.command("create")
def requests_create(
    path: Annotated[Path, typer.Argument(help="The request form as a JSON file.")],
    user: As,
    home: Home = None,
) -> None:
    """Start a draft request from a JSON file with the request form's fields."""
    from statedata.requests import data_requests

    with opened(home) as installation:
        try:
            form = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidInput(f"{path} is not a readable JSON file: {error}") from None
        if not isinstance(form, dict):
            raise InvalidInput(f"{path} must hold one JSON object with the form's fields.")
        with installation.catalog.session() as session:
            request = data_requests.create(session, _actor(session, user), form)
            out.print(f"Created draft {request.reference} (id {request.id}).")


@requests_app.command("list")
def requests_list(
    user: As,
    stage: Annotated[str | None, typer.Option(help="Only requests at this stage.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: Home = None,
) -> None:
    """List the user's own requests and those their agency holds data for."""
    from statedata.requests import data_requests

    with opened(home) as installation, installation.catalog.session() as session:
        found = data_requests.visible_requests(session, _actor(session, user), stage)
        _table([data_requests.summary(r) for r in found], as_json)


@requests_app.command("queue")
def requests_queue(
    user: As,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: Home = None,
) -> None:
    """The open requests waiting on the user's agency (every open one for the CDO)."""
    from statedata.requests import data_requests

    with opened(home) as installation, installation.catalog.session() as session:
        found = data_requests.queue(session, _actor(session, user))
        _table([data_requests.summary(r) for r in found], as_json)


def _table(rows: list[dict], as_json: bool) -> None:
    if as_json:
        _print({"total": len(rows), "results": rows})
        return
    table = Table("reference", "title", "agencies", "stage", "days in stage", "days since sent")
    for row in rows:
        since = row["days_since_submission"]
        table.add_row(
            row["reference"],
            row["title"],
            ", ".join(row["agencies"]),
            row["stage"].replace("_", " "),
            str(row["days_in_stage"]),
            "" if since is None else str(since),
        )
    out.print(table)


@requests_app.command("show")
def requests_show(
    request: Annotated[str, typer.Argument(help="The request's id or reference.")],
    user: As,
    home: Home = None,
) -> None:
    """Show one request: its form, where it stands and its history."""
    from statedata.requests import data_requests

    with opened(home) as installation, installation.catalog.session() as session:
        found = data_requests.get_request(session, _actor(session, user), request)
        _print(data_requests.document(found))


@requests_app.command("move")
def requests_move(
    request: Annotated[str, typer.Argument(help="The request's id or reference.")],
    to: Annotated[str, typer.Option("--to", help="The next stage, or declined or withdrawn.")],
    user: As,
    reason: Annotated[
        str | None, typer.Option(help="Why (required to decline or withdraw).")
    ] = None,
    agreement: Annotated[
        int | None, typer.Option(help="Id of the executed agreement (to agreement_executed).")
    ] = None,
    home: Home = None,
) -> None:
    """Move a request to its next stage, or decline or withdraw it with a reason."""
    from statedata.requests import data_requests

    with opened(home) as installation, installation.catalog.session() as session:
        moved = data_requests.move(session, _actor(session, user), request, to, reason, agreement)
        out.print(f"{moved.reference} is now at '{moved.stage.replace('_', ' ')}'.")


@requests_app.command("rate")
def requests_rate(
    request: Annotated[str, typer.Argument(help="The request's id or reference.")],
    score: Annotated[int, typer.Option(help="1 (very unsatisfied) to 5 (very satisfied).")],
    user: As,
    comment: Annotated[str | None, typer.Option(help="Anything to add.")] = None,
    home: Home = None,
) -> None:
    """Answer the survey on a completed request (its requester, once)."""
    from statedata.requests import data_requests

    with opened(home) as installation, installation.catalog.session() as session:
        answer = {"score": score, "comment": comment}
        rated = data_requests.rate(session, _actor(session, user), request, answer)
        out.print(f"Thank you: your answer on {rated.reference} is recorded.")


@requests_app.command("metrics")
def requests_metrics(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day to measure at (YYYY-MM-DD).")
    ] = None,
    home: Home = None,
) -> None:
    """Goal 3's metrics: days to fulfil requests, multi-party agreements, satisfaction."""
    from statedata.requests import metrics

    with opened(home) as installation:
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise InvalidInput(f"--as-of: '{as_of}' is not a date like 2025-06-30.") from None
        with installation.catalog.session() as session:
            _print(metrics.goal_three(session, day))
