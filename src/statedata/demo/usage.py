"""A year of the demo's use: page views, downloads and API calls per dataset per day, shaped
as real portals' use is (a few datasets used every day, most now and then, busier on
weekdays), from fixed seeds so every build counts the same. Only open datasets with rows are
used; nothing about any visitor exists to be stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.catalog.models import Dataset, UsageCount
from statedata.metrics.usage import insert_counts

DAYS = 365
# Mean uses a day of the most used dataset, by kind; the n-th most used gets 1/n of it.
BUSIEST = {"page_view": 120.0, "download": 18.0, "api_call": 400.0}


def _rng() -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(b"demo usage").digest()[:8], "big"))


def build(session: Session, as_of: dt.date) -> int:
    """Add the year's counts (once); how many rows were added."""
    if session.scalar(select(UsageCount.day).limit(1)) is not None:
        return 0
    used = session.scalars(
        select(Dataset.id)
        .where(
            Dataset.classification == "public",
            Dataset.access_level == "public",
            Dataset.current_version_id.is_not(None),
        )
        .order_by(Dataset.id)
    ).all()
    rng = _rng()
    ranks = rng.permutation(len(used)) + 1
    rows = []
    for dataset_id, rank in zip(used, ranks, strict=True):
        for offset in range(DAYS):
            day = as_of - dt.timedelta(days=offset + 1)
            weekday = 1.0 if day.weekday() < 5 else 0.45
            for kind, busiest in BUSIEST.items():
                count = int(rng.poisson(busiest / rank * weekday))
                if count:
                    rows.append(
                        {"day": day, "dataset_id": dataset_id, "kind": kind, "count": count}
                    )
    # Through the usage counter's writer, so the months' sums the metrics read match.
    insert_counts(session, rows)
    return len(rows)
