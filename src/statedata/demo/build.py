"""Build the demo portal into an installation: agencies, the planned datasets with their
metadata and history, and generated rows for the few that have data.

Deterministic for a given `as_of`: ids come from titles and every random choice from a seed
derived from the title. Not a fixture loader for tests of other parts; those build their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statedata import ids
from statedata.catalog import audit, service
from statedata.catalog.metadata import DatasetMetadata
from statedata.catalog.models import Agency, AuditEvent, Dataset, DatasetFile, Version
from statedata.catalog.vocab import Classification, Status
from statedata.demo import boundaries, governance
from statedata.demo import usage as demo_usage
from statedata.demo.agencies import AGENCIES, NAMES
from statedata.demo.catalog_plan import PLANS, Plan
from statedata.demo.rows import GENERATORS, Context, Rows
from statedata.demo.stories import write_stories
from statedata.ingest import open_table
from statedata.installation import Installation
from statedata.requests.suggestions import installation_secret
from statedata.storage import publish
from statedata.storage.files import add_link

Progress = Callable[[str, int, int], None]

ACTOR = "demo"
BUILT_EVENT = "demo.build"

# Shares of the catalog by last update, as the state data plan reports for data.ct.gov.
SHARE_FRESH = 0.17  # updated within the last 30 days
SHARE_WITHIN_YEAR = 0.30  # updated within the last year (so about 70% not)
SHARE_BEFORE_2016 = 0.31  # not updated since 2015
SHARE_UNATTRIBUTED = 0.25  # no agency named

PORTAL_START = dt.date(2014, 2, 20)
LAST_ANCIENT = dt.date(2015, 12, 20)
FIRST_STALE = dt.date(2016, 1, 10)

DEMO_NOTE = (
    "In this demo portal the rows are generated to look realistic; they are not real records."
)


@dataclass(frozen=True)
class DemoSummary:
    agencies: int
    datasets: int
    datasets_with_rows: int
    total_rows: int
    seconds: float


@dataclass
class Entry:
    """One planned dataset with everything the build decided for it."""

    plan: Plan
    id: str
    age: str
    agency_code: str | None
    created_at: dt.datetime
    metadata_updated_at: dt.datetime
    data_updated_at: dt.datetime
    deprecated_at: dt.datetime | None = None
    notes: dict[str, object] = field(default_factory=dict)


# Ids and seeds --------------------------------------------------------------------------------


def _digest(*parts: str) -> bytes:
    return hashlib.sha256(":".join(("statedata-demo", *parts)).encode()).digest()


def dataset_id_for(title: str, attempt: int = 0) -> str:
    """A stable 4x4 id for a title ('abcd-2345'), the same on every build."""
    digest = _digest("id", title, str(attempt))
    chars = "".join(ids.ALPHABET[b % len(ids.ALPHABET)] for b in digest[:8])
    return f"{chars[:4]}-{chars[4:]}"


def rng_for(title: str, purpose: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(_digest(purpose, title)[:8], "big"))


def _order_key(plan: Plan) -> bytes:
    return _digest("order", plan.title)


def dataset_ids(plans: Sequence[Plan] = PLANS) -> dict[str, str]:
    """Title -> id for every planned dataset, unique."""
    taken: dict[str, str] = {}
    out: dict[str, str] = {}
    for plan in plans:
        attempt = 0
        while (candidate := dataset_id_for(plan.title, attempt)) in taken:
            attempt += 1
        taken[candidate] = plan.title
        out[plan.title] = candidate
    return out


# Freshness and attribution ------------------------------------------------------------------


def _earliest_update(plan: Plan) -> dt.date:
    """The first day the dataset's last update could plausibly fall on."""
    if plan.years is None:
        return PORTAL_START
    start, end = plan.years
    if end is None:
        return max(PORTAL_START, dt.date(start, 3, 1))
    return max(PORTAL_START, dt.date(end, 1, 1))


def _range(age: str, as_of: dt.date) -> tuple[dt.date, dt.date]:
    return {
        "fresh": (as_of - dt.timedelta(days=28), as_of - dt.timedelta(days=1)),
        "recent": (as_of - dt.timedelta(days=360), as_of - dt.timedelta(days=35)),
        "stale": (FIRST_STALE, as_of - dt.timedelta(days=372)),
        "ancient": (PORTAL_START, LAST_ANCIENT),
    }[age]


def _age_of(day: dt.date, as_of: dt.date) -> str:
    if day >= as_of - dt.timedelta(days=30):
        return "fresh"
    if day >= as_of - dt.timedelta(days=365):
        return "recent"
    if day >= dt.date(2016, 1, 1):
        return "stale"
    return "ancient"


