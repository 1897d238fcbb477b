"""Stored quality points: after every kind of change to a dataset they equal a fresh
`quality.score`, the plan metrics use them without scoring again, and a row out of date
(written behind the catalog's back, or by other rules) is scored again, never trusted."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from statedata.catalog import DatasetMetadata, service
from statedata.catalog.dictionary import describe_columns
from statedata.catalog.drafts import approve_dataset, decide, mark_draft, propose
from statedata.catalog.models import Column, Dataset, StoredQuality
from statedata.config import DEFAULT_CATEGORIES
from statedata.freshness import quality, retirement, stored_quality
from statedata.ingest import open_table
from statedata.metrics import plan, snapshot
from statedata.storage import NewDataset, publish

TODAY = dt.datetime.now(dt.UTC).date()
LONG = (
    "Each licensed child care centre in the state, with its address, capacity and the ages "
    "it cares for. Updated when a licence is granted, renewed or ended."
)


def metrics_score(installation, dataset_id: str, count_each: bool = False) -> tuple[int, bool, int]:
    """(score, required complete, datasets scored afresh) as the plan metrics find them:
    with the dictionary counted dataset by dataset (`count_each`), or only when the kept
    rows' totals do not match the catalog's (what the metrics do)."""
    snapshot._QUALITY.clear()
    with installation.catalog.session() as session:
        data = plan.load_datasets(session)
        counts = plan.dictionary_counts(session) if count_each else None
        state = plan.day_state(data, TODAY.toordinal())
        i = data.ids.index(dataset_id)
        chosen = np.zeros(len(data), dtype=bool)
        chosen[i] = True
        scores, required = plan.quality_scores_of(session, data, chosen, counts, state)
    return int(scores[i]), bool(required[i]), len(snapshot._QUALITY)


def assert_in_step(installation, dataset_id: str, step: str) -> None:
    with installation.catalog.session() as session:
        dataset = service.get_dataset(session, dataset_id)
        fresh = quality.score(dataset, TODAY)
        row = session.get(StoredQuality, dataset_id)
        assert row is not None, step
        assert row.rules == quality.RULES_VERSION, step
        assert row.points == fresh.day_free_points, step
        assert row.required_complete == fresh.required_metadata_complete, step
    for count_each in (False, True):
        score, required, scored_afresh = metrics_score(installation, dataset_id, count_each)
        assert (score, required) == (fresh.total, fresh.required_metadata_complete), step
        assert scored_afresh == 0, f"{step}: the metrics scored it again instead of reading it"


@pytest.fixture
def dataset_id(installation, agency, write_file) -> str:
    path = write_file("centres.csv", "name,town,capacity\nLittle Oaks,Hartford,40\n")
    return publish(
        installation,
        open_table(path),
        new=NewDataset(DatasetMetadata(title="Child care centres"), agency),
    ).dataset_id


def _update(**fields):  # type: ignore[no-untyped-def]
    def change(session, dataset_id: str) -> None:  # type: ignore[no-untyped-def]
        service.update_metadata(
            session, dataset_id, DatasetMetadata(**fields), DEFAULT_CATEGORIES, actor="test"
        )

    return change


def _describe(session, dataset_id: str) -> None:  # type: ignore[no-untyped-def]
    describe_columns(session, dataset_id, {"name": "The centre's name."}, "test")


def _describe_all(session, dataset_id: str) -> None:  # type: ignore[no-untyped-def]
    describe_columns(
        session,
        dataset_id,
        {"name": "The centre's name.", "town": "Its town.", "capacity": "Children it may hold."},
        "test",
    )


def _draft_approved(session, dataset_id: str) -> None:  # type: ignore[no-untyped-def]
    draft = propose(
        session,
        dataset_id,
        DatasetMetadata(contact_email="childcare@ct.gov", geographic_unit="street-address"),
        DEFAULT_CATEGORIES,
        "publisher",
        columns={"town": "The town it is in."},
    )
    decide(session, draft.id, True, DEFAULT_CATEGORIES, "officer")


def _draft_dataset_approved(session, dataset_id: str) -> None:  # type: ignore[no-untyped-def]
    mark_draft(session, service.get_dataset(session, dataset_id), "publisher")
    session.flush()
    approve_dataset(session, dataset_id, "officer")


def _retire(session, dataset_id: str) -> None:  # type: ignore[no-untyped-def]
    retirement.retire(session, dataset_id, "replaced", "test", notice_days=30)


def _deprecate(session, dataset_id: str) -> None:  # type: ignore[no-untyped-def]
    service.deprecate(session, dataset_id, "A better dataset replaces it.")


CHANGES = [
    ("a long description", _update(description=LONG)),
    ("three tags", _update(tags=["child care", "licences", "towns"])),
    ("category and licence", _update(category="Education", license="cc-by-4.0")),
    ("a frequency", _update(update_frequency="R/P1M")),
    ("coverage", _update(spatial_coverage="Connecticut", geographic_unit="municipality")),
    (
        "coverage in time",
        _update(
            temporal_coverage_start=dt.date(2020, 1, 1), temporal_coverage_end=dt.date(2025, 12, 31)
        ),
    ),
    ("a related document", _update(related_documents=[{"title": "Rules", "url": "https://x.gov"}])),
    ("breakdowns", _update(demographic_dimensions=["age"])),
    ("one column described", _describe),
    ("every column described", _describe_all),
    ("a draft approved", _draft_approved),
    ("a draft dataset approved", _draft_dataset_approved),
    ("tags removed", _update(tags=[])),
    ("no frequency", _update(update_frequency=None)),
    ("deprecated", _deprecate),
    ("retired", _retire),
]


def test_stored_points_follow_every_kind_of_change(installation, dataset_id):
    assert_in_step(installation, dataset_id, "published")
    for step, change in CHANGES:
        with installation.catalog.session() as session:
            change(session, dataset_id)
        assert_in_step(installation, dataset_id, step)


def test_a_new_version_with_other_columns_is_scored_again(installation, dataset_id, write_file):
    with installation.catalog.session() as session:
        _describe_all(session, dataset_id)
    path = write_file("more.csv", "name,town,capacity,ages\nLittle Oaks,Hartford,40,0-5\n")
    publish(installation, open_table(path), dataset_id=dataset_id)
    assert_in_step(installation, dataset_id, "a column added by a new version")


def test_a_change_rolled_back_leaves_the_stored_points_as_they_were(installation, dataset_id):
    with installation.catalog.session() as session:
        before = session.get(StoredQuality, dataset_id).points
    with pytest.raises(RuntimeError), installation.catalog.session() as session:
        _update(description=LONG, tags=["a", "b", "c"])(session, dataset_id)
        session.flush()
        raise RuntimeError("something else failed")
    with installation.catalog.session() as session:
        assert session.get(StoredQuality, dataset_id).points == before
    assert_in_step(installation, dataset_id, "after the rollback")


def test_a_change_behind_the_catalogs_back_is_scored_again(installation, dataset_id):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    with installation.catalog.engine.begin() as connection:
        connection.execute(
            update(Dataset)
            .where(Dataset.id == dataset_id)
            .values(description=LONG, license="cc-by-4.0", metadata_updated_at=later)
        )
    with installation.catalog.session() as session:
        stale = session.get(StoredQuality, dataset_id).points
        fresh = quality.score(service.get_dataset(session, dataset_id), TODAY)
    assert stale < fresh.day_free_points
    score, _, scored_afresh = metrics_score(installation, dataset_id)
    assert score == fresh.total
    assert scored_afresh == 1
    # What the metrics scored is kept: the next run reads it.
    assert_in_step(installation, dataset_id, "kept by the metrics")


def test_a_column_added_behind_the_catalogs_back_is_seen_by_its_count(installation, dataset_id):
    with installation.catalog.engine.begin() as connection:
        connection.execute(
            insert(Column).values(
                dataset_id=dataset_id,
                position=9,
                field_name="ages",
                display_name="Ages",
                data_type="text",
                storage_type="VARCHAR",
                description="",
            )
        )
    with installation.catalog.session() as session:
        fresh = quality.score(service.get_dataset(session, dataset_id), TODAY)
    score, _, scored_afresh = metrics_score(installation, dataset_id)
    assert (score, scored_afresh) == (fresh.total, 1)


@pytest.mark.parametrize("description", ["", "   "])
def test_a_column_undescribed_behind_the_catalogs_back_is_seen_by_the_totals(
    installation, dataset_id, description
):
    # No count of columns or tags changes, nor the metadata time: only the catalog's total
    # of described columns tells the kept row is out of date.
    with installation.catalog.session() as session:
        _describe_all(session, dataset_id)
    assert_in_step(installation, dataset_id, "every column described")
    with installation.catalog.engine.begin() as connection:
        connection.execute(
            update(Column)
            .where(Column.dataset_id == dataset_id, Column.field_name == "town")
            .values(description=description)
        )
    with installation.catalog.session() as session:
        fresh = quality.score(service.get_dataset(session, dataset_id), TODAY)
        kept = session.get(StoredQuality, dataset_id)
        assert (kept.columns, kept.described) == (3, 3)
    score, required, scored_afresh = metrics_score(installation, dataset_id)
    assert (score, required, scored_afresh) == (fresh.total, fresh.required_metadata_complete, 1)
    assert_in_step(installation, dataset_id, "kept by the metrics")


def test_points_made_by_other_rules_are_not_used(installation, dataset_id):
    with installation.catalog.engine.begin() as connection:
        connection.execute(
            update(StoredQuality)
            .where(StoredQuality.dataset_id == dataset_id)
            .values(rules=quality.RULES_VERSION - 1, points=0)
        )
    with installation.catalog.session() as session:
        fresh = quality.score(service.get_dataset(session, dataset_id), TODAY)
    score, _, scored_afresh = metrics_score(installation, dataset_id)
    assert (score, scored_afresh) == (fresh.total, 1)


def test_refresh_scores_every_dataset_and_forgets_removed_ones(installation, dataset_id):
    with installation.catalog.session() as session:
        session.execute(update(StoredQuality).values(points=0))
        assert stored_quality.refresh(session) == 1
        assert stored_quality.refresh(session, [dataset_id, "zzzz-9999"]) == 1
        session.execute(
            insert(StoredQuality).values(
                stored_quality.as_row(
                    "yyyy-8888", stored_quality.Stamp("x", 0, 0, 0, False, None), 0, False
                )
            )
        )
        stored_quality.refresh(session, ["yyyy-8888"])
        assert session.scalars(select(StoredQuality.dataset_id)).all() == [dataset_id]
    assert_in_step(installation, dataset_id, "refreshed")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    description=st.one_of(st.just(LONG), st.text(max_size=300)),
    tags=st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4),
    category=st.sampled_from([None, "Education"]),
    license=st.sampled_from([None, "cc-by-4.0"]),
    contact=st.sampled_from([None, "a@ct.gov"]),
    frequency=st.sampled_from([None, "R/P1D", "R/P1Y", "irregular", "not updated"]),
    dimensions=st.lists(st.sampled_from(["race", "sex", "age"]), unique=True, max_size=2),
    source=st.sampled_from([None, "https://example.gov/source"]),
)
def test_stored_points_equal_a_fresh_score_for_any_metadata(
    sqlite_installation,
    description,
    tags,
    category,
    license,
    contact,
    frequency,
    dimensions,
    source,
):
    with sqlite_installation.catalog.session() as session:
        existing = session.scalar(select(Dataset.id))
        if existing is None:
            existing = service.create_dataset(
                session, DatasetMetadata(title="Patients seen"), None, DEFAULT_CATEGORIES
            ).id
        service.update_metadata(
            session,
            existing,
            DatasetMetadata(
                description=description,
                tags=tags,
                category=category,
                license=license,
                contact_email=contact,
                update_frequency=frequency,
                demographic_dimensions=dimensions,
                source_link=source,
            ),
            DEFAULT_CATEGORIES,
        )
    assert_in_step(sqlite_installation, existing, "any metadata")


def test_every_new_catalog_is_hooked_even_where_an_old_ones_id_is_reused():
    # SQLAlchemy's event.contains knows targets by id(): a new session factory that took a
    # collected one's id was taken for hooked, and its stored points never followed changes.
    import gc

    from statedata.catalog.db import Catalog

    unhooked = 0
    for attempt in range(200):
        catalog = Catalog("sqlite://")
        stored_quality.keep_in_step(catalog)
        stored_quality.keep_in_step(catalog)  # a second call adds nothing
        listeners = list(catalog.session_factory().dispatch.after_flush)
        unhooked += stored_quality._collect not in listeners
        assert listeners.count(stored_quality._collect) <= 1
        catalog.dispose()
        del catalog
        if attempt % 20 == 0:
            gc.collect()
    assert unhooked == 0
