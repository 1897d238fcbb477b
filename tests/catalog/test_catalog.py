"""The catalog on SQLite and on PostgreSQL: agencies, datasets, metadata rules, deprecation."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from statedata.catalog import DatasetMetadata, service
from statedata.catalog.vocab import UPDATE_FREQUENCIES, frequency_code, frequency_name
from statedata.config import DEFAULT_CATEGORIES
from statedata.errors import AgencyNotFound, AlreadyExists, DatasetNotFound, InvalidInput
from statedata.ids import is_dataset_id


def test_agency_with_parent_is_listed(installation):
    with installation.catalog.session() as session:
        service.add_agency(session, "des", "Department of Emergency Services")
        service.add_agency(session, "SFM", "State Fire Marshal", parent_code="DES")
    with installation.catalog.session() as session:
        agencies = {a.code: a for a in service.list_agencies(session)}
    assert agencies["SFM"].parent.code == "DES"
    assert agencies["DES"].name == "Department of Emergency Services"


def test_duplicate_agency_code_is_refused(installation, agency):
    with (
        pytest.raises(AlreadyExists, match="DPH already exists"),
        installation.catalog.session() as s,
    ):
        service.add_agency(s, "DPH", "Again")


def test_bad_agency_code_is_refused(installation):
    with (
        pytest.raises(InvalidInput, match="not a usable agency code"),
        installation.catalog.session() as s,
    ):
        service.add_agency(s, "no spaces", "X")


def test_dataset_keeps_every_metadata_field(installation, agency):
    metadata = DatasetMetadata(
        title="Accidental Drug Related Deaths 2012-2024",
        description="Deaths from accidental drug overdose, by town of death.",
        category="Health and Human Services",
        tags=["Overdose", "opioids", "overdose "],
        license="public-domain",
        contact_name="Office of the Chief Medical Examiner",
        contact_email="ocme@example.gov",
        data_provided_by="OCME",
        source_link="https://portal.ct.gov/ocme",
        related_documents=[{"title": "Data dictionary", "url": "https://example.gov/dd.pdf"}],
        geographic_unit="municipality",
        classification="public",
        update_frequency="quarterly",
        high_value_criteria=["b", "F"],
        spatial_coverage="Connecticut",
        temporal_coverage_start=dt.date(2012, 1, 1),
        temporal_coverage_end=dt.date(2024, 12, 31),
        demographic_dimensions=["race", "ethnicity", "sex", "age"],
        limitations="Counts under 5 are suppressed.",
        processing_notes="Geocoded to town of death.",
        row_identifier="case_id",
    )
    with installation.catalog.session() as session:
        created = service.create_dataset(session, metadata, agency, DEFAULT_CATEGORIES)
        dataset_id = created.id
    with installation.catalog.session() as session:
        d = service.get_dataset(session, dataset_id)
        assert is_dataset_id(d.id)
        assert d.slug == "accidental-drug-related-deaths-2012-2024"
        assert d.agency.code == "DPH"
        assert d.tag_names == ["opioids", "overdose"]
        assert d.update_frequency == "R/P3M"
        assert frequency_name(d.update_frequency) == "quarterly"
        assert d.high_value_criteria == ["B", "F"]
        assert d.demographic_dimensions == ["age", "ethnicity", "race", "sex"]
        assert d.temporal_coverage_end == dt.date(2024, 12, 31)
        assert d.related_documents[0]["title"] == "Data dictionary"
        assert d.classification == "public" and d.access_level == "public"
        assert d.status == "active"
        assert d.current_version is None


def test_unattributed_dataset_has_no_agency(installation):
    with installation.catalog.session() as session:
        d = service.create_dataset(
            session, DatasetMetadata(title="Orphan"), None, DEFAULT_CATEGORIES
        )
        assert d.agency is None


def test_non_public_classification_makes_access_level_non_public(installation, agency):
    with installation.catalog.session() as session:
        d = service.create_dataset(
            session,
            DatasetMetadata(title="Medicaid claims", classification="protected"),
            agency,
            DEFAULT_CATEGORIES,
        )
        assert d.access_level == "non-public"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("update_frequency", "fortnightly", "not an update frequency"),
        ("high_value_criteria", ["Z"], "use letters A to H"),
        ("geographic_unit", "galaxy", "not a geographic unit"),
        ("demographic_dimensions", ["height"], "not a demographic dimension"),
        ("contact_email", "nobody", "not an email address"),
        ("classification", "secret", "public"),
    ],
)
def test_bad_metadata_is_refused_with_the_field_named(field, value, message):
    with pytest.raises((ValidationError, InvalidInput), match=message):
        DatasetMetadata(title="X", **{field: value})


def test_unknown_category_is_refused(installation):
    with (
        pytest.raises(InvalidInput, match="not one of this portal's categories"),
        installation.catalog.session() as s,
    ):
        service.create_dataset(
            s, DatasetMetadata(title="X", category="Sports"), None, DEFAULT_CATEGORIES
        )


def test_unknown_agency_is_refused(installation):
    with pytest.raises(AgencyNotFound), installation.catalog.session() as s:
        service.create_dataset(s, DatasetMetadata(title="X"), "NOPE", DEFAULT_CATEGORIES)


def test_every_plain_frequency_name_round_trips():
    for name, code in UPDATE_FREQUENCIES.items():
        assert frequency_code(name) == code
        assert frequency_code(code) == code
        assert frequency_name(code) == name


def test_update_changes_only_given_fields(installation, agency):
    with installation.catalog.session() as s:
        d = service.create_dataset(
            s,
            DatasetMetadata(title="Mill rates", description="Rates by town."),
            agency,
            DEFAULT_CATEGORIES,
        )
        dataset_id = d.id
    with installation.catalog.session() as s:
        service.update_metadata(
            s, dataset_id, DatasetMetadata(update_frequency="annually"), DEFAULT_CATEGORIES
        )
    with installation.catalog.session() as s:
        d = service.get_dataset(s, dataset_id)
        assert d.description == "Rates by town."
        assert d.update_frequency == "R/P1Y"


def test_deprecate_records_reason_and_replacement(installation, agency):
    with installation.catalog.session() as s:
        old = service.create_dataset(s, DatasetMetadata(title="Old"), agency, DEFAULT_CATEGORIES).id
        new = service.create_dataset(s, DatasetMetadata(title="New"), agency, DEFAULT_CATEGORIES).id
    with installation.catalog.session() as s:
        service.deprecate(s, old, "Replaced by a monthly series.", replaced_by=new)
    with installation.catalog.session() as s:
        d = service.get_dataset(s, old)
        assert (d.status, d.status_reason, d.replaced_by) == (
            "deprecated",
            "Replaced by a monthly series.",
            new,
        )
    with pytest.raises(DatasetNotFound), installation.catalog.session() as s:
        service.deprecate(s, old, "x", replaced_by="zzzz-zzzz")
    with pytest.raises(InvalidInput), installation.catalog.session() as s:
        service.deprecate(s, old, "  ")


def test_list_filters_by_agency_and_status(installation, agency):
    with installation.catalog.session() as s:
        service.add_agency(s, "DOT", "Department of Transportation")
        a = service.create_dataset(s, DatasetMetadata(title="A"), "DPH", DEFAULT_CATEGORIES).id
        service.create_dataset(s, DatasetMetadata(title="B"), "DOT", DEFAULT_CATEGORIES)
    with installation.catalog.session() as s:
        service.deprecate(s, a, "gone")
    with installation.catalog.session() as s:
        assert [d.title for d in service.list_datasets(s, agency_code="DOT")] == ["B"]
        assert [d.title for d in service.list_datasets(s, status="deprecated")] == ["A"]
        assert service.dataset_counts_by_agency(s)
