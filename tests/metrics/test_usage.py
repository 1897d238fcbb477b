"""Usage counting: per dataset, day and kind; batched; nothing about the caller kept; the sums
by owner, day and month kept beside the daily counts always equal them (more in
test_attribution.py)."""

from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, select

from statedata.catalog import DatasetMetadata
from statedata.catalog.models import UsageCount, UsageRollup
from statedata.ingest import open_table
from statedata.metrics import UsageCounter, usage_totals
from statedata.metrics.usage import KINDS, add_counts, insert_counts
from statedata.storage import NewDataset, publish


def test_counts_add_up_across_flushes_and_threads(installation):
    counter = UsageCounter(installation.catalog)
    day = dt.date(2026, 11, 2)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: counter.record("abcd-2345", "api_call", day), range(400)))
    assert counter.flush() == 400
    for _ in range(5):
        counter.record("abcd-2345", "api_call", day)
        counter.record("abcd-2345", "download", day)
    counter.flush()
    with installation.catalog.session() as session:
        assert usage_totals(session, "abcd-2345") == {
            "api_call": 405,
            "download": 5,
            "page_view": 0,
        }
        rows = session.scalars(select(UsageCount)).all()
    assert len(rows) == 2


def test_usage_table_holds_no_caller_details(installation):
    columns = {c["name"] for c in inspect(installation.catalog.engine).get_columns("usage_counts")}
    assert columns == {"day", "dataset_id", "kind", "count"}


def test_requests_are_counted_by_kind(installation, agency, write_file, serve):
    import httpx

    path = write_file("t.csv", "a,b\n1,2\n")
    dataset_id = publish(
        installation, open_table(path), new=NewDataset(DatasetMetadata(title="T"), agency)
    ).dataset_id
    server = serve(installation)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for _ in range(3):
                assert http.get(f"/api/v1/datasets/{dataset_id}/rows.csv").status_code == 200
            assert http.get(f"/api/v1/datasets/{dataset_id}").status_code == 200
            assert http.get("/api/v1/datasets/zzzz-zzzz").status_code == 404
    finally:
        server.stop()  # the app's shutdown writes what is pending
    with installation.catalog.session() as session:
        assert usage_totals(session, dataset_id) == {"api_call": 1, "download": 3, "page_view": 0}
        assert usage_totals(session, "zzzz-zzzz")["api_call"] == 0


def _daily_by_period(session) -> dict[tuple[str, str, str], int]:  # type: ignore[no-untyped-def]
    """(span, period, kind) -> the daily counts' sum (the ids here are no datasets)."""
    found: dict[tuple[str, str, str], int] = {}
    for row in session.scalars(select(UsageCount)):
        for key in (
            ("day", row.day.isoformat(), row.kind),
            ("month", row.day.isoformat()[:7], row.kind),
        ):
            found[key] = found.get(key, 0) + row.count
    return found


def _sums(session) -> dict[tuple[str, str, str], int]:  # type: ignore[no-untyped-def]
    found: dict[tuple[str, str, str], int] = {}
    for r in session.scalars(select(UsageRollup)):
        key = (r.span, r.period, r.kind)
        found[key] = found.get(key, 0) + r.count
    return found


def test_sums_by_day_and_month_equal_the_daily_counts_across_month_ends(installation):
    counter = UsageCounter(installation.catalog)
    rng = random.Random(5)
    # Days either side of month ends, a year end and a leap day.
    days = [
        dt.date(2027, 12, 31),
        dt.date(2028, 1, 1),
        dt.date(2028, 1, 31),
        dt.date(2028, 2, 1),
        dt.date(2028, 2, 28),
        dt.date(2028, 2, 29),
        dt.date(2028, 3, 1),
    ]
    for _ in range(6):
        for _ in range(rng.randrange(1, 60)):
            dataset_id = rng.choice(["abcd-2345", "efgh-6789", "stry-abcd"])
            kind = "story_view" if dataset_id == "stry-abcd" else rng.choice(KINDS)
            counter.record(dataset_id, kind, rng.choice(days))
        counter.flush()
        with installation.catalog.session() as session:
            assert _sums(session) == _daily_by_period(session)
    with installation.catalog.session() as session:
        insert_counts(
            session,
            [
                {
                    "day": dt.date(2028, 4, 30),
                    "dataset_id": "abcd-2345",
                    "kind": "download",
                    "count": 3,
                },
                {
                    "day": dt.date(2028, 5, 1),
                    "dataset_id": "abcd-2345",
                    "kind": "download",
                    "count": 4,
                },
            ],
        )
        add_counts(session, [((dt.date(2028, 4, 1), "abcd-2345", "download"), 2)])
    with installation.catalog.session() as session:
        sums = _sums(session)
        assert sums == _daily_by_period(session)
        assert sums[("month", "2028-04", "download")] == 5


