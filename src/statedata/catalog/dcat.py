"""The catalog as DCAT-US 1.1 (`/data.json`, the Project Open Data metadata schema), for the
datasets the caller may list. Federal-only fields (bureauCode, programCode) are left out, as
the schema allows for non-federal catalogs.
"""

from __future__ import annotations

from collections.abc import Iterable

from statedata.catalog.models import Agency, Dataset
from statedata.catalog.vocab import LICENSES, accrual_periodicity
from statedata.config import Settings

CONFORMS_TO = "https://project-open-data.cio.gov/v1.1/schema"
CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"


def _organization(agency: Agency | None, settings: Settings) -> dict:
    if agency is None:
        return {"@type": "org:Organization", "name": settings.publisher_name}
    organization: dict = {"@type": "org:Organization", "name": agency.name}
    parent = agency.parent
    organization["subOrganizationOf"] = (
        _organization(parent, settings)
        if parent is not None
        else {"@type": "org:Organization", "name": settings.publisher_name}
    )
    return organization


def _license_url(value: str | None) -> str | None:
    if not value:
        return None
    if value in LICENSES:
        return LICENSES[value]
    return value if value.startswith(("http://", "https://")) else None


def dataset_entry(dataset: Dataset, settings: Settings) -> dict:
    base = settings.base_url.rstrip("/")
    keywords = dataset.tag_names or [
        (
            dataset.category or (dataset.agency.name if dataset.agency else settings.portal_title)
        ).lower()
    ]
    modified = dataset.data_updated_at or dataset.metadata_updated_at
    entry: dict = {
        "@type": "dcat:Dataset",
        "identifier": f"{base}/api/views/{dataset.id}",
        "title": dataset.title,
        "description": dataset.description or dataset.title,
        "keyword": keywords,
        "modified": modified.strftime("%Y-%m-%d"),
        "issued": dataset.created_at.strftime("%Y-%m-%d"),
        "publisher": _organization(dataset.agency, settings),
        "contactPoint": {
            "@type": "vcard:Contact",
            "fn": dataset.contact_name or settings.contact_name,
            "hasEmail": f"mailto:{dataset.contact_email or settings.contact_email}",
        },
        "accessLevel": dataset.access_level,
        "landingPage": f"{base}/d/{dataset.id}",
    }
    if dataset.category:
        entry["theme"] = [dataset.category]
    license_url = _license_url(dataset.license)
    if license_url:
        entry["license"] = license_url
    if dataset.access_level != "public":
        # DCAT-US asks non-public entries to say how access is restricted.
        entry["rights"] = (dataset.rights or _default_rights(dataset, settings))[:255]
    periodicity = accrual_periodicity(dataset.update_frequency)
    if periodicity:
        entry["accrualPeriodicity"] = periodicity
    if dataset.spatial_coverage:
        entry["spatial"] = dataset.spatial_coverage
    if dataset.temporal_coverage_start and dataset.temporal_coverage_end:
        entry["temporal"] = (
            f"{dataset.temporal_coverage_start.isoformat()}/"
            f"{dataset.temporal_coverage_end.isoformat()}"
        )
    references = [d["url"] for d in dataset.related_documents if d.get("url")]
    if references:
        entry["references"] = sorted(set(references))
    # Only open data lists where its rows are; a listed non-public dataset shows metadata only.
    rows_are_open = dataset.classification == "public" and dataset.access_level == "public"
    distributions = _distributions(dataset, base) if rows_are_open else []
    if distributions:
        entry["distribution"] = distributions
    if dataset.columns:
        entry["describedBy"] = f"{base}/api/v1/datasets/{dataset.id}"
        entry["describedByType"] = "application/json"
    return entry


def _default_rights(dataset: Dataset, settings: Settings) -> str:
    holder = dataset.agency.name if dataset.agency else settings.publisher_name
    return (
        f"Not open data: this is {dataset.classification} data, shared only under a data "
        f"sharing agreement with {holder}."
    )


def _distributions(dataset: Dataset, base: str) -> list[dict]:
    distributions = []
    if dataset.current_version is not None:
        rows = f"{base}/api/v1/datasets/{dataset.id}"
        for fmt, media in (
            ("CSV", "text/csv"),
            ("JSON", "application/json"),
            ("Parquet", "application/vnd.apache.parquet"),
        ):
            distributions.append(
                {
                    "@type": "dcat:Distribution",
                    "downloadURL": f"{rows}/rows.{fmt.lower()}",
                    "mediaType": media,
                    "format": fmt,
                    "title": f"{dataset.title} ({fmt})",
                }
            )
    for item in dataset.files:
        if item.kind == "file":
            distributions.append(
                {
                    "@type": "dcat:Distribution",
                    "downloadURL": f"{base}/api/v1/datasets/{dataset.id}/files/{item.id}",
                    "mediaType": item.media_type or "application/octet-stream",
                    "title": item.title,
                }
            )
        elif item.url:
            distributions.append(
                {"@type": "dcat:Distribution", "accessURL": item.url, "title": item.title}
            )
    return distributions


def catalog_document(datasets: Iterable[Dataset], settings: Settings) -> dict:
    base = settings.base_url.rstrip("/")
    return {
        "@context": CONTEXT,
        "@id": f"{base}/data.json",
        "@type": "dcat:Catalog",
        "conformsTo": CONFORMS_TO,
        "describedBy": f"{CONFORMS_TO}/catalog.json",
        "dataset": [dataset_entry(d, settings) for d in datasets],
    }
