"""The feeds API over a real server on loopback, on SQLite and PostgreSQL: attaching, listing,
changing, running and removing feeds as the agency's staff and the CDO; 404 for datasets the
caller cannot see and 403 for those they can see but not publish to; 400s that name the field;
and a source's password in no answer."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from statedata.access.accounts import add_user, create_key
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import AuditEvent, Version
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish

PASSWORD = "Pa55-w0rd-XYZ"


@pytest.fixture
def staff(installation, agency) -> dict[str, dict[str, str]]:
    headers = {}
    with installation.catalog.session() as session:
        service.add_agency(session, "DOT", "Department of Transportation")
        for name, role, code in (
            ("chief", "cdo", None),
            ("dph.officer", "data_officer", "DPH"),
            ("dph.publisher", "publisher", "DPH"),
            ("dot.officer", "data_officer", "DOT"),
            ("ana.lyst", "analyst", None),
        ):
            add_user(session, name, role, code)
            key, secret = create_key(session, name)
            headers[name] = {"Authorization": f"Bearer {key.key_id}:{secret}"}
    return headers


@pytest.fixture
def datasets(installation, agency, write_file, tmp_path) -> dict[str, str]:
    """A public and a protected DPH dataset, each with a first version; folder feeds may
    read under the test's folder, and SQL feeds query the database named `agency`."""
    installation.settings.feed_folder_root = tmp_path
    installation.settings.feed_databases = {
        "agency": f"postgresql://reader:{PASSWORD}@127.0.0.1:1/agency"
    }
    made = {}
    for name, classification in (("public", "public"), ("protected", "protected")):
        path = write_file(f"{name}.csv", "town,cases\nAndover,1\nBethel,2\n")
        metadata = DatasetMetadata(title=f"Cases ({name})", classification=classification)
        made[name] = publish(
            installation, open_table(path), new=NewDataset(metadata, "DPH")
        ).dataset_id
    return made


def folder_body(tmp_path, **changes: object) -> dict:
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)
    body = {"kind": "folder", "source": {"path": str(drop)}, "schedule": "0 6 * * *"}
    body.update(changes)
    return body


def sql_body() -> dict:
    return {
        "kind": "sql",
        "source": {"database": "agency", "query": "SELECT town, cases FROM cases"},
        "schedule": "*/30 * * * *",
    }


