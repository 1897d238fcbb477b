"""Use of public datasets from the usage counts: per dataset and kind over some days from the
daily counts, and per month from the months' sums kept beside them (metrics/usage.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from statedata.catalog.models import UsageCount, UsageMonth
from statedata.metrics.snapshot import Datasets, catalog_key, fetch, index_of


def _usage_query(session: Session, first: dt.date, last: dt.date) -> Any:
    """Use per dataset and kind from `first` to `last`, both included."""
    if session.get_bind().dialect.name == "sqlite" and (last - first).days >= 14:
        # SQLite answers faster reading the whole table than following the primary key's
        # index to each row of a range (measured: about twice for 30 days of a year); for a
        # few days, the index wins.
        return text(
            "SELECT dataset_id, kind, sum(count) FROM usage_counts NOT INDEXED "
            "WHERE day >= :first AND day <= :last GROUP BY dataset_id, kind"
        ).bindparams(first=first.isoformat(), last=last.isoformat())
    return _indexed_query(first, last)


def _indexed_query(first: dt.date, last: dt.date) -> Any:
    return (
        select(UsageCount.dataset_id, UsageCount.kind, func.sum(UsageCount.count))
        .where(UsageCount.day >= first, UsageCount.day <= last)
        .group_by(UsageCount.dataset_id, UsageCount.kind)
    )


@dataclass(frozen=True)
class UsageCells:
    """Use summed per dataset and kind over some days: three parallel arrays."""

    ids: np.ndarray
    kinds: np.ndarray
    totals: np.ndarray


def _cells(rows: Sequence[tuple[str, str, Any]]) -> UsageCells:
    if not rows:
        return UsageCells(np.array([], dtype=str), np.array([], dtype=str), np.zeros(0, np.int64))
    ids, kinds, totals = zip(*rows, strict=True)
    return UsageCells(
        np.array(ids, dtype=str), np.array(kinds, dtype=str), np.array(totals, dtype=np.int64)
    )


def usage_cells(session: Session, first: dt.date, last: dt.date) -> UsageCells:
    """Use per dataset and kind from `first` to `last` (both included)."""
    return _cells(fetch(session, _usage_query(session, first, last)))


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(month + "-01")
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, following - dt.timedelta(days=1)


# Months that can no longer change are kept in memory per process, keyed by catalog and month,
# with the month's count of rows (read from the primary key's index alone) to tell when a late
# count added a dataset or kind to it since.
_MONTHS: dict[tuple[str, str], tuple[int, UsageCells]] = {}
SETTLED_DAYS = 3  # counts are flushed within seconds; three days leaves room for a backlog


def monthly_cells(session: Session, months: Sequence[str], as_of: dt.date) -> dict[str, UsageCells]:
    """Use per dataset and kind in each month, up to `as_of` in the month it falls in.

    Read from the months' sums that the usage counter keeps beside the daily counts (a row
    per dataset, kind and month); a month running past `as_of` has the counts of its days
    after `as_of` taken off, which for today's month are none."""
    catalog = catalog_key(session)
    settled = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=SETTLED_DAYS)
    found: dict[str, UsageCells] = {}
    for month in months:
        start, end = _month_bounds(month)
        if start > as_of:
            found[month] = _cells([])
            continue
        keep = end <= as_of and end <= settled
        if keep:
            rows_now = int(
                session.scalar(select(func.count()).where(UsageMonth.month == month)) or 0
            )
            cached = _MONTHS.get((catalog, month))
            if cached is not None and cached[0] == rows_now:
                found[month] = cached[1]
                continue
        rows = fetch(
            session,
            select(UsageMonth.dataset_id, UsageMonth.kind, UsageMonth.count).where(
                UsageMonth.month == month
            ),
        )
        if end > as_of:
            # Usually no rows at all: read through the index, which finds that at once.
            later = fetch(session, _indexed_query(as_of + dt.timedelta(days=1), end))
            rows = _less(rows, later)
        found[month] = _cells(rows)
        if keep:
            if len(_MONTHS) > 240:
                _MONTHS.clear()
            _MONTHS[(catalog, month)] = (rows_now, found[month])
    return found


def _less(
    rows: Sequence[tuple[str, str, Any]], later: Sequence[tuple[str, str, Any]]
) -> list[tuple[str, str, Any]]:
    """`rows` with the counts of `later` taken off, leaving out what comes to nothing."""
    if not later:
        return list(rows)
    taken = {(dataset_id, kind): int(total) for dataset_id, kind, total in later}
    kept = []
    for dataset_id, kind, total in rows:
        left = int(total) - taken.get((dataset_id, kind), 0)
        if left:
            kept.append((dataset_id, kind, left))
    return kept


class UsageMap:
    """Which counted datasets are public now, and their agency."""

    def __init__(self, data: Datasets) -> None:
        ids = np.array(data.ids, dtype=str)
        self.order = np.argsort(ids, kind="stable")
        self.sorted_ids = ids[self.order]
        self.data = data
        self._agencies: dict[int, np.ndarray] = {}

    def agencies(self, cells: UsageCells) -> np.ndarray:
        """Each cell's agency index, or -1 when its dataset is not public (or is gone)."""
        found = self._agencies.get(id(cells))
        if found is None:
            index = index_of(self.sorted_ids, self.order, cells.ids)
            safe = np.where(index >= 0, index, 0)
            if len(self.data):
                public = (index >= 0) & self.data.listed[safe]
                found = np.where(public, self.data.agency[safe], -1)
            else:
                found = np.full(len(index), -1, dtype=np.int64)
            self._agencies[id(cells)] = found
        return found

    def totals(self, cells: UsageCells, kind: str) -> np.ndarray:
        """Use of `kind` per agency index."""
        agencies = self.agencies(cells)
        chosen = (agencies >= 0) & (cells.kinds == kind)
        return np.bincount(
            agencies[chosen], weights=cells.totals[chosen], minlength=len(self.data.agency_codes)
        ).astype(np.int64)
