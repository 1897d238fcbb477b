"""The chart builder's server side: the SoQL it writes (dictionary names only), the takeaway
titles and summaries it computes from the data, the bins and correlation it uses, and the
chart view's answers (fragment, page, plain 400s, 404 for what the viewer may not see)."""

from __future__ import annotations

import itertools
import json
import math
import re
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth_headers import basic_auth  # type: ignore[import-not-found]
from conftest import SECRET_TITLE  # type: ignore[import-not-found]
from statedata.errors import InvalidInput
from statedata.web.charts import (
    BINS,
    ChartColumn,
    Choices,
    bin_edges,
    bins_query,
    correlation,
    plan,
)

COLUMNS = [
    ChartColumn("town", "Town", "text"),
    ChartColumn("cases", "Cases", "number"),
    ChartColumn("rate", "Rate", "number"),
    ChartColumn("reported", "Reported", "date"),
]
HX = {"HX-Request": "true"}


def _title(html: str) -> str:
    found = re.search(r'id="chart-takeaway"[^>]*>(.*?)</h3>', html)
    assert found, html
    return found.group(1).replace("&#39;", "'")


def test_plan_writes_backticked_dictionary_names():
    params = plan(Choices("compare", "town", "cases", "sum"), COLUMNS)
    assert params["$select"] == "`town` AS label, sum(`cases`) AS value"
    assert params["$group"] == "`town`"
    over_time = plan(Choices("time", "reported", "", "count", "year"), COLUMNS)
    assert over_time["$select"] == "date_trunc_y(`reported`) AS period, count(*) AS value"


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        (Choices("compare", "nope", "", "count"), "no column 'nope'"),
        (Choices("time", "town", "", "count"), "not a date"),
        (Choices("spread", "town", "", "count"), "not a number"),
        (Choices("compare", "town", "town", "sum"), "not a number column"),
        (Choices("compare", "town", "", "sum"), "Pick the number column"),
        (Choices("parts", "town", "cases", "avg"), "count or a total"),
        (Choices("relation", "cases", "town", "count"), "two number columns"),
        (Choices("pie", "town", "", "count"), "Pick a question"),
        (Choices("compare", "town", "", "median"), "Pick a measure"),
    ],
)
def test_plan_refuses_choices_that_do_not_fit(choices, message):
    with pytest.raises(InvalidInput, match=message):
        plan(choices, COLUMNS)


@given(st.text(max_size=40), st.text(max_size=40), st.sampled_from(["compare", "time", "spread"]))
def test_only_dictionary_names_reach_the_query(x, y, question):
    try:
        params = plan(Choices(question, x, y, "sum"), COLUMNS)
    except InvalidInput:
        return
    names = set(re.findall(r"`([^`]*)`", " ".join(params.values())))
    assert names <= {c.field for c in COLUMNS}


@given(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(0, 1e9, allow_nan=False),
)
def test_bins_cover_the_values_in_equal_round_steps(low, span):
    high = low + span
    edges = bin_edges(low, high)
    assert edges[0] <= low
    assert edges[-1] > high or (span == 0 and edges[-1] > low)
    assert len(edges) - 1 <= BINS + 2
    widths = [b - a for a, b in itertools.pairwise(edges)]
    assert all(math.isclose(w, widths[0], rel_tol=1e-6, abs_tol=1e-6) for w in widths)
    # Only numbers reach the SQL: each edge is written as Python writes a float.
    query = " ".join(bins_query("cases", edges).values())
    assert set(re.findall(r"`([^`]*)`", query)) == {"cases"}
    assert not re.search(r"\d[eE][-+]?\d", query)