def test_a_failed_flush_adds_to_neither_table(installation):
    with pytest.raises(RuntimeError), installation.catalog.session() as session:
        add_counts(session, [((dt.date(2028, 1, 31), "abcd-2345", "api_call"), 7)])
        session.flush()
        raise RuntimeError("the catalog went away")
    with installation.catalog.session() as session:
        assert _sums(session) == {} == _daily_by_period(session)


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_migration_sums_the_daily_counts_kept_before_it(database, request, tmp_path):
    from alembic import command

    from statedata.catalog.db import alembic_config, make_engine

    url = (
        request.getfixturevalue("pg_schema_url")
        if database == "postgres"
        else f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    )
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0006")
        daily = sa.table(
            "usage_counts",
            sa.column("day", sa.Date),
            sa.column("dataset_id", sa.String),
            sa.column("kind", sa.String),
            sa.column("count", sa.BigInteger),
        )
        with engine.begin() as connection:
            connection.execute(
                sa.insert(daily),
                [
                    {
                        "day": dt.date(2026, 1, 31),
                        "dataset_id": "abcd-2345",
                        "kind": "api_call",
                        "count": 2,
                    },
                    {
                        "day": dt.date(2026, 1, 1),
                        "dataset_id": "abcd-2345",
                        "kind": "api_call",
                        "count": 5,
                    },
                    {
                        "day": dt.date(2026, 2, 1),
                        "dataset_id": "abcd-2345",
                        "kind": "api_call",
                        "count": 1,
                    },
                    {
                        "day": dt.date(2026, 2, 1),
                        "dataset_id": "efgh-6789",
                        "kind": "page_view",
                        "count": 9,
                    },
                    {
                        "day": dt.date(2026, 2, 1),
                        "dataset_id": "stry-abcd",
                        "kind": "story_view",
                        "count": 4,
                    },
                ],
            )
        command.upgrade(alembic_config(engine), "0007")
        months = _rows(engine, "SELECT month, dataset_id, kind, count FROM usage_months")
        command.upgrade(alembic_config(engine), "head")
        sums = _rows(
            engine, "SELECT span, period, kind, agency_id, listed, count FROM usage_rollups"
        )
        owners = _rows(engine, "SELECT dataset_id, agency_id, listed FROM usage_owners")
        command.downgrade(alembic_config(engine), "0007")
        months_again = _rows(engine, "SELECT month, dataset_id, kind, count FROM usage_months")
    finally:
        engine.dispose()
    assert (
        months
        == months_again
        == {
            ("2026-01", "abcd-2345", "api_call", 7),
            ("2026-02", "abcd-2345", "api_call", 1),
            ("2026-02", "efgh-6789", "page_view", 9),
            ("2026-02", "stry-abcd", "story_view", 4),
        }
    )
    # No dataset has these ids: their use belongs to nobody and is not listed; a story's
    # views are summed under no agency, listed.
    assert owners == {("abcd-2345", 0, False), ("efgh-6789", 0, False)}
    assert sums == {
        ("day", "2026-01-01", "api_call", 0, False, 5),
        ("day", "2026-01-31", "api_call", 0, False, 2),
        ("day", "2026-02-01", "api_call", 0, False, 1),
        ("day", "2026-02-01", "page_view", 0, False, 9),
        ("day", "2026-02-01", "story_view", 0, True, 4),
        ("month", "2026-01", "api_call", 0, False, 7),
        ("month", "2026-02", "api_call", 0, False, 1),
        ("month", "2026-02", "page_view", 0, False, 9),
        ("month", "2026-02", "story_view", 0, True, 4),
    }


def _rows(engine, query: str) -> set[tuple]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return {tuple(row) for row in connection.execute(sa.text(query))}
