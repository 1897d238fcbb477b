"""Downloads of a dataset's current version (CSV and JSON streamed, Parquet as a file) and of
its attached files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, StreamingResponse

from statedata.access.reads import require_rows
from statedata.api import deps
from statedata.catalog import service
from statedata.catalog.models import Dataset, Version
from statedata.errors import FileNotFound, NotFound
from statedata.installation import Installation
from statedata.storage import export
from statedata.storage.versions import version_path

router = APIRouter(prefix="/api/v1/datasets/{dataset_id}", tags=["downloads"])


@dataclass
class Readable:
    """The current version of a dataset the caller may read, and where its file is."""

    installation: Installation
    dataset: Dataset
    version: Version
    path: Path

    def headers(self, extension: str) -> dict[str, str]:
        name = f"{self.dataset.slug}-{self.dataset.id}.{extension}"
        return {
            "Content-Disposition": f'attachment; filename="{name}"',
            "ETag": f'"{self.version.checksum.removeprefix("sha256:")[:32]}"',
            "Last-Modified": self.version.created_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "X-Statedata-Version": str(self.version.number),
        }


def readable(
    dataset_id: str,
    installation: deps.InstallationDep,
    session: deps.SessionDep,
    actor: deps.ActorDep,
) -> Readable:
    dataset = service.get_dataset(session, dataset_id)
    require_rows(session, actor, dataset, "download")
    if dataset.current_version is None:
        raise NotFound(
            f"Dataset {dataset_id} has no rows to download; see its files and links instead.",
            id=dataset_id,
        )
    version = dataset.current_version
    return Readable(installation, dataset, version, version_path(installation, version))


Current = Annotated[Readable, Depends(readable)]


@router.get("/rows.csv", summary="The current rows as CSV (streamed)")
def rows_csv(current: Current) -> StreamingResponse:
    rows = export.stream_csv(current.installation.settings, current.version, current.path)
    return StreamingResponse(
        rows, media_type="text/csv; charset=utf-8", headers=current.headers("csv")
    )


@router.get("/rows.json", summary="The current rows as a JSON array (streamed)")
def rows_json(current: Current) -> StreamingResponse:
    rows = export.stream_json(current.installation.settings, current.version, current.path)
    return StreamingResponse(rows, media_type="application/json", headers=current.headers("json"))


@router.get("/rows.parquet", summary="The current rows as Parquet")
def rows_parquet(current: Current) -> FileResponse:
    path = export.parquet_download(current.installation.settings, current.version, current.path)
    return FileResponse(
        path, media_type="application/vnd.apache.parquet", headers=current.headers("parquet")
    )


@router.get("/files/{file_id}", summary="An attached file")
def attached_file(
    dataset_id: str,
    file_id: int,
    installation: deps.InstallationDep,
    session: deps.SessionDep,
    actor: deps.ActorDep,
) -> FileResponse:
    from statedata.storage.files import file_path

    dataset = service.get_dataset(session, dataset_id)
    require_rows(session, actor, dataset, "download")
    item = next((f for f in dataset.files if f.id == file_id and f.kind == "file"), None)
    if item is None:
        raise FileNotFound(f"Dataset {dataset_id} has no file {file_id}.", id=file_id)
    return FileResponse(
        file_path(installation, item),
        media_type=item.media_type or "application/octet-stream",
        filename=item.file_name,
        headers={"Digest": f"sha-256={item.checksum}"} if item.checksum else None,
    )