def _fits(plan: Plan, age: str, as_of: dt.date) -> bool:
    low, high = _range(age, as_of)
    if max(low, _earliest_update(plan)) > high:
        return False
    if age in ("fresh", "recent"):
        return plan.frequency != "not updated" and plan.deprecated is None
    return True


def assign_ages(plans: Sequence[Plan], as_of: dt.date) -> dict[str, str]:
    """Title -> fresh | recent | stale | ancient, in the shares the plan reports."""
    n = len(plans)
    fresh = round(SHARE_FRESH * n)
    targets = {
        "ancient": int(np.ceil(SHARE_BEFORE_2016 * n)),
        "fresh": fresh,
        "recent": round(SHARE_WITHIN_YEAR * n) - fresh,
    }
    ages: dict[str, str] = {}
    for plan in plans:
        if plan.updated is not None:
            ages[plan.title] = _age_of(plan.updated, as_of)
        elif plan.age is not None:
            ages[plan.title] = plan.age
    counts = {age: sum(1 for a in ages.values() if a == age) for age in targets}
    rest = sorted((p for p in plans if p.title not in ages), key=_order_key)
    often = ("daily", "every weekday", "weekly", "every two weeks", "monthly")
    preferences = {
        # Historical and retired datasets are the likeliest to be the oldest.
        "ancient": lambda p: p.frequency != "not updated" and p.deprecated is None,
        "fresh": lambda p: p.frequency not in often,
        "recent": lambda p: False,
    }
    for age, target in targets.items():
        for plan in sorted(rest, key=preferences[age]):
            if counts[age] >= target:
                break
            if plan.title in ages or not _fits(plan, age, as_of):
                continue
            ages[plan.title] = age
            counts[age] += 1
    for plan in rest:
        if plan.title not in ages:
            ages[plan.title] = "stale" if _fits(plan, "stale", as_of) else "recent"
    return ages


def assign_attribution(plans: Sequence[Plan]) -> dict[str, str | None]:
    """Title -> agency code, or None for the quarter of datasets with no agency named."""
    target = round(SHARE_UNATTRIBUTED * len(plans))
    codes: dict[str, str | None] = {p.title: p.agency for p in plans}
    unattributed = sum(1 for p in plans if p.agency is None)
    for plan in sorted(plans, key=lambda p: _digest("agency", p.title)):
        if unattributed >= target:
            break
        if plan.agency is None or plan.attributed or plan.rows:
            continue
        if plan.classification != Classification.PUBLIC.value:
            continue
        codes[plan.title] = None
        unattributed += 1
    return codes


def _moment(rng: np.random.Generator, low: dt.date, high: dt.date) -> dt.datetime:
    """A time of day on a day between `low` and `high` (office hours, Eastern, in UTC)."""
    span = max((high - low).days, 0)
    day = low + dt.timedelta(days=int(rng.integers(0, span + 1)))
    seconds = int(rng.integers(13 * 3600, 23 * 3600))
    return dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(seconds=seconds)


def plan_entries(as_of: dt.date, plans: Sequence[Plan] = PLANS) -> list[Entry]:
    """Every planned dataset with its id, agency and dates, decided without the catalog."""
    id_of = dataset_ids(plans)
    ages = assign_ages(plans, as_of)
    agency_of = assign_attribution(plans)
    entries = []
    for plan in plans:
        rng = rng_for(plan.title, "dates")
        age = ages[plan.title]
        if plan.updated is not None:
            updated = dt.datetime.combine(plan.updated, dt.time(15, 30), dt.UTC)
        else:
            low, high = _range(age, as_of)
            updated = _moment(rng, max(low, _earliest_update(plan)), high)
        created_low = PORTAL_START
        if plan.years is not None and plan.years[0] > 2014:
            created_low = dt.date(plan.years[0], 1, 15)
        created_high = updated.date() - dt.timedelta(days=1)
        created_low = min(created_low, created_high)
        created = _moment(rng, created_low, created_high)
        created = min(created, updated - dt.timedelta(hours=1))
        share = float(rng.uniform(0.2, 1.0))
        metadata_updated = created + (updated - created) * share
        deprecated_at = None
        if plan.deprecated:
            later = updated.date() + dt.timedelta(days=int(rng.integers(20, 400)))
            day = min(later, as_of - dt.timedelta(days=1))
            deprecated_at = max(_moment(rng, day, day), updated)
            metadata_updated = deprecated_at
        entries.append(
            Entry(
                plan=plan,
                id=id_of[plan.title],
                age=age,
                agency_code=agency_of[plan.title],
                created_at=created,
                metadata_updated_at=metadata_updated,
                data_updated_at=updated,
                deprecated_at=deprecated_at,
            )
        )
    return entries


