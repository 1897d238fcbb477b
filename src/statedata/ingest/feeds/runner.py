"""One run of a feed: fetch the source into staging, skip it when unchanged, apply the
transforms, check it still fits the dataset, publish it through the one `publish`, and record
the run. A failure records a plain-language error, schedules a retry with back-off and tells the
owning agency; the dataset stays exactly as it was, because `publish` never half-publishes.

When a feed runs is `scheduler`'s business; this module runs one when asked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from pydantic import ValidationError
from sqlalchemy import or_, select, update

from statedata.catalog import audit, notices
from statedata.catalog.feeds import Feed, FeedRun
from statedata.catalog.models import AuditEvent, Dataset, Version, utcnow
from statedata.errors import Conflict, FeedNotFound, StatedataError, from_validation
from statedata.ingest import open_table
from statedata.ingest.feeds import schedule, sources, transforms
from statedata.ingest.feeds.reach import Reach
from statedata.installation import Installation
from statedata.storage.duck import connect, ident
from statedata.storage.source import TableSource
from statedata.storage.versions import SYSTEM_COLUMNS, publish, version_path

log = logging.getLogger("statedata.feeds")

SUCCEEDED = "succeeded"
UNCHANGED = "unchanged"
FAILED = "failed"
RUNNING = "running"
PUBLISH_ACTION = "feed.publish"
# A run marked as running for longer than this died with its process; another may start.
RUN_HOLD = dt.timedelta(hours=1)


@dataclass
class FeedTable(TableSource):
    """The source file as read by `ingest`, with the feed's transforms applied and its columns
    cast to the dataset's types; named `feed:<id>` so the version records where it came from."""

    inner: TableSource | None = None
    feed_id: int = 0
    steps: list[dict] = field(default_factory=list)
    dataset_columns: list[tuple[str, str]] = field(default_factory=list)
    rows_in: int | None = None

    @property
    def name(self) -> str:
        return f"feed:{self.feed_id}"

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        assert self.inner is not None
        relation = self.inner.relation(con)
        relation = transforms.apply(con, relation, self.steps)
        return transforms.conform(con, relation, self.dataset_columns)

    def retry(self, error: duckdb.Error) -> bool:
        assert self.inner is not None
        return self.inner.retry(error)

    def explain(self, error: duckdb.Error) -> StatedataError:
        assert self.inner is not None
        return self.inner.explain(error)

    def check(self, con: duckdb.DuckDBPyConnection, view: str) -> None:
        assert self.inner is not None
        self.inner.check(con, view)
        self.rows_in = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]

    def cleanup(self) -> None:
        if self.inner is not None:
            self.inner.cleanup()


@dataclass
class _Plan:
    """What a run needs to know, read once so no session stays open while it fetches."""

    feed_id: int
    run_id: int
    kind: str
    source: dict
    mode: str
    steps: list[dict]
    dataset_id: str
    current_number: int | None
    current_path: Path | None
    dataset_columns: list[tuple[str, str]]


@dataclass
class _Outcome:
    status: str
    rows_in: int | None = None
    rows_changed: int | None = None
    version: int | None = None
    error: str | None = None
    fingerprint: str | None = None
    more_waiting: bool = False


def run_feed(
    installation: Installation,
    feed_id: int,
    trigger: str = "manual",
    now: dt.datetime | None = None,
) -> dict:
    """Run the feed once, now; return the run's record (also when it failed)."""
    from statedata.ingest.feeds.service import run_document

    plan = _start(installation, feed_id, trigger, now)
    outcome, secret_values = _execute(installation, plan)
    with installation.catalog.session() as session:
        run = _finish(installation, session, plan, outcome, secret_values)
        document = run_document(run)
    if outcome.status == FAILED:
        from statedata.notify.email import send_pending

        try:
            send_pending(installation)
        except Exception:  # email is a courtesy copy; the in-app notice is already saved
            log.warning("feed %s: email notices could not be sent now", feed_id, exc_info=True)
    return document


def _start(
    installation: Installation, feed_id: int, trigger: str, now: dt.datetime | None
) -> _Plan:
    max_attempts = installation.settings.feed_max_attempts
    started = now or utcnow()
    with installation.catalog.session() as session:
        if session.get(Feed, feed_id) is None:
            raise FeedNotFound(f"There is no feed {feed_id}.", id=feed_id)
        # One run of a feed at a time (a manual run while the scheduler runs it, two manual
        # runs): marking it running is one conditional UPDATE, which only one can win. A mark
        # older than RUN_HOLD is a run that died, and is taken over.
        marked = session.execute(
            update(Feed)
            .where(
                Feed.id == feed_id,
                or_(
                    Feed.last_status.is_(None),
                    Feed.last_status != RUNNING,
                    Feed.last_run_at.is_(None),
                    Feed.last_run_at < started - RUN_HOLD,
                ),
            )
            .values(last_status=RUNNING, last_run_at=started)
            .execution_options(synchronize_session=False)
        ).rowcount
        if marked != 1:
            raise Conflict(
                f"Feed {feed_id} is running now; its run will be recorded when it ends.",
                id=feed_id,
            )
        feed = session.get(Feed, feed_id)
        session.refresh(feed)
        dataset: Dataset = feed.dataset
        current = dataset.current_version
        run = FeedRun(
            feed_id=feed.id,
            attempt=feed.consecutive_failures % max_attempts + 1,
            trigger=trigger,
            started_at=started,
            status=RUNNING,
        )
        session.add(run)
        session.flush()
        return _Plan(
            feed_id=feed.id,
            run_id=run.id,
            kind=feed.kind,
            source=dict(feed.source),
            mode=feed.mode,
            steps=list(feed.transforms or []),
            dataset_id=dataset.id,
            current_number=current.number if current else None,
            current_path=version_path(installation, current) if current else None,
            dataset_columns=[
                (c["name"], c["type"])
                for c in (current.schema if current else [])
                if c["name"] not in SYSTEM_COLUMNS
            ],
        )


