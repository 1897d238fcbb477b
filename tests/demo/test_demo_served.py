"""The demo portal as the public meets it: served on loopback, its data.json valid DCAT-US,
every dataset with rows downloadable, nothing non-public exposed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import httpx
import pytest

from statedata.catalog import service
from statedata.demo import build_demo
from statedata.installation import Installation


@pytest.fixture(scope="module")
def demo_http(
    tmp_path_factory: pytest.TempPathFactory, serve
) -> Iterator[tuple[Installation, httpx.Client]]:
    installation = Installation.open(tmp_path_factory.mktemp("served") / "home")
    build_demo(installation, as_of=dt.date(2026, 11, 1), payroll_rows=5_000)
    server = serve(installation)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield installation, client
    server.stop()
    installation.close()


def test_demo_data_json_is_valid(demo_http, dcat_validator):
    installation, http = demo_http
    catalog = http.get("/data.json").json()
    errors = list(dcat_validator.iter_errors(catalog))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    with installation.catalog.session() as session:
        everything = service.list_datasets(session)
    public = [d for d in everything if d.classification == "public" and d.access_level == "public"]
    assert len(catalog["dataset"]) == len(public) < len(everything)


def test_every_demo_dataset_with_rows_downloads(demo_http):
    installation, http = demo_http
    with installation.catalog.session() as session:
        published = [
            (d.id, [c.field_name for c in d.columns], d.current_version.row_count)
            for d in service.list_datasets(session, classification="public")
            if d.current_version is not None
        ]
    assert len(published) >= 10
    for dataset_id, columns, row_count in published:
        response = http.get(f"/api/v1/datasets/{dataset_id}/rows.csv")
        assert response.status_code == 200, response.text
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == columns
        assert len(rows) - 1 == row_count


def test_non_public_demo_datasets_are_not_served(demo_http):
    installation, http = demo_http
    with installation.catalog.session() as session:
        hidden = [d.id for d in service.list_datasets(session) if d.classification != "public"]
    assert hidden
    listing = http.get("/api/v1/datasets", params={"limit": 1000}).text
    for dataset_id in hidden:
        assert dataset_id not in listing
        assert http.get(f"/api/v1/datasets/{dataset_id}").status_code == 404
