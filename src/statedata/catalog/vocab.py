"""The controlled vocabularies of the catalog: classification, update frequency, high-value
criteria, geographic units, demographic dimensions, status.

Kept as data so the API, the CLI, data.json and the pages offer the same plain names.
"""

from __future__ import annotations

from enum import StrEnum

from statedata.errors import InvalidInput


class Classification(StrEnum):
    """The plan's glossary classes of data. Only `public` data is open data."""

    PUBLIC = "public"
    PROTECTED = "protected"
    PERSONAL = "personal"
    PRIVATE = "private"


CLASSIFICATION_MEANINGS = {
    Classification.PUBLIC: "Data an agency may lawfully make available to anyone, consistent "
    "with the laws, rules and agreements that apply to it (C.G.S. § 4-67o, public data).",
    Classification.PROTECTED: "Data whose public release would break a federal or state law or "
    "regulation, endanger public health, safety or welfare, hinder government operations or "
    "investigations, or put an undue burden on the agency (C.G.S. § 4-67o, protected data).",
    Classification.PERSONAL: "Information about a person's education, finances, health, "
    "employment, relationships, reputation or character that can readily be tied to that "
    "person by a name, number or description (C.G.S. § 4-190, personal data).",
    # Connecticut law defines no "private data"; this wording is the project's own.
    Classification.PRIVATE: "Personal data that the law restricts to the person it describes "
    "and the officials who need it; never published.",
}


class AccessLevel(StrEnum):
    """DCAT-US `accessLevel`."""

    PUBLIC = "public"
    RESTRICTED_PUBLIC = "restricted public"
    NON_PUBLIC = "non-public"


class Status(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"  # still listed, with a notice (and the retirement date, if set)
    RETIRED = "retired"  # out of lists and search; still reachable by its id
    ARCHIVED = "archived"


# Plain name -> ISO 8601 repeating duration (DCAT-US accrualPeriodicity). "as needed" and
# "not updated" are DCAT-US's "irregular" and the absence of a schedule.
UPDATE_FREQUENCIES: dict[str, str] = {
    "daily": "R/P1D",
    "every weekday": "R/P1D/WEEKDAYS",
    "weekly": "R/P1W",
    "every two weeks": "R/P2W",
    "monthly": "R/P1M",
    "every two months": "R/P2M",
    "quarterly": "R/P3M",
    "twice a year": "R/P6M",
    "annually": "R/P1Y",
    "as needed": "irregular",
    "not updated": "not updated",
}
FREQUENCY_NAMES = {code: name for name, code in UPDATE_FREQUENCIES.items()}


def frequency_code(value: str) -> str:
    """The stored code for a plain name or a code ('weekly' or 'R/P1W' -> 'R/P1W')."""
    text = value.strip()
    lowered = text.lower()
    if lowered in UPDATE_FREQUENCIES:
        return UPDATE_FREQUENCIES[lowered]
    if text in FREQUENCY_NAMES:
        return text
    raise InvalidInput(
        f"'{value}' is not an update frequency. Use one of: {', '.join(UPDATE_FREQUENCIES)}.",
        field="update_frequency",
    )


def frequency_name(code: str | None) -> str | None:
    return FREQUENCY_NAMES.get(code) if code else None


def accrual_periodicity(code: str | None) -> str | None:
    """The DCAT-US accrualPeriodicity for a stored frequency (schema-valid values only)."""
    if not code or code == "not updated":
        return None
    if code == "R/P1D/WEEKDAYS":
        return "R/P1D"
    return code


# "High value data" criteria, lettered as in C.G.S. § 4-67o(3), which § 4-67p relies on.
HIGH_VALUE_CRITERIA: dict[str, str] = {
    "A": "Is critical to the operation of an executive branch agency",
    "B": "Can increase executive branch agency accountability and responsiveness",
    "C": "Can improve public knowledge of the executive branch agency and its operations",
    "D": "Can further the core mission of the executive branch agency",
    "E": "Can create economic opportunity",
    "F": "Is frequently requested by the public",
    "G": "Responds to a need and demand as identified by the agency through public consultation",
    "H": "Is used to satisfy any legislative or other reporting requirements",
}

# data.ct.gov's "Geographic Unit" list (CT open data handbook, metadata standards).
GEOGRAPHIC_UNITS: dict[str, str] = {
    "latitude-longitude": "Latitude/longitude",
    "street-address": "Street address",
    "parcel": "Parcel (block/lot)",
    "census-block": "Census block",
    "census-block-group": "Census block group",
    "census-tract": "Census tract",
    "planning-district": "Planning district",
    "zip-code": "ZIP code",
    "municipality": "Municipality",
    "county": "County or county-equivalent",
    "state": "State",
    "other": "Other",
    "not-applicable": "Not applicable",
}

DEMOGRAPHIC_DIMENSIONS: dict[str, str] = {
    "race": "Race",
    "ethnicity": "Ethnicity",
    "sex": "Sex",
    "gender-identity": "Gender identity",
    "age": "Age",
    "language": "Language",
    "disability": "Disability",
    "geography": "Geography",
}

LICENSES: dict[str, str] = {
    "public-domain": "https://creativecommons.org/publicdomain/zero/1.0/",
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "odc-by": "https://opendatacommons.org/licenses/by/1-0/",
    "odbl": "https://opendatacommons.org/licenses/odbl/1-0/",
}


def check_choice(value: str, allowed: dict[str, str] | list[str], field: str) -> str:
    """`value` if it is one of `allowed`, else an error that lists the choices."""
    if value in allowed:
        return value
    choices = ", ".join(allowed)
    raise InvalidInput(f"'{value}' is not a valid {field}. Use one of: {choices}.", field=field)
