"""The feed tables: automated sources attached to datasets, each run of them, and the lease
that keeps a second scheduler from running a feed twice.

Only the shape lives here; `ingest/feeds/` fetches and publishes, the scheduler decides when.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statedata.catalog.models import Base, Dataset, utcnow


class Feed(Base):
    """A source of new versions for one dataset, on a cron schedule."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # http | folder | sql | soda | ckan
    # Where to read, by kind (ingest/feeds/sources.py validates it): {"url": ...} | {"path": ...,
    # "pattern": ...} | {"database": ..., "query": ...} | {"portal": ..., "dataset" or
    # "resource": ...}. A SQL feed names one of the databases the operator configured (the
    # feed_databases setting holds their addresses and passwords); feeds made before databases
    # were named carry "database_url" instead. A token or header in it is kept as given and
    # masked when shown.
    source: Mapped[dict] = mapped_column(JSON)
    schedule: Mapped[str] = mapped_column(String(100))  # cron: "0 6 * * *"
    mode: Mapped[str] = mapped_column(String(20), default="replace")
    # [{"rename": {"old": "new"}}, {"cast": {"col": "integer"}}, {"drop": ["col"]}]
    transforms: Mapped[list] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[str | None] = mapped_column(String(20))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)

    dataset: Mapped[Dataset] = relationship()
    runs: Mapped[list[FeedRun]] = relationship(
        cascade="all, delete-orphan", order_by="FeedRun.id", back_populates="feed"
    )


class FeedRun(Base):
    """One run of a feed: when, how many rows came in and changed, and how it ended."""

    __tablename__ = "feed_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | manual | retry
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # running | succeeded | unchanged | failed
    status: Mapped[str] = mapped_column(String(20), default="running")
    rows_in: Mapped[int | None] = mapped_column(Integer)
    rows_changed: Mapped[int | None] = mapped_column(Integer)
    version_number: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    feed: Mapped[Feed] = relationship(back_populates="runs")


class SchedulerLease(Base):
    """Who runs scheduled work now. A scheduler takes the lease (or renews its own) before
    each round; another one started by mistake finds it held and waits."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
