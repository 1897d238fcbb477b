"""The metadata a publisher gives for a dataset, validated before it reaches the catalog.

One pydantic model serves the CLI, the API and the demo, so every door checks the same rules
and names the same fields in its errors.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, Field, field_validator

from statedata.catalog.vocab import (
    DEMOGRAPHIC_DIMENSIONS,
    GEOGRAPHIC_UNITS,
    HIGH_VALUE_CRITERIA,
    AccessLevel,
    Classification,
    Status,
    frequency_code,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RelatedDocument(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    url: str = Field(min_length=1, max_length=2000)


class DatasetMetadata(BaseModel):
    """Every descriptive field of a dataset. All optional: an update names only what changes."""

    model_config = {"extra": "forbid"}

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = None
    category: str | None = None
    tags: list[str] | None = None
    license: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    data_provided_by: str | None = None
    source_link: str | None = None
    related_documents: list[RelatedDocument] | None = None
    geographic_unit: str | None = None
    classification: Classification | None = None
    access_level: AccessLevel | None = None
    rights: str | None = None
    update_frequency: str | None = None
    high_value_criteria: list[str] | None = None
    spatial_coverage: str | None = None
    temporal_coverage_start: dt.date | None = None
    temporal_coverage_end: dt.date | None = None
    demographic_dimensions: list[str] | None = None
    limitations: str | None = None
    processing_notes: str | None = None
    row_identifier: str | None = None
    status: Status | None = None
    metadata_public: bool | None = None
    data_owner: str | None = Field(default=None, max_length=200)
    data_steward: str | None = Field(default=None, max_length=200)
    data_custodian: str | None = Field(default=None, max_length=200)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        if tags is None:
            return None
        cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
        too_long = [t for t in cleaned if len(t) > 100]
        if too_long:
            raise ValueError(f"tag '{too_long[0][:40]}...' is longer than 100 characters")
        return cleaned

    @field_validator("contact_email")
    @classmethod
    def _email(cls, email: str | None) -> str | None:
        if email and not EMAIL.match(email):
            raise ValueError(f"'{email}' is not an email address")
        return email

    @field_validator("update_frequency")
    @classmethod
    def _frequency(cls, value: str | None) -> str | None:
        return frequency_code(value) if value else None

    @field_validator("high_value_criteria")
    @classmethod
    def _criteria(cls, letters: list[str] | None) -> list[str] | None:
        if letters is None:
            return None
        upper = sorted({x.strip().upper() for x in letters})
        unknown = [x for x in upper if x not in HIGH_VALUE_CRITERIA]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not a high-value criterion; use letters A to H")
        return upper

    @field_validator("geographic_unit")
    @classmethod
    def _geo(cls, unit: str | None) -> str | None:
        if unit and unit not in GEOGRAPHIC_UNITS:
            raise ValueError(
                f"'{unit}' is not a geographic unit; use one of {', '.join(GEOGRAPHIC_UNITS)}"
            )
        return unit

    @field_validator("demographic_dimensions")
    @classmethod
    def _dimensions(cls, dims: list[str] | None) -> list[str] | None:
        if dims is None:
            return None
        unknown = [d for d in dims if d not in DEMOGRAPHIC_DIMENSIONS]
        if unknown:
            raise ValueError(
                f"'{unknown[0]}' is not a demographic dimension; use one of "
                f"{', '.join(DEMOGRAPHIC_DIMENSIONS)}"
            )
        return sorted(set(dims))

    def given(self) -> dict[str, object]:
        """Only the fields the caller set."""
        return self.model_dump(exclude_unset=True)