# Metadata -------------------------------------------------------------------------------------

COLLECTION = {
    "Health and Human Services": "Compiled from program records and from reports that "
    "providers must file with the state.",
    "Education": "Districts and institutions report these figures through the state's annual "
    "data collections.",
    "Public Safety": "Taken from the agency's case management and incident reporting systems.",
    "Transportation": "Drawn from registration, inspection and traffic monitoring systems.",
    "Environment and Natural Resources": "Collected through permits, inspections, monitoring "
    "stations and reports made to the agency.",
    "Housing and Development": "Compiled from program records and from reports that towns and "
    "developers file with the state.",
    "Business": "Drawn from the licensing, registration and employer reporting systems "
    "businesses file with.",
    "Tax and Revenue": "Compiled from returns and payments processed by the state and "
    "summarised so no taxpayer can be identified.",
    "Local Government": "Towns report these figures to the state each year.",
    "Government": "Extracted from the state's administrative systems.",
}

LIMITATION_BY_GEO = {
    "municipality": "Figures for small towns can swing widely from one period to the next.",
    "latitude-longitude": "Locations are as reported and have not all been checked on the ground.",
    "street-address": "Addresses are as reported and have not all been checked.",
    "state": "Only statewide figures are available; there is no breakdown by town.",
}
DEFAULT_LIMITATION = "Figures are as reported when published and may be revised later."
HISTORICAL_LIMITATION = "This is a historical extract and is no longer updated."

PROCESSING_NOTES = (
    "Published as received from the source system; column names were standardised and dates "
    "converted to ISO 8601.",
    "Rows with no town were dropped; town names were matched to the state's list of 169 towns.",
    "Totals were checked against the agency's published reports before release.",
    None,
)

NON_PUBLIC_RIGHTS = (
    "Not public: available only to authorized staff of the agency and to others under a data "
    "sharing agreement approved by the agency data officer."
)

SOURCE_LINKS = {
    "DAPA": "https://portal.ct.gov/CTData",
    "CJPPD": "https://portal.ct.gov/OPM/CJ-About/CJ-Home",
    "CSP": "https://portal.ct.gov/DESPP/Division-of-State-Police/Home",
    "LCD": "https://portal.ct.gov/DCP/Liquor-Control-Division/Liquor-Control",
    "GAMING": "https://portal.ct.gov/DCP/Gaming-Division/The-Gaming-Division",
    "UCONN": "https://uconn.edu",
    "CHFA": "https://www.chfa.org",
    "CGB": "https://www.ctgreenbank.com",
    "OSC": "https://osc.ct.gov",
}


# External links shown on a few datasets whose data lives in another system (never fetched).
LINKS: dict[str, tuple[str, str]] = {
    "CT Transit General Transit Feed Specification (GTFS) Route Data": (
        "CTtransit developer resources and GTFS feed",
        "https://www.cttransit.com/about/developers",
    ),
    "2024 Connecticut Parcel and CAMA Data": (
        "Connecticut Geospatial Data Portal",
        "https://geodata.ct.gov/",
    ),
    "Regional Councils of Governments Boundaries": (
        "Connecticut Geospatial Data Portal",
        "https://geodata.ct.gov/",
    ),
    "Zip Code Tabulation Area Boundaries": (
        "Census Bureau TIGER/Line shapefiles",
        "https://www.census.gov/geographies/mapping-files/time-series/geo/tiger-line-file.html",
    ),
    "Election Results and Voter Turnout": (
        "Connecticut election history",
        "https://electionhistory.ct.gov/",
    ),
    "Campaign Finance Contributions to Statewide Candidates": (
        "SEEC campaign finance search (eCRIS)",
        "https://seec.ct.gov/Portal/eCRIS/eCrisSearch",
    ),
}


def _contact_email(code: str) -> str:
    return "dapa@ct.gov" if code in ("OPM", "DAPA") else f"{code.lower()}.opendata@ct.gov"


