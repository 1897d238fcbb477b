"""The plan metrics over a hand-built catalog with known answers, today and on past days, by
agency and month by month; publishing them into the portal; the command line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from statedata.catalog.models import Agency, Dataset, User, Version
from statedata.catalog.sharing import (
    DataRequest,
    DataRequestAgency,
    DataRequestEvent,
    Suggestion,
    SuggestionEvent,
)
from statedata.cli.main import app
from statedata.errors import InvalidInput
from statedata.freshness.status import INTERVALS
from statedata.installation import Installation
from statedata.metrics import plan, usage
from statedata.metrics.publish import (
    INVENTORY_TITLE,
    PLAN_TITLE,
    own_datasets,
    publish_metrics,
    report,
)
from statedata.storage.versions import version_path

AS_OF = dt.date(2026, 11, 1)
PAST = dt.date(2026, 8, 15)
SODA_BODY = "0123456789abcdef0123456789abcdef.json"  # what a SODA write records as source


def moment(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), dt.UTC)


def count_row(day: dt.date, dataset_id: str, kind: str, count: int) -> dict:
    return {"day": day, "dataset_id": dataset_id, "kind": kind, "count": count}


def add_dataset(
    session,
    did: str,
    agency: int | None,
    created: str,
    frequency: str | None,
    versions: list[tuple[str, str]] = (),
    updated: str | None = None,
    **fields,
) -> None:
    """A dataset created on `created`, with a version on each (day, source)."""
    last = versions[-1][0] if versions else updated
    session.add(
        Dataset(
            id=did,
            slug=did,
            title=fields.pop("title", f"Dataset {did}"),
            agency_id=agency,
            update_frequency=frequency,
            created_at=moment(created),
            metadata_updated_at=moment(created),
            data_updated_at=moment(last) if last else None,
            **fields,
        )
    )
    session.flush()
    for number, (day, source) in enumerate(versions, start=1):
        session.add(
            Version(
                dataset_id=did,
                number=number,
                row_count=1,
                byte_size=1,
                checksum="sha256:0",
                schema=[],
                source=source,
                mode="replace",
                path=f"{did}/v{number}.parquet",
                created_at=moment(day),
            )
        )


@pytest.fixture
def catalog(installation: Installation) -> Installation:
    """Eight datasets whose every figure is worked out by hand in the tests below."""
    with installation.catalog.session() as session:
        dph = Agency(code="DPH", name="Department of Public Health")
        dot = Agency(code="DOT", name="Department of Transportation")
        session.add_all([dph, dot])
        session.flush()
        # A: daily, updated yesterday by a feed: due today, on schedule. Race and ethnicity.
        add_dataset(
            session,
            "aaaa-0001",
            dph.id,
            "2020-01-01",
            "R/P1D",
            [("2020-01-01", "a.csv"), ("2026-10-31", "feed:1")],
            demographic_dimensions=["race", "ethnicity"],
        )
        # B: monthly, last updated in June 2015: stale since 2015-07-10.
        add_dataset(
            session,
            "aaaa-0002",
            dph.id,
            "2014-05-01",
            "R/P1M",
            [("2014-05-01", "b.csv"), ("2015-06-10", "b.csv")],
        )
        # C: annual, last pushed through the SODA write API in June: fresh. By sex.
        add_dataset(
            session,
            "aaaa-0003",
            dot.id,
            "2025-03-01",
            "R/P1Y",
            [("2025-03-01", "c.csv"), ("2026-06-01", SODA_BODY)],
            demographic_dimensions=["sex"],
        )
        # D: weekly, no agency, no rows, data last updated 2026-01-15: stale, 283 days late.
        add_dataset(session, "aaaa-0004", None, "2019-01-01", "R/P1W", updated="2026-01-15")
        # E: not public: in no figure.
        add_dataset(
            session,
            "aaaa-0005",
            dot.id,
            "2020-01-01",
            "R/P1D",
            [("2026-10-30", "feed:2")],
            classification="protected",
            access_level="non-public",
            demographic_dimensions=["race", "sex"],
        )
        # F: created after the day asked about.
        add_dataset(session, "aaaa-0006", dph.id, "2026-11-15", "R/P1M", [("2026-11-15", "f")])
        # G: monthly, retired on 2026-09-01: public in August only.
        add_dataset(
            session,
            "aaaa-0007",
            dot.id,
            "2026-01-01",
            "R/P1M",
            [("2026-01-01", "g.csv"), ("2026-08-01", "g.csv")],
            status="retired",
            retired_at=moment("2026-09-01"),
        )
        # H: updated as needed (no schedule), first published 12 days before. By age.
        add_dataset(
            session,
            "aaaa-0008",
            dph.id,
            "2026-10-20",
            "irregular",
            [("2026-10-20", "h.csv")],
            demographic_dimensions=["age"],
        )
        usage.insert_counts(
            session,
            [
                count_row(dt.date(2026, 10, 20), "aaaa-0001", "page_view", 10),
                count_row(dt.date(2026, 10, 5), "aaaa-0001", "page_view", 5),
                count_row(dt.date(2026, 9, 15), "aaaa-0001", "api_call", 7),
                count_row(dt.date(2026, 10, 31), "aaaa-0003", "download", 3),
                # Not public, gone from the catalog, after the day: none counts.
                count_row(dt.date(2026, 10, 20), "aaaa-0005", "page_view", 100),
                count_row(dt.date(2026, 10, 20), "zzzz-9999", "page_view", 50),
                count_row(dt.date(2026, 11, 2), "aaaa-0001", "page_view", 40),
            ],
        )
    return installation


def test_update_figures_today(catalog):
    found = report(catalog, AS_OF)
    value = {m.key: m.value for m in found.metrics}
    # Public on the day: A, B, C, D and H.
    assert value["datasets.public"] == 5
    assert value["updates.last_30_days"] == 0.4  # A (1 day) and H (12 days)
    assert value["updates.on_schedule"] == 0.5  # A and C of the scheduled A, B, C, D
    assert value["updates.not_in_last_year"] == 0.2  # B
    assert value["updates.not_since_2015"] == 0.2  # B
    late_b = (AS_OF - dt.date(2015, 7, 10)).days
    assert value["updates.median_days_late"] == round((late_b + 283) / 2, 1)
    assert value["updates.automated"] == 0.4  # A by a feed, C through SODA
    assert value["metadata.no_agency"] == 0.2  # D


def test_disaggregation_counts_race_ethnicity_gender_and_their_intersections(catalog):
    value = {m.key: m.value for m in report(catalog, AS_OF).metrics}
    assert value["disaggregation.race"] == 0.2  # A
    assert value["disaggregation.ethnicity"] == 0.2  # A
    assert value["disaggregation.gender"] == 0.2  # C
    assert value["disaggregation.intersection"] == 0.2  # A: race x ethnicity; H's age is not


def test_figures_by_agency(catalog):
    found = report(catalog, AS_OF)
    assert found.get("datasets.public").by_agency == {"DPH": 3, "DOT": 1, plan.NO_AGENCY: 1}
    assert found.get("updates.last_30_days").by_agency == {
        "DPH": round(2 / 3, 4),
        "DOT": 0.0,
        plan.NO_AGENCY: 0.0,
    }
    assert found.get("updates.median_days_late").by_agency == {
        "DPH": float((AS_OF - dt.date(2015, 7, 10)).days),
        plan.NO_AGENCY: 283.0,
    }
    only = report(catalog, AS_OF, agency="dot")
    assert only.agency == "DOT"
    value = {m.key: m.value for m in only.metrics}
    assert value["datasets.public"] == 1
    assert value["updates.automated"] == 1.0
    assert value["traffic.download"] == 3
    assert value["traffic.page_view"] == 0


def test_a_past_day_gives_the_figures_as_they_were(catalog):
    value = {m.key: m.value for m in report(catalog, PAST).metrics}
    # On 15 August: A, B, C, D and G (not yet retired); H did not exist yet.
    assert value["datasets.public"] == 5
    assert value["updates.last_30_days"] == 0.2  # G, updated on 1 August
    # A's current version then was its first: no feed yet; C's was the SODA push.
    assert value["updates.automated"] == 0.2
    # A (stale since 2020), B (since 2015) and D (since January): the median is A's.
    assert value["updates.median_days_late"] == float((PAST - dt.date(2020, 1, 2)).days)


def test_series_gives_each_month_as_it_ended(catalog):
    found = report(catalog, AS_OF)
    public = {p["month"]: p["value"] for p in found.get("datasets.public").series}
    assert len(public) == plan.MONTHS
    assert public["2026-08"] == 5  # G still public on 31 August
    assert public["2026-09"] == 4  # G retired on 1 September
    assert public["2026-10"] == 5  # H first published
    assert public["2026-11"] == 5
    assert public["2025-12"] == 4  # A, B, C and D; G came in January
    late = {p["month"]: p["value"] for p in found.get("updates.last_30_days").series}
    assert late["2026-10"] == 0.4


def test_traffic_counts_public_datasets_in_the_last_30_days_and_by_month(catalog):
    found = report(catalog, AS_OF)
    views = found.get("traffic.page_view")
    assert views.value == 15
    assert views.by_agency == {"DPH": 15}
    assert {p["month"]: p["value"] for p in views.series}["2026-10"] == 15
    calls = found.get("traffic.api_call")
    assert calls.value == 0  # 15 September is more than 30 days back
    assert {p["month"]: p["value"] for p in calls.series}["2026-09"] == 7
    assert found.get("traffic.download").by_agency == {"DOT": 3}
    # Asked again, the same answer.
    assert report(catalog, AS_OF).get("traffic.page_view").series == views.series


def test_a_month_added_to_later_is_counted_again(catalog):
    report(catalog, AS_OF)
    with catalog.catalog.session() as session:
        usage.add_counts(session, [((dt.date(2026, 9, 2), "aaaa-0003", "api_call"), 4)])
    calls = report(catalog, AS_OF).get("traffic.api_call")
    assert {p["month"]: p["value"] for p in calls.series}["2026-09"] == 11


def test_quality_metrics_score_public_datasets(catalog):
    from statedata.catalog import DatasetMetadata, service
    from statedata.config import DEFAULT_CATEGORIES
    from statedata.freshness import quality

    found = report(catalog, AS_OF)
    with catalog.catalog.session() as session:
        scores = [
            quality.score(service.get_dataset(session, did), AS_OF)
            for did in ("aaaa-0001", "aaaa-0002", "aaaa-0003", "aaaa-0004", "aaaa-0008")
        ]
    mean = round(sum(s.total for s in scores) / len(scores), 1)
    assert found.get("metadata.quality_mean").value == mean
    assert found.get("metadata.required_complete").value == 0.0  # none has a description
    # A change to the metadata is scored again, not taken from memory.
    with catalog.catalog.session() as session:
        service.update_metadata(
            session,
            "aaaa-0001",
            DatasetMetadata(
                description="Daily counts of cases by town. " * 5,
                category="Health and Human Services",
                tags=["health", "cases", "towns"],
                license="cc-by-4.0",
                contact_email="data@ct.gov",
            ),
            DEFAULT_CATEGORIES,
            actor="test",
        )
        better = quality.score(service.get_dataset(session, "aaaa-0001"), AS_OF).total
    assert better > scores[0].total
    again = report(catalog, AS_OF)
    assert again.get("metadata.quality_mean").value == round(
        (sum(s.total for s in scores[1:]) + better) / len(scores), 1
    )
    assert again.get("metadata.required_complete").value == 0.2
    # Describing the columns of the data dictionary is seen too.
    from statedata.catalog.dictionary import describe_columns
    from statedata.catalog.models import Column

    with catalog.catalog.session() as session:
        session.add(
            Column(
                dataset_id="aaaa-0002",
                position=0,
                field_name="town",
                display_name="Town",
                data_type="text",
                storage_type="VARCHAR",
            )
        )
    before = report(catalog, AS_OF).get("metadata.quality_mean").value
    with catalog.catalog.session() as session:
        describe_columns(session, "aaaa-0002", {"town": "The town, one of 169."}, "test")
    after = report(catalog, AS_OF).get("metadata.quality_mean").value
    assert after == round(before + 10 / 5, 1)  # the dictionary's 10 points, over 5 datasets


def test_suggestions_and_their_outcomes_as_they_stood(catalog):
    with catalog.catalog.session() as session:
        dph = session.query(Agency).filter_by(code="DPH").one()
        for n, (made, events) in enumerate(
            [
                ("2026-10-10", [("2026-10-20", "under_review"), ("2026-10-25", "published")]),
                ("2026-10-12", [("2026-10-28", "declined")]),
                ("2026-09-01", []),
                ("2026-06-01", [("2026-07-01", "planned"), ("2026-11-05", "published")]),
            ]
        ):
            suggestion = Suggestion(
                title=f"Suggestion {n}",
                description="Some data we would like to see.",
                agency_id=dph.id if n < 2 else None,
                status=events[-1][1] if events else "received",
                submitter_hash=f"{n:064d}",
                created_at=moment(made),
            )
            session.add(suggestion)
            session.flush()
            session.add(
                SuggestionEvent(
                    suggestion_id=suggestion.id,
                    status="received",
                    actor="x",
                    occurred_at=moment(made),
                )
            )
            for day, status in events:
                session.add(
                    SuggestionEvent(
                        suggestion_id=suggestion.id,
                        status=status,
                        actor="x",
                        occurred_at=moment(day),
                    )
                )
    found = report(catalog, AS_OF)
    assert found.get("suggestions.received").value == 2  # 10 and 12 October
    assert found.get("suggestions.received").by_agency == {"DPH": 2, plan.UNASSIGNED: 0}
    assert found.get("suggestions.published").value == 0.25  # the 4th was published later
    assert found.get("suggestions.declined").value == 0.25
    assert found.get("suggestions.open").value == 2
    series = {p["month"]: p["value"] for p in found.get("suggestions.received").series}
    assert series["2026-10"] == 2 and series["2026-09"] == 1 and series["2026-06"] == 1
    opened = {p["month"]: p["value"] for p in found.get("suggestions.open").series}
    assert opened["2026-09"] == 2  # June's (planned) and September's
    later = report(catalog, dt.date(2026, 11, 10))
    assert later.get("suggestions.published").value == 0.5


def test_time_to_fulfil_interagency_requests(catalog):
    with catalog.catalog.session() as session:
        dot = session.query(Agency).filter_by(code="DOT").one()
        user = User(name="analyst", display_name="An Analyst", role="analyst")
        session.add(user)
        session.flush()
        for n, (submitted, completed) in enumerate(
            [("2026-07-01", "2026-07-11"), ("2026-08-01", "2026-08-31"), ("2026-10-01", None)]
        ):
            request = DataRequest(
                reference=f"DR-{n}",
                requester_id=user.id,
                requester_name="An Analyst",
                organisation="OPM",
                title="Crash data",
                purpose="p",
                planned_use="u",
                who_has_access="w",
                retention_period="1 year",
                destruction_method="delete",
                legal_basis="law",
                stage="completed" if completed else "submitted",
                submitted_at=moment(submitted),
                closed_at=moment(completed) if completed else None,
            )
            session.add(request)
            session.flush()
            session.add(DataRequestAgency(request_id=request.id, agency_id=dot.id))
            moves = [("submitted", submitted)] + ([("completed", completed)] if completed else [])
            for stage, day in moves:
                session.add(
                    DataRequestEvent(
                        request_id=request.id, to_stage=stage, actor="x", occurred_at=moment(day)
                    )
                )
    metric = report(catalog, AS_OF).get("requests.days_to_fulfil")
    assert metric.value == 20.0  # 10 and 30 days
    assert metric.by_agency == {"DOT": 20.0}
    months = {p["month"]: p["value"] for p in metric.series}
    assert months["2026-07"] == 10.0 and months["2026-08"] == 30.0
    assert report(catalog, dt.date(2026, 7, 31)).get("requests.days_to_fulfil").value == 10.0
    assert report(catalog, AS_OF, agency="DPH").get("requests.days_to_fulfil").value is None


def test_every_metric_has_a_goal_a_definition_and_stays_aggregate(catalog):
    found = report(catalog, AS_OF).as_dict()
    assert found["as_of"] == "2026-11-01"
    keys = [m["key"] for m in found["metrics"]]
    assert len(keys) == len(set(keys))
    assert {d.key for d in plan.definitions()} <= set(keys)
    for metric in found["metrics"]:
        assert metric["goal"] in (1, 2, 3) and metric["definition"] and metric["name"]
    text = json.dumps(found)
    # The non-public dataset is named nowhere, nor is any dataset.
    assert "aaaa-" not in text


def test_bad_requests_change_nothing(catalog):
    with pytest.raises(InvalidInput, match="no agency"):
        report(catalog, AS_OF, agency="NOPE")
    with pytest.raises(InvalidInput, match="year"):
        report(catalog, AS_OF, since_year=3000)


def test_the_year_of_not_updated_since_is_a_parameter(catalog):
    found = report(catalog, AS_OF, since_year=2020)
    # Last updates before 2021: B only (A was updated yesterday).
    assert found.get("updates.not_since_2020").value == 0.2
    assert found.get("updates.not_since_2020").name == "Not updated since 2020"


def test_publishing_makes_two_datasets_and_replaces_their_rows(catalog):
    first = publish_metrics(catalog, AS_OF)
    assert own_datasets(catalog) == {
        "plan_metrics": first.plan_metrics,
        "inventory": first.inventory,
    }
    with catalog.catalog.session() as session:
        metrics_ds = session.get(Dataset, first.plan_metrics)
        inventory_ds = session.get(Dataset, first.inventory)
        assert (metrics_ds.title, metrics_ds.agency_id) == (PLAN_TITLE, None)
        assert inventory_ds.title == INVENTORY_TITLE
        inventory = pq.read_table(version_path(catalog, inventory_ds.current_version)).to_pylist()
        rows = pq.read_table(version_path(catalog, metrics_ds.current_version)).to_pylist()
    assert sorted(r["dataset_id"] for r in inventory) == [
        "aaaa-0001",
        "aaaa-0002",
        "aaaa-0003",
        "aaaa-0004",
        "aaaa-0008",
    ]
    a = next(r for r in inventory if r["dataset_id"] == "aaaa-0001")
    assert (a["agency"], a["update_frequency"], a["freshness_status"]) == ("DPH", "daily", "due")
    assert a["last_data_update"] == dt.date(2026, 10, 31) and a["updated_automatically"]
    public = [r for r in rows if r["metric"] == "datasets.public"]
    assert len(public) == plan.MONTHS and public[-1]["value"] == 5.0
    # Again: same ids, new versions, and the portal's own datasets count in no metric.
    again = publish_metrics(catalog, AS_OF)
    assert (again.plan_metrics, again.inventory) == (first.plan_metrics, first.inventory)
    with catalog.catalog.session() as session:
        assert session.get(Dataset, first.plan_metrics).current_version.number == 2
    assert report(catalog, AS_OF).get("datasets.public").value == 5


@given(
    day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)),
    months=st.integers(min_value=1, max_value=36),
)
def test_month_ends_are_consecutive_months_ending_on_the_day(day, months):
    ends = plan.month_ends(day, months)
    assert len(ends) == months
    assert ends[-1] == (day.strftime("%Y-%m"), day)
    for (month, end), (following, _) in itertools.pairwise(ends):
        assert end.strftime("%Y-%m") == month
        assert (end + dt.timedelta(days=1)).strftime("%Y-%m") == following
        assert (end + dt.timedelta(days=1)).day == 1


@pytest.mark.parametrize(
    ("source", "automated"),
    [
        ("feed:12", True),
        (SODA_BODY, True),
        ("soda", True),
        ("0123456789abcdef0123456789abcdef.csv", True),
        ("payroll.csv", False),
        ("feedback.csv", False),
        (None, False),
    ],
)
def test_what_counts_as_an_automated_update(source, automated):
    assert plan.is_automated(source) is automated


runner = CliRunner()


def cli_env(installation: Installation) -> tuple[str, dict[str, str]]:
    url = installation.settings.database_url
    return str(installation.settings.home), {"STATEDATA_DATABASE_URL": url} if url else {}


def test_cli_prints_every_metric_as_table_json_and_csv(catalog):
    home, env = cli_env(catalog)
    result = runner.invoke(app, ["metrics", "--as-of", "2026-11-01", "--home", home], env=env)
    assert result.exit_code == 0, result.output
    assert "Updated in the last 30 days" in result.output and "40.0%" in result.output
    result = runner.invoke(
        app, ["metrics", "--as-of", "2026-11-01", "--format", "json", "--home", home], env=env
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert {m["key"]: m["value"] for m in document["metrics"]}["datasets.public"] == 5
    result = runner.invoke(
        app,
        ["metrics", "--as-of", "2026-08-15", "--agency", "DOT", "--format", "csv", "--home", home],
        env=env,
    )
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(result.output))}
    assert rows["datasets.public"]["value"] == "2"  # C and G
    assert rows["datasets.public"]["agency"] == "DOT"
    result = runner.invoke(app, ["metrics", "--agency", "NOPE", "--home", home], env=env)
    assert result.exit_code == 1
    assert "no agency" in result.output


def test_cli_publishes_the_metric_datasets(catalog):
    home, env = cli_env(catalog)
    result = runner.invoke(
        app, ["metrics", "publish", "--as-of", "2026-11-01", "--home", home], env=env
    )
    assert result.exit_code == 0, result.output
    ids = own_datasets(catalog)
    assert ids["plan_metrics"] in result.output and ids["inventory"] in result.output
    assert "5 rows" in result.output


@given(
    frequency=st.sampled_from([None, "", "irregular", "not updated", *INTERVALS]),
    lasts=st.lists(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=20),
    day=st.dates(dt.date(2000, 1, 1), dt.date(2031, 12, 31)),
)
def test_freshness_of_many_datasets_at_once_is_freshness_one_by_one(frequency, lasts, day):
    from statedata.freshness import evaluate
    from statedata.metrics import snapshot

    status, late = snapshot.evaluate_many(
        frequency, np.array([d.toordinal() for d in lasts], dtype=np.int64), day.toordinal()
    )
    expected = [evaluate(frequency, last, day) for last in lasts]
    assert [snapshot.STATUSES[int(s)] for s in status] == [e.status for e in expected]
    assert late.tolist() == [e.days_late for e in expected]


MONTH_ENDS = [
    dt.date(2024, 1, 31),
    dt.date(2024, 2, 29),
    dt.date(2023, 8, 31),
    dt.date(2025, 12, 31),
]


@given(
    frequency=st.sampled_from(list(INTERVALS)),
    lasts=st.lists(
        st.one_of(
            st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), st.sampled_from(MONTH_ENDS)
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_due_dates_of_many_datasets_are_due_date_one_by_one(frequency, lasts):
    from statedata.freshness import due_date
    from statedata.metrics import snapshot

    found = snapshot._due_ordinals(frequency, np.array([d.toordinal() for d in lasts]))
    assert found.tolist() == [due_date(frequency, last).toordinal() for last in lasts]
