"""A running server reuses what it read of the catalog for the plan metrics while the change
mark holds (catalog/changes.py), and reads again after any committed change, raw SQL included;
a change rolled back is never served, even when a later commit brings the mark to the same
number."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import update

from statedata.catalog import DatasetMetadata
from statedata.catalog.models import Dataset, Version
from statedata.ingest import open_table
from statedata.metrics import plan, snapshot, snapshot_file
from statedata.metrics.publish import report
from statedata.storage import NewDataset, publish

LATER = dt.datetime(2031, 5, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def datasets(installation, agency, write_file) -> list[str]:
    ids = []
    for title in ("Child care centres", "Licensed pharmacies", "Road closures"):
        path = write_file(f"{title}.csv", "name,town\nA,Hartford\nB,Bristol\n")
        new = NewDataset(DatasetMetadata(title=title), agency)
        ids.append(publish(installation, open_table(path), new=new).dataset_id)
    return ids


def calls_to(monkeypatch, name: str) -> list[int]:  # type: ignore[no-untyped-def]
    """A list that grows by one at each call of `snapshot.<name>`."""
    calls: list[int] = []
    function = getattr(snapshot, name)

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return function(*args, **kwargs)

    monkeypatch.setattr(snapshot, name, counting)
    return calls


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """How many times the datasets were read from the catalog, whole or in part (only those
    changed: tests/metrics/test_update.py)."""
    return calls_to(monkeypatch, "_read")


@pytest.fixture
def version_reads(monkeypatch) -> list[int]:
    """How many times the versions were read (their statement built)."""
    return calls_to(monkeypatch, "automated")


def values(installation) -> dict:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        report = plan.compute(session)
    return {m.key: (m.value, m.by_agency) for m in report.metrics}


def cold_values(installation) -> dict:  # type: ignore[no-untyped-def]
    snapshot.forget()
    return values(installation)


def test_the_second_run_reuses_what_the_first_read(installation, datasets, reads):
    snapshot.forget()
    first = values(installation)
    assert len(reads) == 1
    assert values(installation) == first
    assert len(reads) == 1


def test_a_raw_change_is_read_again(installation, datasets, reads):
    snapshot.forget()
    before = values(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).where(Dataset.id == datasets[0]).values(agency_id=None))
    after = values(installation)
    assert len(reads) == 2
    assert after["metadata.no_agency"] != before["metadata.no_agency"]
    assert after == cold_values(installation)


def test_a_change_rolled_back_is_never_served(installation, datasets):
    snapshot.forget()
    before = values(installation)
    with installation.catalog.session() as session:
        session.execute(update(Dataset).values(agency_id=None))
        inside = plan.compute(session)
        assert inside.get("metadata.no_agency").value == 1.0
        session.rollback()
    # The same number of rows written and committed: SQLite's counter and PostgreSQL's
    # transaction count reach what the rolled-back transaction saw.
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).values(title=Dataset.title))
    assert values(installation) == before


def report_values(installation) -> dict:  # type: ignore[no-untyped-def]
    """The metrics as `statedata metrics` and the API work them out (the file kept)."""
    found = report(installation)
    return {m.key: (m.value, m.by_agency) for m in found.metrics}


def kept_file(installation) -> Path:  # type: ignore[no-untyped-def]
    return installation.settings.cache_dir / "metrics" / snapshot_file.FILE_NAME


def test_a_process_started_cold_reads_the_kept_file_not_the_catalog(installation, datasets, reads):
    snapshot.forget()
    first = report_values(installation)
    assert kept_file(installation).is_file()
    assert len(reads) == 1
    snapshot.forget()  # as a new process
    assert report_values(installation) == first
    assert len(reads) == 1


def test_the_kept_file_is_not_used_as_it_stands_after_a_change(installation, datasets, reads):
    snapshot.forget()
    report_values(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).where(Dataset.id == datasets[1]).values(agency_id=None))
    snapshot.forget()
    after = report_values(installation)
    assert len(reads) == 2
    snapshot.forget()
    kept_file(installation).unlink()
    assert report_values(installation) == after  # as read afresh


@pytest.mark.parametrize("damage", ["truncated", "another file", "missing"])
def test_a_damaged_kept_file_is_read_around_and_written_again(
    installation, datasets, reads, damage
):
    snapshot.forget()
    first = report_values(installation)
    path = kept_file(installation)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "another file":
        path.write_bytes(b"not a numpy archive")
    else:
        path.unlink()
    snapshot.forget()
    assert report_values(installation) == first
    assert len(reads) == 2
    snapshot.forget()
    assert report_values(installation) == first
    assert len(reads) == 2  # written again


def test_a_file_kept_under_another_key_is_not_used(installation, datasets, reads, tmp_path):
    snapshot.forget()
    with installation.catalog.session() as session:
        data = snapshot.load_datasets(session, keep_in=tmp_path)
    other = snapshot_file.load(tmp_path, "another catalog")
    assert other is None
    assert snapshot_file.load(tmp_path, "") is None
    assert len(data.ids) == 3


def test_versions_are_read_again_only_when_their_table_changes(
    installation, datasets, reads, version_reads, always_whole
):
    """Read whole, after a change to a dataset's metadata (more than `_update` picks)."""
    snapshot.forget()
    values(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Dataset).where(Dataset.id == datasets[0]).values(agency_id=None))
    values(installation)
    assert (len(reads), len(version_reads)) == (2, 1)
    with installation.catalog.engine.begin() as connection:
        connection.execute(update(Version).values(source="soda"))
    values(installation)
    assert (len(reads), len(version_reads)) == (3, 2)


def test_a_version_changed_behind_the_catalogs_back_is_read_again(installation, datasets):
    """Every dataset keeps its count of versions: only the versions' part of the mark says
    that one of them is not what it was."""
    snapshot.forget()
    values(installation)
    with installation.catalog.engine.begin() as connection:
        connection.execute(
            update(Version)
            .where(Version.dataset_id == datasets[2])
            .values(source="feed:7", created_at=LATER)
        )
    with installation.catalog.session() as session:
        data = plan.load_datasets(session)
        i = data.ids.index(datasets[2])
        mine = data.version_keys // snapshot.SHIFT == i
    assert (data.version_keys[mine] % snapshot.SHIFT).tolist() == [LATER.date().toordinal()]
    assert data.version_auto[mine].tolist() == [True]
