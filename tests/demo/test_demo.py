"""The demo portal: shape of the catalog, freshness shares, generated rows, determinism."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from statedata.catalog import service
from statedata.catalog.models import Agency, Dataset, Version
from statedata.config import DEFAULT_CATEGORIES
from statedata.demo import DemoSummary, build_demo, dataset_id_for, demo_is_built
from statedata.demo.towns import BOUNDING_BOX
from statedata.installation import Installation
from statedata.storage.versions import version_path

AS_OF = dt.date(2026, 11, 1)
SMALL_PAYROLL = 20_000
CASES_BY_TOWN = "COVID-19 Tests, Cases, and Deaths (By Town)"
RACE_RATES = "COVID-19 Cases, Hospitalizations, and Deaths by Race/Ethnicity"
CHILD_CARE = "Licensed Child Care Facilities"
PAYROLL = "State Employee Payroll Data Calendar Year 2015 through Present"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Installation, DemoSummary]]:
    """One small demo build shared by the tests that only read it."""
    installation = Installation.open(tmp_path_factory.mktemp("demo") / "home")
    summary = build_demo(installation, as_of=AS_OF, payroll_rows=SMALL_PAYROLL)
    yield installation, summary
    installation.close()


def datasets(installation: Installation) -> list[Dataset]:
    with installation.catalog.session() as session:
        return list(service.list_datasets(session))


def rows_of(installation: Installation, title: str):  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        dataset = service.get_dataset(session, dataset_id_for(title))
        return pq.read_table(version_path(installation, dataset.current_version))


def row_fingerprints(installation: Installation) -> dict[str, str]:
    """Dataset id -> a hash of its rows' contents (system fields included)."""
    out = {}
    with installation.catalog.session() as session:
        for dataset in service.list_datasets(session):
            if dataset.current_version is None:
                continue
            table = pq.read_table(version_path(installation, dataset.current_version))
            digest = hashlib.sha256()
            for column in table.columns:
                digest.update(str(column.to_pylist()).encode())
            out[dataset.id] = digest.hexdigest()
    return out


def test_demo_has_about_150_datasets_in_every_category(built) -> None:
    installation, summary = built
    found = datasets(installation)
    assert 140 <= len(found) <= 160
    assert summary.datasets == len(found)
    assert {d.category for d in found} == set(DEFAULT_CATEGORIES)
    assert len({d.title for d in found}) == len(found)
    assert all(d.description.count(".") >= 2 for d in found)


def test_freshness_follows_the_shares_the_plan_reports(built) -> None:
    installation, _ = built
    found = datasets(installation)
    n = len(found)
    updated = [d.data_updated_at.date() for d in found]
    within_30_days = sum((AS_OF - day).days <= 30 for day in updated) / n
    within_year = sum((AS_OF - day).days <= 365 for day in updated) / n
    before_2016 = sum(day < dt.date(2016, 1, 1) for day in updated) / n
    assert 0.14 <= within_30_days <= 0.20
    assert 0.66 <= 1 - within_year <= 0.74
    assert 0.30 < before_2016 <= 0.35
    assert all(day <= AS_OF for day in updated)
    for dataset in found:
        assert dataset.created_at <= dataset.metadata_updated_at
        assert dataset.created_at < dataset.data_updated_at


def test_a_quarter_of_datasets_name_no_agency(built) -> None:
    installation, _ = built
    found = datasets(installation)
    share = sum(d.agency_id is None for d in found) / len(found)
    assert 0.22 <= share <= 0.28


def test_agencies_are_connecticut_agencies_with_parents(built) -> None:
    installation, summary = built
    with installation.catalog.session() as session:
        agencies = {a.code: a for a in service.list_agencies(session)}
        assert 40 <= len(agencies) <= 65
        assert summary.agencies == len(agencies)
        assert agencies["DPH"].name == "Department of Public Health"
        assert agencies["OCME"].parent.code == "DPH"
        assert agencies["DAPA"].parent.code == "OPM"


def test_metadata_fields_are_filled(built) -> None:
    installation, _ = built
    found = datasets(installation)
    public = [d for d in found if d.classification == "public"]
    assert all(d.license and d.update_frequency and d.geographic_unit for d in public)
    assert all(d.tag_names for d in found)
    assert sum(bool(d.high_value_criteria) for d in found) >= 20
    assert {"personal", "protected"} <= {d.classification for d in found}
    assert all(d.access_level == "non-public" for d in found if d.classification != "public")
    deprecated = [d for d in found if d.status == "deprecated"]
    assert len(deprecated) >= 4
    assert all(d.status_reason for d in deprecated)
    assert sum(d.replaced_by is not None for d in deprecated) >= 3
    links = [f for d in found for f in d.files if f.kind == "link"]
    assert len(links) >= 3
    assert all(f.url.startswith("https://") for f in links)


