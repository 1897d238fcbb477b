"""The catalog: agencies, datasets, their columns, versions and files, and the audit log.

The public face is below; `models` holds the tables and `service` the operations.
"""

from statedata.catalog.db import Catalog
from statedata.catalog.metadata import DatasetMetadata
from statedata.catalog.models import Agency, AuditEvent, Column, Dataset, DatasetFile, Version

__all__ = [
    "Agency",
    "AuditEvent",
    "Catalog",
    "Column",
    "Dataset",
    "DatasetFile",
    "DatasetMetadata",
    "Version",
]
