"""Keeping the search index in step with the catalog, without the other parts calling us.

Every search first reads a watermark of the catalog in one small SQL statement (the last
audit event's id, the number of datasets, the latest metadata and data update times, and the
first audit entry's hash, which tells one catalog from another). When it differs from the
index's, the datasets changed since are reindexed under a file lock (one writer at a time,
across processes); a missing index, or one of an older schema, is rebuilt whole. Popularity
(page views, downloads and API calls of the last 90 days) is refreshed at most once every
`POPULARITY_SECONDS`. Readers in other processes notice the index's meta file change and reload.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from statedata.access.policy import PUBLISHED, is_listed, is_open
from statedata.catalog.models import AuditEvent, Dataset, UsageCount
from statedata.catalog.vocab import Status
from statedata.installation import Installation
from statedata.search.engine import SCHEMA_VERSION, Engine
from statedata.search.records import Column, Record

INDEX_FOLDER = "search-index"
META_FILE = "statedata-search.json"
LOCK_FILE = "search-index.lock"
POPULARITY_DAYS = 90
POPULARITY_SECONDS = 3600.0


def index_path(installation: Installation) -> Path:
    return installation.settings.home / INDEX_FOLDER


# -- catalog -> records ---------------------------------------------------------------------


def to_record(dataset: Dataset, popularity: int = 0) -> Record:
    published = (dataset.publication_state or PUBLISHED) == PUBLISHED
    return Record(
        id=dataset.id,
        title=dataset.title,
        description=dataset.description or "",
        agency=dataset.agency.code if dataset.agency else "",
        agency_name=dataset.agency.name if dataset.agency else "",
        category=dataset.category or "",
        tags=tuple(dataset.tag_names),
        update_frequency=dataset.update_frequency,
        classification=dataset.classification,
        high_value_criteria=tuple(dataset.high_value_criteria or ()),
        demographic_dimensions=tuple(dataset.demographic_dimensions or ()),
        columns=tuple(
            Column(c.field_name, c.display_name or "", c.description or "") for c in dataset.columns
        ),
        created_at=dataset.created_at,
        data_updated_at=dataset.data_updated_at,
        popularity=popularity,
        open=is_open(dataset),
        listed=is_listed(dataset),
        grantable=published and dataset.status != Status.ARCHIVED.value,
    )


def is_searchable(dataset: Dataset) -> bool:
    """Retired datasets are out of lists and search (still reachable by their id)."""
    return dataset.retired_at is None and dataset.status != Status.RETIRED.value


def popularity(session: Session, today: dt.date | None = None) -> dict[str, int]:
    """Page views, downloads and API calls of each dataset over the last 90 days."""
    today = today or dt.datetime.now(dt.UTC).date()
    since = today - dt.timedelta(days=POPULARITY_DAYS)
    rows = session.execute(
        select(UsageCount.dataset_id, func.sum(UsageCount.count))
        .where(UsageCount.day > since)
        .group_by(UsageCount.dataset_id)
    )
    return {dataset_id: int(total or 0) for dataset_id, total in rows}


def _load(session: Session, ids: list[str] | None) -> list[Dataset]:
    stmt = select(Dataset).options(
        selectinload(Dataset.agency), selectinload(Dataset.tags), selectinload(Dataset.columns)
    )
    if ids is not None:
        if not ids:
            return []
        stmt = stmt.where(Dataset.id.in_(ids))
    return list(session.scalars(stmt))


def watermark(session: Session) -> list[str]:
    """A cheap summary of the catalog that changes whenever a dataset does."""
    row = session.execute(
        select(
            select(func.max(AuditEvent.id)).scalar_subquery(),
            select(func.count(Dataset.id)).scalar_subquery(),
            select(func.max(Dataset.metadata_updated_at)).scalar_subquery(),
            select(func.max(Dataset.data_updated_at)).scalar_subquery(),
            select(AuditEvent.entry_hash).order_by(AuditEvent.id).limit(1).scalar_subquery(),
        )
    ).one()
    return [_text(v) for v in row]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _changed_ids(session: Session, old: list[str], new: list[str]) -> set[str] | None:
    """Ids of datasets changed between two watermarks; None when a full rebuild is needed."""
    if len(old) != len(new) or old[4] != new[4]:
        return None  # another catalog
    last_audit = int(old[0] or 0)
    ids = {
        dataset_id
        for (dataset_id,) in session.execute(
            select(AuditEvent.dataset_id).where(
                AuditEvent.id > last_audit, AuditEvent.dataset_id.is_not(None)
            )
        )
    }
    conditions = []
    if old[2]:
        conditions.append(Dataset.metadata_updated_at >= dt.datetime.fromisoformat(old[2]))
    if old[3]:
        conditions.append(Dataset.data_updated_at >= dt.datetime.fromisoformat(old[3]))
    elif new[3]:
        conditions.append(Dataset.data_updated_at.is_not(None))
    if conditions:
        ids |= set(session.scalars(select(Dataset.id).where(or_(*conditions))))
    return ids


# -- the index on disk ----------------------------------------------------------------------


@dataclass
class Meta:
    schema_version: int = 0
    generation: str = ""
    watermark: list[str] | None = None
    popularity_at: float = 0.0
    popularity: dict[str, int] | None = None

    @classmethod
    def read(cls, folder: Path) -> Meta:
        try:
            data = json.loads((folder / META_FILE).read_text())
        except (OSError, ValueError):
            return cls()
        return cls(
            schema_version=int(data.get("schema_version", 0)),
            generation=str(data.get("generation", "")),
            watermark=data.get("watermark"),
            popularity_at=float(data.get("popularity_at", 0.0)),
            popularity={k: int(v) for k, v in (data.get("popularity") or {}).items()},
        )

    def write(self, folder: Path) -> None:
        tmp = folder / f".{META_FILE}.{uuid.uuid4().hex}"
        tmp.write_text(
            json.dumps(
                {
                    "schema_version": self.schema_version,
                    "generation": self.generation,
                    "watermark": self.watermark,
                    "popularity_at": self.popularity_at,
                    "popularity": self.popularity or {},
                }
            )
        )
        os.replace(tmp, folder / META_FILE)


@contextlib.contextmanager
def writer_lock(installation: Installation) -> Iterator[None]:
    """One writer at a time, across processes and threads."""
    home = installation.settings.home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Synced:
    """The opened index of one installation, in this process."""

    def __init__(self, installation: Installation) -> None:
        self.installation = installation
        self.folder = index_path(installation)
        self.lock = threading.Lock()
        self.engine: Engine | None = None
        self.generation = ""
        self.meta_mtime = 0.0
        self.watermark: list[str] | None = None
        self.popularity_at = 0.0

    def engine_now(self, force_popularity: bool = False) -> Engine:
        """The engine, brought up to date with the catalog first."""
        with self.installation.catalog.session() as session:
            current = watermark(session)
        popularity_due = force_popularity or (time.time() - self.popularity_at > POPULARITY_SECONDS)
        with self.lock:
            self._follow_disk()
            if self.engine is not None and current == self.watermark and not popularity_due:
                return self.engine
            with writer_lock(self.installation):
                self._follow_disk()
                meta = Meta.read(self.folder)
                popularity_due = force_popularity or (
                    time.time() - meta.popularity_at > POPULARITY_SECONDS
                )
                if (
                    self.engine is None
                    or meta.schema_version != SCHEMA_VERSION
                    or meta.watermark is None
                ):
                    self._rebuild()
                elif meta.watermark != current or popularity_due:
                    self._update(meta, popularity_due)
                self._follow_disk()
            assert self.engine is not None
            return self.engine

    def _follow_disk(self) -> None:
        """Open or reload the index when another writer (or this one) changed it."""
        try:
            mtime = (self.folder / META_FILE).stat().st_mtime
        except OSError:
            return
        if self.engine is not None and mtime == self.meta_mtime:
            return
        meta = Meta.read(self.folder)
        if meta.schema_version != SCHEMA_VERSION:
            return
        if self.engine is None or meta.generation != self.generation:
            self.engine = Engine(self.folder)
            self.generation = meta.generation
        self.engine.reload()
        self.meta_mtime = mtime
        self.watermark = meta.watermark
        self.popularity_at = meta.popularity_at

    def _rebuild(self) -> None:
        """Build a whole new index beside the old one, then swap it in."""
        staging = self.folder.with_name(f"{INDEX_FOLDER}.new-{uuid.uuid4().hex[:8]}")
        with self.installation.catalog.session() as session:
            mark = watermark(session)
            counts = popularity(session)
            records = [
                to_record(d, counts.get(d.id, 0)) for d in _load(session, None) if is_searchable(d)
            ]
        try:
            engine = Engine(staging)
            engine.write(records)
            Meta(SCHEMA_VERSION, uuid.uuid4().hex, mark, time.time(), counts).write(staging)
            del engine
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        old = None
        if self.folder.exists():
            old = self.folder.with_name(f"{INDEX_FOLDER}.old-{uuid.uuid4().hex[:8]}")
            os.replace(self.folder, old)
        os.replace(staging, self.folder)
        if old is not None:
            # Open readers keep their files (unlinked files stay readable on POSIX).
            shutil.rmtree(old, ignore_errors=True)
        self.engine = None
        self.meta_mtime = 0.0

    def _update(self, meta: Meta, popularity_due: bool) -> None:
        assert self.engine is not None
        with self.installation.catalog.session() as session:
            mark = watermark(session)
            changed = _changed_ids(session, meta.watermark or [], mark)
            if changed is None:
                self._rebuild()
                return
            counts = meta.popularity or {}
            popularity_at = meta.popularity_at
            if popularity_due:
                fresh = popularity(session)
                changed |= {k for k in set(fresh) | set(counts) if fresh.get(k) != counts.get(k)}
                counts, popularity_at = fresh, time.time()
            if mark[1] != (meta.watermark or ["", ""])[1]:
                # Datasets came or went: compare the ids themselves.
                present = set(session.scalars(select(Dataset.id)))
                indexed = self.engine.ids()
                changed |= present ^ indexed
            datasets = {d.id: d for d in _load(session, sorted(changed))}
            records = [
                to_record(d, counts.get(d.id, 0)) for d in datasets.values() if is_searchable(d)
            ]
            gone = [i for i in changed if i not in datasets or not is_searchable(datasets[i])]
        self.engine.write(records, delete_ids=gone)
        Meta(SCHEMA_VERSION, meta.generation, mark, popularity_at, counts).write(self.folder)


_OPENED: dict[str, Synced] = {}
_OPENED_LOCK = threading.Lock()


def synced(installation: Installation) -> Synced:
    key = f"{index_path(installation).resolve()}|{installation.settings.catalog_url}"
    with _OPENED_LOCK:
        found = _OPENED.get(key)
        if found is None or found.installation is not installation:
            found = _OPENED[key] = Synced(installation)
        return found


def reindex(installation: Installation, full: bool = False) -> int:
    """Bring the index up to date (rebuilding it whole with `full`); return how many datasets
    it holds."""
    state = synced(installation)
    if full:
        with state.lock, writer_lock(installation):
            state._rebuild()
            state._follow_disk()
    return state.engine_now(force_popularity=True).index.searcher().num_docs
