"""Which datasets changed since a reader's position, on both databases: every write to a
dataset's rows notes the dataset, raw SQL included; a write rolled back notes nothing; a write
still running when a reader took its position is seen as a change once it commits; a
truncated table says everything changed; and the notes' nonces tell a catalog restored from a
backup from the one a reader saw."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, delete, insert, select, text, update

from statedata.catalog import DatasetMetadata
from statedata.catalog.changes import (
    Changed,
    Position,
    changed_datasets,
    mark_and_position,
    noted_nonce,
)
from statedata.catalog.models import (
    Base,
    CatalogDatasetChange,
    Column,
    Dataset,
    DatasetTag,
    StoredQuality,
    Version,
)
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish

BELONGING = {
    "datasets": Dataset.id,
    "versions": Version.dataset_id,
    "columns": Column.dataset_id,
    "dataset_tags": DatasetTag.dataset_id,
    "stored_quality": StoredQuality.dataset_id,
}


@pytest.fixture
def two_datasets(installation, agency, write_file) -> list[str]:
    ids = []
    for title in ("Child care centres", "Licensed pharmacies"):
        path = write_file("table.csv", "name,town\nLittle Oaks,Hartford\n")
        metadata = DatasetMetadata(title=title, tags=["licensing"])
        ids.append(publish(installation, open_table(path), new=NewDataset(metadata, agency)))
    with installation.catalog.session() as session:
        from statedata.metrics import plan

        plan.compute(session)  # keeps each dataset's quality points: a stored_quality row
        session.commit()
    return [result.dataset_id for result in ids]


def position_of(installation) -> Position:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        found = mark_and_position(session)
    assert found is not None and found[1] is not None
    return found[1]


def changed_since(installation, position: Position) -> Changed:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        changed = changed_datasets(session, position)
    assert changed is not None
    return changed


@pytest.mark.parametrize("table", list(BELONGING))
def test_a_raw_update_of_a_datasets_rows_notes_that_dataset_alone(
    installation, two_datasets, table
):
    first, second = two_datasets
    target: Table = Base.metadata.tables[table]
    owner = target.c[BELONGING[table].key]
    column = next((c for c in target.columns if not c.primary_key), list(target.columns)[-1])
    before = position_of(installation)
    assert changed_since(installation, before).ids == set()
    with installation.catalog.engine.begin() as connection:
        written = connection.execute(
            update(target).where(owner == first).values({column.name: column})
        ).rowcount
    assert written > 0, f"the fixture left {table} without a row of the first dataset"
    assert changed_since(installation, before).ids == {first}
    assert changed_since(installation, position_of(installation)).ids == set()
    assert second not in changed_since(installation, before).ids


def test_inserts_and_deletes_note_their_datasets(installation, two_datasets):
    first, second = two_datasets
    before = position_of(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(insert(DatasetTag).values(dataset_id=first, tag="inspections"))
    assert changed_since(installation, before).ids == {first}
    with installation.catalog.engine.begin() as connection:
        for table in (StoredQuality, DatasetTag):
            connection.execute(delete(table).where(table.dataset_id == second))
    assert changed_since(installation, before).ids == {first, second}


def test_a_write_rolled_back_notes_nothing(installation, two_datasets):
    before = position_of(installation)
    with installation.catalog.session() as session:
        session.execute(update(Dataset).values(update_frequency="R/P1D"))
        session.rollback()
    assert changed_since(installation, before).ids == set()


def test_a_write_running_while_a_reader_takes_its_position_is_seen_once_committed(
    installation, two_datasets
):
    first, _ = two_datasets
    with installation.catalog.engine.connect() as writer:
        writer.execute(update(Dataset).where(Dataset.id == first).values(update_frequency="R/P1W"))
        position = position_of(installation)  # the write is not committed yet
        assert changed_since(installation, position).ids == set()
        writer.commit()
    assert changed_since(installation, position).ids == {first}


def test_the_seen_nonces_add_up_to_what_a_reader_kept_until_the_catalog_is_restored(
    installation, two_datasets
):
    """A reading keeps each dataset's `noted_nonce`; later, the nonces seen on the datasets
    not changed since add up to the same. A backup restored and written to again can come
    back to the same position with other notes: the sum tells."""
    first, second = two_datasets
    position = position_of(installation)
    with installation.catalog.session() as session:
        kept = dict(session.execute(select(Dataset.id, noted_nonce(Dataset.id, position))).all())
    with installation.catalog.engine.begin() as connection:
        backup = [dict(row._mapping) for row in connection.execute(select(CatalogDatasetChange))]
        connection.execute(update(Dataset).where(Dataset.id == first).values(license="CC0-1.0"))
    changed = changed_since(installation, position)
    assert changed.ids == {first}
    assert changed.seen_nonces == kept[second]
    # Restored: the notes as they were when the reader read, then the second dataset
    # written instead of the first.
    with installation.catalog.engine.begin() as connection:
        connection.execute(delete(CatalogDatasetChange))
        connection.execute(insert(CatalogDatasetChange), backup)
        connection.execute(update(Dataset).where(Dataset.id == second).values(license="CC0-1.0"))
        # As a restore does, the second's note goes back to a number the reader saw.
        connection.execute(
            update(CatalogDatasetChange)
            .where(CatalogDatasetChange.dataset_id == second)
            .values(
                change_number=select(CatalogDatasetChange.change_number)
                .where(CatalogDatasetChange.dataset_id == first)
                .scalar_subquery()
            )
        )
    restored = changed_since(installation, position)
    assert restored.seen_nonces != sum(kept[i] for i in kept if i not in restored.ids)


@pytest.mark.parametrize(
    "installation", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_truncated_table_means_every_dataset_changed(installation, two_datasets):
    """PostgreSQL only: SQLite has no TRUNCATE."""
    before = position_of(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(text("TRUNCATE stored_quality"))
    with installation.catalog.session() as session:
        assert changed_datasets(session, before) is None