def _execute(installation: Installation, plan: _Plan) -> tuple[_Outcome, list[str]]:
    settings = installation.settings
    staging = settings.data_dir / "_staging" / f"feed-{plan.feed_id}-{secrets.token_hex(6)}"
    staging.mkdir(parents=True, exist_ok=True)
    source = None
    fetched = None
    secret_values: list[str] = []
    try:
        try:
            source = sources.load(plan.kind, plan.source)
        except ValidationError as error:
            return _Outcome(
                FAILED,
                error=f"The feed's source is no longer valid: {from_validation(error).message}",
            ), []
        secret_values = source.secrets()
        fetched = source.fetch(staging, settings.feed_timeout_seconds, Reach.of(settings))
        if fetched is None:
            return _Outcome(UNCHANGED, rows_in=0, rows_changed=0), secret_values
        outcome = _publish(installation, plan, fetched)
    except StatedataError as error:
        outcome = _Outcome(FAILED, error=_scrub(error.message, secret_values))
    except Exception as error:
        # Never log the exception itself: its text may carry the source's credentials.
        log.error("feed %s: unexpected %s", plan.feed_id, type(error).__name__)
        outcome = _Outcome(
            FAILED,
            error=f"An unexpected problem stopped this run ({type(error).__name__}); it has been "
            "logged. The dataset was not changed.",
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if (
        fetched is not None
        and fetched.taken is not None
        and isinstance(source, sources.FolderSource)
    ):
        try:
            source.settle(fetched.taken, outcome.error)
        except OSError as error:
            log.error("feed %s: could not move %s: %s", plan.feed_id, fetched.taken.name, error)
        outcome.more_waiting = bool(source.pending())
    return outcome, secret_values


def _scrub(message: str, secret_values: list[str]) -> str:
    for value in secret_values:
        if value:
            message = message.replace(value, sources.MASK)
    return message


def _fingerprint(plan: _Plan, content_sha256: str) -> str:
    """The content's hash together with what the feed does to it: new transforms or another
    mode make the same file a different publish."""
    recipe = json.dumps({"mode": plan.mode, "transforms": plan.steps}, sort_keys=True)
    return hashlib.sha256(f"{content_sha256}\n{recipe}".encode()).hexdigest()


def _last_fingerprint(installation: Installation, plan: _Plan) -> str | None:
    """The fingerprint of the source the dataset's current version was published from, when a
    feed published it."""
    if plan.current_number is None:
        return None
    with installation.catalog.session() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == PUBLISH_ACTION, AuditEvent.dataset_id == plan.dataset_id)
            .order_by(AuditEvent.id.desc())
            .limit(50)
        ).all()
    for event in events:
        if event.detail.get("version") == plan.current_number:
            return event.detail.get("fingerprint")
    return None


def _publish(installation: Installation, plan: _Plan, fetched: sources.Fetched) -> _Outcome:
    fingerprint = _fingerprint(plan, fetched.sha256)
    if fingerprint == _last_fingerprint(installation, plan):
        return _Outcome(UNCHANGED, rows_changed=0, fingerprint=fingerprint)
    table = FeedTable(
        path=fetched.path,
        format=fetched.format,
        inner=open_table(fetched.path, fmt=fetched.format),
        feed_id=plan.feed_id,
        steps=plan.steps,
        dataset_columns=plan.dataset_columns,
    )
    table.extensions = table.inner.extensions  # type: ignore[union-attr]
    result = publish(
        installation,
        table,
        dataset_id=plan.dataset_id,
        mode=plan.mode,
        actor=table.name,
    )
    if plan.mode == "replace":
        changed = _replace_changes(installation, plan, result.version)
    else:
        changed = result.rows_created + result.rows_updated + result.rows_deleted
    return _Outcome(
        SUCCEEDED,
        rows_in=table.rows_in if table.rows_in is not None else result.row_count,
        rows_changed=changed,
        version=result.version,
        fingerprint=fingerprint,
    )