def metadata_for(entry: Entry) -> DatasetMetadata:
    plan = entry.plan
    rng = rng_for(plan.title, "metadata")
    public = plan.classification == Classification.PUBLIC.value
    provider = plan.agency
    provider_name = NAMES[provider] if provider else None
    limitation = plan.limitations or (
        HISTORICAL_LIMITATION
        if plan.frequency == "not updated"
        else LIMITATION_BY_GEO.get(plan.geo, DEFAULT_LIMITATION)
    )
    parts = [plan.summary]
    if provider_name:
        parts.append(f"The data come from the {provider_name}.")
    parts.append(plan.collection or COLLECTION[plan.category])
    parts.append(limitation)
    if not public:
        parts.append(
            f"This dataset holds {plan.classification} data and is not published; it is listed "
            "so agencies and researchers know it exists and whom to ask."
        )
    if plan.rows:
        parts.append(DEMO_NOTE)
    tags = list(plan.tags)
    if plan.deprecated or "archive" in plan.title.lower():
        tags.append("archive")
    license_roll = float(rng.random())
    license_key = (
        None
        if not public
        else "public-domain"
        if license_roll < 0.8
        else "cc-by-4.0"
        if license_roll < 0.92
        else "odc-by"
    )
    if plan.rows:
        notes = (
            "Published from a Parquet extract; column names are lower case with underscores "
            "and dates are ISO 8601. Demo rows are generated with a fixed seed."
        )
    else:
        notes = PROCESSING_NOTES[int(rng.integers(0, len(PROCESSING_NOTES)))]
    start = end = None
    if plan.years is not None:
        start = dt.date(plan.years[0], 1, 1)
        end_year = plan.years[1]
        end = dt.date(end_year, 12, 31) if end_year is not None else entry.data_updated_at.date()
        end = min(end, entry.data_updated_at.date())
    attributed = entry.agency_code is not None
    return DatasetMetadata(
        title=plan.title,
        description=" ".join(parts),
        category=plan.category,
        tags=tags,
        license=license_key,
        contact_name=f"{provider_name} data team" if provider_name and attributed else None,
        contact_email=_contact_email(provider) if provider and attributed else None,
        data_provided_by=provider_name,
        source_link=SOURCE_LINKS.get(provider or "", f"https://portal.ct.gov/{provider}")
        if provider
        else None,
        geographic_unit=plan.geo,
        classification=plan.classification,
        rights=None if public else NON_PUBLIC_RIGHTS,
        update_frequency=plan.frequency,
        high_value_criteria=list(plan.high_value),
        spatial_coverage="Connecticut",
        temporal_coverage_start=start,
        temporal_coverage_end=end,
        demographic_dimensions=list(plan.dimensions),
        limitations=limitation,
        processing_notes=notes,
    )


# Building -------------------------------------------------------------------------------------


def _noop(step: str, done: int, total: int) -> None:
    return None


