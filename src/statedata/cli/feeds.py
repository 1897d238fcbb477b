"""`statedata feeds ...` and `statedata scheduler`: attach, list, show, run, enable and
disable automated feeds, and run the scheduler. Thin: the rules are in `ingest.feeds`.

The command line acts as the installation's operator (with the CDO's reach) unless `--by`
names a user, whose roles then apply. Credentials in a source are masked in everything printed.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from statedata.access.policy import Actor, Role
from statedata.cli import Home, app, err, opened, out
from statedata.errors import InvalidInput
from statedata.ingest import feeds
from statedata.ingest.feeds import service
from statedata.ingest.feeds.reach import Reach
from statedata.ingest.feeds.transforms import parse_short

feeds_app = typer.Typer(
    help="Automated feeds: sources that update datasets on a schedule.", no_args_is_help=True
)
app.add_typer(feeds_app, name="feeds")

OPERATOR = Actor(name="cli", roles=frozenset({Role.CDO}))

By = Annotated[
    str | None,
    typer.Option("--by", help="Act as this user (their roles apply); the operator if left out."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _actor(session: Session, user: str | None) -> Actor:
    if user is None:
        return OPERATOR
    from statedata.access.accounts import actor_for, get_user

    return actor_for(session, get_user(session, user))


def _print_json(document: object) -> None:
    print(json.dumps(document, indent=2, default=str))


def _source_options(
    kind: str,
    url: str | None,
    path: Path | None,
    pattern: str | None,
    database: str | None,
    query: str | None,
    portal: str | None,
    dataset: str | None,
    resource: str | None,
    package: str | None,
    fmt: str | None,
    method: str | None,
) -> dict:
    """The source from the options given, each kind taking its own; the rest is checked by
    the kind's model, which names any missing or wrong field."""
    values: dict[str, object] = {
        "http": {"url": url, "format": fmt},
        "folder": {
            "path": str(path.resolve()) if path else None,
            "pattern": pattern,
            "format": fmt,
        },
        "sql": {"database": database, "query": query},
        "soda": {"portal": portal, "dataset": dataset, "format": fmt},
        "ckan": {"portal": portal, "resource": resource, "package": package, "method": method},
    }.get(kind, {})  # type: ignore[assignment]
    if not values:
        raise InvalidInput(
            f"kind: '{kind}' is not a kind of feed; use http, folder, sql, soda or ckan.",
            field="kind",
        )
    return {k: v for k, v in values.items() if v is not None}  # type: ignore[union-attr]


