"""Counting use of each dataset per day (API calls, downloads, page views), kept in memory and
written to the catalog in batches, so a busy server does not write once per request.

Every write of daily counts also adds them to their owner's sums by day and month
(`usage_rollups`, metrics/attribution.py) in the same transaction, so the plan's traffic metrics
read a row per agency, kind and period; counts written any other way must go through
`add_counts` or `insert_counts` to keep the two in step.
Nothing about who asked is kept: only the dataset, the day, the kind and the count.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statedata.catalog.db import Catalog
from statedata.catalog.models import UsageCount
from statedata.metrics import attribution
from statedata.metrics.kinds import KINDS, STORY_KINDS

__all__ = ["KINDS", "STORY_KINDS", "UsageCounter", "add_counts", "insert_counts", "usage_totals"]


class UsageCounter:
    """Thread-safe tallies, flushed to the catalog by `flush` (and by a timer once started)."""

    def __init__(self, catalog: Catalog, flush_every: float = 10.0) -> None:
        self.catalog = catalog
        self.flush_every = flush_every
        self._pending: Counter[tuple[dt.date, str, str]] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, dataset_id: str, kind: str, day: dt.date | None = None) -> None:
        if kind not in KINDS and kind not in STORY_KINDS:
            raise ValueError(f"unknown usage kind {kind}")
        day = day or dt.datetime.now(dt.UTC).date()
        with self._lock:
            self._pending[(day, dataset_id, kind)] += 1

    def flush(self) -> int:
        """Write the pending tallies; return how many counts were written."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return 0
        try:
            with self.catalog.session() as session:
                add_counts(session, pending.items())
        except Exception:
            with self._lock:
                self._pending.update(pending)  # keep them for the next try
            raise
        return sum(pending.values())

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="usage-flush", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_every):
            try:
                self.flush()
            except Exception:  # the catalog may be briefly busy; the counts wait for next time
                continue


def add_counts(session: Session, counts: Iterable[tuple[tuple[dt.date, str, str], int]]) -> None:
    """Add ((day, dataset id, kind), count) to the daily counts and their owners' sums."""
    counts = list(counts)
    # The owners first: in PostgreSQL this locks them, so a dataset changing hands meanwhile
    # waits for these counts and moves them too.
    attribution.add(session, counts)
    for (day, dataset_id, kind), n in counts:
        where = (
            (UsageCount.day == day)
            & (UsageCount.dataset_id == dataset_id)
            & (UsageCount.kind == kind)
        )
        changed = session.execute(
            update(UsageCount).where(where).values(count=UsageCount.count + n)
        ).rowcount
        if changed:
            continue
        try:
            with session.begin_nested():
                session.add(UsageCount(day=day, dataset_id=dataset_id, kind=kind, count=n))
        except IntegrityError:
            # Another server process inserted the same day first.
            session.execute(update(UsageCount).where(where).values(count=UsageCount.count + n))


def insert_counts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert daily counts that are not in the catalog yet ({"day", "dataset_id", "kind",
    "count"} each, as a bulk load has them) and add them to their owners' sums."""
    if not rows:
        return
    sums: Counter[tuple[dt.date, str, str]] = Counter()
    for row in rows:
        sums[(row["day"], row["dataset_id"], row["kind"])] += row["count"]
    attribution.add(session, sums.items())
    session.execute(insert(UsageCount), list(rows))


def usage_totals(session: Session, dataset_id: str) -> dict[str, int]:
    """All-time counts of one dataset by kind."""
    rows = session.execute(
        select(UsageCount.kind, func.sum(UsageCount.count))
        .where(UsageCount.dataset_id == dataset_id)
        .group_by(UsageCount.kind)
    ).all()
    totals = {kind: 0 for kind in KINDS}
    totals.update({kind: int(total) for kind, total in rows})
    return totals
