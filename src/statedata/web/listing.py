"""The catalog as lists for pages: the datasets a viewer may see, in one query, and the most
used of them. Access is still decided by `access.can`, one dataset at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from statedata.access import Action, Actor, can
from statedata.catalog.models import Dataset, UsageCount
from statedata.catalog.vocab import Status


def visible_datasets(session: Session, actor: Actor, agency_id: int | None = None) -> list[Dataset]:
    """The listed (not retired) datasets `actor` may see, in title order, with their agency
    loaded in the same query: what a list shows, without columns, tags or files."""
    query = (
        select(Dataset)
        .options(joinedload(Dataset.agency))
        .where(Dataset.status != Status.RETIRED.value)
        .order_by(Dataset.title, Dataset.id)
    )
    if agency_id is not None:
        query = query.where(Dataset.agency_id == agency_id)
    return [d for d in session.scalars(query) if can(actor, Action.READ_METADATA, d)]


def recently_updated(datasets: Sequence[Dataset], count: int) -> list[Dataset]:
    """The datasets whose data (or, with no data yet, metadata) changed last."""

    def moment(d: Dataset) -> dt.datetime:
        value = d.data_updated_at or d.metadata_updated_at
        # SQLite gives times back without a zone; all catalog times are UTC.
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value

    return sorted(datasets, key=moment, reverse=True)[:count]


def most_used(
    session: Session, datasets: Sequence[Dataset], since: dt.date, count: int
) -> list[tuple[Dataset, int]]:
    """The datasets used most (page views, downloads and API calls) since `since`."""
    by_id = {d.id: d for d in datasets}
    totals = session.execute(
        select(UsageCount.dataset_id, func.sum(UsageCount.count).label("uses"))
        .where(UsageCount.day >= since)
        .group_by(UsageCount.dataset_id)
        .order_by(func.sum(UsageCount.count).desc(), UsageCount.dataset_id)
    ).all()
    found = [(by_id[row.dataset_id], int(row.uses)) for row in totals if row.dataset_id in by_id]
    return found[:count]
