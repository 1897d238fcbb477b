"""Goal 3's metrics: percentiles checked by hand and against numpy, stage times that add up to
the whole, and the catalog's figures as they stood on a given day."""

from __future__ import annotations

import datetime as dt
import math
import secrets

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statedata.access.accounts import actor_for, add_user, get_user
from statedata.catalog import service
from statedata.catalog.sharing import Agreement, AgreementParty, DataRequest
from statedata.requests import data_requests as dr
from statedata.requests import metrics
from statedata.requests.data_requests import PATH, Stage

# Percentiles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([10.0], 50, 10.0),
        ([10.0], 90, 10.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        # position (4 - 1) * 0.9 = 2.7: 3 + 0.7 * (4 - 3)
        ([4.0, 1.0, 3.0, 2.0], 90, 3.7),
        # position 4 * 0.9 = 3.6: 15 + 0.6 * (31 - 15)
        ([1.0, 3.0, 7.0, 15.0, 31.0], 90, 24.6),
        ([1.0, 3.0, 7.0, 15.0, 31.0], 50, 7.0),
        ([5.0, 5.0, 5.0, 100.0], 50, 5.0),
        # ten values 1..10: position 8.1 -> 9.1
        ([float(n) for n in range(1, 11)], 90, 9.1),
        ([2.0, 8.0], 0, 2.0),
        ([2.0, 8.0], 100, 8.0),
    ],
)
def test_percentiles_by_hand(values, q, expected):
    assert metrics.percentile(values, q) == pytest.approx(expected)


def test_no_values_no_percentile():
    assert metrics.percentile([], 50) is None
    with pytest.raises(ValueError):
        metrics.percentile([1.0], 101)


DAYS = st.lists(
    st.floats(min_value=0, max_value=5_000, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)


@given(values=DAYS, q=st.floats(min_value=0, max_value=100))
def test_percentiles_agree_with_numpy_and_stay_in_range(values, q):
    got = metrics.percentile(values, q)
    assert got == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-9)
    median = metrics.percentile(values, 50)
    assert min(values) <= median <= max(values)
    assert median <= metrics.percentile(values, 90) + 1e-9


# One request's timing ------------------------------------------------------------------------

START = dt.datetime(2024, 1, 3, 9, 0, tzinfo=dt.UTC)


def moves_for(days_in_stage: list[float]) -> list[tuple[str, dt.datetime]]:
    """A request's moves from a draft through every stage, spending the given days in each
    timed stage (submitted to pre-publication review)."""
    moves = [("draft", START - dt.timedelta(days=30))]
    at = START
    for stage, days in zip(PATH[1:], [*days_in_stage, 0.0], strict=True):
        moves.append((stage.value, at))
        at += dt.timedelta(days=days)
    return moves


@given(
    st.lists(
        st.floats(min_value=0, max_value=400, allow_nan=False),
        min_size=len(metrics.TIMED_STAGES),
        max_size=len(metrics.TIMED_STAGES),
    )
)
def test_stage_times_add_up_to_the_whole(days_in_stage):
    timing = metrics.fulfilment(moves_for(days_in_stage), ["DPH"])
    assert timing is not None
    assert list(timing.stages) == list(metrics.TIMED_STAGES)
    assert math.isclose(sum(timing.stages.values()), timing.end_to_end, abs_tol=1e-6)
    for stage, days in zip(metrics.TIMED_STAGES, days_in_stage, strict=True):
        # Times are kept to the microsecond, so a stage's days come back to within that.
        assert math.isclose(timing.stages[stage], days, abs_tol=1e-6)
    assert "draft" not in timing.stages  # the requester's own drafting time is not counted


def test_an_unfinished_request_has_no_fulfilment_time():
    moves = moves_for([1, 2, 3, 4, 5, 6])[:-1]
    assert metrics.fulfilment(moves) is None
    assert metrics.fulfilment([("draft", START), ("withdrawn", START)]) is None


# The catalog's figures -----------------------------------------------------------------------


@pytest.fixture
def people(installation) -> None:
    with installation.catalog.session() as session:
        for code in ("DPH", "DSS"):
            service.add_agency(session, code, f"Agency {code}")
        add_user(session, "ana", "analyst")
        add_user(session, "chief", "cdo")


FORM = {
    "organisation": "OEC",
    "title": "Outcomes",
    "purpose": "Measure outcomes.",
    "planned_use": "Aggregate tables.",
    "who_has_access": "Two analysts.",
    "data_elements": [{"elements": ["x"], "level": "aggregate"}],
    "retention_period": "One year",
    "destruction_method": "Deletion",
    "legal_basis": "C.G.S. § 4-67n",
}


def finished(installation, agencies: list[str], start: dt.datetime, days: list[int]) -> int:
    """A request walked through every stage by the real workflow, then its moves dated as if
    it had spent `days` in each timed stage from `start`."""
    with installation.catalog.session() as session:
        ana = actor_for(session, get_user(session, "ana"))
        chief = actor_for(session, get_user(session, "chief"))
        agreement = Agreement(
            reference=f"AG-{secrets.token_hex(4)}",
            title="t",
            kind="mou",
            status="executed",
            created_by="chief",
        )
        session.add(agreement)
        session.flush()
        request = dr.create(session, ana, {**FORM, "agencies": agencies})
        dr.move(session, ana, request.id, Stage.SUBMITTED)
        for stage in PATH[2:]:
            link = agreement.id if stage == Stage.AGREEMENT_EXECUTED else None
            dr.move(session, chief, request.id, stage, None, link)
        at = start
        for event, spent in zip(request.events[1:], [*days, 0], strict=True):
            event.occurred_at = at
            at += dt.timedelta(days=spent)
        request.submitted_at = start
        request.closed_at = request.events[-1].occurred_at
        return request.id


