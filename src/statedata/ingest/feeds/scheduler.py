"""The scheduler: one process that, round after round, runs the feeds that are due and emails
unsent notices. A second scheduler started by mistake runs nothing twice, by two locks held in
the catalog database:

- the lease (`scheduler_leases`): a round runs only while this process holds it; it is taken by
  an INSERT, or by a conditional UPDATE of an expired lease, and renewed each round;
- the claim: before running a feed, its `next_run_at` is moved forward by a conditional UPDATE
  that only succeeds while the feed is still due, so even two schedulers that both believe
  they hold the lease cannot both run one feed.

Both are single statements whose success the database decides, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from statedata.catalog.changes import fold_counts
from statedata.catalog.feeds import Feed, SchedulerLease
from statedata.catalog.models import utcnow
from statedata.errors import Conflict
from statedata.installation import Installation

log = logging.getLogger("statedata.scheduler")

LEASE_NAME = "feeds"
# A feed claimed by a scheduler that then died is run again after this long.
CLAIM_HOLD = dt.timedelta(hours=1)


def holder_name() -> str:
    """Who this process is, as the lease records it: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take_lease(
    installation: Installation,
    holder: str,
    seconds: float,
    now: dt.datetime | None = None,
) -> bool:
    """Take or renew the lease for `seconds`; False when another live scheduler holds it."""
    now = now or utcnow()
    until = now + dt.timedelta(seconds=seconds)
    with installation.catalog.session() as session:
        renewed = session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == LEASE_NAME,
                (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now),
            )
            .values(holder=holder, expires_at=until)
            .execution_options(synchronize_session=False)
        ).rowcount
        if renewed == 1:
            return True
    try:
        with installation.catalog.session() as session:
            session.execute(
                insert(SchedulerLease).values(name=LEASE_NAME, holder=holder, expires_at=until)
            )
        return True
    except IntegrityError:
        # Someone holds it (or took it between our two statements).
        return False


def release_lease(installation: Installation, holder: str) -> None:
    """Give the lease up at once, so another scheduler need not wait for it to expire."""
    with installation.catalog.session() as session:
        session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )


def due_feeds(installation: Installation, now: dt.datetime) -> list[int]:
    with installation.catalog.session() as session:
        return list(
            session.scalars(
                select(Feed.id)
                .where(
                    Feed.enabled.is_(True), Feed.next_run_at.is_not(None), Feed.next_run_at <= now
                )
                .order_by(Feed.next_run_at, Feed.id)
            )
        )


def claim(installation: Installation, feed_id: int, now: dt.datetime) -> str | None:
    """Mark the feed as being run, if it is still due; the run's trigger, or None when another
    scheduler claimed it first (or it is no longer due)."""
    with installation.catalog.session() as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            return None
        trigger = "retry" if feed.consecutive_failures else "schedule"
        claimed = session.execute(
            update(Feed)
            .where(Feed.id == feed_id, Feed.enabled.is_(True), Feed.next_run_at <= now)
            .values(next_run_at=now + CLAIM_HOLD)
            .execution_options(synchronize_session=False)
        ).rowcount
    return trigger if claimed == 1 else None


@dataclass
class RoundReport:
    held_lease: bool
    ran: list[int] = field(default_factory=list)
    emails_sent: int = 0
    counts_folded: int = 0


def run_round(
    installation: Installation,
    holder: str,
    lease_seconds: float = 300.0,
    now: Callable[[], dt.datetime] = utcnow,
    run: Callable[..., dict] | None = None,
) -> RoundReport:
    """One round: take the lease, run every due feed this scheduler claims, send emails, and
    fold the catalog's counted writes (`catalog.changes.fold_counts`)."""
    from statedata.ingest.feeds.runner import run_feed
    from statedata.notify.email import send_pending

    run = run or run_feed
    if not take_lease(installation, holder, lease_seconds, now()):
        return RoundReport(held_lease=False)
    report = RoundReport(held_lease=True)
    for feed_id in due_feeds(installation, now()):
        # The lease is renewed before each feed: a long run must not let it lapse.
        if not take_lease(installation, holder, lease_seconds, now()):
            break
        trigger = claim(installation, feed_id, now())
        if trigger is None:
            continue
        try:
            run(installation, feed_id, trigger=trigger)
        except Conflict:
            # Someone runs it by hand right now; that run records itself and reschedules.
            continue
        except Exception:
            # A run records its own failures; this is a bug, and the other feeds still run.
            log.exception("feed %s: the run itself failed", feed_id)
        report.ran.append(feed_id)
    try:
        report.emails_sent = send_pending(installation)
    except Exception:
        log.warning("email: sending notices failed this round", exc_info=True)
    try:
        with installation.catalog.session() as session:
            report.counts_folded = fold_counts(session)
    except Exception:
        # Only keeps the change counts small; the next round tries again.
        log.warning("catalog: folding the change counts failed this round", exc_info=True)
    return report


def serve(
    installation: Installation,
    interval: float = 60.0,
    once: bool = False,
    stop: threading.Event | None = None,
    on_round: Callable[[RoundReport], None] | None = None,
) -> None:
    """Run rounds every `interval` seconds until `stop` is set (or once)."""
    holder = holder_name()
    stop = stop or threading.Event()
    lease_seconds = max(interval * 3, 60.0)
    try:
        while True:
            started = time.monotonic()
            report = run_round(installation, holder, lease_seconds)
            if on_round is not None:
                on_round(report)
            if once:
                return
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
            if stop.is_set():
                return
    finally:
        release_lease(installation, holder)
