"""Publishing versions: replace, append, upsert with :deleted, system fields, atomicity and
retention. Rows are read back with DuckDB from the version files."""

from __future__ import annotations

import duckdb
import pytest
from sqlalchemy import select

from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import Version
from statedata.errors import IngestError, InvalidInput, PublishError
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish
from statedata.storage.export import parquet_download
from statedata.storage.versions import download_copy, version_path, version_rows_sql

TOWNS = "town,county,cases\nAndover,Tolland,3\nAnsonia,New Haven,12\nAvon,Hartford,7\n"


def _new(agency: str | None = "DPH", **fields) -> NewDataset:
    return NewDataset(DatasetMetadata(title=fields.pop("title", "Cases by town"), **fields), agency)


def _rows(installation, dataset_id: str) -> list[dict]:
    with installation.catalog.session() as session:
        dataset = service.get_dataset(session, dataset_id)
        sql = version_rows_sql(installation, dataset.current_version)
    con = duckdb.connect()
    result = con.execute(f'SELECT * FROM ({sql}) ORDER BY ":id"')
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_first_publish_creates_dataset_version_and_columns(installation, agency, write_file):
    result = publish(installation, open_table(write_file("towns.csv", TOWNS)), new=_new())
    assert (result.version, result.row_count, result.rows_created) == (1, 3, 3)
    rows = _rows(installation, result.dataset_id)
    assert [r[":id"] for r in rows] == [1, 2, 3]
    assert rows[1]["town"] == "Ansonia" and rows[1]["cases"] == 12
    assert rows[0][":created_at"] == rows[0][":updated_at"]
    with installation.catalog.session() as session:
        d = service.get_dataset(session, result.dataset_id)
        assert [(c.field_name, c.data_type) for c in d.columns] == [
            ("town", "text"),
            ("county", "text"),
            ("cases", "number"),
        ]
        v = d.current_version
        assert v.checksum.startswith("sha256:") and v.byte_size > 0 and v.row_count == 3
        assert d.data_updated_at is not None


def test_replace_makes_a_new_version_and_keeps_the_old_file(installation, agency, write_file):
    first = publish(installation, open_table(write_file("a.csv", TOWNS)), new=_new())
    second = publish(
        installation,
        open_table(write_file("b.csv", "town,county,cases\nBethel,Fairfield,4\n")),
        dataset_id=first.dataset_id,
    )
    assert second.version == 2
    rows = _rows(installation, first.dataset_id)
    assert [(r[":id"], r["town"]) for r in rows] == [(4, "Bethel")]  # ids never reused
    with installation.catalog.session() as session:
        versions = session.scalars(select(Version).order_by(Version.number)).all()
        assert all(version_path(installation, v).exists() for v in versions)


def test_append_adds_rows_after_the_current_ones(installation, agency, write_file):
    first = publish(installation, open_table(write_file("a.csv", TOWNS)), new=_new())
    result = publish(
        installation,
        open_table(write_file("more.csv", "town,cases\nBethel,4\n")),
        dataset_id=first.dataset_id,
        mode="append",
    )
    rows = _rows(installation, first.dataset_id)
    assert result.rows_created == 1
    assert [r["town"] for r in rows] == ["Andover", "Ansonia", "Avon", "Bethel"]
    assert rows[-1]["county"] is None and rows[-1][":id"] == 4


def test_upsert_updates_inserts_and_deletes_by_row_identifier(installation, agency, write_file):
    first = publish(
        installation, open_table(write_file("a.csv", TOWNS)), new=_new(row_identifier="town")
    )
    update = "town,cases,:deleted\nAvon,9,false\nAndover,,true\nBethel,4,\n"
    result = publish(
        installation,
        open_table(write_file("u.csv", update)),
        dataset_id=first.dataset_id,
        mode="upsert",
    )
    assert (result.rows_created, result.rows_updated, result.rows_deleted) == (1, 1, 1)
    rows = {r["town"]: r for r in _rows(installation, first.dataset_id)}
    assert set(rows) == {"Ansonia", "Avon", "Bethel"}
    assert rows["Avon"]["cases"] == 9
    assert rows["Avon"]["county"] == "Hartford"  # a column left out keeps its value
    assert rows["Avon"][":id"] == 3 and rows["Bethel"][":id"] == 4
    assert rows["Avon"][":created_at"] < rows["Avon"][":updated_at"]
    assert rows["Ansonia"][":updated_at"] == rows["Ansonia"][":created_at"]


