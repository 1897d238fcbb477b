"""Counting use of each dataset per day (API calls, downloads, page views), kept in memory and
written to the catalog in batches, so a busy server does not write once per request.

Every write of daily counts also adds them to the month's sums (`usage_months`) in the same
transaction, so the monthly series read a row per dataset, kind and month; counts written any
other way must go through `add_counts` or `insert_counts` to keep the two in step.
Nothing about who asked is kept: only the dataset, the day, the kind and the count.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statedata.catalog.db import Catalog
from statedata.catalog.models import UsageCount, UsageMonth

KINDS = ("api_call", "download", "page_view")
# A data story's page views, under the story's 9-character key (web/stories.py); kept apart
# from KINDS, which are the uses of datasets that the plan's traffic metrics count.
STORY_KINDS = ("story_view",)


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
    """Add ((day, dataset id, kind), count) to the daily counts and their months' sums."""
    months: Counter[tuple[str, str, str]] = Counter()
    for (day, dataset_id, kind), n in counts:
        months[(day.strftime("%Y-%m"), dataset_id, kind)] += n
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
    add_to_months(session, months)


def insert_counts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert daily counts that are not in the catalog yet ({"day", "dataset_id", "kind",
    "count"} each, as a bulk load has them) and add them to their months' sums."""
    if not rows:
        return
    session.execute(insert(UsageCount), list(rows))
    add_to_months(session, month_sums(rows))


def month_sums(rows: Iterable[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    """Daily count rows summed by (month 'YYYY-MM', dataset id, kind)."""
    months: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        months[(row["day"].strftime("%Y-%m"), row["dataset_id"], row["kind"])] += row["count"]
    return months


def add_to_months(session: Session, months: Mapping[tuple[str, str, str], int]) -> None:
    """Add to each (month, dataset, kind)'s sum in one statement per batch: an insert that
    adds to the row already there, which PostgreSQL and SQLite both do atomically."""
    if not months:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [
        {"month": month, "dataset_id": dataset_id, "kind": kind, "count": n}
        for (month, dataset_id, kind), n in months.items()
    ]
    table = UsageMonth.__table__
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["month", "dataset_id", "kind"],
        set_={"count": table.c.count + statement.excluded["count"]},
    )
    for start in range(0, len(rows), 50_000):
        session.execute(statement, rows[start : start + 50_000])


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
