"""The freshness report: every dataset with its frequency, last data update, due date, status
and days late, as of any day.

Read as plain rows (no ORM objects), so the whole catalog is evaluated in one query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.catalog import service
from statedata.catalog.models import Agency, Dataset
from statedata.catalog.vocab import frequency_name
from statedata.freshness.status import Freshness, evaluate

RETIRED = "retired"


@dataclass(frozen=True)
class FreshnessRow:
    id: str
    title: str
    agency: str | None
    frequency: str | None
    last_update: dt.date | None
    due_date: dt.date | None
    status: Freshness
    days_late: int
    # What the access policy needs to decide who may see the row.
    classification: str
    access_level: str
    publication_state: str
    dataset_status: str

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "agency": self.agency,
            "frequency": self.frequency,
            "frequency_name": frequency_name(self.frequency),
            "last_update": self.last_update.isoformat() if self.last_update else None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "status": self.status.value,
            "days_late": self.days_late,
        }


def rows(
    session: Session,
    as_of: dt.date,
    agency_code: str | None = None,
    include_retired: bool = False,
) -> list[FreshnessRow]:
    """Every dataset's freshness on `as_of`, in title order. A dataset never updated since it
    was first published counts from its publication."""
    query = (
        select(
            Dataset.id,
            Dataset.title,
            Agency.code,
            Dataset.update_frequency,
            Dataset.data_updated_at,
            Dataset.created_at,
            Dataset.classification,
            Dataset.access_level,
            Dataset.publication_state,
            Dataset.status,
        )
        .outerjoin(Agency, Agency.id == Dataset.agency_id)
        .order_by(Dataset.title, Dataset.id)
    )
    if agency_code:
        query = query.where(Dataset.agency_id == service.get_agency(session, agency_code).id)
    if not include_retired:
        query = query.where(Dataset.status != RETIRED)
    found = []
    for row in session.execute(query):
        last = row.data_updated_at or row.created_at
        evaluation = evaluate(row.update_frequency, last, as_of)
        found.append(
            FreshnessRow(
                id=row.id,
                title=row.title,
                agency=row.code,
                frequency=row.update_frequency,
                last_update=evaluation.last_update,
                due_date=evaluation.due_date,
                status=evaluation.status,
                days_late=evaluation.days_late,
                classification=row.classification,
                access_level=row.access_level,
                publication_state=row.publication_state,
                dataset_status=row.status,
            )
        )
    return found


def summary(found: list[FreshnessRow]) -> dict[str, int]:
    """How many datasets have each status."""
    counts = {status.value: 0 for status in Freshness}
    for row in found:
        counts[row.status.value] += 1
    return counts