@feeds_app.command("add")
def feeds_add(
    dataset_id: Annotated[str, typer.Argument(help="The dataset the feed updates.")],
    kind: Annotated[str, typer.Option(help="http, folder, sql, soda or ckan.")],
    schedule: Annotated[
        str, typer.Option(help="When to run, in cron syntax, e.g. '0 6 * * *' (6 a.m. daily).")
    ],
    url: Annotated[str | None, typer.Option(help="http: the file's address.")] = None,
    path: Annotated[Path | None, typer.Option(help="folder: the drop folder.")] = None,
    pattern: Annotated[str | None, typer.Option(help="folder: files to take, e.g. *.csv.")] = None,
    database: Annotated[
        str | None,
        typer.Option(help="sql: the name of a database in the feed_databases setting."),
    ] = None,
    query: Annotated[str | None, typer.Option(help="sql: the SELECT to run.")] = None,
    portal: Annotated[str | None, typer.Option(help="soda, ckan: the portal's address.")] = None,
    dataset: Annotated[str | None, typer.Option(help="soda: the dataset id there.")] = None,
    resource: Annotated[str | None, typer.Option(help="ckan: resource id or name.")] = None,
    package: Annotated[str | None, typer.Option(help="ckan: the package (dataset).")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="The file's format when it cannot be told.")
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="ckan: download (the file) or datastore (its rows).")
    ] = None,
    mode: Annotated[str, typer.Option(help="replace, append or upsert.")] = "replace",
    transform: Annotated[
        list[str] | None,
        typer.Option(
            help="rename:old=new, cast:column=integer or drop:column; repeat for several."
        ),
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    by: By = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Attach a feed to a dataset (prints its id)."""
    with opened(home) as installation, installation.catalog.session() as session:
        new = feeds.NewFeed(
            kind=kind,  # type: ignore[arg-type]
            source=_source_options(
                kind,
                url,
                path,
                pattern,
                database,
                query,
                portal,
                dataset,
                resource,
                package,
                fmt,
                method,
            ),
            schedule=schedule,
            mode=mode,  # type: ignore[arg-type]
            transforms=[parse_short(t) for t in transform or []],
            enabled=not disabled,
        )
        settings = installation.settings
        feed = feeds.create_feed(
            session,
            _actor(session, by),
            dataset_id,
            new,
            settings.feed_timezone,
            reach=Reach.of(settings),
        )
        document = feeds.feed_document(session, feed, installation.settings.base_url)
        if as_json:
            _print_json(document)
            return
        out.print(
            f"Feed {feed.id} for dataset {feed.dataset_id}: {service.describe_source(feed)}, "
            f"next run {feed.next_run_at:%Y-%m-%d %H:%M} UTC"
            if feed.next_run_at
            else f"Feed {feed.id} for dataset {feed.dataset_id} (disabled)",
            highlight=False,
        )


@feeds_app.command("list")
def feeds_list(
    dataset_id: Annotated[
        str | None, typer.Option("--dataset", help="Only this dataset's feeds.")
    ] = None,
    by: By = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """List feeds: what each reads, when it runs next and how its last run went."""
    with opened(home) as installation, installation.catalog.session() as session:
        actor = _actor(session, by)
        if dataset_id is not None:
            found = feeds.list_feeds(session, actor, dataset_id)
        else:
            from statedata.access.policy import Action, can

            found = [f for f in service.all_feeds(session) if can(actor, Action.PUBLISH, f.dataset)]
        if as_json:
            _print_json([feeds.feed_document(session, f, runs=0) for f in found])
            return
        table = Table(
            "id",
            "dataset",
            "kind",
            "source",
            "schedule",
            "mode",
            "on",
            "next run",
            "last",
            title=f"{len(found)} feeds",
        )
        for feed in found:
            table.add_row(
                str(feed.id),
                feed.dataset_id,
                feed.kind,
                service.describe_source(feed),
                feed.schedule,
                feed.mode,
                "yes" if feed.enabled else "no",
                f"{feed.next_run_at:%Y-%m-%d %H:%M}" if feed.next_run_at else "-",
                feed.last_status or "-",
            )
        out.print(table)


@feeds_app.command("show")
def feeds_show(
    feed_id: Annotated[int, typer.Argument(help="The feed's id.")],
    by: By = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Show a feed and its recent runs."""
    with opened(home) as installation, installation.catalog.session() as session:
        feed = feeds.get_feed(session, _actor(session, by), feed_id)
        document = feeds.feed_document(session, feed, installation.settings.base_url, runs=10)
        if as_json:
            _print_json(document)
            return
        out.print(
            f"Feed {feed.id}: {feed.kind} {service.describe_source(feed)}\n"
            f"dataset {feed.dataset_id}, mode {feed.mode}, schedule '{feed.schedule}', "
            f"{'enabled' if feed.enabled else 'disabled'}\n"
            f"transforms: {json.dumps(feed.transforms)}\n"
            f"next run: {document['next_run_at'] or '-'}",
            highlight=False,
        )
        table = Table("run", "trigger", "try", "started", "status", "rows in", "changed", "error")
        for run in document["recent_runs"]:
            table.add_row(
                str(run["id"]),
                run["trigger"],
                str(run["attempt"]),
                f"{run['started_at']:%Y-%m-%d %H:%M:%S}",
                run["status"],
                "" if run["rows_in"] is None else f"{run['rows_in']:,}",
                "" if run["rows_changed"] is None else f"{run['rows_changed']:,}",
                run["error"] or "",
            )
        out.print(table)


@feeds_app.command("run")
def feeds_run(
    feed_id: Annotated[int, typer.Argument(help="The feed's id.")],
    by: By = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Run a feed now. Exit status 1 when the run fails."""
    with opened(home) as installation:
        with installation.catalog.session() as session:
            feeds.get_feed(session, _actor(session, by), feed_id)
        run = feeds.run_feed(installation, feed_id, trigger="manual")
        if as_json:
            _print_json(run)
        elif run["status"] == "failed":
            err.print(f"[red]Run {run['id']} failed:[/red] {run['error']}", highlight=False)
        elif run["status"] == "unchanged":
            out.print(f"Run {run['id']}: unchanged, nothing new to publish.", highlight=False)
        else:
            changed = "" if run["rows_changed"] is None else f", {run['rows_changed']:,} changed"
            version = f", version {run['version']}" if run["version"] else ""
            out.print(
                f"Run {run['id']}: {run['status']} ({run['rows_in'] or 0:,} rows in"
                f"{changed}{version})",
                highlight=False,
            )
        if run["status"] == "failed":
            raise typer.Exit(1)


def _switch(feed_id: int, enabled: bool, by: str | None, home: Path | None) -> None:
    with opened(home) as installation, installation.catalog.session() as session:
        feed = feeds.update_feed(
            session,
            _actor(session, by),
            feed_id,
            feeds.FeedChange(enabled=enabled),
            installation.settings.feed_timezone,
        )
        out.print(
            f"Feed {feed.id} enabled; next run {feed.next_run_at:%Y-%m-%d %H:%M} UTC."
            if feed.enabled and feed.next_run_at
            else f"Feed {feed.id} disabled.",
            highlight=False,
        )


@feeds_app.command("enable")
def feeds_enable(
    feed_id: Annotated[int, typer.Argument(help="The feed's id.")],
    by: By = None,
    home: Home = None,
) -> None:
    """Switch a feed on: it runs at its next scheduled time."""
    _switch(feed_id, True, by, home)


@feeds_app.command("disable")
def feeds_disable(
    feed_id: Annotated[int, typer.Argument(help="The feed's id.")],
    by: By = None,
    home: Home = None,
) -> None:
    """Switch a feed off: the scheduler leaves it alone until it is enabled."""
    _switch(feed_id, False, by, home)


@app.command("scheduler")
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="Run one round, then stop.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds.", min=1.0)] = 60.0,
    home: Home = None,
) -> None:
    """Run due feeds, round after round, and email unsent notices. One is enough; a second
    started by mistake waits and runs nothing twice."""
    from statedata.ingest.feeds.scheduler import RoundReport, serve

    def report(round_report: RoundReport) -> None:
        if not round_report.held_lease:
            err.print("Another scheduler is running; this one waits.", highlight=False)
        elif round_report.ran or round_report.emails_sent:
            err.print(
                f"Ran {len(round_report.ran)} feed(s): {round_report.ran}; "
                f"sent {round_report.emails_sent} email(s).",
                highlight=False,
            )

    stop = threading.Event()
    # A service manager stops us with SIGTERM: finish the feed in hand, give the lease up.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with opened(home) as installation:
        with contextlib.suppress(KeyboardInterrupt):
            serve(installation, interval=interval, once=once, stop=stop, on_round=report)
        if not once:
            err.print("Scheduler stopped.")
