"""Feeds as the catalog keeps them: add, change, enable, disable and remove one, list a
dataset's, and the documents the API and CLI show (credentials masked). Every change is audited.

Who may: the dataset's agency staff (anyone who may publish to it) and the CDO; `access` says.
What a source may reach: the installation's `Reach`, checked whenever a source is set.
Fetching and publishing are `runner`'s job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.access.policy import Action, Actor, can, require
from statedata.catalog import audit, service
from statedata.catalog.feeds import Feed, FeedRun
from statedata.catalog.models import Dataset, utcnow
from statedata.errors import FeedNotFound, Forbidden, InvalidInput, from_validation
from statedata.ingest.feeds import schedule, sources, transforms
from statedata.ingest.feeds.reach import Reach

RUNS_SHOWN = 20


class FeedChange(BaseModel):
    """What may change on a feed; each field optional."""

    model_config = ConfigDict(extra="forbid")

    source: dict | None = None
    schedule: str | None = Field(default=None, max_length=100)
    mode: Literal["replace", "append", "upsert"] | None = None
    transforms: list[dict] | None = None
    enabled: bool | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return schedule.check_cron(value)
        except InvalidInput as error:
            raise ValueError(error.message.removeprefix("schedule: ")) from None

    @field_validator("transforms")
    @classmethod
    def _transforms(cls, value: list[dict] | None) -> list[dict] | None:
        if value is None:
            return None
        steps = transforms.TRANSFORMS.validate_python(value)
        return [step.model_dump() for step in steps]


class NewFeed(FeedChange):
    """A new feed: its kind and source, and a schedule."""

    kind: Literal["http", "folder", "sql", "soda", "ckan"]
    source: dict
    schedule: str = Field(max_length=100)
    mode: Literal["replace", "append", "upsert"] = "replace"
    transforms: list[dict] = Field(default_factory=list)
    enabled: bool = True


def _validated_source(kind: str, config: dict) -> dict:
    """The source checked for its kind, stored without the kind (that is its own column)."""
    try:
        checked = sources.load(kind, {k: v for k, v in config.items() if k != "kind"})
    except ValidationError as error:
        problem = from_validation(error)
        raise InvalidInput(
            problem.message.replace(f"{kind}.", "source.").replace(f"{kind}: ", "source: "),
            field="source",
            problems=problem.data.get("problems"),
        ) from None
    return checked.model_dump(exclude={"kind"}, exclude_none=True)


def _check_mode(dataset: Dataset, mode: str) -> None:
    if mode == "upsert" and not dataset.row_identifier:
        raise InvalidInput(
            f"mode: an upsert matches rows by the dataset's row identifier, and dataset "
            f"{dataset.id} has none. Set one, or use replace or append.",
            field="mode",
        )


def _visible_feed(session: Session, actor: Actor, feed_id: int) -> Feed:
    """The feed, if the actor may manage it: 404 when they may not see its dataset, 403 when
    they may see it but not publish to it."""
    feed = session.get(Feed, feed_id)
    if feed is None or not can(actor, Action.READ_METADATA, feed.dataset):
        raise FeedNotFound(f"There is no feed {feed_id}.", id=feed_id)
    if not can(actor, Action.PUBLISH, feed.dataset):
        raise Forbidden(f"Only the staff of the dataset's agency may manage feed {feed_id}.")
    return feed


def get_feed(session: Session, actor: Actor, feed_id: int) -> Feed:
    return _visible_feed(session, actor, feed_id)


def list_feeds(session: Session, actor: Actor, dataset_id: str) -> Sequence[Feed]:
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.PUBLISH, dataset)
    return session.scalars(
        select(Feed).where(Feed.dataset_id == dataset_id).order_by(Feed.id)
    ).all()


def all_feeds(session: Session) -> Sequence[Feed]:
    """Every feed, for the operator's command line."""
    return session.scalars(select(Feed).order_by(Feed.id)).all()


