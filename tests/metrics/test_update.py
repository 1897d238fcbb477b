"""After a change, the metrics' reading of the catalog is brought up to date by reading again
only the datasets changed since (metrics/snapshot.py `_update`), in this process or from the
file a earlier one kept; what it gives is what reading the whole catalog gives, whatever
changed; and it reads the whole catalog instead when the catalog is not the one it read
(restored from a backup) or when much of it changed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, delete, insert, select, update

from statedata.catalog import DatasetMetadata
from statedata.catalog.changes import mark_and_position
from statedata.catalog.models import (
    Agency,
    Base,
    CatalogChange,
    CatalogDatasetChange,
    Column,
    Dataset,
    DatasetTag,
    StoredQuality,
    Version,
)
from statedata.ingest import open_table
from statedata.metrics import plan, snapshot
from statedata.metrics.publish import report
from statedata.storage import NewDataset, publish

LATER = dt.datetime(2031, 5, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def datasets(installation, agency, write_file) -> list[str]:
    ids = []
    titles = ("Child care centres", "Licensed pharmacies", "Road closures", "Bridge ratings")
    for title in titles:
        path = write_file(f"{title}.csv", "name,town\nA,Hartford\nB,Bristol\n")
        tags = ["licensing", "towns", "inspections"]
        new = NewDataset(DatasetMetadata(title=title, tags=tags), agency)
        ids.append(publish(installation, open_table(path), new=new).dataset_id)
    return ids


@pytest.fixture
def reads(monkeypatch) -> dict[str, list[int]]:
    """How many times the datasets were read, the whole catalog and only some, and how many
    datasets each partial read asked for."""
    found: dict[str, list[int]] = {"whole": [], "part": []}
    read = snapshot._read

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        only = kwargs.get("only")
        if only is None:
            found["whole"].append(1)
        else:
            found["part"].append(len(only))
        return read(*args, **kwargs)

    monkeypatch.setattr(snapshot, "_read", counting)
    return found


def load(installation, **options) -> snapshot.Datasets:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        return snapshot.load_datasets(session, **options)


def assert_same(updated: snapshot.Datasets, whole: snapshot.Datasets) -> None:
    """Every dataset's every value the same, whatever order the frequencies were coded in."""
    assert updated.ids == whole.ids
    assert updated.agency_codes == whole.agency_codes
    decode = [updated.frequencies[i] for i in updated.frequency.tolist()]
    assert decode == [whole.frequencies[i] for i in whole.frequency.tolist()]
    for name in snapshot_file_arrays():
        if name == "frequency":
            continue
        assert np.array_equal(getattr(updated, name), getattr(whole, name)), name
    assert (updated.kept is None) == (whole.kept is None)
    if updated.kept is not None and whole.kept is not None:
        for mine, theirs in zip(updated.kept, whole.kept, strict=True):
            assert np.array_equal(mine, theirs)
    assert np.array_equal(updated.noted, whole.noted)
    assert updated.extra == whole.extra


def snapshot_file_arrays() -> tuple[str, ...]:
    from statedata.metrics.snapshot_file import ARRAYS

    return ARRAYS


def whole_reading(installation, **options) -> snapshot.Datasets:  # type: ignore[no-untyped-def]
    snapshot.forget()
    return load(installation, **options)


def delete_dataset(connection, dataset_id: str) -> None:  # type: ignore[no-untyped-def]
    """Remove a dataset and every row that names it, as no statedata command does."""
    connection.execute(
        update(Dataset).where(Dataset.id == dataset_id).values(current_version_id=None)
    )
    for table in reversed(Base.metadata.sorted_tables):
        for foreign in table.foreign_keys:
            if foreign.column.table.name == "datasets":
                connection.execute(delete(table).where(foreign.parent == dataset_id))
    connection.execute(delete(Dataset).where(Dataset.id == dataset_id))


