"""Automated feeds: a source (an HTTP(S) file, a drop folder, a SQL query, another SODA or
CKAN portal) attached to a dataset, run on a cron schedule and published through the one
`publish`, with retries, notices and a scheduler that never runs a feed twice.

`service` keeps feeds, `runner` runs one, `scheduler` decides when; `sources`, `transforms`
and `schedule` are their parts.
"""

from __future__ import annotations

from statedata.ingest.feeds.runner import run_feed
from statedata.ingest.feeds.service import (
    FeedChange,
    NewFeed,
    create_feed,
    delete_feed,
    feed_document,
    get_feed,
    list_feeds,
    update_feed,
)

__all__ = [
    "FeedChange",
    "NewFeed",
    "create_feed",
    "delete_feed",
    "feed_document",
    "get_feed",
    "list_feeds",
    "run_feed",
    "update_feed",
]