def test_case_counts_cover_all_169_towns_daily(built) -> None:
    installation, summary = built
    table = rows_of(installation, CASES_BY_TOWN)
    assert len(set(table["town"].to_pylist())) == 169
    days = set(table["last_update_date"].to_pylist())
    assert 360 <= len(days) <= 370
    assert table.num_rows == 169 * len(days)
    with installation.catalog.session() as session:
        dataset = service.get_dataset(session, dataset_id_for(CASES_BY_TOWN))
        assert dataset.row_identifier == "row_id"
        assert dataset.demographic_dimensions == ["geography"]
    assert summary.datasets_with_rows >= 12


def test_rates_by_race_and_ethnicity_name_their_dimensions(built) -> None:
    installation, _ = built
    with installation.catalog.session() as session:
        dataset = service.get_dataset(session, dataset_id_for(RACE_RATES))
        assert {"race", "ethnicity"} <= set(dataset.demographic_dimensions)
    table = rows_of(installation, RACE_RATES)
    assert "Hispanic" in set(table["race_ethnicity"].to_pylist())


def test_points_lie_inside_connecticut(built) -> None:
    installation, _ = built
    table = rows_of(installation, CHILD_CARE)
    south, west, north, east = BOUNDING_BOX
    assert all(south <= v <= north for v in table["latitude"].to_pylist())
    assert all(west <= v <= east for v in table["longitude"].to_pylist())
    assert table["town"].null_count == 0


def test_rows_and_versions_carry_the_planned_history(built) -> None:
    installation, summary = built
    total = 0
    with installation.catalog.session() as session:
        for dataset in service.list_datasets(session):
            version = dataset.current_version
            if version is None:
                continue
            assert version.created_at == dataset.data_updated_at
            path = version_path(installation, version)
            assert version.checksum == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
            assert version.byte_size == path.stat().st_size
            stamps = pq.read_table(path, columns=[":updated_at"])[":updated_at"].unique()
            assert len(stamps) == 1
            total += version.row_count
    assert summary.total_rows == total
    payroll = rows_of(installation, PAYROLL)
    assert payroll.num_rows == SMALL_PAYROLL
    assert max(payroll["check_date"].to_pylist()) <= AS_OF


def test_two_builds_are_the_same(built, sqlite_installation: Installation) -> None:
    first, _ = built
    build_demo(sqlite_installation, as_of=AS_OF, payroll_rows=SMALL_PAYROLL)

    def described(installation: Installation) -> list[tuple]:
        return [
            (
                d.id,
                d.title,
                d.description,
                d.agency.code if d.agency else None,
                d.category,
                d.tag_names,
                d.update_frequency,
                d.high_value_criteria,
                d.created_at,
                d.data_updated_at,
                d.status,
                d.replaced_by,
            )
            for d in datasets(installation)
        ]

    assert described(first) == described(sqlite_installation)
    assert row_fingerprints(first) == row_fingerprints(sqlite_installation)


def test_a_second_build_reuses_the_home(sqlite_installation: Installation) -> None:
    assert not demo_is_built(sqlite_installation)
    build_demo(sqlite_installation, as_of=AS_OF, payroll_rows=2_000)
    assert demo_is_built(sqlite_installation)
    with sqlite_installation.catalog.session() as session:
        before = (
            session.scalar(select(func.count()).select_from(Dataset)),
            session.scalar(select(func.count()).select_from(Agency)),
            session.scalar(select(func.count()).select_from(Version)),
        )
    build_demo(sqlite_installation, as_of=AS_OF, payroll_rows=2_000)
    with sqlite_installation.catalog.session() as session:
        after = (
            session.scalar(select(func.count()).select_from(Dataset)),
            session.scalar(select(func.count()).select_from(Agency)),
            session.scalar(select(func.count()).select_from(Version)),
        )
    assert before == after


@pytest.mark.slow
def test_full_demo_has_a_million_payroll_rows(tmp_path: Path) -> None:
    installation = Installation.open(tmp_path / "home")
    try:
        started = time.perf_counter()
        summary = build_demo(installation)
        seconds = time.perf_counter() - started
        assert demo_is_built(installation)
        with installation.catalog.session() as session:
            payroll = service.get_dataset(session, dataset_id_for(PAYROLL))
            assert payroll.current_version.row_count >= 1_000_000
        assert summary.total_rows >= 1_000_000
        assert seconds < 120
    finally:
        installation.close()


def test_town_boundaries_split_the_outline_into_169_shapes(built) -> None:
    from statedata.demo.boundaries import OUTLINE, town_cells

    cells = town_cells()
    assert len(cells) == 169 and all(cell[0] == cell[-1] and len(cell) >= 4 for cell in cells)

    def area(ring: list[tuple[float, float]]) -> float:
        return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))) / 2

    # Cells neither overlap nor leave gaps: together they are the outline, to rounding.
    outline = area([*OUTLINE, OUTLINE[0]])
    assert sum(area(c) for c in cells) == pytest.approx(outline, rel=1e-3)
    installation, _ = built
    with installation.catalog.session() as session:
        dataset = service.get_dataset(session, dataset_id_for("Town Boundaries"))
        assert dataset.classification == "public"
        assert "not the legal town boundaries" in dataset.description
        assert {c.field_name: c.data_type for c in dataset.columns}["the_geom"] == "geometry"
        assert dataset.current_version.row_count == 169
