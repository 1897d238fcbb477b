"""Usage summed by owner (metrics/attribution.py): after any mix of counts and changes of a
dataset's agency, classification, access or approval, the sums kept per agency and listing
equal the daily counts summed under each dataset's owner now; the traffic metrics read them."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import Dataset, UsageCount, UsageRollup
from statedata.config import DEFAULT_CATEGORIES
from statedata.metrics import plan
from statedata.metrics.kinds import KINDS, STORY_KINDS
from statedata.metrics.usage import add_counts, insert_counts

DATASETS = ["abcd-2345", "efgh-6789", "jkmn-2345"]
NOT_A_DATASET = "zzzz-9999"
STORY = "stry-abcd"
DAYS = [dt.date(2028, 1, 31), dt.date(2028, 2, 1), dt.date(2028, 2, 29), dt.date(2028, 3, 1)]
AS_OF = dt.date(2028, 3, 1)


def expected(session) -> dict[tuple, int]:  # type: ignore[no-untyped-def]
    """The daily counts summed by day and month under each dataset's owner now, worked out
    from the datasets and daily counts alone."""
    owner = {}
    for dataset_id, agency_id, klass, access, state in session.execute(
        select(
            Dataset.id,
            Dataset.agency_id,
            Dataset.classification,
            Dataset.access_level,
            Dataset.publication_state,
        )
    ):
        listed = klass == "public" and access == "public" and (state or "published") == "published"
        owner[dataset_id] = (agency_id or 0, listed)
    found: Counter[tuple] = Counter()
    for day, dataset_id, kind, count in session.execute(
        select(UsageCount.day, UsageCount.dataset_id, UsageCount.kind, UsageCount.count)
    ):
        who = (0, True) if kind in STORY_KINDS else owner.get(dataset_id, (0, False))
        found[("day", day.isoformat(), kind, *who)] += count
        found[("month", day.isoformat()[:7], kind, *who)] += count
    return {key: n for key, n in found.items() if n}


def kept(session) -> dict[tuple, int]:  # type: ignore[no-untyped-def]
    return {
        (r.span, r.period, r.kind, r.agency_id, r.listed): r.count
        for r in session.scalars(select(UsageRollup))
        if r.count
    }


def _catalog(installation) -> None:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        if session.get(Dataset, DATASETS[0]) is not None:
            return
        service.add_agency(session, "DPH", "Department of Public Health")
        service.add_agency(session, "DOT", "Department of Transportation")
        for dataset_id, code in zip(DATASETS, ["DPH", "DOT", None], strict=True):
            service.create_dataset(
                session,
                DatasetMetadata(title=f"Dataset {dataset_id}"),
                code,
                DEFAULT_CATEGORIES,
                dataset_id=dataset_id,
            )


def _change(installation, what: str, index: int, value) -> None:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        dataset = session.get(Dataset, DATASETS[index])
        if what == "agency":
            dataset.agency_id = service.get_agency(session, value).id if value else None
        else:
            setattr(dataset, what, value)


CHANGES = st.one_of(
    st.tuples(st.just("agency"), st.sampled_from(["DPH", "DOT", None])),
    st.tuples(st.just("classification"), st.sampled_from(["public", "protected"])),
    st.tuples(st.just("access_level"), st.sampled_from(["public", "non-public"])),
    st.tuples(st.just("publication_state"), st.sampled_from(["published", "draft", "pending"])),
)
COUNTS = st.tuples(
    st.sampled_from([*DATASETS, NOT_A_DATASET]),
    st.sampled_from(KINDS),
    st.sampled_from(DAYS),
    st.integers(1, 9),
)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("count"), st.lists(COUNTS, min_size=1, max_size=4)),
        st.tuples(st.just("change"), st.integers(0, len(DATASETS) - 1), CHANGES),
    ),
    max_size=10,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_sums_by_owner_equal_the_daily_counts_after_any_changes(installation, steps):
    _catalog(installation)
    for step in steps:
        if step[0] == "count":
            with installation.catalog.session() as session:
                add_counts(session, [((day, i, kind), n) for i, kind, day, n in step[1]])
        else:
            _, index, (what, value) = step
            _change(installation, what, index, value)
        with installation.catalog.session() as session:
            assert kept(session) == expected(session), step


def test_a_change_rolled_back_moves_nothing(installation):
    _catalog(installation)
    with installation.catalog.session() as session:
        add_counts(session, [((DAYS[0], DATASETS[0], "download"), 4)])
    try:
        with installation.catalog.session() as session:
            session.get(Dataset, DATASETS[0]).classification = "protected"
            session.flush()
            raise RuntimeError("something else failed")
    except RuntimeError:
        pass
    with installation.catalog.session() as session:
        assert kept(session) == expected(session)
        assert kept(session)[("day", DAYS[0].isoformat(), "download", 1, True)] == 4


def test_bulk_counts_and_story_views_are_summed(installation):
    _catalog(installation)
    with installation.catalog.session() as session:
        insert_counts(
            session,
            [
                {"day": DAYS[2], "dataset_id": DATASETS[1], "kind": "api_call", "count": 3},
                {"day": DAYS[1], "dataset_id": STORY, "kind": "story_view", "count": 2},
                {"day": DAYS[1], "dataset_id": NOT_A_DATASET, "kind": "page_view", "count": 5},
            ],
        )
        add_counts(session, [((DAYS[3], STORY, "story_view"), 1)])
    with installation.catalog.session() as session:
        assert kept(session) == expected(session)
        report = plan.compute(session, AS_OF)
    stories = report.get("traffic.story_view")
    assert stories.value == 3
    assert [p["value"] for p in stories.series[-3:]] == [0, 2, 1]
    calls = report.get("traffic.api_call")
    assert calls.value == 3
    assert calls.by_agency == {"DOT": 3}
    # Not a dataset: counted, summed as nobody's and not listed, so no metric counts it.
    assert report.get("traffic.page_view").value == 0


def test_the_traffic_metrics_follow_a_dataset_that_changes_agency(installation):
    _catalog(installation)
    with installation.catalog.session() as session:
        add_counts(session, [((day, DATASETS[0], "page_view"), 2) for day in DAYS])
    with installation.catalog.session() as session:
        assert plan.compute(session, AS_OF).get("traffic.page_view").by_agency == {"DPH": 6}
    _change(installation, "agency", 0, "DOT")
    with installation.catalog.session() as session:
        views = plan.compute(session, AS_OF).get("traffic.page_view")
        assert views.by_agency == {"DOT": 6}
        assert views.value == 6
        assert sum(p["value"] for p in views.series) == 8
    _change(installation, "access_level", 0, "non-public")
    with installation.catalog.session() as session:
        views = plan.compute(session, AS_OF).get("traffic.page_view")
        assert (views.value, views.by_agency) == (0, {})
        assert kept(session) == expected(session)


def test_the_metrics_leave_out_the_datasets_they_are_asked_to(installation):
    _catalog(installation)
    with installation.catalog.session() as session:
        add_counts(
            session,
            [
                ((DAYS[1], DATASETS[0], "download"), 5),
                ((DAYS[1], DATASETS[1], "download"), 7),
                ((DAYS[0], DATASETS[1], "download"), 1),
            ],
        )
    with installation.catalog.session() as session:
        downloads = plan.compute(session, AS_OF, exclude=[DATASETS[1]]).get("traffic.download")
    assert (downloads.value, downloads.by_agency) == (5, {"DPH": 5})
    assert sum(p["value"] for p in downloads.series) == 5


def test_a_day_inside_a_month_counts_that_month_up_to_the_day(installation):
    _catalog(installation)
    with installation.catalog.session() as session:
        add_counts(
            session,
            [
                ((dt.date(2028, 2, 10), DATASETS[0], "api_call"), 2),
                ((dt.date(2028, 2, 20), DATASETS[0], "api_call"), 3),
            ],
        )
    with installation.catalog.session() as session:
        calls = plan.compute(session, dt.date(2028, 2, 15)).get("traffic.api_call")
    assert calls.series[-1] == {"month": "2028-02", "value": 2}
    assert calls.value == 2
