"""The plan metrics' reading of the catalog kept in a file in the home folder, so a process
that starts cold (`statedata metrics`, a server just started) need not read 100,000 datasets
again: it uses the file while the catalog's change mark (catalog/changes.py) is the one the
file was written under, and after a change reads again only the datasets changed since. One
file, the latest reading; arrays only, loaded without pickle; written whole to a temporary
file and renamed over the old one, so a reader never sees half a file."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from statedata.metrics.snapshot import Datasets

ARRAYS = (
    "agency",
    "listed",
    "archived",
    "created",
    "retired",
    "fallback",
    "frequency",
    "dims",
    "no_agency",
    "version_keys",
    "version_auto",
    "has_versions",
)
FILE_NAME = "datasets.npz"
# Raised whenever what the arrays mean changes, so a file kept by an older statedata is not
# read as if it were this one's.
FORMAT = "2"


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)


def save(folder: Path, key: str, data: Datasets) -> None:
    """Keep `data` (read with its mark and position) under `key` (the catalog and what was
    asked) in `folder`. A file that cannot be written only makes the next cold start
    slower."""
    arrays = {name: getattr(data, name) for name in ARRAYS}
    if data.kept is not None:
        arrays["kept_points"], arrays["kept_counts"] = data.kept
    if data.noted is not None:
        arrays["noted"] = data.noted
    texts = {
        "ids": data.ids,
        "agency_codes": data.agency_codes,
        "frequencies": data.frequencies,
        "metadata_stamp": data.extra.get("metadata_stamp"),
        "mark": data.mark,
        "position": data.position,
    }
    temporary = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".datasets-", suffix=".npz")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, key=_bytes(FORMAT + key), texts=_bytes(json.dumps(texts)), **arrays)
        os.replace(temporary, folder / FILE_NAME)
        temporary = None
    except OSError:
        pass
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def load(folder: Path, key: str) -> Datasets | None:
    """What `save` kept under `key`, with the mark and position it was read at; None when
    there is none, it was kept under another key, or the file cannot be read."""
    from statedata.metrics.snapshot import Datasets  # snapshot imports this module

    try:
        with np.load(folder / FILE_NAME, allow_pickle=False) as kept:
            if kept["key"].tobytes().decode() != FORMAT + key:
                return None
            texts = json.loads(kept["texts"].tobytes())
            arrays = {name: kept[name] for name in ARRAYS}
            rows = None
            if "kept_points" in kept.files:
                rows = (kept["kept_points"], kept["kept_counts"])
            noted = kept["noted"] if "noted" in kept.files else None
        catalog, mark = texts["mark"]
        mark = (catalog, tuple(tuple(table) for table in mark))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None  # JSONDecodeError is a ValueError
    stamps = texts["metadata_stamp"]
    return Datasets(
        ids=texts["ids"],
        agency_codes=texts["agency_codes"],
        frequencies=texts["frequencies"],
        extra={} if stamps is None else {"metadata_stamp": stamps},
        kept=rows,
        mark=mark,
        position=texts["position"],
        noted=noted,
        **arrays,
    )
