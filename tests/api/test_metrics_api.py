"""The plan metrics over a real server on loopback, on SQLite and PostgreSQL: JSON and CSV, a
past day, one agency, bad input refused with a clear 400, and no dataset named."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from statedata.catalog import DatasetMetadata
from statedata.catalog.models import Dataset, Version
from statedata.ingest import open_table
from statedata.ingest.feeds.runner import FeedTable
from statedata.metrics import UsageCounter
from statedata.storage import NewDataset, publish

AS_OF = "2026-11-01"


@pytest.fixture
def published(installation, agency, write_file) -> dict[str, str]:
    """DPH's daily dataset published on 30 October, updated by a feed on 31 October; a
    protected one; and a monthly one with no agency, last published in March 2015."""
    ids = {}
    for name, code, frequency, classification, day in (
        ("daily", agency, "R/P1D", "public", dt.datetime(2026, 10, 30, 9, tzinfo=dt.UTC)),
        ("secret", agency, "R/P1D", "protected", dt.datetime(2026, 10, 30, 9, tzinfo=dt.UTC)),
        ("old", None, "R/P1M", "public", dt.datetime(2015, 3, 2, 9, tzinfo=dt.UTC)),
    ):
        path = write_file(f"{name}.csv", "town,count\nHartford,3\nSalem,4\n")
        result = publish(
            installation,
            open_table(path),
            new=NewDataset(
                metadata=DatasetMetadata(
                    title=f"The {name} dataset",
                    update_frequency=frequency,
                    classification=classification,
                    access_level="public" if classification == "public" else "non-public",
                ),
                agency_code=code,
            ),
            published_at=day,
        )
        ids[name] = result.dataset_id
    inner = open_table(write_file("feed.csv", "town,count\nHartford,5\n"))
    # The feed runner's own table: its versions record "feed:<id>".
    source = FeedTable(path=inner.path, format=inner.format, inner=inner, feed_id=7)
    publish(
        installation,
        source,
        dataset_id=ids["daily"],
        published_at=dt.datetime(2026, 10, 31, 6, tzinfo=dt.UTC),
    )
    with installation.catalog.session() as session:
        # Created when first published (publish stamps the creation with today).
        for dataset in session.query(Dataset):
            dataset.created_at = min(
                v.created_at for v in session.query(Version).filter_by(dataset_id=dataset.id)
            )
    counter = UsageCounter(installation.catalog)
    for _ in range(4):
        counter.record(ids["daily"], "page_view", dt.date(2026, 10, 20))
    counter.record(ids["daily"], "download", dt.date(2026, 10, 21))
    counter.record(ids["secret"], "page_view", dt.date(2026, 10, 21))
    counter.flush()
    return ids


def values(document: dict) -> dict:
    return {m["key"]: m["value"] for m in document["metrics"]}


def test_metrics_as_json_on_a_day(published, http):
    answer = http.get("/api/v1/metrics", params={"as_of": AS_OF})
    assert answer.status_code == 200
    document = answer.json()
    assert document["as_of"] == AS_OF
    found = values(document)
    assert found["datasets.public"] == 2
    assert found["updates.last_30_days"] == 0.5
    assert found["updates.not_since_2015"] == 0.5
    assert found["updates.automated"] == 0.5
    assert found["metadata.no_agency"] == 0.5
    assert found["traffic.page_view"] == 4  # the protected dataset's view is not counted
    assert found["traffic.download"] == 1
    metric = next(m for m in document["metrics"] if m["key"] == "updates.on_schedule")
    assert metric["goal"] == 2 and metric["unit"] == "share" and metric["definition"]
    assert metric["by_agency"] == {"DPH": 1.0, "(no agency)": 0.0}
    assert [p["month"] for p in metric["series"]][-2:] == ["2026-10", "2026-11"]
    # No dataset is named: not the public ones, and never the protected one.
    assert not any(did in answer.text for did in published.values())


def test_a_past_day_and_one_agency(published, http):
    before = values(http.get("/api/v1/metrics", params={"as_of": "2026-10-30"}).json())
    assert before["updates.automated"] == 0.0  # the feed ran on the 31st
    assert before["datasets.public"] == 2
    earlier = values(http.get("/api/v1/metrics", params={"as_of": "2020-01-01"}).json())
    assert earlier["datasets.public"] == 1
    only = http.get("/api/v1/metrics", params={"as_of": AS_OF, "agency": "dph"}).json()
    assert only["agency"] == "DPH"
    assert values(only)["datasets.public"] == 1


def test_metrics_as_csv(published, http):
    answer = http.get("/api/v1/metrics.csv", params={"as_of": AS_OF, "since_year": 2016})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "plan-metrics-2026-11-01.csv" in answer.headers["content-disposition"]
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(answer.text))}
    assert rows["datasets.public"]["value"] == "2"
    assert rows["updates.not_since_2016"]["value"] == "0.5"
    assert rows["updates.not_since_2016"]["goal"] == "2"
    assert rows["requests.days_to_fulfil"]["value"] == ""
    assert not any(did in answer.text for did in published.values())


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"as_of": "2026-13-01"}, "date"),
        ({"as_of": "yesterday"}, "date"),
        ({"agency": "NOPE"}, "NOPE"),
        ({"since_year": "1800"}, "1900"),
        ({"since_year": "3000", "as_of": AS_OF}, "year"),
    ],
)
def test_bad_input_is_a_clear_400(published, http, params, word):
    for path in ("/api/v1/metrics", "/api/v1/metrics.csv"):
        answer = http.get(path, params=params)
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["code"] in ("request.invalid", "input.invalid")
        assert word in body["message"]


def test_metrics_need_no_sign_in_and_are_listed_in_the_openapi(installation, http):
    assert http.get("/api/v1/metrics").status_code == 200
    paths = http.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/metrics" in paths and "/api/v1/metrics.csv" in paths
