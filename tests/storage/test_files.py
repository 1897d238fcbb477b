"""Files and links attached to a dataset: stored copies with checksums, listing, removal, and
links refused unless they are http(s) addresses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from statedata.catalog import service
from statedata.catalog.metadata import DatasetMetadata
from statedata.catalog.models import AuditEvent
from statedata.errors import DatasetNotFound, FileNotFound, InvalidInput
from statedata.installation import Installation
from statedata.storage import files

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def dataset_id(installation: Installation) -> str:
    with installation.catalog.session() as session:
        dataset = service.create_dataset(
            session,
            DatasetMetadata(title="Restaurant inspections"),
            None,
            installation.settings.categories,
        )
        return dataset.id


@pytest.fixture
def sqlite_dataset_id(sqlite_installation: Installation) -> str:
    with sqlite_installation.catalog.session() as session:
        dataset = service.create_dataset(
            session,
            DatasetMetadata(title="Parcels"),
            None,
            sqlite_installation.settings.categories,
        )
        return dataset.id


def actions(installation: Installation) -> list[str]:
    with installation.catalog.session() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_file_and_link_are_added_listed_and_removed(
    installation: Installation, dataset_id: str, write_file
) -> None:  # type: ignore[no-untyped-def]
    pdf = write_file("Data dictionary (2024).pdf", PDF)
    added = files.add_file(installation, dataset_id, pdf, title="Data dictionary", actor="ana")
    assert added.kind == "file"
    assert added.title == "Data dictionary"
    assert added.file_name == "Data dictionary (2024).pdf"
    assert added.media_type == "application/pdf"
    assert added.byte_size == len(PDF)
    assert added.checksum == "sha256:" + hashlib.sha256(PDF).hexdigest()

    stored = files.file_path(installation, added)
    assert stored.read_bytes() == PDF
    assert stored.parent == (installation.settings.files_dir / dataset_id).resolve()
    assert " " not in stored.name and stored.name.endswith(".pdf")

    link = files.add_link(
        installation, dataset_id, "https://gis.example.gov/arcgis/rest/services/x", "Map service"
    )
    assert (link.kind, link.url, link.file_name, link.path) == (
        "link",
        "https://gis.example.gov/arcgis/rest/services/x",
        None,
        None,
    )

    listed = files.list_files(installation, dataset_id)
    assert [(f.id, f.kind) for f in listed] == [(added.id, "file"), (link.id, "link")]
    assert files.get_file(installation, dataset_id, added.id).checksum == added.checksum

    files.remove_file(installation, dataset_id, added.id, actor="ana")
    assert not stored.exists()
    assert [f.id for f in files.list_files(installation, dataset_id)] == [link.id]
    files.remove_file(installation, dataset_id, link.id)
    assert files.list_files(installation, dataset_id) == []
    assert actions(installation)[-4:] == [
        "dataset.file.add",
        "dataset.link.add",
        "dataset.file.remove",
        "dataset.link.remove",
    ]


def test_two_files_with_the_same_name_are_kept_apart(
    sqlite_installation: Installation, sqlite_dataset_id: str, write_file
) -> None:  # type: ignore[no-untyped-def]
    first = files.add_file(sqlite_installation, sqlite_dataset_id, write_file("a.pdf", PDF))
    second = files.add_file(sqlite_installation, sqlite_dataset_id, write_file("a.pdf", b"%PDF-2"))
    assert first.path != second.path
    assert files.file_path(sqlite_installation, first).read_bytes() == PDF
    assert files.file_path(sqlite_installation, second).read_bytes() == b"%PDF-2"
    assert first.title == "a.pdf"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("parcels.zip", "application/zip"),
        ("parcels.gpkg", "application/geopackage+sqlite3"),
        ("photo.JPG", "image/jpeg"),
        ("notes.unknownext", "application/octet-stream"),
    ],
)
def test_media_types(name: str, media_type: str) -> None:
    assert files.media_type_of(name) == media_type


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.gov/data.zip",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://",
        "www.example.gov/no-scheme",
        "https://example.gov/a b",
        "",
    ],
)
def test_links_that_are_not_web_addresses_are_refused(
    sqlite_installation: Installation, sqlite_dataset_id: str, url: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        files.add_link(sqlite_installation, sqlite_dataset_id, url, "A link")
    assert caught.value.data["field"] == "url"
    assert files.list_files(sqlite_installation, sqlite_dataset_id) == []


def test_missing_file_dataset_and_entry(
    sqlite_installation: Installation, sqlite_dataset_id: str, tmp_path: Path, write_file
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFound):
        files.add_file(sqlite_installation, sqlite_dataset_id, tmp_path / "nope.pdf")
    with pytest.raises(DatasetNotFound):
        files.add_file(sqlite_installation, "zzzz-2222", write_file("a.pdf", PDF))
    with pytest.raises(DatasetNotFound):
        files.add_link(sqlite_installation, "zzzz-2222", "https://example.gov", "x")
    with pytest.raises(FileNotFound):
        files.remove_file(sqlite_installation, sqlite_dataset_id, 999)
    with pytest.raises(InvalidInput):
        files.add_link(sqlite_installation, sqlite_dataset_id, "https://example.gov", "  ")
    # Nothing copied for the refused dataset.
    assert not (sqlite_installation.settings.files_dir / "zzzz-2222").exists()


def test_a_link_has_no_stored_copy(
    sqlite_installation: Installation, sqlite_dataset_id: str
) -> None:
    link = files.add_link(sqlite_installation, sqlite_dataset_id, "http://example.gov/x", "X")
    with pytest.raises(FileNotFound, match="is a link"):
        files.file_path(sqlite_installation, link)