def build_demo(
    installation: Installation,
    *,
    as_of: dt.date | None = None,
    payroll_rows: int = 1_200_000,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill `installation` with the demo portal; resumes a build that stopped part-way.

    `progress(step, done, total)` is called as each step advances. `as_of` is the day the
    portal's history is measured back from (today when not given).
    """
    started = time.perf_counter()
    report = progress or _noop
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    categories = installation.settings.categories
    entries = plan_entries(as_of)

    with installation.catalog.session() as session:
        existing = set(session.scalars(select(Agency.code)))
        for done, (code, name, parent) in enumerate(AGENCIES, start=1):
            if code not in existing:
                service.add_agency(session, code, name, parent_code=parent, actor=ACTOR)
            report("Adding agencies", done, len(AGENCIES))

    with installation.catalog.session() as session:
        present = set(session.scalars(select(Dataset.id)))
        for done, entry in enumerate(entries, start=1):
            if entry.id not in present:
                service.create_dataset(
                    session,
                    metadata_for(entry),
                    entry.agency_code,
                    categories,
                    actor=ACTOR,
                    dataset_id=entry.id,
                )
            report("Describing datasets", done, len(entries))

    with installation.catalog.session() as session:
        linked = set(session.scalars(select(DatasetFile.dataset_id)))
    for entry in entries:
        if entry.plan.title in LINKS and entry.id not in linked:
            title, url = LINKS[entry.plan.title]
            add_link(installation, entry.id, url, title, actor=ACTOR)

    with_rows = [e for e in entries if e.plan.rows]
    column_notes: dict[str, dict[str, tuple[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="statedata-demo-") as folder:
        for done, entry in enumerate(with_rows, start=1):
            with installation.catalog.session() as session:
                has_rows = session.get(Dataset, entry.id).current_version_id is not None
            if not has_rows:
                rows = _generate(entry, payroll_rows)
                column_notes[entry.id] = rows.columns
                path = Path(folder) / f"{entry.id}.parquet"
                pq.write_table(rows.table, path, compression="zstd")
                publish(
                    installation,
                    open_table(path),
                    dataset_id=entry.id,
                    row_identifier=rows.row_identifier,
                    actor=ACTOR,
                    published_at=entry.data_updated_at,
                )
                path.unlink()
                if rows.coverage is not None:
                    with installation.catalog.session() as session:
                        dataset = session.get(Dataset, entry.id)
                        dataset.temporal_coverage_start, dataset.temporal_coverage_end = (
                            rows.coverage
                        )
            report("Publishing rows", done, len(with_rows))

    with installation.catalog.session() as session:
        for entry in entries:
            reason = entry.plan.deprecated
            if reason and session.get(Dataset, entry.id).status == Status.ACTIVE.value:
                replacement = entry.plan.replaced_by
                service.deprecate(
                    session,
                    entry.id,
                    reason,
                    replaced_by=dataset_id_for_title(entries, replacement),
                    actor=ACTOR,
                )

    _set_history(installation, entries, column_notes, report)

    report("Adding people, suggestions, requests and agreements", 0, 1)
    with installation.catalog.session() as session:
        governance.build(session, as_of, installation_secret(installation.settings.home))
    report("Adding people, suggestions, requests and agreements", 1, 1)
    with installation.catalog.session() as session:
        demo_usage.build(session, as_of)

    write_stories(installation.settings.home, entries, as_of)

    with installation.catalog.session() as session:
        total_rows = _row_total(session, [e.id for e in with_rows])
        summary = DemoSummary(
            agencies=len(AGENCIES),
            datasets=len(entries),
            datasets_with_rows=len(with_rows),
            total_rows=total_rows,
            seconds=round(time.perf_counter() - started, 2),
        )
        audit.record(
            session,
            ACTOR,
            BUILT_EVENT,
            as_of=as_of.isoformat(),
            agencies=summary.agencies,
            datasets=summary.datasets,
            datasets_with_rows=summary.datasets_with_rows,
            total_rows=summary.total_rows,
        )
    return summary


def dataset_id_for_title(entries: Sequence[Entry], title: str | None) -> str | None:
    if title is None:
        return None
    for entry in entries:
        if entry.plan.title == title:
            return entry.id
    raise ValueError(f"the demo plan has no dataset titled {title!r}")


def _generate(entry: Entry, payroll_rows: int) -> Rows:
    assert entry.plan.rows is not None
    generator = {**GENERATORS, **boundaries.GENERATORS}[entry.plan.rows]
    context = Context(
        rng=rng_for(entry.plan.title, "rows"),
        updated=entry.data_updated_at.date(),
        payroll_rows=payroll_rows,
    )
    return generator(context)


def _row_total(session: Session, dataset_ids: list[str]) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Version.row_count), 0))
            .join(Dataset, Dataset.current_version_id == Version.id)
            .where(Dataset.id.in_(dataset_ids))
        )
    )


def _set_history(
    installation: Installation,
    entries: Sequence[Entry],
    column_notes: dict[str, dict[str, tuple[str, str]]],
    report: Progress,
) -> None:
    """Put each dataset's dates back to its planned history (versions were published with it)."""
    with installation.catalog.session() as session:
        for done, entry in enumerate(entries, start=1):
            dataset = service.get_dataset(session, entry.id)
            dataset.created_at = entry.created_at
            dataset.metadata_updated_at = entry.metadata_updated_at
            dataset.data_updated_at = entry.data_updated_at
            for item in dataset.files:
                item.created_at = entry.created_at
            for column in dataset.columns:
                label, text = column_notes.get(entry.id, {}).get(column.field_name, (None, None))
                if label or column.display_name == column.field_name:
                    column.display_name = label or _display_name(column.field_name)
                if text:
                    column.description = text
            report("Setting history", done, len(entries))


def _display_name(field_name: str) -> str:
    return field_name.replace("_", " ").capitalize()


# Checking -------------------------------------------------------------------------------------


def demo_is_built(installation: Installation) -> bool:
    """True when the catalog holds every demo dataset, those with rows have them, and the
    build finished (so a second `make demo` reuses the home)."""
    wanted = dataset_ids()
    with installation.catalog.session() as session:
        found = dict(
            session.execute(
                select(Dataset.id, Dataset.current_version_id).where(
                    Dataset.id.in_(list(wanted.values()))
                )
            ).all()
        )
        if len(found) != len(wanted):
            return False
        for plan in PLANS:
            if plan.rows and found.get(wanted[plan.title]) is None:
                return False
        finished = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == BUILT_EVENT)
        )
    return bool(finished)
