"""A running server reuses what it read of the catalog for the plan metrics while the change
mark holds (catalog/changes.py), and reads again after any committed change, raw SQL included;
a change rolled back is never served, even when a later commit brings the mark to the same
number."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from statedata.catalog import DatasetMetadata
from statedata.catalog.models import Dataset
from statedata.ingest import open_table
from statedata.metrics import plan, snapshot
from statedata.storage import NewDataset, publish


@pytest.fixture
def datasets(installation, agency, write_file) -> list[str]:
    ids = []
    for title in ("Child care centres", "Licensed pharmacies", "Road closures"):
        path = write_file(f"{title}.csv", "name,town\nA,Hartford\nB,Bristol\n")
        new = NewDataset(DatasetMetadata(title=title), agency)
        ids.append(publish(installation, open_table(path), new=new).dataset_id)
    return ids


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """How many times the datasets were read from the catalog."""
    calls: list[int] = []
    read = snapshot._read

    def counting_read(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return read(*args, **kwargs)

    monkeypatch.setattr(snapshot, "_read", counting_read)
    return calls


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