CHANGES = {
    "metadata": lambda c, ids: c.execute(
        update(Dataset).where(Dataset.id == ids[1]).values(update_frequency="R/P1W")
    ),
    "a new frequency": lambda c, ids: c.execute(
        update(Dataset).where(Dataset.id == ids[2]).values(update_frequency="R/P3M")
    ),
    "no agency": lambda c, ids: c.execute(
        update(Dataset).where(Dataset.id == ids[0]).values(agency_id=None)
    ),
    "a version's date": lambda c, ids: c.execute(
        update(Version)
        .where(Version.dataset_id == ids[3])
        .values(created_at=LATER, source="feed:3")
    ),
    "a tag": lambda c, ids: c.execute(insert(DatasetTag).values(dataset_id=ids[1], tag="bridges")),
    "a column described": lambda c, ids: c.execute(
        update(Column).where(Column.dataset_id == ids[2]).values(description="The town.")
    ),
    "a stored score": lambda c, ids: c.execute(
        update(StoredQuality).where(StoredQuality.dataset_id == ids[0]).values(points=1)
    ),
    "a dataset removed": lambda c, ids: delete_dataset(c, ids[1]),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_after_a_change_only_that_dataset_is_read_and_all_is_as_read_whole(
    installation, datasets, reads, change
):
    with installation.catalog.session() as session:
        plan.compute(session)  # keeps each dataset's quality points
        session.commit()
    snapshot.forget()
    load(installation)
    reads["whole"].clear()
    with installation.catalog.engine.begin() as connection:
        CHANGES[change](connection, datasets)
    updated = load(installation)
    assert (len(reads["whole"]), reads["part"]) == (0, [1])
    assert_same(updated, whole_reading(installation))


def test_a_version_published_and_a_dataset_added_are_read_in_their_places(
    installation, datasets, agency, write_file, reads
):
    snapshot.forget()
    load(installation, with_metadata=True)
    path = write_file("more.csv", "name,town\nA,Hartford\nB,Bristol\nC,Salem\n")
    publish(installation, open_table(path), dataset_id=datasets[2], published_at=LATER)
    added = publish(
        installation, open_table(path), new=NewDataset(DatasetMetadata(title="Ferries"), agency)
    ).dataset_id
    updated = load(installation, with_metadata=True)
    assert reads["part"] == [2]
    assert added in updated.ids
    assert_same(updated, whole_reading(installation, with_metadata=True))


def test_the_metrics_after_a_change_are_those_read_afresh(installation, datasets, reads):
    snapshot.forget()
    with installation.catalog.session() as session:
        plan.compute(session)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).where(Dataset.id == datasets[0]).values(agency_id=None))
    with installation.catalog.session() as session:
        updated = plan.compute(session)
    assert reads["part"] == [1]
    snapshot.forget()
    with installation.catalog.session() as session:
        afresh = plan.compute(session)
    assert [(m.key, m.value, m.by_agency) for m in updated.metrics] == [
        (m.key, m.value, m.by_agency) for m in afresh.metrics
    ]


def test_a_new_process_after_a_change_reads_only_that_dataset_on_the_kept_file(
    installation, datasets, reads
):
    snapshot.forget()
    report(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).where(Dataset.id == datasets[3]).values(agency_id=None))
    snapshot.forget()  # as a new process
    after = report(installation)
    assert (len(reads["whole"]), reads["part"]) == (1, [1])
    snapshot.forget()
    (installation.settings.cache_dir / "metrics" / "datasets.npz").unlink()
    afresh = report(installation)
    assert len(reads["whole"]) == 2
    assert [m.value for m in after.metrics] == [m.value for m in afresh.metrics]


def test_a_catalog_restored_from_a_backup_is_read_whole(installation, datasets, reads):
    """A backup taken before a change the reading saw is restored (the change is gone, and
    the catalog's counts and notes are as they were), then another dataset is written: its
    note may carry a position the reading had passed, but the nonces no longer add up."""
    snapshot.forget()
    notes: Table = CatalogDatasetChange.__table__  # type: ignore[assignment]
    counts: Table = CatalogChange.__table__  # type: ignore[assignment]
    with installation.catalog.engine.begin() as connection:
        backup = {
            table: [dict(row._mapping) for row in connection.execute(select(table))]
            for table in (notes, counts)
        }
        connection.execute(
            update(Dataset).where(Dataset.id == datasets[1]).values(update_frequency="R/P1W")
        )
    load(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(
            update(Dataset).where(Dataset.id == datasets[1]).values(update_frequency="R/P1D")
        )
        for table, rows in backup.items():  # as the backup holds them
            connection.execute(delete(table))
            connection.execute(insert(table), rows)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).where(Dataset.id == datasets[2]).values(agency_id=None))
    restored = load(installation)
    assert (len(reads["whole"]), reads["part"]) == (2, [])
    assert_same(restored, whole_reading(installation))


def test_when_much_changed_the_catalog_is_read_whole(installation, datasets, reads, always_whole):
    snapshot.forget()
    load(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).where(Dataset.id == datasets[0]).values(agency_id=None))
    load(installation)
    assert (len(reads["whole"]), reads["part"]) == (2, [])


def scores(installation, counts_each: bool) -> list[int]:  # type: ignore[no-untyped-def]
    """Each dataset's quality score today, taking the kept rows' counts of columns and tags
    where they may be taken, or (`counts_each`) counting every dataset's."""
    with installation.catalog.session() as session:
        data = snapshot.load_datasets(session)
        state = snapshot.day_state(data, dt.date.today().toordinal())
        counts = snapshot.dictionary_counts(session, remembered=False) if counts_each else None
        found, _ = snapshot.quality_scores_of(session, data, state.public, counts, state)
    return found.tolist()


