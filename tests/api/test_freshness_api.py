"""Freshness over HTTP: the report shows only what the caller may see; retiring needs the
agency's data officer; the register and the dataset's own freshness answer."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from auth_headers import basic_auth  # type: ignore[import-not-found]
from statedata.access.accounts import add_user, create_key
from statedata.catalog import DatasetMetadata, service


def _client(url: str, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=url, headers=basic_auth(key), timeout=30)


@pytest.fixture
def portal(installation, agency, live_server):
    ids = {}
    with installation.catalog.session() as session:
        for title, frequency, classification in [
            ("Daily counts", "daily", "public"),
            ("Case notes", "weekly", "protected"),
        ]:
            dataset = service.create_dataset(
                session,
                DatasetMetadata(
                    title=title, update_frequency=frequency, classification=classification
                ),
                agency,
                installation.settings.categories,
            )
            dataset.created_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            ids[title] = dataset.id
        keys = {}
        for name, role in [("olivia", "data_officer"), ("pat", "publisher")]:
            add_user(session, name, role, agency)
            key, secret = create_key(session, name)
            keys[name] = _client(live_server.url, f"{key.key_id}:{secret}")
    keys["public"] = _client(live_server.url)
    return ids, keys


def test_the_report_shows_the_public_only_what_is_public(portal):
    ids, who = portal
    public = who["public"].get("/api/v1/freshness", params={"as_of": "2026-03-05"}).json()
    assert [r["id"] for r in public["results"]] == [ids["Daily counts"]]
    assert public["results"][0]["status"] == "stale"
    staff = who["pat"].get("/api/v1/freshness", params={"as_of": "2026-03-05"}).json()
    assert {r["id"] for r in staff["results"]} == set(ids.values())
    assert staff["summary"]["stale"] == 2 and staff["summary"]["due"] == 0


def test_a_datasets_freshness_and_quality(portal):
    ids, who = portal
    daily = ids["Daily counts"]
    fresh = who["public"].get(f"/api/v1/datasets/{daily}/freshness?as_of=2026-01-01").json()
    assert (fresh["status"], fresh["due_date"]) == ("due", "2026-01-02")
    quality = who["public"].get(f"/api/v1/datasets/{daily}/quality").json()
    assert 0 <= quality["score"] < 100 and quality["criteria"][0]["key"] == "description"
    hidden = who["public"].get(f"/api/v1/datasets/{ids['Case notes']}/quality")
    assert hidden.status_code == 404


def test_retiring_needs_the_data_officer_and_fills_the_register(portal):
    ids, who = portal
    daily = ids["Daily counts"]
    body = {"reason": "outdated", "explanation": "Replaced by the weekly file."}
    assert who["public"].post(f"/api/v1/datasets/{daily}/retire", json=body).status_code == 401
    assert who["pat"].post(f"/api/v1/datasets/{daily}/retire", json=body).status_code == 403
    bad = who["olivia"].post(f"/api/v1/datasets/{daily}/retire", json={"reason": "meh"})
    assert bad.status_code == 400
    done = who["olivia"].post(f"/api/v1/datasets/{daily}/retire", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "deprecated"
    register = who["public"].get(f"/resource/{done.json()['register']}.json").json()
    assert register[0]["dataset_id"] == daily
    assert register[0]["explanation"] == "It is out of date: Replaced by the weekly file."
    shown = who["public"].get(f"/api/v1/datasets/{daily}/freshness").json()
    assert shown["retirement"]["reason"] == "outdated"
    again = who["olivia"].post(f"/api/v1/datasets/{daily}/retire", json=body)
    assert again.status_code == 409


def test_priorities_are_for_staff(portal):
    _, who = portal
    assert who["public"].get("/api/v1/priorities").status_code == 401
    listed = who["olivia"].get("/api/v1/priorities").json()["results"]
    assert {p["title"] for p in listed} == {"Daily counts", "Case notes"}
    assert all(p["reasons"] for p in listed)


def test_the_frequency_is_set_through_the_metadata(portal):
    ids, who = portal
    daily = ids["Daily counts"]
    answer = who["olivia"].patch(f"/api/v1/datasets/{daily}", json={"update_frequency": "weekly"})
    assert answer.json()["update_frequency"]["code"] == "R/P1W"