def test_time_to_fulfil_by_agency_and_month(installation, people):
    # Days in: submitted, legal review, agreement executed, data matched, analysis, pre-pub.
    finished(installation, ["DPH"], dt.datetime(2024, 1, 1, tzinfo=dt.UTC), [1, 2, 3, 4, 5, 5])
    finished(
        installation, ["DPH", "DSS"], dt.datetime(2024, 1, 1, tzinfo=dt.UTC), [2, 60, 4, 4, 5, 5]
    )
    finished(installation, ["DSS"], dt.datetime(2024, 2, 1, tzinfo=dt.UTC), [3, 90, 10, 7, 5, 5])
    # Completed after the day measured: not counted.
    finished(installation, ["DPH"], dt.datetime(2024, 6, 1, tzinfo=dt.UTC), [1, 1, 1, 1, 1, 1])

    with installation.catalog.session() as session:
        result = metrics.time_to_fulfil(session, dt.date(2024, 5, 31))
        later = metrics.time_to_fulfil(session, dt.date(2024, 12, 31))
        before = metrics.time_to_fulfil(session, dt.date(2023, 12, 31))
    overall = result["overall"]
    # End to end: 20, 80, 120 days.
    assert overall["end_to_end"] == {"count": 3, "median": 80.0, "p90": 112.0}
    assert overall["stages"]["legal_review"] == {"count": 3, "median": 60.0, "p90": 84.0}
    assert overall["stages"]["submitted"] == {"count": 3, "median": 2.0, "p90": 2.8}
    assert set(overall["stages"]) == set(metrics.TIMED_STAGES)

    by_agency = result["by_agency"]
    assert by_agency["DPH"]["end_to_end"] == {"count": 2, "median": 50.0, "p90": 74.0}
    assert by_agency["DSS"]["end_to_end"] == {"count": 2, "median": 100.0, "p90": 116.0}
    # Completed on 2024-01-21 and 2024-03-21 (80 days), 2024-05-31 (120 days).
    assert result["by_month"]["2024-01"]["end_to_end"]["count"] == 1
    assert result["by_month"]["2024-03"]["end_to_end"]["median"] == 80.0
    assert result["by_month"]["2024-05"]["end_to_end"]["median"] == 120.0
    assert set(result["by_month"]) == {"2024-01", "2024-03", "2024-05"}

    assert later["overall"]["end_to_end"]["count"] == 4
    assert later["overall"]["end_to_end"]["median"] == 50.0
    assert before["overall"]["end_to_end"] == {"count": 0, "median": None, "p90": None}


def _agreement(session, reference: str, status: str, parties: int, created: dt.datetime) -> None:
    row = Agreement(
        reference=reference,
        title=reference,
        kind="mou",
        status=status,
        created_by="chief",
        created_at=created,
        executed_at=created + dt.timedelta(days=30) if status == "executed" else None,
    )
    row.parties = [AgreementParty(organisation=f"P{n}", role="provider") for n in range(parties)]
    session.add(row)


def test_share_of_multi_party_agreements(installation):
    day = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    with installation.catalog.session() as session:
        _agreement(session, "A1", "executed", 2, day)
        _agreement(session, "A2", "executed", 3, day)
        _agreement(session, "A3", "executed", 5, day)
        _agreement(session, "A4", "draft", 4, day)
        _agreement(session, "A5", "expired", 2, day)
        _agreement(session, "A6", "executed", 3, day + dt.timedelta(days=300))  # later
        _agreement(session, "A7", "draft", 0, day)
    with installation.catalog.session() as session:
        share = metrics.multi_party_share(session, dt.date(2024, 6, 30))
    assert (share["total"], share["multi_party"], share["share"]) == (6, 3, 0.5)
    assert share["executed"] == {"total": 3, "multi_party": 2, "share": 0.67}
    assert share["by_status"]["draft"] == {"total": 2, "multi_party": 1, "share": 0.5}
    assert share["by_status"]["expired"] == {"total": 1, "multi_party": 0, "share": 0.0}
    with installation.catalog.session() as session:
        # Executed a month after it was made: on 2024-03-15 none was executed yet.
        early = metrics.multi_party_share(session, dt.date(2024, 3, 15))
        none = metrics.multi_party_share(session, dt.date(2020, 1, 1))
    assert early["executed"] == {"total": 0, "multi_party": 0, "share": None}
    assert none["total"] == 0 and none["share"] is None


def test_requester_satisfaction(installation, people):
    day = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    keys = [finished(installation, ["DPH"], day, [1, 1, 1, 1, 1, n]) for n in range(1, 5)]
    with installation.catalog.session() as session:
        ana = actor_for(session, get_user(session, "ana"))
        for key, score in zip(keys[:3], (5, 4, 4), strict=True):
            dr.rate(session, ana, key, {"score": score})
        # A request not completed by the day measured is not counted.
        session.get(DataRequest, keys[2]).closed_at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with installation.catalog.session() as session:
        result = metrics.satisfaction(session, dt.date(2024, 12, 31))
        everything = metrics.goal_three(session, dt.date(2025, 6, 1))
    assert result == {
        "count": 2,
        "mean": 4.5,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
    }
    assert everything["satisfaction"]["count"] == 3
    assert everything["satisfaction"]["mean"] == 4.33
    assert everything["as_of"] == "2025-06-01"
    assert everything["time_to_fulfil"]["overall"]["end_to_end"]["count"] == 4
