"""One statedata installation: its settings and its catalog database, opened together.

Parts take an `Installation` rather than reaching for globals, so tests can run many side by
side.
"""

from __future__ import annotations

from pathlib import Path

from statedata.catalog.db import Catalog
from statedata.config import Settings, load_settings
from statedata.freshness import stored_quality
from statedata.metrics import attribution


class Installation:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalog = Catalog(settings.catalog_url)
        # Quality scores kept in the catalog change with the metadata they come from.
        stored_quality.keep_in_step(self.catalog)
        # Usage summed by agency moves with a dataset that changes agency or listing.
        attribution.keep_in_step(self.catalog)

    @classmethod
    def open(cls, home: Path | str | None = None, **overrides: object) -> Installation:
        """Open (and create or migrate if needed) the installation at `home`."""
        installation = cls(load_settings(home, **overrides))
        installation.init()
        return installation

    def init(self) -> None:
        """Create the home folder and bring the catalog schema up to date; safe to repeat."""
        for folder in (self.settings.home, self.settings.data_dir, self.settings.files_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.catalog.upgrade()

    def close(self) -> None:
        self.catalog.dispose()
