"""Reading the catalog as arrays: the days, flags and versions the database works out as
integers equal what Python makes of the same rows, on both databases; a version published
while the catalog is read is not given to the wrong dataset."""

from __future__ import annotations

import datetime as dt
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, String, literal, select, text
from sqlalchemy.engine import Connection

from statedata.catalog.models import Agency, Dataset, Version
from statedata.metrics import snapshot

HEX = "0123456789abcdef0123456789abcdef"
SOURCES = [
    "feed:12",
    "feed:",
    "FEED:1",
    "soda",
    "soda upload",
    "Soda",
    f"{HEX}.csv",
    f"{HEX}.json",
    f"{HEX.upper()}.csv",
    f"{HEX[1:]}.csv",
    f"{HEX}0.csv",
    f"{HEX}.csv\n",
    f"{HEX}.parquet",
    f"x{HEX}.csv",
    "payroll.csv",
    "feedback.csv",
    "",
    None,
]
UTC = dt.UTC
EASTERN = dt.timezone(dt.timedelta(hours=-5))
MOMENTS = [
    dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
    dt.datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC),
    dt.datetime(2026, 3, 1, 22, 0, tzinfo=EASTERN),  # the next day in UTC
    dt.datetime(1999, 12, 31, 12, 0, tzinfo=UTC),
    dt.datetime(2024, 2, 29, 6, 30, tzinfo=UTC),
]


def version(dataset_id: str, number: int, moment: dt.datetime, source: str | None) -> Version:
    return Version(
        dataset_id=dataset_id,
        number=number,
        row_count=1,
        byte_size=1,
        checksum="sha256:0",
        schema=[],
        source=source,
        mode="replace",
        path=f"{dataset_id}/v{number}.parquet",
        created_at=moment,
    )


def add_catalog(session) -> None:  # type: ignore[no-untyped-def]
    """Datasets in every state the arrays tell apart; ids not in insertion order."""
    agency = Agency(code="DPH", name="Department of Public Health")
    session.add(agency)
    session.flush()
    day = MOMENTS[0]
    shapes = [
        ("cccc-0001", {"agency_id": agency.id, "demographic_dimensions": ["race", "sex"]}),
        ("aaaa-0002", {"demographic_dimensions": ["Race", "age"], "data_updated_at": day}),
        ("bbbb-0003", {"status": "retired", "retired_at": MOMENTS[2]}),
        ("aaaa-0004", {"status": "archived", "classification": "restricted"}),
        ("dddd-0005", {"publication_state": "draft", "update_frequency": "R/P1M"}),
        ("aaaa-0006", {"access_level": "non-public", "demographic_dimensions": ["ethnicity"]}),
        ("aaaa-0007", {"demographic_dimensions": ["gender-identity"], "update_frequency": "R/P1Y"}),
    ]
    for number, (dataset_id, fields) in enumerate(shapes):
        session.add(
            Dataset(
                id=dataset_id,
                slug=dataset_id,
                title=dataset_id,
                created_at=MOMENTS[number % len(MOMENTS)],
                metadata_updated_at=day,
                **fields,
            )
        )
    session.flush()
    # Every source on every kind of moment, spread over three datasets (one has none).
    for position, source in enumerate(SOURCES * 2):
        dataset_id = ("cccc-0001", "bbbb-0003", "aaaa-0007")[position % 3]
        moment = MOMENTS[position % len(MOMENTS)]
        session.add(version(dataset_id, position + 1, moment, source))
    session.flush()


def expected_versions(session, ids: list[str]) -> tuple[list[int], list[bool]]:  # type: ignore[no-untyped-def]
    """The version keys and automated flags of the datasets `ids`, worked out in Python from
    the versions' day texts and sources."""
    index = {dataset_id: i for i, dataset_id in enumerate(ids)}
    versions = session.execute(
        select(
            Version.dataset_id,
            Version.id,
            snapshot.day_text(session, Version.created_at),
            Version.source,
        )
    ).all()
    ordered = sorted(
        (index[did] * snapshot.SHIFT + snapshot.ordinal_of(day), number, source)
        for did, number, day, source in versions
        if did in index
    )
    return [key for key, _, _ in ordered], [snapshot.is_automated(s) for _, _, s in ordered]


def expected_arrays(session, ids: list[str]) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """What the arrays hold, from the rows' day texts and values, worked out in Python."""
    keys, automated = expected_versions(session, ids)
    rows = {
        row.id: row
        for row in session.execute(
            select(
                Dataset.id,
                Dataset.classification,
                Dataset.access_level,
                Dataset.publication_state,
                Dataset.status,
                Dataset.demographic_dimensions,
                snapshot.day_text(session, Dataset.created_at).label("created"),
                snapshot.day_text(session, Dataset.retired_at).label("retired"),
                snapshot.day_text(session, Dataset.data_updated_at).label("updated"),
            )
        )
    }

    def day(value: str | None) -> int:
        return snapshot.FAR if value is None else snapshot.ordinal_of(value)

    by_id = [rows[dataset_id] for dataset_id in ids]
    created = [day(row.created) for row in by_id]
    updated = [day(row.updated) for row in by_id]
    return {
        "version_keys": keys,
        "version_auto": automated,
        "created": created,
        "retired": [day(row.retired) for row in by_id],
        "fallback": [u if u < snapshot.FAR else c for u, c in zip(updated, created, strict=True)],
        "listed": [
            row.classification == "public"
            and row.access_level == "public"
            and (row.publication_state or "published") == "published"
            for row in by_id
        ],
        "archived": [row.status in snapshot.GONE for row in by_id],
        "dims": [
            sum(
                1 << bit
                for bit, name in enumerate(snapshot.EQUITY_DIMENSIONS)
                if name in row.demographic_dimensions
            )
            for row in by_id
        ],
    }


