"""Where a version file's sidecar index folder lives (storage/indexes.py builds and reads it).

Kept apart from indexes.py so that publishing, retention and the orphan sweep name these
folders without importing numpy and pyarrow: every CLI command pays for what it imports.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SUFFIX = ".index"


def sidecar_path(version_file: Path) -> Path:
    """The sidecar folder of a version file."""
    return version_file.with_name(version_file.stem + SUFFIX)


def is_sidecar(path: Path) -> bool:
    """Whether `path` is a sidecar folder, or the temporary folder of one being built."""
    return path.name.endswith(SUFFIX) or SUFFIX + ".tmp-" in path.name


def version_file_of(sidecar: Path) -> Path:
    """The version file a sidecar folder (or a temporary one) belongs to."""
    stem = sidecar.name.split(SUFFIX, 1)[0]
    return sidecar.with_name(stem + ".parquet")


def remove_sidecar(version_file: Path) -> None:
    shutil.rmtree(sidecar_path(version_file), ignore_errors=True)
