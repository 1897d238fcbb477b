"""When a feed runs: cron expressions read in the installation's time zone, and the back-off
between retries of a failed run.

Only arithmetic on times lives here; the scheduler decides what to run and the runner records it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from statedata.errors import InvalidInput


def check_cron(expression: str) -> str:
    """The expression, trimmed, if it is a five-field cron schedule; a plain error if not."""
    text = " ".join(expression.split())
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise InvalidInput(
            f"schedule: '{expression}' is not a cron schedule. Give five fields: minute hour "
            "day-of-month month day-of-week, e.g. '0 6 * * *' for 6 a.m. every day.",
            field="schedule",
        )
    return text


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"'{name}' is not a time zone; use a name like America/New_York.",
            field="feed_timezone",
        ) from None


def aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive times; every time in the catalog is UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def next_run(expression: str, after: dt.datetime, timezone: str = "UTC") -> dt.datetime:
    """The first time strictly after `after` that the schedule names, in UTC."""
    local = aware(after).astimezone(zone(timezone))
    following = croniter(check_cron(expression), local).get_next(dt.datetime)
    return following.astimezone(dt.UTC)


def retry_delay(failures: int, first_minutes: float) -> dt.timedelta:
    """The wait before the retry that follows the `failures`-th failure in a row: the first
    wait, then twice as long each time (5, 10, 20 minutes)."""
    return dt.timedelta(minutes=first_minutes * (2 ** max(failures - 1, 0)))
