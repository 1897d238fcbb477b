"""Freshness in plain words: what each status means, and one sentence for a dataset."""

from __future__ import annotations

from statedata.freshness import Evaluation, Freshness
from statedata.web.base import day, plural

STATUS_MEANINGS: dict[str, str] = {
    Freshness.FRESH.value: "Updated on schedule; the next update is not due yet.",
    Freshness.DUE.value: "The next update is due within a few days, or today.",
    Freshness.OVERDUE.value: "The update is late: it was due more than a day ago.",
    Freshness.STALE.value: "A whole update was missed: it is late by at least one full "
    "update interval (and at least 30 days).",
    Freshness.NO_SCHEDULE.value: "Updated as needed, or the publisher has not said how often; "
    "nothing can be late.",
    Freshness.NOT_UPDATED.value: "A historical dataset that is not updated any more.",
}

# Statuses a reader should be warned about.
LATE = {Freshness.OVERDUE, Freshness.STALE}


def sentence(evaluation: Evaluation) -> str:
    """Whether a dataset is on time, in one sentence."""
    status = evaluation.status
    if status is Freshness.FRESH:
        return f"On time. The next update is due by {day(evaluation.due_date)}."
    if status is Freshness.DUE:
        return f"On time, with an update due soon: by {day(evaluation.due_date)}."
    late = plural(evaluation.days_late, "day")
    if status is Freshness.OVERDUE:
        return f"Late. The update due on {day(evaluation.due_date)} is {late} late."
    if status is Freshness.STALE:
        return (
            f"Out of date. The update due on {day(evaluation.due_date)} is {late} late: "
            "at least one update was missed."
        )
    if status is Freshness.NOT_UPDATED:
        return "This is a historical dataset: it is not updated."
    return "It has no regular schedule, so no update is ever late."
