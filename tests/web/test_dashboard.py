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


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self, now):  # type: ignore[no-untyped-def]
        self.now = now

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def _counting_reports(monkeypatch) -> list:  # type: ignore[no-untyped-def]
    """Every plan report worked out, by the page or by the API, counted by its day."""
    from statedata.api import metrics as api_metrics
    from statedata.metrics import publish
    from statedata.web import dashboard

    asked: list = []
    real = publish.report

    def counted(installation, as_of=None, *args, **options):  # type: ignore[no-untyped-def]
        asked.append(as_of)
        return real(installation, as_of, *args, **options)

    monkeypatch.setattr(dashboard, "report", counted)
    monkeypatch.setattr(api_metrics, "report", counted)
    return asked


def test_the_dashboard_keeps_its_figures_for_a_while(client, portal, monkeypatch):  # type: ignore[no-untyped-def]
    import datetime as dt

    from statedata.web.dashboard import PageFigures

    asked = _counting_reports(monkeypatch)
    start = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    clock = _Clock(start)
    client.app.state.metrics_page = PageFigures(60, clock=clock)

    first = client.get("/metrics")
    assert first.status_code == 200 and "Figures as of 12:00 UTC." in first.text
    clock.now = start + dt.timedelta(seconds=59)
    second = client.get("/metrics")
    assert second.status_code == 200
    assert len(asked) == 1  # worked out once for both views
    assert "Figures as of 12:00 UTC." in second.text

    clock.now = start + dt.timedelta(seconds=61)
    assert "Figures as of 12:01 UTC." in client.get("/metrics").text
    assert len(asked) == 2  # the window is over

    # The API keeps nothing: each call works the report out.
    assert client.get("/api/v1/metrics").status_code == 200
    assert client.get("/api/v1/metrics").status_code == 200
    assert len(asked) == 4


def test_a_new_day_works_the_figures_out_again(client, portal, monkeypatch):  # type: ignore[no-untyped-def]
    import datetime as dt

    from statedata.web.dashboard import PageFigures

    asked = _counting_reports(monkeypatch)
    late = dt.datetime.now(dt.UTC).replace(hour=23, minute=59, second=50, microsecond=0)
    clock = _Clock(late - dt.timedelta(days=1))
    client.app.state.metrics_page = PageFigures(60, clock=clock)
    assert client.get("/metrics").status_code == 200
    clock.now = late - dt.timedelta(days=1) + dt.timedelta(seconds=20)  # the next day
    assert client.get("/metrics").status_code == 200
    assert asked == [(late - dt.timedelta(days=1)).date(), late.date()]


def test_no_keeping_with_metrics_page_seconds_zero(client, portal, monkeypatch):  # type: ignore[no-untyped-def]
    from statedata.web.dashboard import PageFigures

    asked = _counting_reports(monkeypatch)
    client.app.state.metrics_page = PageFigures(0)
    client.get("/metrics")
    client.get("/metrics")
    assert len(asked) == 2