def test_upsert_last_duplicate_wins(installation, agency, write_file):
    first = publish(
        installation, open_table(write_file("a.csv", TOWNS)), new=_new(row_identifier="town")
    )
    publish(
        installation,
        open_table(write_file("u.csv", "town,cases\nAvon,1\nAvon,2\n")),
        dataset_id=first.dataset_id,
        mode="upsert",
    )
    rows = {r["town"]: r for r in _rows(installation, first.dataset_id)}
    assert rows["Avon"]["cases"] == 2


def test_upsert_needs_a_row_identifier(installation, agency, write_file):
    first = publish(installation, open_table(write_file("a.csv", TOWNS)), new=_new())
    with pytest.raises(InvalidInput, match="row identifier"):
        publish(
            installation,
            open_table(write_file("u.csv", TOWNS)),
            dataset_id=first.dataset_id,
            mode="upsert",
        )


def test_duplicate_row_identifier_is_refused_and_nothing_changes(installation, agency, write_file):
    with pytest.raises(PublishError, match="'Avon' appears 2 times"):
        publish(
            installation,
            open_table(write_file("d.csv", TOWNS + "Avon,Hartford,1\n")),
            new=_new(row_identifier="town"),
        )
    with installation.catalog.session() as session:
        assert service.list_datasets(session) == []
    assert not list((installation.settings.data_dir).glob("*/*.parquet"))


def test_append_with_a_value_of_the_wrong_type_names_row_and_column(
    installation, agency, write_file
):
    first = publish(installation, open_table(write_file("a.csv", TOWNS)), new=_new())
    with pytest.raises(PublishError, match=r"row 2, column 'cases': 'many'"):
        publish(
            installation,
            open_table(write_file("bad.csv", "town,cases\nBethel,4\nCanton,many\n")),
            dataset_id=first.dataset_id,
            mode="append",
        )
    assert len(_rows(installation, first.dataset_id)) == 3


def test_append_with_an_unknown_column_is_refused(installation, agency, write_file):
    first = publish(installation, open_table(write_file("a.csv", TOWNS)), new=_new())
    with pytest.raises(PublishError, match="'population' is not in this dataset"):
        publish(
            installation,
            open_table(write_file("x.csv", "town,population\nBethel,20000\n")),
            dataset_id=first.dataset_id,
            mode="append",
        )


def test_failed_publish_leaves_previous_version_current(installation, agency, write_file):
    first = publish(installation, open_table(write_file("a.csv", TOWNS)), new=_new())
    with pytest.raises(IngestError):
        publish(
            installation,
            open_table(write_file("ragged.csv", "town,county,cases\nBethel,Fairfield\n")),
            dataset_id=first.dataset_id,
        )
    with installation.catalog.session() as session:
        d = service.get_dataset(session, first.dataset_id)
        assert d.current_version.number == 1
    assert len(_rows(installation, first.dataset_id)) == 3
    assert not list((installation.settings.data_dir / "_staging").iterdir())


def test_system_column_names_are_reserved(sqlite_installation, write_file):
    with pytest.raises(PublishError, match="':id' starts with ':'"):
        publish(
            sqlite_installation, open_table(write_file("s.csv", ":id,x\n1,2\n")), new=_new(None)
        )


def test_retention_keeps_the_configured_number_of_versions(tmp_path, write_file):
    from statedata.installation import Installation

    installation = Installation.open(tmp_path / "home", versions_to_keep=2)
    first = publish(installation, open_table(write_file("a.csv", TOWNS)), new=_new(None))
    with installation.catalog.session() as session:
        v1 = service.get_dataset(session, first.dataset_id).current_version
        parquet_download(installation.settings, v1, version_path(installation, v1))
        assert download_copy(version_path(installation, v1)).exists()
    for i in range(3):
        publish(
            installation,
            open_table(write_file(f"v{i}.csv", f"town,county,cases\nT{i},C,{i}\n")),
            dataset_id=first.dataset_id,
        )
    with installation.catalog.session() as session:
        versions = session.scalars(select(Version).order_by(Version.number)).all()
        kept = [v.number for v in versions if v.removed_at is None]
        assert kept == [3, 4]
        assert not version_path(installation, versions[0]).exists()
        assert not download_copy(version_path(installation, versions[0])).exists()
        assert version_path(installation, versions[-1]).exists()
    installation.close()


