"""A dataset, an agency and a version as plain JSON-ready dicts: the native API's shapes.

One place builds them so the API, the CLI and later the pages show the same fields.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.catalog.models import Agency, Dataset, DatasetFile, Version
from statedata.catalog.vocab import (
    DEMOGRAPHIC_DIMENSIONS,
    GEOGRAPHIC_UNITS,
    HIGH_VALUE_CRITERIA,
    frequency_name,
)


def agency_document(agency: Agency, dataset_count: int | None = None) -> dict:
    document = {
        "code": agency.code,
        "name": agency.name,
        "parent": agency.parent.code if agency.parent else None,
    }
    if dataset_count is not None:
        document["dataset_count"] = dataset_count
    return document


def version_document(version: Version) -> dict:
    return {
        "number": version.number,
        "row_count": version.row_count,
        "byte_size": version.byte_size,
        "checksum": version.checksum,
        "mode": version.mode,
        "source": version.source,
        "created_at": version.created_at,
        "schema": version.schema,
        "kept": version.removed_at is None,
    }


def file_document(item: DatasetFile, base_url: str = "") -> dict:
    document = {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "media_type": item.media_type,
        "created_at": item.created_at,
    }
    if item.kind == "file":
        document |= {
            "file_name": item.file_name,
            "byte_size": item.byte_size,
            "checksum": item.checksum,
            "download_url": f"{base_url}/api/v1/datasets/{item.dataset_id}/files/{item.id}",
        }
    else:
        document["url"] = item.url
    return document


def dataset_summary(dataset: Dataset, base_url: str = "") -> dict:
    version = dataset.current_version
    return {
        "id": dataset.id,
        "title": dataset.title,
        "slug": dataset.slug,
        "description": dataset.description,
        "agency": agency_document(dataset.agency) if dataset.agency else None,
        "category": dataset.category,
        "tags": dataset.tag_names,
        "classification": dataset.classification,
        "update_frequency": {
            "code": dataset.update_frequency,
            "name": frequency_name(dataset.update_frequency),
        },
        "status": dataset.status,
        "publication_state": dataset.publication_state,
        "created_at": dataset.created_at,
        "metadata_updated_at": dataset.metadata_updated_at,
        "data_updated_at": dataset.data_updated_at,
        "row_count": version.row_count if version else None,
        "link": f"{base_url}/api/v1/datasets/{dataset.id}",
    }


def dataset_document(session: Session, dataset: Dataset, base_url: str = "") -> dict:
    """Everything about one dataset: metadata, data dictionary, versions kept, files."""
    versions: Sequence[Version] = session.scalars(
        select(Version).where(Version.dataset_id == dataset.id).order_by(Version.number.desc())
    ).all()
    document = dataset_summary(dataset, base_url)
    rows_base = f"{base_url}/api/v1/datasets/{dataset.id}"
    document |= {
        "license": dataset.license,
        "contact": {"name": dataset.contact_name, "email": dataset.contact_email},
        "data_provided_by": dataset.data_provided_by,
        "source_link": dataset.source_link,
        "related_documents": dataset.related_documents,
        "geographic_unit": (
            {"code": dataset.geographic_unit, "name": GEOGRAPHIC_UNITS[dataset.geographic_unit]}
            if dataset.geographic_unit in GEOGRAPHIC_UNITS
            else None
        ),
        "access_level": dataset.access_level,
        "rights": dataset.rights,
        "high_value_criteria": [
            {"letter": letter, "meaning": HIGH_VALUE_CRITERIA[letter]}
            for letter in dataset.high_value_criteria
        ],
        "spatial_coverage": dataset.spatial_coverage,
        "temporal_coverage": {
            "start": dataset.temporal_coverage_start,
            "end": dataset.temporal_coverage_end,
        },
        "demographic_dimensions": [
            {"code": d, "name": DEMOGRAPHIC_DIMENSIONS[d]} for d in dataset.demographic_dimensions
        ],
        "limitations": dataset.limitations,
        "processing_notes": dataset.processing_notes,
        "row_identifier": dataset.row_identifier,
        "status_reason": dataset.status_reason,
        "replaced_by": dataset.replaced_by,
        "metadata_public": dataset.metadata_public,
        "data_owner": dataset.data_owner,
        "data_steward": dataset.data_steward,
        "data_custodian": dataset.data_custodian,
        "approved_by": dataset.approved_by,
        "approved_at": dataset.approved_at,
        "columns": [
            {
                "field_name": c.field_name,
                "display_name": c.display_name,
                "data_type": c.data_type,
                "storage_type": c.storage_type,
                "description": c.description,
            }
            for c in dataset.columns
        ],
        "current_version": dataset.current_version.number if dataset.current_version else None,
        "versions": [version_document(v) for v in versions],
        "files": [file_document(f, base_url) for f in dataset.files],
        "downloads": (
            {
                "csv": f"{rows_base}/rows.csv",
                "json": f"{rows_base}/rows.json",
                "parquet": f"{rows_base}/rows.parquet",
            }
            if dataset.current_version
            else {}
        ),
    }
    return document
