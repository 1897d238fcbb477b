"""Reminders: before a dataset falls due and once it is overdue, its agency is told, in one
notice per agency per day listing every dataset that needs an update (what uData's and
data.gov's publishers keep asking for). Email copies go out with the other notices."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.catalog import notices
from statedata.catalog.models import Agency
from statedata.catalog.vocab import Status
from statedata.freshness.report import FreshnessRow, rows
from statedata.freshness.status import Freshness

WORTH_A_REMINDER = (Freshness.DUE, Freshness.OVERDUE, Freshness.STALE)


def _line(row: FreshnessRow) -> str:
    if row.status is Freshness.DUE:
        return f"- {row.title} ({row.id}): due on {row.due_date}"
    return f"- {row.title} ({row.id}): due on {row.due_date}, {row.days_late} days late"


def send(session: Session, as_of: dt.date) -> dict[str, int]:
    """One reminder per agency with datasets due soon or overdue; agency -> datasets named.
    Sending twice on one day sends nothing new."""
    by_agency: dict[str, list[FreshnessRow]] = defaultdict(list)
    for row in rows(session, as_of):
        if (
            row.agency
            and row.status in WORTH_A_REMINDER
            and row.dataset_status == Status.ACTIVE.value
        ):
            by_agency[row.agency].append(row)
    agencies = {
        a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(by_agency)))
    }
    for code, found in by_agency.items():
        due = [r for r in found if r.status is Freshness.DUE]
        late = [r for r in found if r.status is not Freshness.DUE]
        parts = []
        if late:
            parts.append("Overdue:\n" + "\n".join(_line(r) for r in late))
        if due:
            parts.append("Due soon:\n" + "\n".join(_line(r) for r in due))
        notices.notify_agency(
            session,
            agencies[code],
            "freshness.reminder",
            f"{len(late)} dataset(s) overdue, {len(due)} due soon",
            "\n\n".join(parts),
            link=f"/api/v1/freshness?agency={code}",
            dedupe_key=f"freshness:reminder:{code}:{as_of.isoformat()}",
        )
    return {code: len(found) for code, found in by_agency.items()}