def test_concurrent_publishes_never_lose_rows(installation, agency, write_file):
    from concurrent.futures import ThreadPoolExecutor

    from statedata.errors import PublishConflict

    first = publish(installation, open_table(write_file("a.csv", TOWNS)), new=_new())
    paths = [write_file(f"more{i}.csv", f"town,county,cases\nT{i},C,{i}\n") for i in range(4)]

    def append(path):
        try:
            publish(installation, open_table(path), dataset_id=first.dataset_id, mode="append")
            return True
        except PublishConflict:
            return False

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(append, paths))
    assert any(outcomes)
    rows = _rows(installation, first.dataset_id)
    assert len(rows) == 3 + sum(outcomes)
    assert len({r[":id"] for r in rows}) == len(rows)
    with installation.catalog.session() as session:
        numbers = session.scalars(
            select(Version.number).where(Version.dataset_id == first.dataset_id)
        ).all()
    assert sorted(numbers) == list(range(1, 2 + sum(outcomes)))
    assert not list((installation.settings.data_dir / "_staging").iterdir())


def test_a_column_named_like_duckdbs_row_position_keeps_stored_ids(sqlite_installation, write_file):
    path = write_file("f.csv", "file_row_number,town\n10,Avon\n20,Bethel\n")
    result = publish(sqlite_installation, open_table(path), new=_new(None))
    rows = _rows(sqlite_installation, result.dataset_id)
    assert [(r[":id"], r["file_row_number"], r["town"]) for r in rows] == [
        (1, 10, "Avon"),
        (2, 20, "Bethel"),
    ]
    with sqlite_installation.catalog.session() as session:
        assert service.get_dataset(session, result.dataset_id).current_version.id_base is None


def test_replaced_version_derives_ids_from_row_positions(sqlite_installation, write_file):
    first = publish(sqlite_installation, open_table(write_file("a.csv", TOWNS)), new=_new(None))
    second = publish(
        sqlite_installation, open_table(write_file("b.csv", TOWNS)), dataset_id=first.dataset_id
    )
    with sqlite_installation.catalog.session() as session:
        version = service.get_dataset(session, second.dataset_id).current_version
        assert (version.id_base, version.max_row_id) == (3, 6)
        assert ":id" in [c["name"] for c in version.schema]
    assert [r[":id"] for r in _rows(sqlite_installation, first.dataset_id)] == [4, 5, 6]


def test_every_mode_stores_rows_in_id_order(installation, agency, write_file):
    """The query engine relies on this to page by :id without sorting."""
    lines = "town,cases\n" + "".join(f"T{i},{i}\n" for i in range(3000))
    first = publish(
        installation, open_table(write_file("a.csv", lines)), new=_new(row_identifier="town")
    )
    more = "town,cases\n" + "".join(f"U{i},{i}\n" for i in range(500))
    publish(
        installation,
        open_table(write_file("m.csv", more)),
        dataset_id=first.dataset_id,
        mode="append",
    )
    update = "town,cases,:deleted\nT5,50,\nT7,,true\nV1,1,\nU3,30,\n"
    publish(
        installation,
        open_table(write_file("u.csv", update)),
        dataset_id=first.dataset_id,
        mode="upsert",
    )
    with installation.catalog.session() as session:
        version = service.get_dataset(session, first.dataset_id).current_version
        sql = version_rows_sql(installation, version)
    ids = [row[0] for row in duckdb.connect().execute(f'SELECT ":id" FROM ({sql})').fetchall()]
    assert ids == sorted(ids) and len(ids) == 3000 + 500 - 1 + 1


def test_sweep_removes_only_old_files_no_version_points_at(sqlite_installation, write_file):
    import os

    from statedata.storage.versions import sweep_orphans

    result = publish(sqlite_installation, open_table(write_file("a.csv", TOWNS)), new=_new(None))
    data = sqlite_installation.settings.data_dir
    orphan = data / result.dataset_id / "v2-deadbeef.parquet"
    stale = data / "_staging" / "0123.parquet"
    fresh = data / "_staging" / "4567.parquet"
    for path in (orphan, stale, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"PAR1")
    for path in (orphan, stale):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    current = next((data / result.dataset_id).glob("v1-*.parquet"))
    os.utime(current, (1_000_000_000, 1_000_000_000))
    assert sorted(sweep_orphans(sqlite_installation)) == sorted([orphan, stale])
    assert current.exists() and fresh.exists()
    assert len(_rows(sqlite_installation, result.dataset_id)) == 3
