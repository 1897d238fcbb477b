"""Files and links attached to a dataset: a zipped shapefile, a PDF data dictionary, a link to
a map service. Files are copied into the home's `files/` folder with their SHA-256.

Rows of the dataset are not here (see `versions.py`); nothing here ever touches the network.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import secrets
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from statedata.catalog import audit, service
from statedata.catalog.models import DatasetFile
from statedata.errors import FileNotFound, InvalidInput
from statedata.installation import Installation

# Checked before `mimetypes`, whose answers depend on the machine's /etc/mime.types.
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".shp": "application/x-esri-shape",
    ".gpkg": "application/geopackage+sqlite3",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".kml": "application/vnd.google-earth.kml+xml",
    ".kmz": "application/vnd.google-earth.kmz",
}
MAX_TITLE = 300
MAX_URL = 2000


def media_type_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in MEDIA_TYPES:
        return MEDIA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def safe_file_name(name: str) -> str:
    """A name that is safe on any file system and in a URL: ASCII letters, digits, . - _."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip(".-_")
    stem, suffix = os.path.splitext(cleaned)
    return (stem[:120] or "file") + suffix[:20]


def _title(title: str | None, default: str) -> str:
    text = (title if title is not None else default).strip()
    if not text:
        raise InvalidInput("A file or link needs a title.", field="title")
    if len(text) > MAX_TITLE:
        raise InvalidInput(
            f"The title is {len(text)} characters long; at most {MAX_TITLE} are allowed.",
            field="title",
        )
    return text


def add_file(
    installation: Installation,
    dataset_id: str,
    path: Path | str,
    title: str | None = None,
    actor: str = "system",
) -> DatasetFile:
    """Copy the file at `path` into the dataset's files and record it with its checksum."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFound(f"There is no file at {path}.", path=str(path))
    title = _title(title, path.name)
    with installation.catalog.session() as session:
        service.get_dataset(session, dataset_id)  # raises DatasetNotFound
    folder = installation.settings.files_dir / dataset_id
    folder.mkdir(parents=True, exist_ok=True)
    # A random prefix keeps two uploads of "report.pdf" apart without asking the database.
    stored_name = f"{secrets.token_hex(6)}-{safe_file_name(path.name)}"
    target = folder / stored_name
    partial = folder / f".{stored_name}.part"
    try:
        digest, size = _copy_with_digest(path, partial)
        os.replace(partial, target)
        with installation.catalog.session() as session:
            item = DatasetFile(
                dataset_id=dataset_id,
                kind="file",
                title=title,
                file_name=path.name[:300],
                media_type=media_type_of(path.name),
                byte_size=size,
                checksum=f"sha256:{digest}",
                path=str(Path(dataset_id) / stored_name),
            )
            session.add(item)
            session.flush()
            audit.record(
                session,
                actor,
                "dataset.file.add",
                dataset_id,
                file_id=item.id,
                file_name=item.file_name,
                byte_size=size,
                checksum=item.checksum,
            )
    except BaseException:
        # Nothing recorded, so nothing kept.
        partial.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    return item


def _copy_with_digest(source: Path, target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reader, target.open("wb") as writer:
        while block := reader.read(4 << 20):
            digest.update(block)
            writer.write(block)
            size += len(block)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest(), size


def check_url(url: str) -> str:
    """The URL, stripped, if it is an absolute http(s) address; `InvalidInput` otherwise."""
    text = url.strip()
    if not text:
        raise InvalidInput("A link needs a URL.", field="url")
    if len(text) > MAX_URL:
        raise InvalidInput(f"The URL is longer than {MAX_URL} characters.", field="url")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidInput("A URL cannot contain spaces or control characters.", field="url")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        raise InvalidInput(f"'{text}' is not a valid URL.", field="url") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = parts.scheme or "no scheme"
        raise InvalidInput(
            f"A link must be a web address starting with http:// or https:// (this one has "
            f"{shown}).",
            field="url",
        )
    if not host:
        raise InvalidInput(f"'{text}' names no host.", field="url")
    return text


def add_link(
    installation: Installation,
    dataset_id: str,
    url: str,
    title: str,
    actor: str = "system",
) -> DatasetFile:
    """Record a link (a map service, an external page) on the dataset; it is never fetched."""
    url = check_url(url)
    title = _title(title, "")
    with installation.catalog.session() as session:
        service.get_dataset(session, dataset_id)
        item = DatasetFile(dataset_id=dataset_id, kind="link", title=title, url=url)
        session.add(item)
        session.flush()
        audit.record(session, actor, "dataset.link.add", dataset_id, file_id=item.id, url=url)
    return item


def list_files(installation: Installation, dataset_id: str) -> list[DatasetFile]:
    """The dataset's files and links, oldest first."""
    with installation.catalog.session() as session:
        service.get_dataset(session, dataset_id)
        return list(
            session.scalars(
                select(DatasetFile)
                .where(DatasetFile.dataset_id == dataset_id)
                .order_by(DatasetFile.id)
            )
        )


def get_file(installation: Installation, dataset_id: str, file_id: int) -> DatasetFile:
    with installation.catalog.session() as session:
        item = session.scalar(
            select(DatasetFile).where(
                DatasetFile.id == file_id, DatasetFile.dataset_id == dataset_id
            )
        )
        if item is None:
            service.get_dataset(session, dataset_id)  # a missing dataset says so
            raise FileNotFound(
                f"Dataset {dataset_id} has no file or link {file_id}.",
                dataset_id=dataset_id,
                file_id=file_id,
            )
        return item


def file_path(installation: Installation, dataset_file: DatasetFile) -> Path:
    """Where the stored copy of a file is; `FileNotFound` for a link or a lost file."""
    if dataset_file.kind != "file" or not dataset_file.path:
        raise FileNotFound(
            f"'{dataset_file.title}' is a link, not a stored file.", file_id=dataset_file.id
        )
    root = installation.settings.files_dir.resolve()
    path = (root / dataset_file.path).resolve()
    # The catalog is trusted, but a path leaving the files folder is never served.
    if not path.is_relative_to(root) or not path.is_file():
        raise FileNotFound(
            f"The stored copy of '{dataset_file.title}' is missing.", file_id=dataset_file.id
        )
    return path


def remove_file(
    installation: Installation, dataset_id: str, file_id: int, actor: str = "system"
) -> None:
    """Remove a file or link from the dataset, and the stored copy of a file."""
    with installation.catalog.session() as session:
        item = session.scalar(
            select(DatasetFile).where(
                DatasetFile.id == file_id, DatasetFile.dataset_id == dataset_id
            )
        )
        if item is None:
            service.get_dataset(session, dataset_id)
            raise FileNotFound(
                f"Dataset {dataset_id} has no file or link {file_id}.",
                dataset_id=dataset_id,
                file_id=file_id,
            )
        stored = item.path
        audit.record(
            session,
            actor,
            f"dataset.{item.kind}.remove",
            dataset_id,
            file_id=item.id,
            title=item.title,
            file_name=item.file_name,
            url=item.url,
        )
        session.delete(item)
    # Deleted only after the catalog committed: a failed commit keeps the file it points at.
    if stored:
        root = installation.settings.files_dir.resolve()
        path = (root / stored).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)
