"""The plan's goal-3 metrics: how long interagency data requests take to fulfil, how many
sharing agreements are multi-party, and how satisfied requesters are.

Read-only functions of the catalog as it stood at the end of an `as_of` day (UTC); nothing
here names a requester or shows what a request asked for.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from statedata.catalog.models import as_utc
from statedata.catalog.sharing import (
    Agreement,
    AgreementParty,
    DataRequest,
    DataRequestAgency,
)
from statedata.requests.data_requests import PATH, Stage

DAY_SECONDS = 86_400.0
# Time is counted from submission: a draft is the requester's own time, not the state's.
TIMED_STAGES = tuple(s.value for s in PATH[1:-1])


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0 to 100) by linear interpolation between the closest ranks (the
    method of numpy's default and Excel's PERCENTILE.INC); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q is a percentage from 0 to 100")
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def end_of(as_of: dt.date) -> dt.datetime:
    """The first moment after the `as_of` day, in UTC."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@dataclass(frozen=True)
class Fulfilment:
    """One completed request's timing: days from submission to completion, and in each
    stage between."""

    completed_at: dt.datetime
    end_to_end: float
    stages: dict[str, float]
    agencies: tuple[str, ...] = ()


def fulfilment(
    moves: Sequence[tuple[str, dt.datetime]], agencies: Sequence[str] = ()
) -> Fulfilment | None:
    """The timing of a request from its moves in order, each (stage entered, when); None
    unless it was submitted and completed."""
    moves = [(stage, as_utc(at)) for stage, at in moves]
    entered = {stage: at for stage, at in moves}
    if Stage.SUBMITTED.value not in entered or Stage.COMPLETED.value not in entered:
        return None
    start = next(i for i, (stage, _) in enumerate(moves) if stage == Stage.SUBMITTED.value)
    stages: dict[str, float] = {}
    # Each stage lasts until the next move; the stages' times add up to the whole.
    for (stage, at), (_, left) in zip(moves[start:], moves[start + 1 :], strict=False):
        stages[stage] = stages.get(stage, 0.0) + (left - at).total_seconds() / DAY_SECONDS
    submitted, completed = moves[start][1], entered[Stage.COMPLETED.value]
    return Fulfilment(
        completed_at=completed,
        end_to_end=(completed - submitted).total_seconds() / DAY_SECONDS,
        stages=stages,
        agencies=tuple(agencies),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _spread(values: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "median": _round(percentile(values, 50)),
        "p90": _round(percentile(values, 90)),
    }


def summarise(items: Sequence[Fulfilment]) -> dict[str, Any]:
    """Median and 90th percentile, end to end and per stage, of some completed requests."""
    by_stage: dict[str, list[float]] = defaultdict(list)
    for item in items:
        for stage, days in item.stages.items():
            by_stage[stage].append(days)
    return {
        "end_to_end": _spread([i.end_to_end for i in items]),
        "stages": {stage: _spread(by_stage.get(stage, [])) for stage in TIMED_STAGES},
    }


def fulfilments(session: Session, as_of: dt.date) -> list[Fulfilment]:
    """Every request completed by the end of the `as_of` day, with its timing."""
    cutoff = end_of(as_of)
    requests = session.scalars(
        select(DataRequest)
        .options(
            selectinload(DataRequest.events),
            selectinload(DataRequest.agencies).selectinload(DataRequestAgency.agency),
        )
        .where(DataRequest.submitted_at.is_not(None))
        .order_by(DataRequest.id)
    )
    found = []
    for request in requests:
        moves = [
            (event.to_stage, event.occurred_at)
            for event in request.events
            if as_utc(event.occurred_at) < cutoff
        ]
        item = fulfilment(moves, [link.agency.code for link in request.agencies])
        if item is not None:
            found.append(item)
    return found


def time_to_fulfil(session: Session, as_of: dt.date) -> dict[str, Any]:
    """Days to fulfil requests: overall, by agency holding the data (a request held by two
    agencies counts in both) and by month of completion."""
    items = fulfilments(session, as_of)
    by_agency: dict[str, list[Fulfilment]] = defaultdict(list)
    by_month: dict[str, list[Fulfilment]] = defaultdict(list)
    for item in items:
        for code in item.agencies:
            by_agency[code].append(item)
        by_month[item.completed_at.strftime("%Y-%m")].append(item)
    return {
        "unit": "days",
        "overall": summarise(items),
        "by_agency": {code: summarise(by_agency[code]) for code in sorted(by_agency)},
        "by_month": {month: summarise(by_month[month]) for month in sorted(by_month)},
    }


@dataclass
class _Share:
    total: int = 0
    multi_party: int = 0

    def add(self, parties: int) -> None:
        self.total += 1
        self.multi_party += parties > 2

    def document(self) -> dict[str, Any]:
        share = self.multi_party / self.total if self.total else None
        return {"total": self.total, "multi_party": self.multi_party, "share": _round(share)}


@dataclass
class _Shares:
    all: _Share = field(default_factory=_Share)
    executed: _Share = field(default_factory=_Share)
    by_status: dict[str, _Share] = field(default_factory=lambda: defaultdict(_Share))


def multi_party_share(session: Session, as_of: dt.date) -> dict[str, Any]:
    """How many agreements have more than two parties: of all made by `as_of`, of those
    executed by then (and still executed), and by status."""
    cutoff = end_of(as_of)
    parties = (
        select(AgreementParty.agreement_id, func.count().label("parties"))
        .group_by(AgreementParty.agreement_id)
        .subquery()
    )
    rows = session.execute(
        select(Agreement.status, Agreement.created_at, Agreement.executed_at, parties.c.parties)
        .outerjoin(parties, parties.c.agreement_id == Agreement.id)
        .order_by(Agreement.id)
    )
    shares = _Shares()
    for status, created_at, executed_at, count in rows:
        if as_utc(created_at) >= cutoff:
            continue
        count = count or 0
        shares.all.add(count)
        shares.by_status[status].add(count)
        if status == "executed" and (executed_at is None or as_utc(executed_at) < cutoff):
            shares.executed.add(count)
    return {
        **shares.all.document(),
        "executed": shares.executed.document(),
        "by_status": {s: shares.by_status[s].document() for s in sorted(shares.by_status)},
    }


def satisfaction(session: Session, as_of: dt.date) -> dict[str, Any]:
    """Requesters' answers to the survey on completion: how many, the mean, and how many gave
    each score from 1 to 5."""
    cutoff = end_of(as_of)
    scores = [
        score
        for score, closed_at in session.execute(
            select(DataRequest.satisfaction, DataRequest.closed_at).where(
                DataRequest.satisfaction.is_not(None),
                DataRequest.stage == Stage.COMPLETED.value,
            )
        )
        if closed_at is not None and as_utc(closed_at) < cutoff
    ]
    return {
        "count": len(scores),
        "mean": _round(sum(scores) / len(scores)) if scores else None,
        "distribution": {str(n): scores.count(n) for n in range(1, 6)},
    }


def goal_three(session: Session, as_of: dt.date | None = None) -> dict[str, Any]:
    """All of goal 3's metrics as they stood at the end of `as_of` (today by default)."""
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    return {
        "as_of": as_of.isoformat(),
        "time_to_fulfil": time_to_fulfil(session, as_of),
        "agreements": multi_party_share(session, as_of),
        "satisfaction": satisfaction(session, as_of),
    }
