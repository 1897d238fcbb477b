"""What each plan metric is: its key, plain name, definition, the plan goal it measures and
its unit; and the shape of an answer (a metric's value, by agency, as a monthly series).

Nothing is computed here; `plan.py` computes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from statedata.metrics.kinds import KINDS, STORY_KINDS

GOALS = {
    1: "A more relevant, easier to use portal",
    2: "Better, fresher data",
    3: "Lawful, faster data sharing",
}
WINDOW_DAYS = 30
MONTHS = 12
DEFAULT_SINCE_YEAR = 2015

Value = float | int | None


@dataclass(frozen=True)
class Definition:
    key: str
    name: str
    definition: str
    goal: int
    unit: str  # count | share | days | score


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    definition: str
    goal: int
    unit: str
    value: Value
    by_agency: dict[str, Value] | None = None
    series: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "definition": self.definition,
            "goal": self.goal,
            "goal_name": GOALS[self.goal],
            "unit": self.unit,
            "value": self.value,
            "by_agency": self.by_agency,
            "series": self.series,
        }


@dataclass(frozen=True)
class Report:
    as_of: dt.date
    agency: str | None
    metrics: list[Metric]

    def get(self, key: str) -> Metric:
        for metric in self.metrics:
            if metric.key == key:
                return metric
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "agency": self.agency,
            "goals": {str(k): v for k, v in GOALS.items()},
            "metrics": [m.as_dict() for m in self.metrics],
        }


def traffic_definitions(kinds: Iterable[str] = KINDS) -> list[Definition]:
    words = {
        "page_view": ("Page views", "views of dataset pages on the portal"),
        "download": ("Downloads", "downloads of whole datasets (CSV, JSON, Parquet ...)"),
        "api_call": ("API calls", "calls to the SODA and native APIs that read a dataset"),
        "story_view": ("Data story views", "views of published data stories"),
        "dashboard_view": ("Dashboard views", "views of dashboards"),
    }
    found = []
    for kind in kinds:
        name, what = words.get(kind, (kind.replace("_", " ").capitalize(), f"'{kind}' uses"))
        of_what = "" if kind in STORY_KINDS else " of public datasets"
        found.append(
            Definition(
                f"traffic.{kind}",
                name,
                f"Number of {what}{of_what} in the {WINDOW_DAYS} days up to the day "
                "asked about; the series gives each calendar month's total.",
                1,
                "count",
            )
        )
    return found


def dataset_definitions(since_year: int) -> list[Definition]:
    return [
        Definition(
            "datasets.public",
            "Public datasets",
            "Number of datasets open to everyone on the day: classified public, publicly "
            "listed, approved, created by then and not retired.",
            1,
            "count",
        ),
        Definition(
            "updates.last_30_days",
            "Updated in the last 30 days",
            "Share of public datasets whose data was last updated (a new version published, or "
            "first published) no more than 30 days before the day.",
            2,
            "share",
        ),
        Definition(
            "updates.on_schedule",
            "On schedule",
            "Share of public datasets with an update schedule whose freshness is 'fresh' or "
            "'due' (not overdue or stale) on the day. Datasets with no schedule, updated as "
            "needed or never updated are left out.",
            2,
            "share",
        ),
        Definition(
            "updates.not_in_last_year",
            "Not updated in the last year",
            "Share of public datasets whose data was last updated more than 365 days before "
            "the day.",
            2,
            "share",
        ),
        Definition(
            f"updates.not_since_{since_year}",
            f"Not updated since {since_year}",
            f"Share of public datasets whose data was last updated in {since_year} or before.",
            2,
            "share",
        ),
        Definition(
            "updates.median_days_late",
            "Median days late",
            "Median number of days past their due date of the public datasets that are "
            "overdue or stale on the day.",
            2,
            "days",
        ),
        Definition(
            "updates.automated",
            "Updated automatically",
            "Share of public datasets whose current version on the day was published by an "
            "automated feed or pushed through the SODA write API.",
            2,
            "share",
        ),
        Definition(
            "metadata.no_agency",
            "Without agency attribution",
            "Share of public datasets that name no publishing agency (today's metadata: "
            "attribution keeps no history).",
            2,
            "share",
        ),
        Definition(
            "metadata.quality_mean",
            "Metadata completeness",
            "Mean metadata quality score (0 to 100) of public datasets, with the day's "
            "freshness; metadata keeps no history, so a past day is scored on today's metadata.",
            2,
            "score",
        ),
        Definition(
            "metadata.required_complete",
            "Required metadata complete",
            "Share of public datasets with all the metadata the handbook requires: "
            "description, category, tags, agency, contact, licence and update frequency "
            "(today's metadata).",
            2,
            "share",
        ),
        Definition(
            "disaggregation.race",
            "Broken down by race",
            "Share of public datasets declaring a breakdown by race (today's metadata).",
            2,
            "share",
        ),
        Definition(
            "disaggregation.ethnicity",
            "Broken down by ethnicity",
            "Share of public datasets declaring a breakdown by ethnicity (today's metadata).",
            2,
            "share",
        ),
        Definition(
            "disaggregation.gender",
            "Broken down by sex or gender",
            "Share of public datasets declaring a breakdown by sex or gender identity "
            "(today's metadata).",
            2,
            "share",
        ),
        Definition(
            "disaggregation.intersection",
            "Broken down by intersections",
            "Share of public datasets declaring two or more of race, ethnicity, sex and "
            "gender identity, so the groups can be crossed (today's metadata).",
            2,
            "share",
        ),
    ]


SUGGESTION_DEFINITIONS = [
    Definition(
        "suggestions.received",
        "Suggestions received",
        f"Number of suggestions for new data received in the {WINDOW_DAYS} days up to the "
        "day; the series gives each calendar month's number.",
        1,
        "count",
    ),
    Definition(
        "suggestions.published",
        "Suggestions published",
        "Share of the suggestions received by the day that had been published as a dataset "
        "by then.",
        1,
        "share",
    ),
    Definition(
        "suggestions.declined",
        "Suggestions declined",
        "Share of the suggestions received by the day that had been declined by then.",
        1,
        "share",
    ),
    Definition(
        "suggestions.open",
        "Suggestions open",
        "Number of suggestions received, under review or planned on the day.",
        1,
        "count",
    ),
]

REQUEST_DEFINITION = Definition(
    "requests.days_to_fulfil",
    "Days to fulfil a data request",
    "Median days from submission to completion of the interagency data requests completed "
    "by the day; by agency holding the data, and by month of completion.",
    3,
    "days",
)


def definitions(since_year: int = DEFAULT_SINCE_YEAR) -> list[Definition]:
    """Every metric this module computes (traffic kinds beyond the usual three are added
    when the usage counts hold them)."""
    return [
        *traffic_definitions(),
        *dataset_definitions(since_year),
        *SUGGESTION_DEFINITIONS,
        REQUEST_DEFINITION,
    ]
