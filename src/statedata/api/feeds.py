"""Automated feeds under /api/v1: a dataset's feeds, one feed, running it now and its runs.
Thin: the rules live in `ingest.feeds`. Only the dataset's agency staff and the CDO may; a feed's
credentials never appear in an answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from statedata.api import deps
from statedata.ingest import feeds
from statedata.ingest.feeds import service
from statedata.ingest.feeds.reach import Reach

router = APIRouter(prefix="/api/v1", tags=["feeds"])


@router.get("/datasets/{dataset_id}/feeds", summary="A dataset's feeds")
def list_feeds(
    dataset_id: str, session: deps.SessionDep, actor: deps.UserDep, base: deps.BaseUrlDep
) -> dict:
    found = feeds.list_feeds(session, actor, dataset_id)
    return {
        "total": len(found),
        "results": [feeds.feed_document(session, f, base) for f in found],
    }


@router.post("/datasets/{dataset_id}/feeds", status_code=201, summary="Attach a feed")
def create_feed(
    dataset_id: str,
    new: feeds.NewFeed,
    session: deps.SessionDep,
    actor: deps.UserDep,
    installation: deps.InstallationDep,
    base: deps.BaseUrlDep,
) -> dict:
    settings = installation.settings
    feed = feeds.create_feed(
        session, actor, dataset_id, new, settings.feed_timezone, reach=Reach.of(settings)
    )
    return feeds.feed_document(session, feed, base)


@router.get("/feeds/{feed_id}", summary="One feed, with its recent runs")
def get_feed(
    feed_id: int, session: deps.SessionDep, actor: deps.UserDep, base: deps.BaseUrlDep
) -> dict:
    return feeds.feed_document(session, feeds.get_feed(session, actor, feed_id), base)


@router.patch("/feeds/{feed_id}", summary="Change a feed: source, schedule, mode, transforms")
def update_feed(
    feed_id: int,
    change: feeds.FeedChange,
    session: deps.SessionDep,
    actor: deps.UserDep,
    installation: deps.InstallationDep,
    base: deps.BaseUrlDep,
) -> dict:
    settings = installation.settings
    feed = feeds.update_feed(
        session, actor, feed_id, change, settings.feed_timezone, reach=Reach.of(settings)
    )
    return feeds.feed_document(session, feed, base)


@router.delete("/feeds/{feed_id}", status_code=204, summary="Remove a feed and its runs")
def delete_feed(feed_id: int, session: deps.SessionDep, actor: deps.UserDep) -> Response:
    feeds.delete_feed(session, actor, feed_id)
    return Response(status_code=204)


@router.post("/feeds/{feed_id}/run", summary="Run a feed now; answers with the run")
def run_feed(feed_id: int, actor: deps.UserDep, installation: deps.InstallationDep) -> dict:
    # The check's session closes before the run: the run writes with its own sessions.
    with installation.catalog.session() as session:
        feeds.get_feed(session, actor, feed_id)
    return feeds.run_feed(installation, feed_id, trigger="manual")


@router.get("/feeds/{feed_id}/runs", summary="A feed's runs, newest first")
def list_runs(
    feed_id: int,
    session: deps.SessionDep,
    actor: deps.UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    feed = feeds.get_feed(session, actor, feed_id)
    runs = service.recent_runs(session, feed, limit)
    return {"total": len(runs), "results": [service.run_document(r) for r in runs]}
