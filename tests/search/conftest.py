"""A small catalog to search: three agencies, open datasets of every freshness, and the ones
some may not see (protected, a draft, a retired one, a listed non-public one)."""

from __future__ import annotations

import datetime as dt

import pytest

from statedata.catalog import DatasetMetadata, drafts, service
from statedata.catalog.models import Dataset, UsageCount
from statedata.freshness import retirement

NOW = dt.datetime.now(dt.UTC)

# title, agency, category, tags, frequency, days since the last update, extra metadata
OPEN = [
    (
        "Restaurant Inspections",
        "DPH",
        "Health and Human Services",
        ["food", "health"],
        "R/P1M",
        10,
        {
            "description": "Results of food service inspections at restaurants, by town.",
            "high_value_criteria": ["A", "F"],
            "demographic_dimensions": ["geography"],
        },
    ),
    (
        "Food Service Establishments",
        "DPH",
        "Health and Human Services",
        ["food", "licensing"],
        "R/P1W",
        9,
        {"description": "Licensed establishments; each gets yearly inspections."},
    ),
    (
        "Bridge Inspection Reports",
        "DOT",
        "Transportation",
        ["bridges", "safety"],
        "R/P1Y",
        800,
        {"description": "Condition ratings of state bridges.", "high_value_criteria": ["B"]},
    ),
    (
        "Traffic Crashes",
        "DOT",
        "Transportation",
        ["traffic", "safety"],
        "R/P1D",
        0,
        {
            "description": "Every reported crash on state roads, with the people involved.",
            "demographic_dimensions": ["age", "sex"],
        },
    ),
    (
        "Consumer Complaints",
        "DCP",
        "Business",
        ["complaints"],
        "R/P3M",
        100,
        {"description": "Complaints about businesses filed with the department."},
    ),
    (
        "Liquor Permits",
        "DCP",
        "Business",
        ["licensing", "alcohol"],
        None,
        30,
        {"description": "Active permits to sell alcohol; a restaurant needs one to serve wine."},
    ),
    (
        "Historic Town Census",
        "DOT",
        "Government",
        [],
        "not updated",
        3000,
        {"description": "Population of each town in 1900.", "demographic_dimensions": ["race"]},
    ),
]

PROTECTED_TITLE = "Zyxwv Lead Poisoning Caseload"
DRAFT_TITLE = "Wqpzt Unreleased Permit Audit"
RETIRED_TITLE = "Obsolete Road Conditions Qrvyx"
LISTED_TITLE = "Prison Population Summary"


@pytest.fixture
def catalog(installation):
    """Ids by title; the data of each open dataset last updated as listed in OPEN."""
    cats = installation.settings.categories
    ids: dict[str, str] = {}
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOT", "Department of Transportation")
        service.add_agency(session, "DCP", "Department of Consumer Protection")
        for title, agency, category, tags, frequency, days, extra in OPEN:
            metadata = DatasetMetadata(
                title=title, category=category, tags=tags, update_frequency=frequency, **extra
            )
            dataset = service.create_dataset(session, metadata, agency, cats)
            dataset.data_updated_at = NOW - dt.timedelta(days=days)
            ids[title] = dataset.id
        protected = service.create_dataset(
            session,
            DatasetMetadata(
                title=PROTECTED_TITLE,
                description="Children tested for zyxwv lead in restaurants and homes.",
                classification="protected",
                tags=["zyxwv", "food"],
                category="Health and Human Services",
                update_frequency="R/P1M",
            ),
            "DPH",
            cats,
        )
        ids[PROTECTED_TITLE] = protected.id
        draft = service.create_dataset(
            session,
            DatasetMetadata(title=DRAFT_TITLE, tags=["wqpzt"], category="Business"),
            "DCP",
            cats,
        )
        drafts.mark_draft(session, draft, "dcp.publisher")
        ids[DRAFT_TITLE] = draft.id
        retired = service.create_dataset(
            session,
            DatasetMetadata(title=RETIRED_TITLE, category="Transportation"),
            "DOT",
            cats,
        )
        ids[RETIRED_TITLE] = retired.id
        listed = service.create_dataset(
            session,
            DatasetMetadata(
                title=LISTED_TITLE,
                description="Monthly counts of people held, by facility.",
                classification="protected",
                metadata_public=True,
                category="Public Safety",
            ),
            "DCP",
            cats,
        )
        ids[LISTED_TITLE] = listed.id
        session.flush()
        retirement.retire(session, retired.id, "published_by_mistake", "dot.officer", 30)
        # Use of the last 90 days (and older use, which does not count).
        today = NOW.date()
        for title, views in [("Traffic Crashes", 50), ("Liquor Permits", 20)]:
            session.add(
                UsageCount(
                    day=today - dt.timedelta(days=3),
                    dataset_id=ids[title],
                    kind="page_view",
                    count=views,
                )
            )
        session.add(
            UsageCount(
                day=today - dt.timedelta(days=200),
                dataset_id=ids["Consumer Complaints"],
                kind="download",
                count=1000,
            )
        )
        session.add(
            UsageCount(
                day=today - dt.timedelta(days=1),
                dataset_id=ids["Bridge Inspection Reports"],
                kind="api_call",
                count=5,
            )
        )
    return ids


def all_datasets(installation) -> list[Dataset]:
    with installation.catalog.session() as session:
        found = list(service.list_datasets(session, include_retired=True))
        for d in found:
            _ = d.agency, d.tags  # loaded before the session closes
        session.expunge_all()
        return found
