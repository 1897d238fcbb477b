"""`/data.json` validates against the DCAT-US 1.1 non-federal catalog schema kept in
../shared/standards, and lists exactly the public datasets."""

from __future__ import annotations

from statedata.catalog import DatasetMetadata, service
from statedata.config import DEFAULT_CATEGORIES
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish


def test_data_json_is_valid_dcat_us(http, installation, agency, write_file, dcat_validator):
    with installation.catalog.session() as session:
        service.add_agency(
            session, "OCME", "Office of the Chief Medical Examiner", parent_code="DPH"
        )
        service.create_dataset(
            session, DatasetMetadata(title="No tags, no contact"), None, DEFAULT_CATEGORIES
        )
        service.create_dataset(
            session,
            DatasetMetadata(
                title="Accidental Drug Related Deaths",
                description="Deaths by town.",
                category="Health and Human Services",
                tags=["overdose"],
                license="public-domain",
                contact_name="OCME",
                contact_email="ocme@example.gov",
                update_frequency="every weekday",
                spatial_coverage="Connecticut",
                related_documents=[{"title": "Guide", "url": "https://example.gov/g.pdf"}],
                temporal_coverage_start="2012-01-01",
                temporal_coverage_end="2024-12-31",
            ),
            "OCME",
            DEFAULT_CATEGORIES,
        )
        service.create_dataset(
            session,
            DatasetMetadata(title="Hidden", classification="personal"),
            "DPH",
            DEFAULT_CATEGORIES,
        )
    publish(
        installation,
        open_table(write_file("t.csv", "a,b\n1,2\n")),
        new=NewDataset(DatasetMetadata(title="With rows", update_frequency="not updated"), "DPH"),
    )

    catalog = http.get("/data.json").json()
    errors = sorted(dcat_validator.iter_errors(catalog), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    titles = sorted(d["title"] for d in catalog["dataset"])
    assert titles == ["Accidental Drug Related Deaths", "No tags, no contact", "With rows"]
    deaths = next(d for d in catalog["dataset"] if d["title"].startswith("Accidental"))
    assert deaths["publisher"]["subOrganizationOf"]["name"] == "Department of Public Health"
    assert deaths["accrualPeriodicity"] == "R/P1D"
    assert deaths["temporal"] == "2012-01-01/2024-12-31"
    with_rows = next(d for d in catalog["dataset"] if d["title"] == "With rows")
    assert {x["format"] for x in with_rows["distribution"]} == {"CSV", "JSON", "Parquet"}


def test_validator_catches_a_broken_catalog(dcat_validator):
    assert list(
        dcat_validator.iter_errors(
            {
                "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
                "dataset": [{"title": "x"}],
            }
        )
    )