def _replace_changes(installation: Installation, plan: _Plan, number: int) -> int | None:
    """Rows in only one of the previous and the new version (a changed row counts in both),
    compared on the columns both have."""
    with installation.catalog.session() as session:
        version = session.scalar(
            select(Version).where(Version.dataset_id == plan.dataset_id, Version.number == number)
        )
        new_path = version_path(installation, version) if version else None
    if new_path is None or not new_path.exists():
        return None
    con = connect(installation.settings)
    try:
        new_columns = [
            r[0]
            for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{new_path}')").fetchall()
        ]
        if plan.current_path is None or not plan.current_path.exists():
            if plan.current_number is None:
                return con.execute(f"SELECT count(*) FROM read_parquet('{new_path}')").fetchone()[0]
            return None
        old_columns = {
            r[0]
            for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet('{plan.current_path}')"
            ).fetchall()
        }
        common = [c for c in new_columns if c in old_columns and c not in SYSTEM_COLUMNS]
        if not common:
            return None
        select_list = ", ".join(ident(c) for c in common)
        new_rows = f"SELECT {select_list} FROM read_parquet('{new_path}')"
        old_rows = f"SELECT {select_list} FROM read_parquet('{plan.current_path}')"
        return con.execute(
            f"SELECT (SELECT count(*) FROM ({new_rows} EXCEPT ALL {old_rows})) + "
            f"(SELECT count(*) FROM ({old_rows} EXCEPT ALL {new_rows}))"
        ).fetchone()[0]
    finally:
        con.close()


def _finish(
    installation: Installation,
    session,  # type: ignore[no-untyped-def]
    plan: _Plan,
    outcome: _Outcome,
    secret_values: list[str],
) -> FeedRun:
    settings = installation.settings
    now = utcnow()
    run = session.get(FeedRun, plan.run_id)
    run.finished_at = now
    run.status = outcome.status
    run.rows_in = outcome.rows_in
    run.rows_changed = outcome.rows_changed
    run.version_number = outcome.version
    run.error = outcome.error
    feed = session.get(Feed, plan.feed_id)
    if feed is None:  # removed while it ran
        session.flush()
        return run
    feed.last_run_at = now
    feed.last_status = outcome.status
    if outcome.status == SUCCEEDED:
        audit.record(
            session,
            f"feed:{feed.id}",
            PUBLISH_ACTION,
            feed.dataset_id,
            feed=feed.id,
            run=run.id,
            version=outcome.version,
            mode=feed.mode,
            rows_in=outcome.rows_in,
            rows_changed=outcome.rows_changed,
            fingerprint=outcome.fingerprint,
        )
    if outcome.status == FAILED:
        feed.consecutive_failures += 1
        attempts = feed.consecutive_failures % settings.feed_max_attempts
        if attempts and feed.enabled:
            feed.next_run_at = now + schedule.retry_delay(attempts, settings.feed_retry_minutes)
            what_next = f"It will be tried again at {feed.next_run_at:%Y-%m-%d %H:%M} UTC."
        else:
            feed.next_run_at = _next_scheduled(feed, now, settings.feed_timezone)
            what_next = (
                "It has failed every retry; it will run again at its next scheduled time"
                + (f" ({feed.next_run_at:%Y-%m-%d %H:%M} UTC)." if feed.next_run_at else ".")
            )
        _tell_agency(session, feed, run, outcome.error or "", what_next)
    else:
        feed.consecutive_failures = 0
        feed.next_run_at = (
            now
            if outcome.more_waiting and feed.enabled
            else _next_scheduled(feed, now, settings.feed_timezone)
        )
    session.flush()
    return run


def _next_scheduled(feed: Feed, now: dt.datetime, timezone: str) -> dt.datetime | None:
    return schedule.next_run(feed.schedule, now, timezone) if feed.enabled else None


def _tell_agency(session, feed: Feed, run: FeedRun, error: str, what_next: str) -> None:  # type: ignore[no-untyped-def]
    """One notice per failure streak: the first failure after a success opens it, and retries
    that fail again do not repeat it."""
    dataset = feed.dataset
    if dataset.agency is None:
        return
    last_good = session.scalar(
        select(FeedRun.id)
        .where(FeedRun.feed_id == feed.id, FeedRun.status.in_((SUCCEEDED, UNCHANGED)))
        .order_by(FeedRun.id.desc())
        .limit(1)
    )
    streak_start = session.scalar(
        select(FeedRun.id)
        .where(FeedRun.feed_id == feed.id, FeedRun.status == FAILED, FeedRun.id > (last_good or 0))
        .order_by(FeedRun.id)
        .limit(1)
    )
    notices.notify_agency(
        session,
        dataset.agency,
        kind="feed.failed",
        subject=f"The feed for \u201c{dataset.title}\u201d failed"[: notices.MAX_SUBJECT],
        body=(
            f"Feed {feed.id} could not update dataset {dataset.id} ({dataset.title}).\n\n"
            f"What went wrong: {error}\n\n{what_next}\n\n"
            "The dataset was not changed: it still serves its last good version."
        ),
        link=f"/api/v1/feeds/{feed.id}",
        dedupe_key=f"feed:{feed.id}:failing:{streak_start or run.id}",
    )
