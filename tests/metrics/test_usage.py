"""Usage counting: per dataset, day and kind; batched; nothing about the caller kept."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import inspect, select

from statedata.catalog import DatasetMetadata
from statedata.catalog.models import UsageCount
from statedata.ingest import open_table
from statedata.metrics import UsageCounter, usage_totals
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
        with httpx.Client(base_url=server.url) as http:
            for _ in range(3):
                assert http.get(f"/api/v1/datasets/{dataset_id}/rows.csv").status_code == 200
            assert http.get(f"/api/v1/datasets/{dataset_id}").status_code == 200
            assert http.get("/api/v1/datasets/zzzz-zzzz").status_code == 404
    finally:
        server.stop()  # the app's shutdown writes what is pending
    with installation.catalog.session() as session:
        assert usage_totals(session, dataset_id) == {"api_call": 1, "download": 3, "page_view": 0}
        assert usage_totals(session, "zzzz-zzzz")["api_call"] == 0
