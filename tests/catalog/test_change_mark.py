"""The catalog's change mark moves with every committed write to a table the plan metrics
read, through the catalog or behind its back, on both databases; a write rolled back leaves
it as it was; a session holding writes of its own vouches for nothing; and the metrics read
no table whose writes the mark does not count."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlglot
from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlglot import exp

from statedata.catalog import DatasetMetadata
from statedata.catalog.changes import WATCHED, Mark, change_mark, part
from statedata.catalog.models import Agency, Base, CatalogChange, Dataset, DatasetTag
from statedata.ingest import open_table
from statedata.metrics import plan, snapshot
from statedata.storage import NewDataset, publish


@pytest.fixture
def dataset_id(installation, agency, write_file) -> str:
    path = write_file("centres.csv", "name,town,capacity\nLittle Oaks,Hartford,40\n")
    metadata = DatasetMetadata(title="Child care centres", tags=["child care", "licensing"])
    return publish(installation, open_table(path), new=NewDataset(metadata, agency)).dataset_id


def mark_of(installation) -> Mark:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        mark = change_mark(session)
    assert mark is not None
    return mark


@pytest.mark.parametrize("table", WATCHED)
def test_a_raw_update_of_each_watched_table_moves_the_mark(installation, dataset_id, table):
    target = Base.metadata.tables[table]
    # Each row set to what it holds: a write that changes no value still counts.
    column = next((c for c in target.columns if not c.primary_key), list(target.columns)[-1])
    before = mark_of(installation)
    with installation.catalog.engine.begin() as connection:
        changed = connection.execute(update(target).values({column.name: column})).rowcount
    assert changed > 0, f"the fixture left {table} empty"
    assert mark_of(installation) > before


def test_raw_inserts_and_deletes_move_the_mark(installation, dataset_id):
    marks = [mark_of(installation)]
    with installation.catalog.engine.begin() as connection:
        connection.execute(insert(Agency).values(code="DOT", name="Department of Transportation"))
    marks.append(mark_of(installation))
    with installation.catalog.engine.begin() as connection:
        connection.execute(delete(DatasetTag).where(DatasetTag.dataset_id == dataset_id))
    marks.append(mark_of(installation))
    assert marks == sorted(set(marks)), marks


def test_each_table_has_its_own_part_of_the_mark(installation, dataset_id):
    before = mark_of(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).values(update_frequency="R/P1Y"))
    after = mark_of(installation)
    moved = [table for table in WATCHED if part(after, table) != part(before, table)]
    assert moved == ["datasets"]


def test_a_change_through_the_catalog_moves_the_mark(installation, dataset_id):
    before = mark_of(installation)
    with installation.catalog.session() as session:
        session.get(Dataset, dataset_id).update_frequency = "R/P1M"
        session.commit()
    assert mark_of(installation) > before


def test_a_write_rolled_back_leaves_the_mark_and_vouches_for_nothing_meanwhile(
    installation, dataset_id
):
    before = mark_of(installation)
    with installation.catalog.session() as session:
        session.execute(update(Dataset).values(update_frequency="R/P1D"))
        assert change_mark(session) is None
        session.rollback()
        assert change_mark(session) == before
    assert mark_of(installation) == before


def test_a_catalog_restored_and_written_to_again_gets_a_mark_of_its_own(installation, dataset_id):
    """As a restore from a backup leaves it: `catalog_changes` as it was, then as many writes
    as before, but other ones. The count comes back; the nonce does not."""
    with installation.catalog.engine.begin() as connection:
        backup = [dict(row._mapping) for row in connection.execute(select(CatalogChange))]

    def write(frequency: str) -> Mark:
        with installation.catalog.engine.begin() as connection:
            connection.execute(
                update(Dataset).where(Dataset.id == dataset_id).values(update_frequency=frequency)
            )
        return mark_of(installation)

    before_restore = write("R/P1M")
    with installation.catalog.engine.begin() as connection:
        connection.execute(delete(CatalogChange))
        connection.execute(insert(CatalogChange), backup)
    after_restore = write("R/P1Y")
    counts = [[changes for changes, _ in mark] for mark in (before_restore, after_restore)]
    assert counts[0] == counts[1]
    assert after_restore != before_restore


def test_reading_moves_nothing(installation, dataset_id):
    with installation.catalog.session() as session:
        plan.compute(session)  # scores and keeps what it must: a write
    before = mark_of(installation)
    snapshot.forget()
    with installation.catalog.session() as session:
        plan.compute(session)
    assert mark_of(installation) == before


PLACEHOLDER = re.compile(r"%\(\w+\)s|\?")


def _tables_in(statement: str, dialect: str) -> set[str]:
    """The tables a SELECT reads, its parameters taken as NULL."""
    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
        return set()
    tree = sqlglot.parse_one(PLACEHOLDER.sub("NULL", statement), read=dialect)
    return {table.name for table in tree.find_all(exp.Table)}


def test_the_reused_reads_touch_only_watched_tables(installation, dataset_id, monkeypatch):
    """What `load_datasets` and the quality scores read is reused while the mark holds, so
    every table they read must be one whose writes move it."""
    dialect = installation.catalog.engine.dialect.name.replace("postgresql", "postgres")
    seen: list[str] = []
    fetch = snapshot.fetch

    def recording_fetch(session, statement):  # type: ignore[no-untyped-def]
        on = session if isinstance(session, Connection) else session.get_bind()
        compiled = statement.compile(
            dialect=on.dialect, compile_kwargs={"render_postcompile": True}
        )
        seen.append(str(compiled))
        return fetch(session, statement)

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    monkeypatch.setattr(snapshot, "fetch", recording_fetch)
    event.listen(installation.catalog.engine, "before_cursor_execute", record)
    snapshot.forget()
    try:
        with installation.catalog.session() as session:
            data = plan.load_datasets(session)
            state = plan.day_state(data, dt.date.today().toordinal())
            plan.quality_scores_of(session, data, state.public, None, state)
    finally:
        event.remove(installation.catalog.engine, "before_cursor_execute", record)
    read = set().union(*(_tables_in(statement, dialect) for statement in seen))
    assert {"datasets", "stored_quality"} <= read
    assert read - set(WATCHED) <= {"catalog_changes", "catalog_dataset_changes", "audit_events"}, (
        read
    )


def test_folding_the_counts_keeps_every_mark_and_leaves_running_writes_alone(
    installation, dataset_id
):
    """PostgreSQL adds a row per writing transaction and table; the scheduler folds them into
    one row per table. The mark is what it was, a write still running when the fold ran
    counts when it commits, and later writes move the mark as before. SQLite has nothing to
    fold."""
    from statedata.catalog.changes import fold_counts

    for frequency in ("R/P1D", "R/P1W", "R/P1M"):
        with installation.catalog.engine.begin() as connection:
            connection.execute(update(Dataset).values(update_frequency=frequency))
    before = mark_of(installation)
    postgres = installation.catalog.engine.dialect.name == "postgresql"
    with installation.catalog.engine.connect() as running:
        running.execute(update(Dataset).values(update_frequency="R/P1Y"))  # not committed
        with installation.catalog.session() as session:
            folded = fold_counts(session)
        assert mark_of(installation) == before
        running.commit()
    after_running = mark_of(installation)
    assert after_running > before
    with installation.catalog.engine.begin() as connection:
        rows = connection.execute(select(CatalogChange.id, CatalogChange.table_name)).all()
    if postgres:
        assert folded >= 3
        # One row per table, and the running write's own row.
        assert len([r for r in rows if r.table_name == "datasets"]) == 2
        assert {table for _, table in rows} <= set(WATCHED)
    else:
        assert folded == 0
    with installation.catalog.session() as session:
        fold_counts(session)
    assert mark_of(installation) == after_running
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).values(update_frequency="R/P1D"))
    assert mark_of(installation) > after_running
