"""Use by agency for the plan's traffic metrics, read from the sums kept by owner
(`usage_rollups`, metrics/attribution.py): each calendar month's, and the days up to the day
asked about. Only use of datasets that are public and listed now counts; a data story's views
are counted apart, under no agency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statedata.catalog.models import Agency, UsageCount, UsageRollup
from statedata.metrics.attribution import owners_kept
from statedata.metrics.kinds import STORY_KINDS


@dataclass
class AgencyUse:
    """Use per kind over some days, as a count per agency (in the order of the metrics'
    `agency_codes`, whose last entry is "no agency")."""

    size: int
    by_kind: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, kind: str, agency: int, count: int) -> None:
        found = self.by_kind.get(kind)
        if found is None:
            found = self.by_kind[kind] = np.zeros(self.size, dtype=np.int64)
        found[agency] += count

    def of(self, kind: str) -> np.ndarray:
        return self.by_kind.get(kind, np.zeros(self.size, dtype=np.int64))


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(month + "-01")
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, following - dt.timedelta(days=1)


class _Agencies:
    """Agency id -> index into the metrics' agency codes (unknown ids and 0: no agency)."""

    def __init__(self, session: Session, agency_codes: Sequence[str]) -> None:
        position = {code: i for i, code in enumerate(agency_codes)}
        self.none = len(agency_codes) - 1
        self.index = {
            agency_id: position.get(code, self.none)
            for agency_id, code in session.execute(select(Agency.id, Agency.code))
        }

    def __call__(self, agency_id: int) -> int:
        return self.index.get(agency_id, self.none)


def agency_use(
    session: Session,
    agency_codes: Sequence[str],
    months: Sequence[str],
    first: dt.date,
    as_of: dt.date,
    exclude: Sequence[str] = (),
) -> tuple[dict[str, AgencyUse], AgencyUse]:
    """Use of public, listed datasets per agency: in each of `months` up to `as_of`, and from
    `first` to `as_of` (both included). The datasets `exclude` names are left out."""
    agency = _Agencies(session, agency_codes)
    size = len(agency_codes)
    by_month = {month: AgencyUse(size) for month in months}
    counted = [m for m in months if _month_bounds(m)[0] <= as_of]
    if counted:
        rows = session.execute(
            select(UsageRollup.period, UsageRollup.kind, UsageRollup.agency_id, UsageRollup.count)
            .where(UsageRollup.span == "month", UsageRollup.period.in_(counted))
            .where(UsageRollup.listed.is_(True))
        )
        for month, kind, agency_id, count in rows:
            by_month[month].add(kind, agency(agency_id), int(count))
        # The month `as_of` falls in, without its days after `as_of`: usually none.
        month = as_of.isoformat()[:7]
        if month in by_month and _month_bounds(month)[1] > as_of:
            later = _day_sums(session, as_of + dt.timedelta(days=1), _month_bounds(month)[1])
            for kind, agency_id, count in later:
                by_month[month].add(kind, agency(agency_id), -int(count))
    recent = AgencyUse(size)
    for kind, agency_id, count in _day_sums(session, first, as_of):
        recent.add(kind, agency(agency_id), int(count))
    if exclude:
        _leave_out(session, exclude, agency, by_month, recent, first, as_of)
    return by_month, recent


def _day_sums(session: Session, first: dt.date, last: dt.date) -> list[tuple[str, int, int]]:
    """(kind, agency id, count) of listed datasets' use from `first` to `last`."""
    return [
        tuple(row)  # type: ignore[misc]
        for row in session.execute(
            select(UsageRollup.kind, UsageRollup.agency_id, func.sum(UsageRollup.count))
            .where(UsageRollup.span == "day", UsageRollup.listed.is_(True))
            .where(UsageRollup.period >= first.isoformat(), UsageRollup.period <= last.isoformat())
            .group_by(UsageRollup.kind, UsageRollup.agency_id)
        )
    ]


def _leave_out(
    session: Session,
    exclude: Sequence[str],
    agency: _Agencies,
    by_month: dict[str, AgencyUse],
    recent: AgencyUse,
    first: dt.date,
    as_of: dt.date,
) -> None:
    """Take the use of the datasets `exclude` names off the sums they were counted in."""
    owned = {i: o for i, o in owners_kept(session, exclude).items() if o[1]}
    if not owned:
        return
    rows = session.execute(
        select(UsageCount.dataset_id, UsageCount.day, UsageCount.kind, UsageCount.count).where(
            UsageCount.dataset_id.in_(sorted(owned)),
            UsageCount.kind.not_in(STORY_KINDS),
            UsageCount.day <= as_of,
        )
    )
    for dataset_id, day, kind, count in rows:
        index = agency(owned[dataset_id][0])
        month = by_month.get(day.isoformat()[:7])
        if month is not None:
            month.add(kind, index, -int(count))
        if day >= first:
            recent.add(kind, index, -int(count))