def create_feed(
    session: Session,
    actor: Actor,
    dataset_id: str,
    new: NewFeed,
    timezone: str = "UTC",
    now: dt.datetime | None = None,
    reach: Reach | None = None,
) -> Feed:
    """Attach a feed. `reach` (`Reach.of(settings)`) says what its source may reach; without
    it, only public web addresses."""
    dataset = service.get_dataset(session, dataset_id)
    require(actor, Action.PUBLISH, dataset)
    _check_mode(dataset, new.mode)
    source = _validated_source(new.kind, new.source)
    (reach or Reach()).check_source(new.kind, source)
    now = now or utcnow()
    feed = Feed(
        dataset_id=dataset.id,
        kind=new.kind,
        source=source,
        schedule=new.schedule,
        mode=new.mode,
        transforms=new.transforms,
        enabled=new.enabled,
        created_by=actor.name or "system",
        created_at=now,
        next_run_at=schedule.next_run(new.schedule, now, timezone) if new.enabled else None,
        consecutive_failures=0,
    )
    session.add(feed)
    session.flush()
    audit.record(
        session,
        actor.name or "system",
        "feed.create",
        dataset.id,
        feed=feed.id,
        kind=feed.kind,
        source=public_source(feed),
        schedule=feed.schedule,
        mode=feed.mode,
        transforms=feed.transforms,
        enabled=feed.enabled,
    )
    return feed


def update_feed(
    session: Session,
    actor: Actor,
    feed_id: int,
    change: FeedChange,
    timezone: str = "UTC",
    now: dt.datetime | None = None,
    reach: Reach | None = None,
) -> Feed:
    feed = _visible_feed(session, actor, feed_id)
    now = now or utcnow()
    changed: dict[str, object] = {}
    if change.source is not None:
        source = _validated_source(feed.kind, change.source)
        (reach or Reach()).check_source(feed.kind, source)
        feed.source = source
        changed["source"] = public_source(feed)
    if change.mode is not None:
        _check_mode(feed.dataset, change.mode)
        feed.mode = changed["mode"] = change.mode
    if change.transforms is not None:
        feed.transforms = changed["transforms"] = change.transforms
    if change.schedule is not None:
        feed.schedule = changed["schedule"] = change.schedule
    if change.enabled is not None:
        feed.enabled = changed["enabled"] = change.enabled
        if change.enabled:
            # A feed switched back on starts afresh: no retries left over from before.
            feed.consecutive_failures = 0
    if "schedule" in changed or "enabled" in changed:
        feed.next_run_at = schedule.next_run(feed.schedule, now, timezone) if feed.enabled else None
    if changed:
        audit.record(
            session, actor.name or "system", "feed.update", feed.dataset_id, feed=feed.id, **changed
        )
    session.flush()
    return feed


def delete_feed(session: Session, actor: Actor, feed_id: int) -> None:
    feed = _visible_feed(session, actor, feed_id)
    audit.record(session, actor.name or "system", "feed.delete", feed.dataset_id, feed=feed.id)
    session.delete(feed)
    session.flush()


def recent_runs(session: Session, feed: Feed, limit: int = RUNS_SHOWN) -> Sequence[FeedRun]:
    return session.scalars(
        select(FeedRun).where(FeedRun.feed_id == feed.id).order_by(FeedRun.id.desc()).limit(limit)
    ).all()


def public_source(feed: Feed) -> dict:
    """The feed's source as it may be shown: passwords and tokens masked."""
    try:
        return sources.load(feed.kind, feed.source).public()
    except ValidationError:
        # A stored source that no longer validates (its folder was removed): show only what
        # cannot be secret.
        return {"kind": feed.kind, "problem": "this source is no longer valid; set it again"}


def describe_source(feed: Feed) -> str:
    try:
        return sources.load(feed.kind, feed.source).describe()
    except ValidationError:
        return f"{feed.kind} (no longer valid)"


def run_document(run: FeedRun) -> dict:
    return {
        "id": run.id,
        "feed_id": run.feed_id,
        "attempt": run.attempt,
        "trigger": run.trigger,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "status": run.status,
        "rows_in": run.rows_in,
        "rows_changed": run.rows_changed,
        "version": run.version_number,
        "error": run.error,
    }


def feed_document(session: Session, feed: Feed, base_url: str = "", runs: int = 5) -> dict:
    return {
        "id": feed.id,
        "dataset_id": feed.dataset_id,
        "kind": feed.kind,
        "source": public_source(feed),
        "schedule": feed.schedule,
        "mode": feed.mode,
        "transforms": feed.transforms,
        "enabled": feed.enabled,
        "created_by": feed.created_by,
        "created_at": feed.created_at,
        "next_run_at": feed.next_run_at,
        "last_run_at": feed.last_run_at,
        "last_status": feed.last_status,
        "consecutive_failures": feed.consecutive_failures,
        "link": f"{base_url}/api/v1/feeds/{feed.id}",
        "recent_runs": [run_document(r) for r in recent_runs(session, feed, runs)],
    }