def test_a_tag_moved_between_datasets_behind_the_catalogs_back_is_scored(installation, datasets):
    """The catalog's totals stay the same; the two datasets' notes say which to count."""
    snapshot.forget()
    before = scores(installation, counts_each=False)
    assert before == scores(installation, counts_each=True)
    with installation.catalog.engine.begin() as connection:
        connection.execute(
            update(DatasetTag)
            .where(DatasetTag.dataset_id == datasets[0], DatasetTag.tag == "towns")
            .values(dataset_id=datasets[1], tag="bridges")
        )
    after = scores(installation, counts_each=False)
    assert after == scores(installation, counts_each=True)
    assert after != before


def test_an_agency_renamed_is_read_whole(installation, datasets, reads):
    """No dataset's row changes, but the code each one's agency is read as does."""
    snapshot.forget()
    load(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Agency).values(code="DPH2"))
    renamed = load(installation)
    assert (len(reads["whole"]), reads["part"]) == (2, [])
    assert "DPH2" in renamed.agency_codes


def fresh_whole(installation) -> snapshot.Datasets:  # type: ignore[no-untyped-def]
    """The catalog read whole now, leaving what this process keeps as it was."""
    with installation.catalog.session() as session:
        found = mark_and_position(session)
        assert found is not None
        read = snapshot._read(session, (), False, True, None, found[1])
    assert read is not None
    return read


def apply(connection, datasets: list[str], operation: tuple) -> None:  # type: ignore[no-untyped-def]
    kind, which, value = operation
    dataset_id = datasets[which % len(datasets)]
    if connection.execute(select(Dataset.id).where(Dataset.id == dataset_id)).first() is None:
        return  # removed by an earlier example
    if kind == "frequency":
        statement = update(Dataset).where(Dataset.id == dataset_id)
        connection.execute(statement.values(update_frequency=value))
    elif kind == "no agency":
        connection.execute(update(Dataset).where(Dataset.id == dataset_id).values(agency_id=None))
    elif kind == "version day":
        moment = LATER + dt.timedelta(days=value)
        statement = update(Version).where(Version.dataset_id == dataset_id)
        connection.execute(statement.values(created_at=moment, source=f"feed:{value}"))
    elif kind == "tag":
        tag = f"tag {value}"
        there = select(DatasetTag).where(DatasetTag.dataset_id == dataset_id, DatasetTag.tag == tag)
        if connection.execute(there).first() is None:
            connection.execute(insert(DatasetTag).values(dataset_id=dataset_id, tag=tag))
    elif kind == "score":
        statement = update(StoredQuality).where(StoredQuality.dataset_id == dataset_id)
        connection.execute(statement.values(points=value))
    elif kind == "copy":  # a new dataset like this one
        table: Table = Dataset.__table__  # type: ignore[assignment]
        row = connection.execute(select(table).where(table.c.id == dataset_id)).mappings().first()
        new_id = f"zz{value:02d}-{len(datasets):04d}"
        taken = connection.execute(select(Dataset.id).where(Dataset.id == new_id)).first()
        if row is not None and taken is None:
            copy = {**row, "id": new_id, "slug": new_id, "current_version_id": None}
            connection.execute(insert(table).values(copy))
            datasets.append(new_id)
    elif kind == "remove" and len(datasets) > 1:
        delete_dataset(connection, dataset_id)
        datasets.remove(dataset_id)


OPERATIONS = st.tuples(
    st.sampled_from(["frequency", "no agency", "version day", "tag", "score", "copy", "remove"]),
    st.integers(0, 20),
    st.integers(0, 40),
).map(
    lambda op: op if op[0] != "frequency" else (op[0], op[1], ["R/P1D", "R/P1M", None][op[2] % 3])
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(OPERATIONS, min_size=1, max_size=4), min_size=1, max_size=3))
def test_any_changes_brought_up_to_date_are_as_read_whole(installation, datasets, batches):
    """Batches of changes, each followed by a reading brought up to date from the one before
    (in part, or whole where it must be): always what reading the catalog whole gives."""
    ids = list(datasets)
    snapshot.forget()
    load(installation)
    try:
        for batch in batches:
            with installation.catalog.engine.begin() as connection:
                for operation in batch:
                    apply(connection, ids, operation)
            assert_same(load(installation), fresh_whole(installation))
    finally:
        snapshot.forget()
        with installation.catalog.engine.begin() as connection:  # the next example's
            for dataset_id in set(ids) - set(datasets):
                delete_dataset(connection, dataset_id)
