"""The plan metrics dashboard's text: values as people read them, the takeaway sentence of
each series, and the page with every metric's definition and goal, tables by month and by
agency, on both databases."""

from __future__ import annotations

import re

from statedata.web.dashboard import shown, trend


def test_values_as_people_read_them():
    assert shown(0.2821, "share") == "28%"
    assert shown(2124.5, "days") == "2,124.5 days"
    assert shown(76.0, "score") == "76 of 100"
    assert shown(1234, "count") == "1,234"
    assert shown(None, "count") == "not measured"


def test_the_takeaway_of_a_series():
    series = [{"month": "2026-01", "value": 0.5}, {"month": "2026-02", "value": None}]
    assert trend(series, "share") == ""
    series.append({"month": "2026-03", "value": 0.25})
    assert trend(series, "share") == "Down from 50% in January 2026 to 25% in March 2026."
    assert trend([{"month": "2025-12", "value": 3}, {"month": "2026-01", "value": 3}], "count") == (
        "The same in January 2026 as in December 2025: 3."
    )


def test_the_dashboard_page(client, portal):  # type: ignore[no-untyped-def]
    answer = client.get("/metrics")
    assert answer.status_code == 200
    text = answer.text
    assert "Goal 1: A more relevant, easier to use portal" in text
    headings = re.findall(r'<h3 id="[^"]+">(.*?)</h3>', text)
    api = client.get("/api/v1/metrics").json()
    assert len(headings) == len(api["metrics"])
    public = next(m for m in api["metrics"] if m["key"] == "datasets.public")
    assert f"Public datasets: {public['value']}" in headings
    assert public["definition"] in text.replace("&#39;", "'")
    assert "The numbers by agency" in text and "The numbers by month" in text
    # Metrics count public datasets only: the protected one is not named anywhere.
    from conftest import SECRET_TITLE  # type: ignore[import-not-found]

    assert SECRET_TITLE not in text
