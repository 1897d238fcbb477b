"""Use summed by owner: each dataset's counts are added to its agency's sums, apart for
datasets that are public and listed and those that are not, per day and per month
(`usage_rollups`), so the plan's traffic metrics read a row per agency, kind and period
instead of one per dataset.

Who owns a dataset's counts is kept in `usage_owners` (made when the dataset is first counted).
When a dataset's agency or listing changes, the commit that changes it also moves the dataset's
sums from its old owner to its new one and updates the owner row (`keep_in_step`). Counts
written and owners moved lock the same rows in PostgreSQL (the dataset row, then the owner
row), so a count added while a dataset changes hands is summed under the owner it ends with.
A data story's views belong to no dataset: they are summed under agency 0, listed.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import and_, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from statedata.catalog.db import Catalog
from statedata.catalog.models import Dataset, UsageCount, UsageOwner, UsageRollup
from statedata.metrics.kinds import STORY_KINDS

Owner = tuple[int, bool]  # (agency id, 0 for none; public and listed)
NOT_A_DATASET: Owner = (0, False)
STORY_OWNER: Owner = (0, True)
# Why an owner changes: the columns that say a dataset's agency and whether it is listed.
OWNER_COLUMNS = ("agency_id", "classification", "access_level", "publication_state")
_CHUNK = 500  # SQLite takes at most 999 parameters


def listed() -> Any:
    """Public and listed: classified public, open to all and approved (the plan metrics'
    `listed`; migration 0008 writes the same in SQL)."""
    return and_(
        Dataset.classification == "public",
        Dataset.access_level == "public",
        func.coalesce(Dataset.publication_state, "published") == "published",
    )


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def current_owners(session: Session, ids: Iterable[str], lock: bool = False) -> dict[str, Owner]:
    """Each id's owner as the catalog says now; ids that are not datasets own nothing.
    With `lock`, the dataset rows are locked against change until the transaction ends."""
    wanted = sorted(set(ids))
    found = dict.fromkeys(wanted, NOT_A_DATASET)
    for chunk in _chunks(wanted):
        query = select(Dataset.id, Dataset.agency_id, listed()).where(Dataset.id.in_(chunk))
        if lock:
            query = query.with_for_update(read=True)
        for dataset_id, agency_id, is_listed in session.execute(query):
            found[dataset_id] = (int(agency_id or 0), bool(is_listed))
    return found


def _owner_rows(session: Session, ids: Sequence[str], lock: str | None) -> dict[str, Owner]:
    found: dict[str, Owner] = {}
    for chunk in _chunks(ids):
        query = select(UsageOwner.dataset_id, UsageOwner.agency_id, UsageOwner.listed).where(
            UsageOwner.dataset_id.in_(chunk)
        )
        if lock is not None:
            query = query.with_for_update(read=lock == "share")
        found.update({row[0]: (int(row[1]), bool(row[2])) for row in session.execute(query)})
    return found


def owners_kept(session: Session, ids: Iterable[str]) -> dict[str, Owner]:
    """The owners kept for the ids counted so far (ids never counted are left out)."""
    return _owner_rows(session, sorted(set(ids)), lock=None)


def _dialect(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def owners(session: Session, ids: Iterable[str]) -> dict[str, Owner]:
    """The owner of each dataset id's counts, made from the dataset as it is now for ids not
    counted before. The rows read are locked (shared) until the transaction ends."""
    wanted = sorted(set(ids))
    found = _owner_rows(session, wanted, lock="share")
    missing = [i for i in wanted if i not in found]
    if missing:
        made = current_owners(session, missing, lock=True)
        statement = _dialect(session).insert(UsageOwner.__table__).on_conflict_do_nothing()
        session.execute(
            statement,
            [
                {"dataset_id": i, "agency_id": a, "listed": is_listed}
                for i, (a, is_listed) in made.items()
            ],
        )
        # Another process may have made some first: theirs stand.
        found.update(_owner_rows(session, missing, lock="share"))
    return found


def add_to_rollups(session: Session, sums: Mapping[tuple[str, str, str, int, bool], int]) -> None:
    """Add to each (span, period, kind, agency id, listed)'s sum in one statement per batch:
    an insert that adds to the row already there, which PostgreSQL and SQLite both do
    atomically."""
    rows = [
        {"span": s, "period": p, "kind": k, "agency_id": a, "listed": is_listed, "count": n}
        for (s, p, k, a, is_listed), n in sums.items()
        if n
    ]
    if not rows:
        return
    table = UsageRollup.__table__
    statement = _dialect(session).insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["span", "period", "kind", "agency_id", "listed"],
        set_={"count": table.c.count + statement.excluded["count"]},
    )
    for start in range(0, len(rows), 20_000):
        session.execute(statement, rows[start : start + 20_000])


def _periods(day: dt.date) -> tuple[tuple[str, str], tuple[str, str]]:
    return (("day", day.isoformat()), ("month", day.isoformat()[:7]))


def add(session: Session, counts: Iterable[tuple[tuple[dt.date, str, str], int]]) -> None:
    """Add daily counts ((day, dataset id, kind), count) to their owners' sums."""
    counts = list(counts)
    owner = owners(session, {d for (_, d, kind), _ in counts if kind not in STORY_KINDS})
    sums: Counter[tuple[str, str, str, int, bool]] = Counter()
    for (day, dataset_id, kind), n in counts:
        agency_id, is_listed = STORY_OWNER if kind in STORY_KINDS else owner[dataset_id]
        for span, period in _periods(day):
            sums[(span, period, kind, agency_id, is_listed)] += n
    add_to_rollups(session, sums)


