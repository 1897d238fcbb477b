"""The catalog in Socrata's shapes: a view's metadata (`/api/views/{id}.json`), the metadata API
(`/api/views/metadata/v1`) and a Discovery API result (`/api/catalog/v1`).

Scripts written for data.ct.gov read these fields by name, so the names are Socrata's.
"""

from __future__ import annotations

import datetime as dt

from statedata.catalog.models import Dataset
from statedata.catalog.vocab import LICENSES, frequency_name

# Socrata's dataTypeName for each of our column data types.
DATA_TYPE_NAMES = {
    "text": "text",
    "number": "number",
    "checkbox": "checkbox",
    "floating_timestamp": "calendar_date",
    "fixed_timestamp": "date",
    "geometry": "point",
    "point": "point",
    "multipolygon": "multipolygon",
    "json": "text",
}


def epoch(moment: dt.datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def _license(dataset: Dataset) -> dict | None:
    if not dataset.license:
        return None
    url = LICENSES.get(dataset.license, dataset.license)
    return {"name": dataset.license, "termsLink": url}


def custom_fields(dataset: Dataset) -> dict:
    """data.ct.gov's custom metadata sections (the CT open data handbook's field groups)."""
    return {
        "Basic Descriptive": {"Agency": dataset.agency.name if dataset.agency else None},
        "Publishing Details": {
            "Update Frequency": (frequency_name(dataset.update_frequency) or "").capitalize()
            or None
        },
        "Internal Management": {
            "Data Provided By": dataset.data_provided_by,
            "Contact Email": dataset.contact_email,
        },
    }


def view_document(dataset: Dataset, usage: dict[str, int] | None = None) -> dict:
    """`/api/views/{id}.json`: the view metadata sodapy's get_metadata returns."""
    usage = usage or {}
    version = dataset.current_version
    return {
        "id": dataset.id,
        "name": dataset.title,
        "description": dataset.description,
        "attribution": dataset.agency.name if dataset.agency else None,
        "attributionLink": dataset.source_link,
        "category": dataset.category,
        "tags": dataset.tag_names,
        "assetType": "dataset",
        "displayType": "table",
        "viewType": "tabular",
        "provenance": "official",
        "publicationStage": "published",
        "createdAt": epoch(dataset.created_at),
        "publicationDate": epoch(dataset.created_at),
        "rowsUpdatedAt": epoch(dataset.data_updated_at),
        "viewLastModified": epoch(dataset.metadata_updated_at),
        "downloadCount": usage.get("download", 0),
        "viewCount": usage.get("page_view", 0),
        "license": _license(dataset),
        "rowIdentifierColumnId": None,
        "metadata": {
            "custom_fields": custom_fields(dataset),
            "rowIdentifier": dataset.row_identifier,
            "rowCount": version.row_count if version else 0,
        },
        "columns": [
            {
                "id": column.id,
                "name": column.display_name,
                "fieldName": column.field_name,
                "dataTypeName": DATA_TYPE_NAMES.get(column.data_type, "text"),
                "description": column.description,
                "position": column.position + 1,
                "renderTypeName": DATA_TYPE_NAMES.get(column.data_type, "text"),
                "tableColumnId": column.id,
            }
            for column in dataset.columns
        ],
    }


def metadata_v1_document(dataset: Dataset, base_url: str) -> dict:
    """`/api/views/metadata/v1/{id}`: Socrata's metadata API shape."""
    return {
        "id": dataset.id,
        "name": dataset.title,
        "description": dataset.description,
        "category": dataset.category,
        "tags": dataset.tag_names,
        "attribution": dataset.agency.name if dataset.agency else None,
        "attributionLink": dataset.source_link,
        "license": dataset.license,
        "customFields": custom_fields(dataset),
        "createdAt": dataset.created_at,
        "dataUpdatedAt": dataset.data_updated_at,
        "metadataUpdatedAt": dataset.metadata_updated_at,
        "dataUri": f"{base_url}/resource/{dataset.id}",
        "webUri": f"{base_url}/d/{dataset.id}",
    }


def discovery_result(dataset: Dataset, base_url: str, usage: dict[str, int] | None = None) -> dict:
    """One entry of `/api/catalog/v1` results, as the Discovery API gives it."""
    usage = usage or {}
    domain = base_url.split("://", 1)[-1]
    return {
        "resource": {
            "name": dataset.title,
            "id": dataset.id,
            "description": dataset.description,
            "attribution": dataset.agency.name if dataset.agency else None,
            "attribution_link": dataset.source_link,
            "type": "dataset",
            "updatedAt": dataset.metadata_updated_at,
            "createdAt": dataset.created_at,
            "data_updated_at": dataset.data_updated_at,
            "metadata_updated_at": dataset.metadata_updated_at,
            "columns_field_name": [c.field_name for c in dataset.columns],
            "columns_name": [c.display_name for c in dataset.columns],
            "columns_datatype": [DATA_TYPE_NAMES.get(c.data_type, "text") for c in dataset.columns],
            "columns_description": [c.description for c in dataset.columns],
            "download_count": usage.get("download", 0),
            "page_views": {"page_views_total": usage.get("page_view", 0)},
        },
        "classification": {
            "categories": [dataset.category] if dataset.category else [],
            "tags": [],
            "domain_category": dataset.category,
            "domain_tags": dataset.tag_names,
            "domain_metadata": [
                {"key": f"{section}_{key}".replace(" ", "-"), "value": value}
                for section, fields in custom_fields(dataset).items()
                for key, value in fields.items()
                if value
            ],
        },
        "metadata": {"domain": domain, "license": dataset.license},
        "permalink": f"{base_url}/d/{dataset.id}",
        "link": f"{base_url}/{(dataset.category or 'dataset').replace(' ', '-')}/"
        f"{dataset.slug}/{dataset.id}",
        "owner": {"display_name": dataset.agency.name if dataset.agency else None},
    }
