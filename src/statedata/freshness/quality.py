"""The metadata quality score of a dataset: 0 to 100, each point explained, with how to earn it.

uData's score is the model: licence, temporal and spatial coverage, frequency declared,
updated on time (one day's grace), a description over 100 characters, an open format, every
remote file reachable, documentation. Ours checks what a reader of a state portal needs, in
the order they need it, and says for each point how to earn it. Remote links are not fetched
here (the server makes no outside calls); a link counts when it is well formed.

`required_metadata_complete` follows the state's open data handbook: a description, a
category, tags, the publishing agency, a contact, a licence and an update frequency.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from statedata.catalog.models import Dataset
from statedata.freshness.status import Freshness, evaluate

# Words of the demographic dimensions that make a dataset about people, where it should
# say how it is broken down.
PEOPLE_WORDS = re.compile(
    r"\b(people|persons?|residents?|students?|patients?|clients?|employees?|workers?|"
    r"children|adults?|population|deaths?|births?|cases?|arrests?|enrollment|enrolment|"
    r"applicants?|recipients?|participants?|inmates?|victims?|voters?)\b",
    re.IGNORECASE,
)
WORD = re.compile(r"[A-Za-z]+")
SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
# The version of the rules below. Scores kept in the catalog (freshness/stored_quality.py)
# say which rules made them, and only those made by these rules are used: raise it whenever
# a criterion, its points or what it looks at changes.
RULES_VERSION = 1
# Statuses that earn the "updated on schedule" point, the one point that depends on the day.
ON_TIME_STATUSES = (Freshness.FRESH, Freshness.DUE, Freshness.NOT_UPDATED, Freshness.NO_SCHEDULE)
ON_TIME_KEY = "on_time"


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    points: int
    earned: int
    how_to_fix: str | None

    @property
    def met(self) -> bool:
        return self.earned == self.points


@dataclass(frozen=True)
class Quality:
    total: int
    criteria: tuple[Criterion, ...]
    required_metadata_complete: bool

    @property
    def day_free_points(self) -> int:
        """The points that do not depend on the day: all but "updated on schedule"."""
        return sum(c.earned for c in self.criteria if c.key != ON_TIME_KEY)

    def as_dict(self) -> dict:
        return {
            "score": self.total,
            "required_metadata_complete": self.required_metadata_complete,
            "criteria": [
                {
                    "key": c.key,
                    "label": c.label,
                    "points": c.points,
                    "earned": c.earned,
                    "how_to_fix": c.how_to_fix,
                }
                for c in self.criteria
            ],
        }


# Syllables, counted over a whole text at once: each word has as many as its groups of
# vowels, less a silent final e when it has another group, and at least one.
VOWEL_GROUP = re.compile(r"[aeiouy]+")
SILENT_E = re.compile(r"(?<![a-z])[a-z]*[aeiouy][a-z]*[b-df-hj-np-tv-xz][aeiouy]*e(?![a-z])")
NO_VOWEL = re.compile(r"(?<![a-z])[b-df-hj-np-tv-xz]+(?![a-z])")


def syllables(text: str) -> int:
    lower = text.lower()
    return (
        len(VOWEL_GROUP.findall(lower))
        - len(SILENT_E.findall(lower))
        + len(NO_VOWEL.findall(lower))
    )


@functools.lru_cache(maxsize=65536)
def reading_grade(text: str) -> float | None:
    """Flesch-Kincaid grade level: about the years of school a reader needs. None for text
    too short to judge."""
    words = len(WORD.findall(text))
    if words < 12:
        return None
    sentences = max(1, len(SENTENCE_END.findall(text.strip() + " ")))
    return 0.39 * words / sentences + 11.8 * syllables(text) / words - 15.59


def _check(key: str, label: str, points: int, ok: bool, fix: str) -> Criterion:
    return Criterion(key, label, points, points if ok else 0, None if ok else fix)


def _about_people(dataset: Dataset) -> bool:
    text = f"{dataset.title} {dataset.description or ''}"
    return bool(PEOPLE_WORDS.search(text))


ON_TIME_POINTS = 5


def on_time(update_frequency: str | None, status: Freshness) -> bool:
    """Whether a dataset earns the "updated on schedule" point with this freshness status."""
    return status in ON_TIME_STATUSES and bool(update_frequency)


def total_on_day(day_free_points: int, on_time_earned: bool) -> int:
    """The score on a day from the points that do not depend on it."""
    return min(100, day_free_points + (ON_TIME_POINTS if on_time_earned else 0))


def score(dataset: Dataset, as_of: dt.date | None = None) -> Quality:
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    description = (dataset.description or "").strip()
    grade = reading_grade(description)
    columns = list(dataset.columns or [])
    described = [c for c in columns if (c.description or "").strip()]
    tags = [t.tag for t in dataset.tags or []]
    last_update = dataset.data_updated_at or dataset.created_at
    freshness = evaluate(dataset.update_frequency, last_update, as_of)
    documents = dataset.related_documents or []
    criteria = [
        _check(
            "description",
            "A description of more than 100 characters",
            15,
            len(description) > 100,
            f"Describe what the data is, who collects it, and why, in more than 100 "
            f"characters (it has {len(description)}).",
        ),
        _check(
            "plain_language",
            "The description reads at grade 10 or below",
            5,
            grade is not None and grade <= 10,
            "Use shorter sentences and everyday words"
            + (f" (it reads at grade {grade:.0f})." if grade is not None else "."),
        ),
        _check(
            "tags",
            "At least three tags",
            10,
            len(tags) >= 3,
            f"Add tags people would search for (it has {len(tags)}).",
        ),
        _check(
            "category",
            "A category",
            5,
            bool(dataset.category),
            "File it under one of the portal's categories.",
        ),
        _check(
            "agency",
            "The publishing agency named",
            5,
            dataset.agency_id is not None or dataset.agency is not None,
            "Name the agency that publishes it.",
        ),
        _check(
            "license",
            "A licence",
            10,
            bool(dataset.license),
            "Choose a licence, such as public-domain or cc-by-4.0, so people know how they "
            "may reuse it.",
        ),
        _check(
            "contact",
            "A contact with an email address",
            5,
            bool(dataset.contact_email),
            "Give a contact email people can write to with questions.",
        ),
        Criterion(
            "data_dictionary",
            "Every column described in the data dictionary",
            10,
            round(10 * len(described) / len(columns)) if columns else 0,
            None
            if columns and len(described) == len(columns)
            else (
                f"Describe each column: {len(columns) - len(described)} of {len(columns)} "
                "have no description."
                if columns
                else "Publish rows, then describe each column."
            ),
        ),
        _check(
            "frequency",
            "An update frequency",
            10,
            bool(dataset.update_frequency),
            "Say how often it is updated (daily, monthly, as needed, not updated ...).",
        ),
        _check(
            ON_TIME_KEY,
            "Updated on schedule (one day's grace)",
            ON_TIME_POINTS,
            on_time(dataset.update_frequency, freshness.status),
            f"Publish the update that was due on {freshness.due_date}."
            if freshness.due_date
            else "Set an update frequency so readers know when to expect new data.",
        ),
        _check(
            "temporal_coverage",
            "The period the data covers",
            5,
            bool(dataset.temporal_coverage_start and dataset.temporal_coverage_end),
            "Give the first and last dates the data covers.",
        ),
        _check(
            "spatial_coverage",
            "The place the data covers and its geographic unit",
            5,
            bool(dataset.spatial_coverage) and bool(dataset.geographic_unit),
            "Say which place it covers (e.g. Connecticut) and its smallest geographic unit.",
        ),
        _check(
            "disaggregation",
            "Demographic breakdowns declared where the data is about people",
            5,
            bool(dataset.demographic_dimensions) or not _about_people(dataset),
            "This data is about people: say which breakdowns it has (race, ethnicity, sex, "
            "age ...).",
        ),
    ]
    criteria.append(
        _check(
            "documentation",
            "Documentation: a related document or the source's address",
            5,
            bool(dataset.source_link)
            or any(str(d.get("url", "")).startswith(("http://", "https://")) for d in documents),
            "Link a document that explains how the data is made (a methods note, a form, a "
            "report), or the address of the source.",
        )
    )
    total = sum(c.earned for c in criteria)
    required = bool(
        description
        and dataset.category
        and tags
        and (dataset.agency_id is not None or dataset.agency is not None)
        and dataset.contact_email
        and dataset.license
        and dataset.update_frequency
    )
    return Quality(min(100, total), tuple(criteria), required)


def mean_score(datasets: Sequence[Dataset], as_of: dt.date | None = None) -> float:
    if not datasets:
        return 0.0
    return sum(score(d, as_of).total for d in datasets) / len(datasets)
