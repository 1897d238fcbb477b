"""Use of public datasets from the usage counts: per dataset and kind over some days, and
per month, with whole months that can no longer change summed once and kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from statedata.catalog.models import UsageCount
from statedata.metrics.snapshot import Datasets, catalog_key, fetch, index_of, month_text


def _usage_query(session: Session, first: dt.date, last: dt.date, by_month: bool) -> Any:
    """Use per dataset and kind (and month) from `first` to `last`, both included."""
    if session.get_bind().dialect.name == "sqlite" and (last - first).days >= 14:
        # SQLite answers faster reading the whole table than following the primary key's
        # index to each row of a range (measured: about twice for 30 days of a year); for a
        # few days, the index wins.
        month = ", substr(day, 1, 7)" if by_month else ""
        return text(
            f"SELECT dataset_id, kind{month}, sum(count) FROM usage_counts NOT INDEXED "
            f"WHERE day >= :first AND day <= :last GROUP BY dataset_id, kind{month}"
        ).bindparams(first=first.isoformat(), last=last.isoformat())
    month_of = [month_text(session, UsageCount.day)] if by_month else []
    return (
        select(UsageCount.dataset_id, UsageCount.kind, *month_of, func.sum(UsageCount.count))
        .where(UsageCount.day >= first, UsageCount.day <= last)
        .group_by(UsageCount.dataset_id, UsageCount.kind, *month_of)
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
    return _cells(fetch(session, _usage_query(session, first, last, False)))


# Whole months that can no longer change are summed once: kept in memory per process and,
# given a folder, on disk, keyed by catalog and month, with the month's row count (read
# from the primary key's index alone) to tell when a backfill changed the month since.
_MONTHS: dict[tuple[str, str], tuple[int, UsageCells]] = {}
SETTLED_DAYS = 3  # counts are flushed within seconds; three days leaves room for a backlog


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(month + "-01")
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, following - dt.timedelta(days=1)


def _month_file(cache_dir: Path, catalog: str, month: str) -> Path:
    digest = hashlib.sha256(catalog.encode()).hexdigest()[:16]
    return cache_dir / f"usage-{digest}-{month}.npz"


def _load_month(path: Path, rows: int) -> UsageCells | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["rows"]) != rows:
                return None
            return UsageCells(stored["ids"], stored["kinds"], stored["totals"])
    except (OSError, ValueError, KeyError):
        return None


def _save_month(path: Path, rows: int, cells: UsageCells) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp.npz")
        np.savez(
            temp,
            rows=np.array(rows),
            ids=cells.ids,
            kinds=cells.kinds,
            totals=cells.totals,
        )
        temp.replace(path)
    except OSError:  # a cache that cannot be written is only slower next time
        pass


def monthly_cells(
    session: Session, months: Sequence[str], as_of: dt.date, cache_dir: Path | None = None
) -> dict[str, UsageCells]:
    """Use per dataset and kind in each month, up to `as_of` in the month it falls in."""
    catalog = catalog_key(session)
    settled = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=SETTLED_DAYS)
    found: dict[str, UsageCells] = {}
    missing: dict[str, int] = {}
    for month in months:
        start, end = _month_bounds(month)
        if end > as_of or end > settled:
            found[month] = usage_cells(session, start, min(end, as_of))
            continue
        rows = int(
            session.scalar(
                select(func.count()).where(UsageCount.day >= start, UsageCount.day <= end)
            )
            or 0
        )
        cached = _MONTHS.get((catalog, month))
        if cached is not None and cached[0] == rows:
            found[month] = cached[1]
            continue
        stored = _load_month(_month_file(cache_dir, catalog, month), rows) if cache_dir else None
        if stored is not None:
            _MONTHS[(catalog, month)] = (rows, stored)
            found[month] = stored
        else:
            missing[month] = rows
    if missing:
        first, last = _month_bounds(min(missing))[0], _month_bounds(max(missing))[1]
        by_month: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)
        query = _usage_query(session, first, last, by_month=True)
        for dataset_id, kind, month, total in fetch(session, query):
            by_month[month].append((dataset_id, kind, total))
        for month, rows in missing.items():
            cells = _cells(by_month.get(month, []))
            if len(_MONTHS) > 240:
                _MONTHS.clear()
            _MONTHS[(catalog, month)] = (rows, cells)
            if cache_dir is not None:
                _save_month(_month_file(cache_dir, catalog, month), rows, cells)
            found[month] = cells
    return found


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
