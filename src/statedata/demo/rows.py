"""Generated rows for the demo datasets that have data: each generator builds a pyarrow table
with numpy, vectorised and seeded, so the same plan gives the same rows every time.

The numbers follow realistic shapes (epidemic waves, pay scales, price trends) but are made up.
Nothing here touches the catalog; `build.py` writes the tables to Parquet and publishes them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from statedata.demo.towns import (
    BOUNDING_BOX,
    COUNTY_CENTRE,
    COUNTY_FIPS,
    LARGE_TOWN_POPULATION,
    TOWN_COUNTY,
    TOWNS,
)


@dataclass
class Context:
    """What a generator gets: its own seeded generator and the day its data was last updated."""

    rng: np.random.Generator
    updated: dt.date
    payroll_rows: int = 1_200_000


@dataclass
class Rows:
    table: pa.Table
    row_identifier: str | None = None
    coverage: tuple[dt.date, dt.date] | None = None
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (label, text)


# Shared helpers ------------------------------------------------------------------------------


def labels(values: Sequence[str], index: np.ndarray) -> pa.DictionaryArray:
    """Strings chosen by `index` from `values`, dictionary-encoded (cheap for many rows)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(index, dtype=np.int32)), pa.array(list(values), pa.string())
    )


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype="datetime64[D]"))


def day_range(start: dt.date, end: dt.date) -> np.ndarray:
    """Every day from `start` to `end`, both included."""
    return np.arange(np.datetime64(start), np.datetime64(end) + 1, dtype="datetime64[D]")


def month_starts(start: dt.date, end: dt.date) -> np.ndarray:
    months = np.arange(
        np.datetime64(start, "M"), np.datetime64(end, "M") + 1, dtype="datetime64[M]"
    )
    return months.astype("datetime64[D]")


def to_date(value: np.datetime64) -> dt.date:
    return value.astype("datetime64[D]").astype(dt.date)


def money(values: np.ndarray) -> np.ndarray:
    return np.round(values, 2)


def town_numbers() -> np.ndarray:
    """The state's town numbers, 1 to 169 in alphabetical order."""
    return np.arange(1, len(TOWNS) + 1, dtype=np.int32)


def town_populations() -> np.ndarray:
    rng = np.random.default_rng(169)
    generated = np.exp(rng.normal(np.log(7_500), 0.75, len(TOWNS)))
    generated = np.clip(generated, 800, 27_000)
    return np.array(
        [LARGE_TOWN_POPULATION.get(t, round(g, -1)) for t, g in zip(TOWNS, generated, strict=True)],
        dtype=np.int64,
    )


def town_centres() -> tuple[np.ndarray, np.ndarray]:
    """An approximate point for each town, inside its county's corner of the state."""
    rng = np.random.default_rng(1639)
    lat = np.empty(len(TOWNS))
    lon = np.empty(len(TOWNS))
    for i, town in enumerate(TOWNS):
        c_lat, c_lon, s_lat, s_lon = COUNTY_CENTRE[TOWN_COUNTY[town]]
        lat[i] = c_lat + rng.uniform(-1, 1) * s_lat
        lon[i] = c_lon + rng.uniform(-1, 1) * s_lon
    return lat, lon


def points_near_towns(
    rng: np.random.Generator, town_index: np.ndarray, spread: float = 0.025
) -> tuple[np.ndarray, np.ndarray]:
    lat0, lon0 = town_centres()
    south, west, north, east = BOUNDING_BOX
    lat = lat0[town_index] + rng.normal(0, spread, len(town_index))
    lon = lon0[town_index] + rng.normal(0, spread * 1.3, len(town_index))
    return (
        np.round(np.clip(lat, south + 0.01, north - 0.01), 6),
        np.round(np.clip(lon, west + 0.01, east - 0.01), 6),
    )


def weighted_towns(rng: np.random.Generator, n: int, power: float = 1.0) -> np.ndarray:
    weights = town_populations().astype(float) ** power
    return rng.choice(len(TOWNS), size=n, p=weights / weights.sum())


def counties_of(town_index: np.ndarray) -> pa.DictionaryArray:
    county_names = sorted(COUNTY_FIPS)
    per_town = np.array([county_names.index(TOWN_COUNTY[t]) for t in TOWNS])
    return labels(county_names, per_town[town_index])