def test_agency_staff_attach_run_and_remove_a_feed(http, installation, staff, datasets, tmp_path):
    dataset_id = datasets["public"]
    made = http.post(
        f"/api/v1/datasets/{dataset_id}/feeds",
        json=folder_body(tmp_path, transforms=[{"drop": ["cases"]}, {"rename": {"town": "name"}}]),
        headers=staff["dph.publisher"],
    )
    assert made.status_code == 201, made.text
    feed = made.json()
    assert feed["dataset_id"] == dataset_id and feed["kind"] == "folder"
    assert feed["enabled"] is True and feed["next_run_at"] and feed["recent_runs"] == []
    assert feed["created_by"] == "dph.publisher"

    listed = http.get(f"/api/v1/datasets/{dataset_id}/feeds", headers=staff["dph.officer"])
    assert listed.status_code == 200 and [f["id"] for f in listed.json()["results"]] == [feed["id"]]

    changed = http.patch(
        f"/api/v1/feeds/{feed['id']}", json={"transforms": []}, headers=staff["dph.officer"]
    )
    assert changed.status_code == 200 and changed.json()["transforms"] == []

    (tmp_path / "drop" / "cases.csv").write_text("town,cases\nAndover,5\n")
    ran = http.post(f"/api/v1/feeds/{feed['id']}/run", headers=staff["dph.publisher"])
    assert ran.status_code == 200, ran.text
    assert ran.json()["status"] == "succeeded" and ran.json()["version"] == 2
    assert ran.json()["trigger"] == "manual"
    with installation.catalog.session() as session:
        version = session.scalar(
            select(Version).where(Version.dataset_id == dataset_id, Version.number == 2)
        )
        assert version.source == f"feed:{feed['id']}"

    runs = http.get(f"/api/v1/feeds/{feed['id']}/runs", headers=staff["chief"])
    assert runs.status_code == 200 and [r["status"] for r in runs.json()["results"]] == [
        "succeeded"
    ]
    shown = http.get(f"/api/v1/feeds/{feed['id']}", headers=staff["chief"]).json()
    assert shown["last_status"] == "succeeded" and len(shown["recent_runs"]) == 1

    removed = http.delete(f"/api/v1/feeds/{feed['id']}", headers=staff["dph.officer"])
    assert removed.status_code == 204
    assert http.get(f"/api/v1/feeds/{feed['id']}", headers=staff["chief"]).status_code == 404
    with installation.catalog.session() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("feed.%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["feed.create", "feed.update", "feed.publish", "feed.delete"]


def test_disabling_a_feed_takes_it_off_the_schedule(http, staff, datasets, tmp_path):
    feed = http.post(
        f"/api/v1/datasets/{datasets['public']}/feeds",
        json=folder_body(tmp_path),
        headers=staff["dph.officer"],
    ).json()
    off = http.patch(f"/api/v1/feeds/{feed['id']}", json={"enabled": False}, headers=staff["chief"])
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert off.json()["next_run_at"] is None
    on = http.patch(f"/api/v1/feeds/{feed['id']}", json={"enabled": True}, headers=staff["chief"])
    assert on.json()["next_run_at"] is not None


@pytest.mark.parametrize(
    ("who", "which", "status"),
    [
        ("dot.officer", "public", 403),
        ("ana.lyst", "public", 403),
        ("dot.officer", "protected", 404),
        ("ana.lyst", "protected", 404),
        (None, "public", 401),
        (None, "protected", 401),
    ],
)
def test_others_may_not_see_or_touch_feeds(http, staff, datasets, tmp_path, who, which, status):
    dataset_id = datasets[which]
    feed = http.post(
        f"/api/v1/datasets/{dataset_id}/feeds",
        json=folder_body(tmp_path),
        headers=staff["dph.officer"],
    ).json()
    headers = staff[who] if who else {}
    attempts = [
        http.get(f"/api/v1/datasets/{dataset_id}/feeds", headers=headers),
        http.post(
            f"/api/v1/datasets/{dataset_id}/feeds", json=folder_body(tmp_path), headers=headers
        ),
        http.get(f"/api/v1/feeds/{feed['id']}", headers=headers),
        http.patch(f"/api/v1/feeds/{feed['id']}", json={"enabled": False}, headers=headers),
        http.post(f"/api/v1/feeds/{feed['id']}/run", headers=headers),
        http.get(f"/api/v1/feeds/{feed['id']}/runs", headers=headers),
        http.delete(f"/api/v1/feeds/{feed['id']}", headers=headers),
    ]
    assert [a.status_code for a in attempts] == [status] * len(attempts)
    if status == 404:
        # The same answer as for a feed that does not exist.
        missing = http.get("/api/v1/feeds/99999", headers=headers).json()
        assert attempts[2].json()["code"] == missing["code"] == "feed.missing"
    shown = http.get(f"/api/v1/feeds/{feed['id']}", headers=staff["dph.officer"]).json()
    assert shown["enabled"] is True and shown["recent_runs"] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"schedule": "every morning"}, "schedule"),
        ({"kind": "ftp"}, "kind"),
        ({"mode": "upsert"}, "mode"),
        ({"mode": "merge"}, "mode"),
        ({"transforms": [{"cast": {"cases": "money"}}]}, "transforms"),
        ({"source": {"path": "/no/such/folder"}}, "source"),
        ({"source": {"path": "/tmp"}}, "source.path: the folder is outside"),
        ({"source": {"path": "/tmp", "password": "x"}}, "password"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_definitions_are_refused_naming_the_field(
    http, installation, staff, datasets, tmp_path, changes, field
):
    answer = http.post(
        f"/api/v1/datasets/{datasets['public']}/feeds",
        json=folder_body(tmp_path, **changes),
        headers=staff["dph.officer"],
    )
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["message"]
    with installation.catalog.session() as session:
        assert not session.scalars(
            select(AuditEvent).where(AuditEvent.action == "feed.create")
        ).all()


def test_a_sources_password_is_in_no_answer(http, installation, staff, datasets):
    dataset_id = datasets["protected"]
    officer = staff["dph.officer"]
    made = http.post(f"/api/v1/datasets/{dataset_id}/feeds", json=sql_body(), headers=officer)
    assert made.status_code == 201, made.text
    feed_id = made.json()["id"]
    assert made.json()["source"] == {
        "kind": "sql",
        "database": "agency",
        "query": "SELECT town, cases FROM cases",
    }
    answers = [
        made,
        http.get(f"/api/v1/datasets/{dataset_id}/feeds", headers=officer),
        http.get(f"/api/v1/feeds/{feed_id}", headers=officer),
        http.patch(f"/api/v1/feeds/{feed_id}", json={"schedule": "0 7 * * *"}, headers=officer),
        http.post(f"/api/v1/feeds/{feed_id}/run", headers=officer),
        http.get(f"/api/v1/feeds/{feed_id}/runs", headers=officer),
        http.get("/api/v1/notices", headers=officer),
    ]
    for answer in answers:
        assert answer.status_code == 200 or answer.status_code == 201, answer.text
        assert PASSWORD not in answer.text
    assert answers[4].json()["status"] == "failed"
    with installation.catalog.session() as session:
        details = json.dumps([e.detail for e in session.scalars(select(AuditEvent))], default=str)
    assert PASSWORD not in details

    # Changing the source keeps it masked too.
    changed = http.patch(
        f"/api/v1/feeds/{feed_id}",
        json={"source": {**sql_body()["source"], "query": "SELECT 1 AS town"}},
        headers=officer,
    )
    assert changed.status_code == 200 and PASSWORD not in changed.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "http", "source": {"url": "http://169.254.169.254/latest/meta-data/"}}, "url"),
        ({"kind": "http", "source": {"url": "http://127.0.0.1:5432/"}}, "url"),
        ({"kind": "http", "source": {"url": "http://localhost/api/v1/datasets"}}, "url"),
        (
            {"kind": "soda", "source": {"portal": "http://10.0.0.9", "dataset": "abcd-2345"}},
            "portal",
        ),
        (
            {
                "kind": "sql",
                "source": {"database_url": "sqlite:////srv/x.sqlite", "query": "SELECT 1"},
            },
            "database_url",
        ),
        ({"kind": "sql", "source": {"database": "catalog", "query": "SELECT 1"}}, "database"),
    ],
)
def test_sources_that_reach_inside_the_server_are_refused(
    http, installation, staff, datasets, body, field
):
    answer = http.post(
        f"/api/v1/datasets/{datasets['public']}/feeds",
        json={**body, "schedule": "0 6 * * *"},
        headers=staff["dph.officer"],
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "feed.source_not_allowed"
    assert answer.json()["message"].startswith(f"source.{field}: ")
    with installation.catalog.session() as session:
        assert not session.scalars(
            select(AuditEvent).where(AuditEvent.action == "feed.create")
        ).all()


def test_the_portals_own_address_is_refused_unless_the_operator_allows_it(
    http, live_server, installation, staff, datasets
):
    officer = staff["dph.officer"]
    own = {
        "kind": "http",
        "source": {"url": f"{live_server.url}/api/v1/feeds/1"},
        "schedule": "0 6 * * *",
    }
    refused = http.post(f"/api/v1/datasets/{datasets['public']}/feeds", json=own, headers=officer)
    assert refused.status_code == 400 and refused.json()["code"] == "feed.source_not_allowed"

    installation.settings.feed_allowed_hosts = ["127.0.0.1"]
    public = f"{live_server.url}/resource/{datasets['public']}.csv"
    made = http.post(
        f"/api/v1/datasets/{datasets['public']}/feeds",
        json={**own, "source": {"url": public}},
        headers=officer,
    )
    assert made.status_code == 201, made.text
    installation.settings.feed_allowed_hosts = []
    # A change to an internal address is refused and the feed keeps its source.
    changed = http.patch(
        f"/api/v1/feeds/{made.json()['id']}",
        json={"source": {"url": "http://169.254.169.254/"}},
        headers=officer,
    )
    assert changed.status_code == 400 and changed.json()["code"] == "feed.source_not_allowed"
    kept = http.get(f"/api/v1/feeds/{made.json()['id']}", headers=officer).json()
    assert kept["source"]["url"] == public