def test_days_flags_and_versions_worked_out_by_the_database_equal_pythons(installation):
    with installation.catalog.session() as session:
        add_catalog(session)
    snapshot._VERSIONS.clear()
    with installation.catalog.session() as session:
        data = snapshot.load_datasets(session, exclude=["aaaa-0007"])
        assert data.ids == sorted(data.ids)
        expected = expected_arrays(session, data.ids)
        again = snapshot.load_datasets(session)  # the versions remembered
    expected["listed"][data.ids.index("aaaa-0007")] = False  # excluded
    for name, values in expected.items():
        assert getattr(data, name).tolist() == values, name
    assert data.version_auto.sum() == 2 * 6  # feed:12, feed:, soda, soda upload, two hex
    with_versions = ("cccc-0001", "bbbb-0003", "aaaa-0007")
    assert data.has_versions.tolist() == [did in with_versions for did in data.ids]
    assert again.version_keys.tolist() == data.version_keys.tolist()
    assert again.version_auto.tolist() == data.version_auto.tolist()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    source=st.one_of(
        st.sampled_from(SOURCES),
        st.text(max_size=40).filter(lambda s: "\x00" not in s),
        st.builds(
            lambda name, suffix: name + suffix,
            st.text("0123456789abcdefABC", min_size=31, max_size=33),
            st.sampled_from([".csv", ".json", ".CSV", ".csv ", ""]),
        ),
    )
)
def test_the_databases_automated_flag_is_is_automated(installation, source):
    with installation.catalog.session() as session:
        flag = session.scalar(select(snapshot.automated(session, literal(source, String))))
    assert bool(flag) is snapshot.is_automated(source)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moment=st.one_of(
        st.none(),
        st.datetimes(
            min_value=dt.datetime(1900, 1, 1),
            max_value=dt.datetime(2999, 12, 31, 23, 59, 59),
            timezones=st.just(dt.UTC),
        ),
    )
)
def test_the_databases_day_number_is_the_utc_days_ordinal(installation, moment):
    """What each database works out of a timestamp: the UTC day's ordinal, month ends, leap
    days and centuries included; no timestamp, the missing value."""
    with installation.catalog.session() as session:
        column = literal(moment, DateTime(timezone=True))
        found = session.scalar(select(snapshot.day_number(session, column, -7)))
    assert found == (-7 if moment is None else moment.date().toordinal())


def test_a_version_published_while_the_catalog_is_read_goes_to_its_own_dataset(
    installation, monkeypatch
):
    with installation.catalog.session() as session:
        add_catalog(session)
    snapshot._VERSIONS.clear()
    reads = []
    plain_fetch = snapshot.fetch
    published = threading.Event()

    def fetch_then_publish(session, statement):  # type: ignore[no-untyped-def]
        if isinstance(session, Connection):  # the versions, read apart at the same time
            assert published.wait(timeout=60)  # read after the version is published
            rows = plain_fetch(session, statement)
            reads.append(len(rows))
            return rows
        rows = plain_fetch(session, statement)
        reads.append(len(rows))
        if not published.is_set():  # after the datasets, before their versions
            with installation.catalog.session() as other:
                other.add(version("aaaa-0002", 1, MOMENTS[4], "feed:9"))
                other.commit()
            published.set()
        return rows

    monkeypatch.setattr(snapshot, "fetch", fetch_then_publish)
    with installation.catalog.session() as session:
        data = snapshot.load_datasets(session)
        expected = expected_arrays(session, data.ids)
    assert len(reads) == 4  # read twice
    assert data.version_keys.tolist() == expected["version_keys"]
    assert data.version_auto.tolist() == expected["version_auto"]
    assert data.has_versions[data.ids.index("aaaa-0002")]


def test_versions_of_ids_that_are_not_datasets_are_left_out(sqlite_installation):
    with sqlite_installation.catalog.session() as session:
        add_catalog(session)
    with sqlite_installation.catalog.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.execute(
            Version.__table__.insert().values(
                dataset_id="abcd-9999",
                number=1,
                row_count=1,
                byte_size=1,
                checksum="x",
                schema=[],
                source="feed:1",
                mode="replace",
                path="x",
                max_row_id=0,
                created_at=MOMENTS[0],
            )
        )
        connection.commit()
        assert connection.scalar(text("SELECT count(*) FROM versions")) == 2 * len(SOURCES) + 1
    snapshot._VERSIONS.clear()
    with sqlite_installation.catalog.session() as session:
        data = snapshot.load_datasets(session)
        keys, automated = expected_versions(session, data.ids)
    assert "abcd-9999" not in data.ids
    assert (data.version_keys.tolist(), data.version_auto.tolist()) == (keys, automated)