def test_correlation_matches_pearson():
    pairs = [(1.0, 2.0), (2.0, 4.5), (3.0, 5.0), (4.0, 9.0), (5.0, 8.0)]
    expected = statistics.correlation([p[0] for p in pairs], [p[1] for p in pairs])
    assert correlation(pairs) == pytest.approx(expected)
    assert correlation([(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]) is None


def test_a_bar_chart_of_counts_with_its_takeaway_table_and_spec(client, portal):
    answer = client.get(f"/d/{portal.towns}/chart?chart=compare&x=county&measure=count", headers=HX)
    assert answer.status_code == 200
    assert _title(answer.text) == "Hartford has the most rows: 3"
    assert "Tolland" in answer.text and "<table>" in answer.text
    spec = json.loads(re.search(r'class="chart-spec">(.*?)</script>', answer.text, re.S).group(1))
    assert spec["data"]["values"][0] == {"label": "Hartford", "value": 3.0, "text": "3"}
    assert "legend" not in json.dumps(spec["layer"][0]["encoding"])  # labelled directly
    assert answer.headers["HX-Push-Url"].endswith("chart=compare&x=county&measure=count#chart")


def test_totals_over_time_and_shares(client, portal):
    monthly = client.get(
        f"/d/{portal.towns}/chart?chart=time&x=reported&measure=sum&y=cases&step=month", headers=HX
    )
    # January 2024: 3 + 12 + 7 + 0 = 22; February: 5 + 9 = 14.
    assert _title(monthly.text) == "Total cases fell from 22 in January 2024 to 14 in February 2024"
    shares = client.get(
        f"/d/{portal.towns}/chart?chart=parts&x=county&measure=sum&y=cases", headers=HX
    )
    # Hartford 7 + 5 + 9 = 21 of 36.
    assert _title(shares.text) == "Hartford has the largest share: 58% of total cases"
    assert "1. Hartford" in shares.text


def test_spread_and_relation(client, portal):
    spread = client.get(f"/d/{portal.towns}/chart?chart=spread&x=cases&measure=count", headers=HX)
    assert spread.status_code == 200
    assert "6 values of cases, from 0 to 12, 6 on average" in spread.text
    assert _title(spread.text) == "Cases is spread out: no range has more than 1 of the 6 rows"
    relation = client.get(
        f"/d/{portal.towns}/chart?chart=relation&x=cases&y=rate&measure=count", headers=HX
    )
    assert relation.status_code == 200
    assert "5 rows, each a point of cases and rate" in relation.text  # one rate is empty


def test_a_choice_that_does_not_fit_is_a_plain_400(client, portal):
    answer = client.get(f"/d/{portal.towns}/chart?chart=spread&x=town&measure=count", headers=HX)
    assert answer.status_code == 400
    assert "town is not a number" in answer.text


def test_without_javascript_the_chart_is_a_whole_page(client, portal):
    answer = client.get(f"/d/{portal.towns}/chart?chart=compare&x=county&measure=count")
    assert answer.status_code == 200
    assert "<h1>Make a chart of Cases by town</h1>" in answer.text
    assert "Hartford has the most rows: 3" in answer.text
    page = client.get(f"/d/{portal.towns}", follow_redirects=True)
    assert 'id="chart-form"' in page.text or 'class="chart-form"' in page.text


def test_a_dataset_the_viewer_may_not_see_draws_nothing(client, portal):
    for ident in (portal.secret, "zzzz-2222"):
        answer = client.get(f"/d/{ident}/chart?chart=compare&x=client&measure=count", headers=HX)
        assert answer.status_code == 404
        assert SECRET_TITLE not in answer.text and "qq-" not in answer.text
    page = client.get(f"/d/{portal.secret}", follow_redirects=True)
    assert "chart-form" not in page.text
    # No rows published: nothing to draw either.
    assert client.get(f"/d/{portal.late}/chart").status_code == 404


def test_staff_of_the_agency_chart_their_protected_data(client, portal):
    answer = client.get(
        f"/d/{portal.secret}/chart?chart=compare&x=diagnosis&measure=count",
        headers={**HX, **basic_auth(portal.staff_key)},
    )
    assert answer.status_code == 200
    assert "qq-private-value has the most rows: 1" in answer.text