def move(session: Session, ids: Iterable[str]) -> int:
    """Move the sums of the datasets `ids` whose agency or listing changed to their new owner,
    in this session's transaction. Returns how many datasets moved."""
    wanted = sorted(set(ids))
    kept = _owner_rows(session, wanted, lock="update")
    if not kept:
        return 0
    now = current_owners(session, kept)
    moving = {i: (kept[i], now[i]) for i in kept if kept[i] != now[i]}
    if not moving:
        return 0
    sums: Counter[tuple[str, str, str, int, bool]] = Counter()
    for chunk in _chunks(sorted(moving)):
        rows = session.execute(
            select(UsageCount.dataset_id, UsageCount.day, UsageCount.kind, UsageCount.count).where(
                UsageCount.dataset_id.in_(chunk), UsageCount.kind.not_in(STORY_KINDS)
            )
        )
        for dataset_id, day, kind, n in rows:
            old, new = moving[dataset_id]
            for span, period in _periods(day):
                sums[(span, period, kind, *old)] -= n
                sums[(span, period, kind, *new)] += n
    add_to_rollups(session, sums)
    for dataset_id, (_, (agency_id, is_listed)) in moving.items():
        session.execute(
            update(UsageOwner)
            .where(UsageOwner.dataset_id == dataset_id)
            .values(agency_id=agency_id, listed=is_listed)
        )
    return len(moving)


# Keeping owners in step --------------------------------------------------------------------

_CHANGED = "statedata.attribution.changed"


def _collect(session: Session, _flush_context: Any) -> None:
    """After each flush: note the datasets written (made, changed or removed)."""
    changed = session.info.setdefault(_CHANGED, set())
    for item in chain(session.new, session.dirty, session.deleted):
        if isinstance(item, Dataset) and item.id is not None:
            changed.add(item.id)


def _move_changed(session: Session) -> None:
    """Before a commit: move the sums of the noted datasets whose owner changed."""
    session.flush()
    changed = session.info.pop(_CHANGED, None)
    if changed:
        move(session, changed)


# See freshness/stored_quality.py: event.contains knows targets by id() and is fooled by reuse.
_HOOKED: weakref.WeakSet = weakref.WeakSet()


def keep_in_step(catalog: Catalog) -> None:
    """Move usage sums with every change of owner made through the catalog's sessions."""
    sessions = catalog.session_factory
    if sessions in _HOOKED:
        return
    event.listen(sessions, "after_flush", _collect)
    event.listen(sessions, "before_commit", _move_changed)
    _HOOKED.add(sessions)