def codes(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers like 'DCCC-000123' built without a Python loop per row."""
    text = np.char.zfill(np.asarray(numbers).astype(str), width)
    return pa.array(np.char.add(prefix, text))


# COVID-19 ------------------------------------------------------------------------------------

COVID_START = dt.date(2020, 3, 8)
COVID_END = dt.date(2021, 3, 7)


def _waves(days: int) -> np.ndarray:
    """Relative daily incidence: a spring 2020 wave, a summer lull and a larger winter wave."""
    t = np.arange(days)
    spring = 1.0 * np.exp(-0.5 * ((t - 45) / 14) ** 2)
    summer = 0.08
    winter = 2.4 * np.exp(-0.5 * ((t - 300) / 30) ** 2)
    return spring + summer + winter


def covid_town(ctx: Context) -> Rows:
    rng = ctx.rng
    days = day_range(COVID_START, COVID_END)
    n_days, n_towns = len(days), len(TOWNS)
    population = town_populations().astype(float)
    town_factor = np.exp(rng.normal(0, 0.35, n_towns))
    # Cities were hit harder in the first wave.
    urban = np.clip(np.log(population / 10_000), 0, None)
    shape = _waves(n_days)[:, None]
    lam = shape * population[None, :] * town_factor[None, :] * 5.5e-4
    lam[:60] *= (1 + 0.45 * urban)[None, :]
    new_cases = rng.poisson(lam)
    fatality = np.where(np.arange(n_days) < 120, 0.06, 0.013)[:, None]
    new_deaths = rng.binomial(
        np.roll(new_cases, 14, axis=0) * (np.arange(n_days) >= 14)[:, None], fatality
    )
    positivity = np.clip(0.25 * shape / shape.max() + 0.015, 0.01, 0.4)
    tests = rng.poisson(new_cases / positivity + population[None, :] * 0.0008)
    total_cases = np.cumsum(new_cases, axis=0)
    total_deaths = np.cumsum(new_deaths, axis=0)
    probable = rng.binomial(total_cases, 0.06)

    day_index = np.repeat(np.arange(n_days), n_towns)
    town_index = np.tile(np.arange(n_towns), n_days)
    numbers = town_numbers()[town_index]
    day_text = np.datetime_as_string(days)[day_index]
    row_id = np.char.add(np.char.add(day_text, "-"), np.char.zfill(numbers.astype(str), 3))
    flat_total = total_cases.ravel()
    table = pa.table(
        {
            "row_id": pa.array(row_id),
            "last_update_date": dates(days[day_index]),
            "town_no": pa.array(numbers),
            "town": labels(TOWNS, town_index),
            "county": counties_of(town_index),
            "population": pa.array(population.astype(np.int64)[town_index]),
            "new_cases": pa.array(new_cases.ravel().astype(np.int32)),
            "total_cases": pa.array(flat_total.astype(np.int32)),
            "confirmed_cases": pa.array((flat_total - probable.ravel()).astype(np.int32)),
            "probable_cases": pa.array(probable.ravel().astype(np.int32)),
            "case_rate": pa.array(np.round(flat_total / population[town_index] * 1e5, 1)),
            "new_deaths": pa.array(new_deaths.ravel().astype(np.int32)),
            "total_deaths": pa.array(total_deaths.ravel().astype(np.int32)),
            "number_of_tests": pa.array(tests.ravel().astype(np.int32)),
        }
    )
    return Rows(
        table,
        row_identifier="row_id",
        coverage=(COVID_START, COVID_END),
        columns={
            "row_id": ("Row ID", "Date and town number; unique for each row."),
            "last_update_date": ("Last update date", "The day the counts are as of."),
            "town_no": ("Town number", "The state's town number, 1 to 169."),
            "case_rate": ("Case rate", "Total cases per 100,000 residents."),
            "probable_cases": ("Probable cases", "Cases found by antigen test or symptoms."),
        },
    )


RACE_GROUPS = (
    # (race_ethnicity, race, ethnicity, population, relative case risk, relative death risk)
    ("Hispanic", "Any race", "Hispanic or Latino", 623_000, 1.9, 1.5),
    ("NH White", "White", "Not Hispanic or Latino", 2_280_000, 0.8, 1.0),
    ("NH Black", "Black or African American", "Not Hispanic or Latino", 361_000, 1.5, 1.7),
    ("NH Asian", "Asian", "Not Hispanic or Latino", 170_000, 0.6, 0.6),
    (
        "NH American Indian or Alaska Native",
        "American Indian or Alaska Native",
        "Not Hispanic or Latino",
        6_000,
        1.2,
        1.3,
    ),
    (
        "NH Native Hawaiian or Pacific Islander",
        "Native Hawaiian or Other Pacific Islander",
        "Not Hispanic or Latino",
        1_000,
        1.1,
        1.0,
    ),
    ("NH Multiracial", "Two or more races", "Not Hispanic or Latino", 112_000, 0.9, 0.7),
    ("Unknown", "Unknown", "Unknown", 0, 0.5, 0.2),
)


def covid_race(ctx: Context) -> Rows:
    rng = ctx.rng
    weeks = np.arange(
        np.datetime64(COVID_START) + 6, np.datetime64(COVID_END) + 1, 7, dtype="datetime64[D]"
    )
    shape = _waves(len(weeks) * 7).reshape(len(weeks), 7).sum(axis=1)
    n_groups = len(RACE_GROUPS)
    population = np.array([g[3] for g in RACE_GROUPS], dtype=float)
    case_risk = np.array([g[4] for g in RACE_GROUPS])
    death_risk = np.array([g[5] for g in RACE_GROUPS])
    base = np.where(population > 0, population, 150_000)
    weekly_cases = rng.poisson(shape[:, None] * base[None, :] * case_risk[None, :] * 4.2e-4)
    weekly_hosp = rng.binomial(weekly_cases, 0.06 * np.clip(death_risk, 0.2, None) / 1.2)
    weekly_deaths = rng.binomial(weekly_cases, 0.018 * death_risk)
    cases, hosp, deaths = (np.cumsum(a, axis=0) for a in (weekly_cases, weekly_hosp, weekly_deaths))
    week_index = np.repeat(np.arange(len(weeks)), n_groups)
    group_index = np.tile(np.arange(n_groups), len(weeks))
    pop = population[group_index]

    def rate(values: np.ndarray) -> pa.Array:
        flat = values.ravel().astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(pop > 0, np.round(flat / pop * 1e5, 1), np.nan)
        return pa.array(out, mask=pop == 0)

    table = pa.table(
        {
            "date_updated": dates(weeks[week_index]),
            "race_ethnicity": labels([g[0] for g in RACE_GROUPS], group_index),
            "race": labels([g[1] for g in RACE_GROUPS], group_index),
            "ethnicity": labels([g[2] for g in RACE_GROUPS], group_index),
            "population": pa.array(pop.astype(np.int64), mask=pop == 0),
            "total_cases": pa.array(cases.ravel().astype(np.int32)),
            "total_hospitalizations": pa.array(hosp.ravel().astype(np.int32)),
            "total_deaths": pa.array(deaths.ravel().astype(np.int32)),
            "case_rate_per_100k": rate(cases),
            "hospitalization_rate_per_100k": rate(hosp),
            "death_rate_per_100k": rate(deaths),
        }
    )
    return Rows(
        table,
        coverage=(COVID_START, COVID_END),
        columns={
            "race_ethnicity": ("Race/ethnicity", "Hispanic people of any race are one group."),
            "population": ("Population", "2020 census population of the group; empty for Unknown."),
        },
    )


# State employee payroll -------------------------------------------------------------------

PAYROLL_AGENCIES = (
    # (agency as Core-CT names it, relative headcount, job titles, overtime-prone job titles)
    (
        "Department of Correction",
        58,
        ("Correction Officer", "Correctional Counselor", "Lieutenant", "Nurse", "Maintainer 2"),
        ("Correction Officer", "Lieutenant", "Nurse"),
    ),
    (
        "Department of Children and Families",
        30,
        ("Social Worker", "Social Work Supervisor", "Youth Service Officer", "Office Assistant"),
        ("Youth Service Officer",),
    ),
    (
        "Department of Developmental Services",
        33,
        (
            "Developmental Services Worker 2",
            "Nurse",
            "Developmental Services Lead Worker",
            "Qualified Developmental Disability Professional",
        ),
        ("Developmental Services Worker 2", "Nurse"),
    ),
    (
        "Department of Mental Health and Addiction Services",
        32,
        (
            "Mental Health Assistant 2",
            "Nurse",
            "Psychiatrist",
            "Clinical Social Worker",
            "Forensic Treatment Specialist",
        ),
        ("Mental Health Assistant 2", "Nurse", "Forensic Treatment Specialist"),
    ),
    (
        "Department of Transportation",
        30,
        (
            "Transportation Maintainer 2",
            "Transportation Engineer 3",
            "Inspector",
            "Bridge Safety Inspector",
        ),
        ("Transportation Maintainer 2",),
    ),
    (
        "Department of Emergency Services and Public Protection",
        18,
        (
            "State Police Trooper",
            "State Police Sergeant",
            "Public Safety Dispatcher",
            "Forensic Examiner",
        ),
        ("State Police Trooper", "State Police Sergeant", "Public Safety Dispatcher"),
    ),
    (
        "University of Connecticut",
        45,
        (
            "Professor",
            "Associate Professor",
            "Research Assistant",
            "Administrative Program Coordinator",
            "Custodian",
        ),
        ("Custodian",),
    ),
    (
        "UConn Health",
        28,
        ("Registered Nurse", "Medical Technologist", "Physician", "Patient Care Technician"),
        ("Registered Nurse", "Patient Care Technician"),
    ),
    (
        "Department of Social Services",
        18,
        ("Eligibility Services Worker", "Social Services Program Manager", "Processing Technician"),
        (),
    ),
    (
        "Department of Energy and Environmental Protection",
        9,
        ("Environmental Analyst 3", "Environmental Conservation Police Officer", "Maintainer 1"),
        ("Environmental Conservation Police Officer",),
    ),
    ("Department of Revenue Services", 6, ("Revenue Examiner 2", "Tax Clerk", "Tax Attorney"), ()),
    (
        "Department of Public Health",
        7,
        ("Epidemiologist 3", "Health Program Associate", "Laboratory Microbiologist"),
        (),
    ),
    (
        "Department of Labor",
        6,
        ("Unemployment Claims Adjudicator", "Employment Security Representative", "Economist"),
        (),
    ),
    (
        "Judicial Branch",
        40,
        (
            "Judicial Marshal",
            "Adult Probation Officer",
            "Court Clerk",
            "Family Relations Counselor",
        ),
        ("Judicial Marshal",),
    ),
    (
        "Office of Policy and Management",
        2,
        ("Fiscal and Program Policy Analyst", "Research Analyst", "Data Analyst"),
        (),
    ),
    (
        "Department of Administrative Services",
        5,
        ("IT Analyst 2", "Purchasing Services Officer", "Human Resources Specialist"),
        (),
    ),
    (
        "Department of Motor Vehicles",
        6,
        ("Motor Vehicle Agent", "Motor Vehicle Inspector", "Office Assistant"),
        (),
    ),
    (
        "Connecticut State Colleges and Universities",
        35,
        ("Professor", "Assistant Professor", "Admissions Counselor", "Maintainer 2"),
        (),
    ),
    (
        "Department of Veterans Affairs",
        3,
        ("Nurse", "Nurse's Aide", "Food Service Worker"),
        ("Nurse", "Nurse's Aide"),
    ),
    ("Office of Early Childhood", 3, ("Licensing Inspector", "Education Consultant"), ()),
)

ANNUAL_RATE = {
    "Professor": 145_000,
    "Physician": 260_000,
    "Psychiatrist": 255_000,
    "Tax Attorney": 120_000,
    "State Police Sergeant": 112_000,
    "Transportation Engineer 3": 105_000,
    "Lieutenant": 98_000,
    "Associate Professor": 110_000,
    "Assistant Professor": 90_000,
    "Registered Nurse": 98_000,
    "Nurse": 92_000,
    "Epidemiologist 3": 101_000,
    "Social Services Program Manager": 118_000,
    "Social Work Supervisor": 102_000,
    "Economist": 94_000,
    "Data Analyst": 88_000,
    "Research Analyst": 80_000,
    "Fiscal and Program Policy Analyst": 99_000,
    "IT Analyst 2": 86_000,
}


def _check_dates(updated: dt.date, periods: int) -> np.ndarray:
    """Bi-weekly Friday pay dates, the last one at least two days before `updated`."""
    last = np.datetime64(updated) - 2
    # 1970-01-02 was a Friday; step back to the latest Friday on a fixed bi-weekly cycle.
    offset = (last - np.datetime64("1970-01-02")).astype(int) % 14
    last_friday = last - offset
    return last_friday - 14 * np.arange(periods - 1, -1, -1)


def payroll(ctx: Context) -> Rows:
    rng = ctx.rng
    total_rows = max(ctx.payroll_rows, 1)
    periods = 52
    employees = -(-total_rows // periods)
    checks = _check_dates(ctx.updated, periods)

    # One draw per employee: agency, title, pay rate, hours.
    weights = np.array([a[1] for a in PAYROLL_AGENCIES], dtype=float)
    agency = rng.choice(len(PAYROLL_AGENCIES), size=employees, p=weights / weights.sum())
    titles: list[str] = []
    title_of: dict[str, int] = {}
    for a in PAYROLL_AGENCIES:
        for t in a[2]:
            title_of.setdefault(t, len(titles))
            if title_of[t] == len(titles):
                titles.append(t)
    choice_in_agency = rng.integers(0, 1 << 30, size=employees)
    title = np.empty(employees, dtype=np.int32)
    overtime_prone = np.zeros(employees, dtype=bool)
    for i, (_, _, job_titles, ot_titles) in enumerate(PAYROLL_AGENCIES):
        mine = agency == i
        picks = np.array([title_of[t] for t in job_titles])[
            choice_in_agency[mine] % len(job_titles)
        ]
        title[mine] = picks
        ot_ids = np.array([title_of[t] for t in ot_titles], dtype=np.int32)
        overtime_prone[mine] = np.isin(picks, ot_ids)
    base_rate = np.array([ANNUAL_RATE.get(t, 68_000) for t in titles], dtype=float)
    annual = money(base_rate[title] * np.exp(rng.normal(0, 0.14, employees)))
    part_time = rng.random(employees) < 0.07
    emp_ids = [
        hashlib.sha256(f"statedata-demo-employee-{e}".encode()).hexdigest()[:16]
        for e in range(employees)
    ]

    # Rows: every employee on every check date, ordered by date; keep the last `total_rows`.
    n = employees * periods
    start = n - total_rows
    idx = np.arange(start, n)
    period = idx // employees
    emp = idx % employees
    biweekly = annual[emp] / 26.1
    regular = biweekly * np.where(part_time[emp], 0.5, 1.0)
    # A few checks are partial (leave without pay, new hires) or adjustments.
    partial = rng.random(total_rows) < 0.03
    regular = np.where(partial, regular * rng.uniform(0.1, 0.9, total_rows), regular)
    has_ot = overtime_prone[emp] & (rng.random(total_rows) < 0.72)
    overtime = np.where(has_ot, rng.gamma(2.0, biweekly * 0.22), 0.0)
    overtime += np.where(
        ~overtime_prone[emp] & (rng.random(total_rows) < 0.05),
        rng.gamma(1.5, 90.0, total_rows),
        0.0,
    )
    month = checks.astype("datetime64[M]").astype(int) % 12 + 1
    longevity = np.isin(month[period], (4, 10)) & (rng.random(total_rows) < 0.04)
    other = np.where(rng.random(total_rows) < 0.12, rng.gamma(1.2, 60.0, total_rows), 0.0)
    other += np.where(longevity, rng.uniform(400, 2_200, total_rows), 0.0)
    reversal = rng.random(total_rows) < 0.002
    sign = np.where(reversal, -1.0, 1.0)
    regular, overtime, other = money(regular * sign), money(overtime * sign), money(other)
    check_days = checks[period]
    table = pa.table(
        {
            "calendar_year": pa.array(
                check_days.astype("datetime64[Y]").astype(int) + 1970, pa.int16()
            ),
            "check_date": dates(check_days),
            "employee_id": labels(emp_ids, emp),
            "agency": labels([a[0] for a in PAYROLL_AGENCIES], agency[emp]),
            "job_title": labels(titles, title[emp]),
            "full_part_time": labels(["Full Time", "Part Time"], part_time[emp].astype(int)),
            "annual_rate": pa.array(annual[emp]),
            "regular_pay": pa.array(regular),
            "overtime_pay": pa.array(overtime),
            "other_pay": pa.array(other),
            "total_gross": pa.array(money(regular + overtime + other)),
        }
    )
    return Rows(
        table,
        coverage=(to_date(check_days[0]), to_date(check_days[-1])),
        columns={
            "employee_id": (
                "Employee ID (hashed)",
                "A one-way hash of the employee's record "
                "number; the same for every check of one person.",
            ),
            "check_date": ("Check date", "The pay date of the check."),
            "annual_rate": ("Annual rate", "Annual salary rate of the position at the check date."),
            "other_pay": ("Other pay", "Longevity, shift differentials and other payments."),
            "total_gross": ("Total gross", "Regular, overtime and other pay together."),
        },
    )


# Licensed child care ------------------------------------------------------------------------

CHILD_CARE_TYPES = ("Child Care Center", "Group Child Care Home", "Family Child Care Home")
CHILD_CARE_NAMES = (
    "Little Sprouts",
    "Sunshine",
    "Rainbow",
    "Tiny Steps",
    "Kids' Corner",
    "Stepping Stones",
    "Apple Tree",
    "Discovery",
    "Growing Minds",
    "First Friends",
    "Busy Bees",
    "Acorn",
    "Harbor",
    "Riverside",
    "Hilltop",
    "Maple Leaf",
    "Bright Start",
    "Wonder Years",
)
CHILD_CARE_SUFFIX = (
    "Learning Center",
    "Child Care",
    "Early Learning",
    "Preschool",
    "Nursery School",
    "Child Development Center",
)


def child_care(ctx: Context) -> Rows:
    rng = ctx.rng
    n = 3_200
    town = weighted_towns(rng, n, power=0.9)
    kind = rng.choice(3, size=n, p=[0.42, 0.03, 0.55])
    capacity = np.where(
        kind == 0,
        rng.integers(20, 160, n),
        np.where(kind == 1, rng.integers(7, 13, n), rng.integers(4, 10, n)),
    )
    lat, lon = points_near_towns(rng, town)
    # Family homes are rounded to about a kilometre so no home can be pinpointed.
    home = kind == 2
    lat = np.where(home, np.round(lat, 2), lat)
    lon = np.where(home, np.round(lon, 2), lon)
    first = rng.integers(0, len(CHILD_CARE_NAMES), n)
    second = rng.integers(0, len(CHILD_CARE_SUFFIX), n)
    names = np.char.add(
        np.char.add(np.array(CHILD_CARE_NAMES)[first], " "), np.array(CHILD_CARE_SUFFIX)[second]
    )
    town_names = np.array(TOWNS)[town]
    names = np.where(home, np.char.add("Family Child Care Home - ", town_names), names)
    prefix = np.array(["DCCC-", "GCCH-", "DCFH-"])[kind]
    number = np.char.add(prefix, np.char.zfill(rng.permutation(n).astype(str), 6))
    expires = np.datetime64(ctx.updated) + rng.integers(10, 4 * 365, n)
    status = rng.choice(3, size=n, p=[0.93, 0.05, 0.02])
    infants = rng.random(n) < np.where(kind == 0, 0.45, 0.7)
    school_age = rng.random(n) < 0.35
    ages = np.where(infants, "Infant/Toddler, Preschool", "Preschool")
    ages = np.where(school_age, np.char.add(ages, ", School Age"), ages)
    table = pa.table(
        {
            "license_number": pa.array(number),
            "program_name": pa.array(names),
            "program_type": labels(CHILD_CARE_TYPES, kind),
            "town": labels(TOWNS, town),
            "county": counties_of(town),
            "licensed_capacity": pa.array(capacity.astype(np.int32)),
            "ages_served": pa.array(ages),
            "license_status": labels(["Active", "Active - Renewal Pending", "Probation"], status),
            "license_expiration": dates(expires),
            "latitude": pa.array(lat),
            "longitude": pa.array(lon),
        }
    )
    return Rows(
        table,
        row_identifier="license_number",
        coverage=(ctx.updated, ctx.updated),
        columns={
            "licensed_capacity": (
                "Licensed capacity",
                "Most children the program may care for at one time.",
            ),
            "latitude": ("Latitude", "Family child care homes are rounded to two decimals."),
        },
    )


# Real estate sales --------------------------------------------------------------------------

STREETS = (
    "Main St",
    "Elm St",
    "Maple Ave",
    "Oak St",
    "Park Ave",
    "Church St",
    "High St",
    "Washington St",
    "Prospect St",
    "Center St",
    "Spring St",
    "Pleasant St",
    "Hillside Ave",
    "Broad St",
    "North St",
    "Ridge Rd",
    "Orchard Rd",
    "Lake Rd",
    "Mill St",
    "School St",
    "Cedar Ln",
    "Birch Rd",
    "Chestnut St",
    "Meadow Ln",
    "Forest Rd",
    "River Rd",
    "Farm Hill Rd",
    "Old Post Rd",
    "Boston Post Rd",
    "Wolcott Rd",
    "Sunset Ter",
    "Brook St",
)
PROPERTY_TYPES = (
    "Residential",
    "Condo",
    "Two Family",
    "Three Family",
    "Commercial",
    "Vacant Land",
    "Apartments",
    "Industrial",
)
RESIDENTIAL_TYPES = ("Single Family", "Condo", "Two Family", "Three Family", "")


def _street_addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    numbers = rng.integers(1, 1_200, n).astype(str)
    streets = np.array(STREETS)[rng.integers(0, len(STREETS), n)]
    return np.char.add(np.char.add(numbers, " "), streets).astype(str)


def real_estate(ctx: Context) -> Rows:
    rng = ctx.rng
    years = np.arange(2001, 2024)
    # Sales volume and prices move with the market: the 2006 peak, the slump, the 2021 boom.
    volume = np.interp(
        years,
        [2001, 2005, 2008, 2011, 2015, 2020, 2021, 2023],
        [5.5, 7.0, 4.0, 3.3, 4.4, 5.0, 6.2, 4.3],
    )
    price_index = np.interp(
        years, [2001, 2006, 2011, 2019, 2021, 2023], [1.0, 1.38, 1.15, 1.2, 1.45, 1.68]
    )
    n = 120_000
    list_year = rng.choice(years, size=n, p=volume / volume.sum())
    town = weighted_towns(rng, n)
    town_level = np.exp(np.random.default_rng(2001).normal(0, 0.4, len(TOWNS)))
    ptype = rng.choice(
        len(PROPERTY_TYPES), size=n, p=[0.66, 0.16, 0.07, 0.03, 0.03, 0.03, 0.01, 0.01]
    )
    type_level = np.array([1.0, 0.6, 0.85, 0.9, 2.2, 0.35, 3.0, 2.5])
    sale = (
        245_000
        * price_index[list_year - 2001]
        * town_level[town]
        * type_level[ptype]
        * np.exp(rng.normal(0, 0.45, n))
    )
    sale = np.round(sale, -2)
    # Assessments are 70% of value as of the last revaluation, so the ratio drifts.
    ratio = np.clip(rng.normal(0.68, 0.09, n), 0.25, 1.4)
    non_market = rng.random(n) < 0.08
    sale = np.where(non_market, np.round(sale * rng.uniform(0.05, 0.6, n), -2), sale)
    sale = np.maximum(sale, 2_000)
    assessed = np.round(np.where(non_market, sale / 0.3, sale) * ratio, -1)
    recorded = np.array([np.datetime64(f"{y}-10-01") for y in years])[
        list_year - 2001
    ] + rng.integers(0, 365, n)
    order = np.lexsort((rng.random(n), recorded))
    serial = np.arange(n)
    residential = np.select(
        [ptype == 0, ptype == 1, ptype == 2, ptype == 3], [0, 1, 2, 3], default=4
    )
    non_use = np.where(
        non_market,
        rng.choice(
            np.array(
                [
                    "14 - Foreclosure",
                    "07 - Change in Property",
                    "01 - Family",
                    "25 - Other",
                    "08 - Part Interest",
                ]
            ),
            n,
        ),
        "",
    )
    table = pa.table(
        {
            "serial_number": pa.array(
                (list_year * 1_000_000 + serial % 1_000_000)[order].astype(np.int64)
            ),
            "list_year": pa.array(list_year[order].astype(np.int16)),
            "date_recorded": dates(recorded[order]),
            "town": labels(TOWNS, town[order]),
            "address": pa.array(_street_addresses(rng, n)),
            "assessed_value": pa.array(assessed[order]),
            "sale_amount": pa.array(sale[order]),
            "sales_ratio": pa.array(np.round(assessed / sale, 4)[order]),
            "property_type": labels(PROPERTY_TYPES, ptype[order]),
            "residential_type": labels(RESIDENTIAL_TYPES, residential[order]),
            "non_use_code": pa.array(non_use[order]),
        }
    )
    return Rows(
        table,
        row_identifier="serial_number",
        coverage=(dt.date(2001, 10, 1), to_date(recorded.max())),
        columns={
            "list_year": ("List year", "The grand list year of the assessment."),
            "sales_ratio": ("Sales ratio", "Assessed value divided by sale amount."),
            "non_use_code": (
                "Non-use code",
                "Why the assessor considers the sale not a market sale; empty for market sales.",
            ),
        },
    )


# School enrollment --------------------------------------------------------------------------

ENROLLMENT_GROUPS = (
    ("Hispanic/Latino of any race", 0.29),
    ("White", 0.43),
    ("Black or African American", 0.125),
    ("Asian", 0.055),
    ("American Indian or Alaska Native", 0.004),
    ("Native Hawaiian or Other Pacific Islander", 0.001),
    ("Two or More Races", 0.045),
)


def enrollment(ctx: Context) -> Rows:
    rng = ctx.rng
    district_names = [f"{t} School District" for t in TOWNS] + [
        f"Regional School District {n:02d}"
        for n in (1, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19)
    ]
    district_codes = [f"{n:03d}0011" for n in range(1, len(TOWNS) + 1)] + [
        f"2{n:02d}0011" for n in (1, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19)
    ]
    n_d = len(district_names)
    students = np.concatenate([town_populations() * 0.14, rng.uniform(900, 4_500, n_d - 169)])
    diversity = np.clip(rng.beta(2, 5, n_d) + np.log(students / 800) * 0.06, 0.02, 0.95)
    share = np.array([g[1] for g in ENROLLMENT_GROUPS])
    years = np.arange(2015, 2025)
    trend = np.linspace(1.0, 0.93, len(years))  # enrollment declines slowly
    # district x year x group x sex
    white_heavy = np.zeros((n_d, len(ENROLLMENT_GROUPS)))
    white_heavy[:, 1] = 1.0
    group_share = diversity[:, None] * share[None, :] / share.sum() * 1.0 + (
        1 - diversity[:, None]
    ) * (0.9 * white_heavy + 0.1 * share[None, :])
    hispanic_growth = np.linspace(0, 0.05, len(years))
    shares = np.repeat(group_share[:, None, :], len(years), axis=1)
    shares[:, :, 0] += hispanic_growth[None, :] * diversity[:, None]
    shares /= shares.sum(axis=2, keepdims=True)
    expected = students[:, None, None, None] * trend[None, :, None, None] * shares[..., None] * 0.5
    expected = np.repeat(expected, 2, axis=3)
    counts = rng.poisson(expected)
    d_i, y_i, g_i, s_i = (a.ravel() for a in np.indices(counts.shape))
    flat = counts.ravel()
    suppressed = flat < 6
    school_years = [f"{y}-{(y + 1) % 100:02d}" for y in years]
    table = pa.table(
        {
            "school_year": labels(school_years, y_i),
            "district_code": labels(district_codes, d_i),
            "district_name": labels(district_names, d_i),
            "race_ethnicity": labels([g[0] for g in ENROLLMENT_GROUPS], g_i),
            "sex": labels(["Female", "Male"], s_i),
            "enrollment": pa.array(flat.astype(np.int32), mask=suppressed),
        }
    )
    return Rows(
        table,
        coverage=(dt.date(2015, 10, 1), dt.date(2024, 10, 1)),
        columns={
            "enrollment": (
                "Enrollment",
                "Students enrolled on October 1; empty when fewer than six (suppressed).",
            ),
        },
    )


# Mill rates ----------------------------------------------------------------------------------


def mill_rates(ctx: Context) -> Rows:
    rng = ctx.rng
    fiscal_years = np.arange(2014, 2027)
    population = town_populations().astype(float)
    base = np.clip(rng.normal(29, 6, len(TOWNS)) + np.log(population / 10_000) * 3.5, 11, 60)
    # Revaluations reset rates every five years in a town's cycle.
    reval_phase = rng.integers(0, 5, len(TOWNS))
    t = np.arange(len(fiscal_years))
    drift = 0.35 * t[None, :] + rng.normal(0, 0.3, (len(TOWNS), len(fiscal_years)))
    reval_drop = np.cumsum(
        ((t[None, :] - reval_phase[:, None]) % 5 == 0)
        * rng.uniform(0.5, 3.5, (len(TOWNS), len(fiscal_years))),
        axis=1,
    )
    rates = np.round(np.clip(base[:, None] + drift - reval_drop * 0.6, 8, 80), 2)
    town_i, year_i = (a.ravel() for a in np.indices(rates.shape))
    table = pa.table(
        {
            "fiscal_year": pa.array(fiscal_years[year_i].astype(np.int16)),
            "grand_list_year": pa.array((fiscal_years[year_i] - 2).astype(np.int16)),
            "town_number": pa.array(town_numbers()[town_i]),
            "municipality": labels(TOWNS, town_i),
            "mill_rate": pa.array(rates.ravel()),
            "mill_rate_real_property": pa.array(rates.ravel()),
            "mill_rate_motor_vehicle": pa.array(np.minimum(rates.ravel(), 32.46)),
        }
    )
    return Rows(
        table,
        coverage=(dt.date(2013, 7, 1), dt.date(2026, 6, 30)),
        columns={
            "mill_rate": ("Mill rate", "Tax per $1,000 of assessed value."),
            "mill_rate_motor_vehicle": ("Motor vehicle mill rate", "Capped by state law."),
        },
    )


# Accidental drug related deaths -------------------------------------------------------------

DEATHS_PER_YEAR = {
    2012: 357,
    2013: 495,
    2014: 568,
    2015: 729,
    2016: 917,
    2017: 1038,
    2018: 1017,
    2019: 1200,
    2020: 1374,
    2021: 1531,
    2022: 1464,
    2023: 1360,
    2024: 1120,
}
SUBSTANCES = {
    # name: (share in 2012, share in 2024)
    "heroin": (0.5, 0.08),
    "fentanyl": (0.04, 0.86),
    "fentanyl_analogue": (0.0, 0.12),
    "cocaine": (0.35, 0.42),
    "oxycodone": (0.2, 0.05),
    "benzodiazepine": (0.3, 0.12),
    "ethanol": (0.35, 0.22),
    "xylazine": (0.0, 0.25),
}
DEATH_RACES = ("White", "Black or African American", "Asian", "Other", "Unknown")
DEATH_PLACES = ("Residence", "Hospital", "Other", "Hotel or Motel", "Vehicle", "Outdoors")


def drug_deaths(ctx: Context) -> Rows:
    rng = ctx.rng
    years = np.repeat(np.array(list(DEATHS_PER_YEAR)), list(DEATHS_PER_YEAR.values()))
    n = len(years)
    day = rng.integers(0, 365, n)
    when = np.array([np.datetime64(f"{y}-01-01") for y in DEATHS_PER_YEAR])[years - 2012] + day
    order = np.argsort(when, kind="stable")
    years, when = years[order], when[order]
    within_year = np.arange(n) - np.searchsorted(years, years)
    case_id = np.char.add(
        np.char.add(np.char.zfill((years % 100).astype(str), 2), "-"),
        np.char.zfill((within_year + 1).astype(str), 4),
    )
    age = np.clip(np.round(rng.normal(43, 12.5, n)), 15, 87).astype(np.int16)
    sex = (rng.random(n) < 0.27).astype(int)  # 1 = Female
    race = rng.choice(len(DEATH_RACES), size=n, p=[0.76, 0.12, 0.01, 0.02, 0.09])
    hispanic = rng.random(n) < 0.15
    ethnicity = np.where(race == 4, 2, np.where(hispanic, 0, 1))
    residence = weighted_towns(rng, n, power=1.15)
    moved = rng.random(n) < 0.25
    injury = np.where(moved, weighted_towns(rng, n, power=1.4), residence)
    place = rng.choice(len(DEATH_PLACES), size=n, p=[0.52, 0.2, 0.12, 0.06, 0.05, 0.05])
    columns: dict[str, pa.Array] = {
        "case_id": pa.array(case_id),
        "date": dates(when),
        "date_type": labels(["Date of death", "Date reported"], (rng.random(n) < 0.12).astype(int)),
        "age": pa.array(age),
        "sex": labels(["Male", "Female"], sex),
        "race": labels(DEATH_RACES, race),
        "ethnicity": labels(["Hispanic", "Not Hispanic", "Unknown"], ethnicity),
        "residence_town": labels(TOWNS, residence),
        "injury_town": labels(TOWNS, injury),
        "injury_county": counties_of(injury),
        "location": labels(DEATH_PLACES, place),
    }
    progress = (years - 2012) / 12
    any_opioid = np.zeros(n, dtype=bool)
    for name, (early, late) in SUBSTANCES.items():
        found = rng.random(n) < early + (late - early) * progress
        columns[name] = pa.array(found)
        if name in ("heroin", "fentanyl", "fentanyl_analogue", "oxycodone"):
            any_opioid |= found
    columns["any_opioid"] = pa.array(any_opioid)
    return Rows(
        pa.table(columns),
        row_identifier="case_id",
        coverage=(dt.date(2012, 1, 1), dt.date(2024, 12, 31)),
        columns={
            "case_id": ("Case ID", "Two-digit year and the case's number in that year."),
            "injury_town": ("Injury town", "Where the overdose happened, when known."),
            "xylazine": ("Xylazine", "Xylazine found; tested for routinely since 2019."),
        },
    )


# Correctional facilities --------------------------------------------------------------------

FACILITIES = (
    # (facility, usual count, share accused)
    ("Bridgeport Correctional Center", 690, 0.78),
    ("Brooklyn Correctional Institution", 420, 0.02),
    ("Cheshire Correctional Institution", 1_150, 0.03),
    ("Corrigan-Radgowski Correctional Center", 940, 0.35),
    ("Garner Correctional Institution", 520, 0.12),
    ("Hartford Correctional Center", 880, 0.8),
    ("MacDougall-Walker Correctional Institution", 1_820, 0.06),
    ("Manson Youth Institution", 260, 0.55),
    ("New Haven Correctional Center", 610, 0.82),
    ("Osborn Correctional Institution", 1_250, 0.02),
    ("Robinson Correctional Institution", 980, 0.01),
    ("Willard-Cybulski Correctional Institution", 780, 0.01),
    ("York Correctional Institution", 620, 0.32),
)


def doc_population(ctx: Context) -> Rows:
    rng = ctx.rng
    days = day_range(ctx.updated - dt.timedelta(days=365), ctx.updated - dt.timedelta(days=1))
    n_days, n_fac = len(days), len(FACILITIES)
    usual = np.array([f[1] for f in FACILITIES], dtype=float)
    accused_share = np.array([f[2] for f in FACILITIES])
    walk = np.cumsum(rng.normal(0, 0.004, (n_days, n_fac)), axis=0)
    walk -= walk.mean(axis=0)
    total = np.round(usual[None, :] * np.exp(walk)).astype(np.int32)
    accused = rng.binomial(total, accused_share[None, :]).astype(np.int32)
    d_i, f_i = (a.ravel() for a in np.indices(total.shape))
    table = pa.table(
        {
            "date": dates(days[d_i]),
            "facility_name": labels([f[0] for f in FACILITIES], f_i),
            "accused_other_status_count": pa.array(accused.ravel()),
            "sentenced_status_count": pa.array((total - accused).ravel()),
            "total_facility_population_count": pa.array(total.ravel()),
        }
    )
    return Rows(table, coverage=(to_date(days[0]), to_date(days[-1])))


# Labor force --------------------------------------------------------------------------------


def labor_force(ctx: Context) -> Rows:
    rng = ctx.rng
    last_month = np.datetime64(ctx.updated, "M") - 2
    months = month_starts(dt.date(2015, 1, 1), to_date(last_month.astype("datetime64[D]")))
    n_m, n_t = len(months), len(TOWNS)
    month_no = months.astype("datetime64[M]").astype(int)
    # Statewide rate: down from 5.7% to 3.7%, up to 10% in spring 2020, back near 4%.
    knots = [
        np.datetime64(d, "M").astype(int)
        for d in ("2015-01", "2019-12", "2020-03", "2020-05", "2021-01", "2022-06", "2030-01")
    ]
    state_rate = np.interp(month_no, knots, [5.7, 3.7, 4.0, 10.2, 8.0, 4.2, 4.0])
    season = 1 + 0.08 * np.cos((months.astype("datetime64[M]").astype(int) % 12) / 12 * 2 * np.pi)
    population = town_populations().astype(float)
    town_factor = np.exp(rng.normal(0, 0.22, n_t)) * (
        1 + 0.25 * np.clip(np.log(population / 40_000), 0, None)
    )
    rate = state_rate[:, None] * season[:, None] * town_factor[None, :]
    rate = np.clip(rate * np.exp(rng.normal(0, 0.05, (n_m, n_t))), 0.8, 25) / 100
    labor = np.round(
        population[None, :]
        * 0.53
        * (1 + 0.0015 * np.arange(n_m))[:, None]
        * np.exp(rng.normal(0, 0.004, (n_m, n_t)))
    ).astype(np.int64)
    unemployed = np.round(labor * rate).astype(np.int64)
    m_i, t_i = (a.ravel() for a in np.indices(labor.shape))
    table = pa.table(
        {
            "period": dates(months[m_i]),
            "year": pa.array((month_no[m_i] // 12 + 1970).astype(np.int16)),
            "month": pa.array((month_no[m_i] % 12 + 1).astype(np.int8)),
            "town": labels(TOWNS, t_i),
            "labor_force": pa.array(labor.ravel()),
            "employed": pa.array((labor - unemployed).ravel()),
            "unemployed": pa.array(unemployed.ravel()),
            "unemployment_rate": pa.array(np.round(unemployed / labor * 100, 1).ravel()),
        }
    )
    return Rows(
        table,
        coverage=(dt.date(2015, 1, 1), to_date(months[-1])),
        columns={"unemployment_rate": ("Unemployment rate", "Percent of the labor force.")},
    )


# Air quality --------------------------------------------------------------------------------

MONITORS = (
    "Bridgeport",
    "Cornwall",
    "Danbury",
    "East Hartford",
    "Greenwich",
    "Groton",
    "Hartford",
    "Madison",
    "Middletown",
    "New Haven",
    "Stafford",
    "Stratford",
    "Waterbury",
    "Westport",
)


def air_quality(ctx: Context) -> Rows:
    rng = ctx.rng
    days = day_range(ctx.updated - dt.timedelta(days=365), ctx.updated - dt.timedelta(days=1))
    n_d, n_m = len(days), len(MONITORS)
    town_index = np.array([TOWNS.index(m) for m in MONITORS])
    lat0, lon0 = town_centres()
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    summer = np.exp(-0.5 * ((doy - 190) / 40) ** 2)
    coastal = np.array(
        [
            m
            in (
                "Greenwich",
                "Westport",
                "Stratford",
                "Madison",
                "Groton",
                "Bridgeport",
                "New Haven",
            )
            for m in MONITORS
        ]
    )
    regional = np.convolve(rng.normal(0, 1, n_d + 6), np.ones(7) / 7, mode="valid")[:n_d]
    ozone = 32 + 45 * summer[:, None] * (1 + 0.25 * coastal[None, :]) + 12 * regional[:, None]
    ozone = ozone + rng.normal(0, 7, (n_d, n_m))
    pm = 28 + 8 * (1 - summer)[:, None] + 9 * regional[:, None] + rng.normal(0, 8, (n_d, n_m))
    smoke = rng.random(n_d) < 0.015  # a few wildfire-smoke days
    pm = pm + smoke[:, None] * rng.uniform(60, 140, (n_d, n_m))
    aqi = np.clip(np.round(np.maximum(ozone, pm)), 3, 300).astype(np.int16)
    pollutant = (pm > ozone).astype(int)
    category = np.digitize(aqi, [51, 101, 151, 201])
    d_i, m_i = (a.ravel() for a in np.indices(aqi.shape))
    table = pa.table(
        {
            "date": dates(days[d_i]),
            "site_name": labels([f"{m} monitor" for m in MONITORS], m_i),
            "town": labels(list(MONITORS), m_i),
            "latitude": pa.array(np.round(lat0[town_index], 5)[m_i]),
            "longitude": pa.array(np.round(lon0[town_index], 5)[m_i]),
            "aqi": pa.array(aqi.ravel()),
            "category": labels(
                [
                    "Good",
                    "Moderate",
                    "Unhealthy for Sensitive Groups",
                    "Unhealthy",
                    "Very Unhealthy",
                ],
                category.ravel(),
            ),
            "defining_parameter": labels(["Ozone", "PM2.5"], pollutant.ravel()),
        }
    )
    return Rows(
        table,
        coverage=(to_date(days[0]), to_date(days[-1])),
        columns={
            "aqi": (
                "AQI",
                "Air Quality Index, 0 to 500; above 100 is unhealthy for sensitive groups.",
            )
        },
    )


# Spills ---------------------------------------------------------------------------------------

SPILL_SUBSTANCES = (
    ("Gasoline", 0.16),
    ("Diesel fuel", 0.14),
    ("#2 fuel oil (heating oil)", 0.17),
    ("Hydraulic oil", 0.13),
    ("Motor oil", 0.1),
    ("Antifreeze", 0.05),
    ("Sewage", 0.06),
    ("Transformer oil", 0.05),
    ("Unknown sheen", 0.06),
    ("Paint", 0.02),
    ("Other", 0.06),
)
SPILL_SOURCES = (
    "Motor vehicle",
    "Residential heating oil tank",
    "Commercial facility",
    "Utility equipment",
    "Construction equipment",
    "Vessel",
    "Unknown",
)


def spills(ctx: Context) -> Rows:
    rng = ctx.rng
    start = np.datetime64("2022-07-01T00:00:00", "s")
    end = np.datetime64(ctx.updated, "s")
    n = int((end - start).astype(int) / 86_400 * 13)
    reported = np.sort(
        start + rng.integers(0, int((end - start).astype(int)), n).astype("timedelta64[s]")
    )
    town = weighted_towns(rng, n, power=0.9)
    lat, lon = points_near_towns(rng, town, spread=0.03)
    substance = rng.choice(
        len(SPILL_SUBSTANCES),
        size=n,
        p=np.array([s[1] for s in SPILL_SUBSTANCES]) / sum(s[1] for s in SPILL_SUBSTANCES),
    )
    quantity = np.round(np.exp(rng.normal(1.6, 1.5, n)), 1)
    year = reported.astype("datetime64[Y]").astype(int) + 1970
    first_of_year = np.searchsorted(year, year)
    case = np.char.add(
        np.char.add(year.astype(str), "-"),
        np.char.zfill((np.arange(n) - first_of_year + 1).astype(str), 5),
    )
    age_days = (end - reported).astype(int) / 86_400
    open_case = rng.random(n) < np.exp(-age_days / 60)
    table = pa.table(
        {
            "case_number": pa.array(case),
            "date_reported": pa.array(reported.astype("datetime64[us]")),
            "town": labels(TOWNS, town),
            "substance": labels([s[0] for s in SPILL_SUBSTANCES], substance),
            "estimated_quantity": pa.array(quantity),
            "units": labels(["gallons"], np.zeros(n, dtype=int)),
            "source": labels(
                SPILL_SOURCES,
                rng.choice(len(SPILL_SOURCES), size=n, p=[0.3, 0.2, 0.17, 0.13, 0.08, 0.04, 0.08]),
            ),
            "waterbody_affected": pa.array(rng.random(n) < 0.11),
            "status": labels(["Closed", "Open"], open_case.astype(int)),
            "latitude": pa.array(lat),
            "longitude": pa.array(lon),
        }
    )
    return Rows(
        table,
        row_identifier="case_number",
        coverage=(dt.date(2022, 7, 1), ctx.updated),
        columns={"estimated_quantity": ("Estimated quantity", "As estimated by the caller.")},
    )


# Towns crosswalk ----------------------------------------------------------------------------


def town_crosswalk(ctx: Context) -> Rows:
    county = [TOWN_COUNTY[t] for t in TOWNS]
    table = pa.table(
        {
            "town_number": pa.array(town_numbers()),
            "town": pa.array(list(TOWNS)),
            "county": pa.array(county),
            "county_fips": pa.array([COUNTY_FIPS[c] for c in county]),
            "state_fips": pa.array(["09"] * len(TOWNS)),
            "population_2020": pa.array(town_populations()),
        }
    )
    return Rows(
        table,
        row_identifier="town_number",
        columns={
            "town_number": (
                "Town number",
                "The state's number for the town (1 to 169, alphabetical).",
            ),
            "population_2020": (
                "Population 2020",
                "Approximate; larger towns from the 2020 census, others generated for the demo.",
            ),
        },
    )


# Traffic stops --------------------------------------------------------------------------------

STOP_REASONS = (
    ("Speed Related", 0.36),
    ("Registration", 0.14),
    ("Cell Phone", 0.06),
    ("Stop Sign", 0.06),
    ("Traffic Control Signal", 0.05),
    ("Defective Lights", 0.09),
    ("Seatbelt", 0.03),
    ("Equipment Violation", 0.06),
    ("Moving Violation", 0.1),
    ("Other", 0.05),
)
STOP_OUTCOMES = (
    ("Infraction Ticket", 0.42),
    ("Written Warning", 0.14),
    ("Verbal Warning", 0.33),
    ("Misdemeanor Summons", 0.07),
    ("Uniform Arrest Report", 0.02),
    ("No Disposition", 0.02),
)
DRIVER_RACES = ("White", "Black", "Asian/Pacific Islander", "American Indian/Alaska Native")


def traffic_stops(ctx: Context) -> Rows:
    rng = ctx.rng
    n = 60_000
    start = np.datetime64("2019-01-01T00:00:00", "s")
    moment = np.sort(start + rng.integers(0, 365 * 86_400, n).astype("timedelta64[s]"))
    town = weighted_towns(rng, n)
    state_police = rng.random(n) < 0.3
    troops = np.array(list("ABCDEFGHIKL"))
    department = np.where(
        state_police,
        np.char.add("State Police Troop ", troops[rng.integers(0, 11, n)]),
        np.char.add(np.array(TOWNS)[town], " Police Department"),
    )
    race = rng.choice(4, size=n, p=[0.8, 0.15, 0.04, 0.01])
    hispanic = rng.random(n) < 0.14
    reason = rng.choice(
        len(STOP_REASONS),
        size=n,
        p=np.array([r[1] for r in STOP_REASONS]) / sum(r[1] for r in STOP_REASONS),
    )
    outcome = rng.choice(
        len(STOP_OUTCOMES),
        size=n,
        p=np.array([o[1] for o in STOP_OUTCOMES]) / sum(o[1] for o in STOP_OUTCOMES),
    )
    searched = rng.random(n) < np.where(race == 1, 0.045, 0.022)
    table = pa.table(
        {
            "stop_id": pa.array(np.arange(1, n + 1, dtype=np.int64) + 19_000_000),
            "stop_datetime": pa.array(moment.astype("datetime64[us]")),
            "department_name": pa.array(department),
            "intervention_town": labels(TOWNS, town),
            "subject_race": labels(DRIVER_RACES, race),
            "subject_ethnicity": labels(["Non-Hispanic", "Hispanic"], hispanic.astype(int)),
            "subject_sex": labels(["Male", "Female"], (rng.random(n) < 0.37).astype(int)),
            "subject_age": pa.array(
                np.clip(np.round(rng.gamma(6.5, 6.2, n)) + 16, 16, 94).astype(np.int16)
            ),
            "statutory_reason": labels([r[0] for r in STOP_REASONS], reason),
            "outcome": labels([o[0] for o in STOP_OUTCOMES], outcome),
            "vehicle_searched": pa.array(searched),
        }
    )
    return Rows(
        table,
        row_identifier="stop_id",
        coverage=(dt.date(2019, 1, 1), dt.date(2019, 12, 31)),
        columns={"subject_race": ("Driver race", "As perceived by the officer.")},
    )


# Electric vehicle registrations -------------------------------------------------------------


def ev_registrations(ctx: Context) -> Rows:
    rng = ctx.rng
    last_month = np.datetime64(ctx.updated, "M") - 1
    months = month_starts(dt.date(2020, 1, 1), to_date(last_month.astype("datetime64[D]")))
    n_m = len(months)
    population = town_populations().astype(float)
    adoption = np.exp(rng.normal(0, 0.45, len(TOWNS)))
    growth = np.exp(np.arange(n_m) * 0.028)
    bev = np.round(
        population[None, :]
        * 0.0019
        * adoption[None, :]
        * growth[:, None]
        * np.exp(rng.normal(0, 0.02, (n_m, len(TOWNS))))
    ).astype(np.int32)
    phev = np.round(bev * 0.42 * np.exp(rng.normal(0, 0.1, bev.shape))).astype(np.int32)
    m_i, t_i = (a.ravel() for a in np.indices(bev.shape))
    table = pa.table(
        {
            "month": dates(months[m_i]),
            "town": labels(TOWNS, t_i),
            "county": counties_of(t_i),
            "battery_electric": pa.array(bev.ravel()),
            "plug_in_hybrid": pa.array(phev.ravel()),
            "total_electric": pa.array((bev + phev).ravel()),
        }
    )
    return Rows(table, coverage=(dt.date(2020, 1, 1), to_date(months[-1])))


GENERATORS: dict[str, Callable[[Context], Rows]] = {
    "covid_town": covid_town,
    "covid_race": covid_race,
    "payroll": payroll,
    "child_care": child_care,
    "real_estate": real_estate,
    "enrollment": enrollment,
    "mill_rates": mill_rates,
    "drug_deaths": drug_deaths,
    "doc_population": doc_population,
    "labor_force": labor_force,
    "air_quality": air_quality,
    "spills": spills,
    "town_crosswalk": town_crosswalk,
    "traffic_stops": traffic_stops,
    "ev_registrations": ev_registrations,
}
