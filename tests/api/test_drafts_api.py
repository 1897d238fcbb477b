"""Private first: a publisher's new dataset and a publisher's change to published metadata
wait for the agency's data officer; the public sees neither until then."""

from __future__ import annotations

import httpx
import pytest

from auth_headers import basic_auth  # type: ignore[import-not-found]
from statedata.access.accounts import add_user, create_key
from statedata.catalog import service


def _client(url: str, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=url, headers=basic_auth(key), timeout=30)


@pytest.fixture
def staff(installation, agency, live_server):
    keys = {}
    with installation.catalog.session() as session:
        service.add_agency(session, "DSS", "Department of Social Services")
        for name, role, home in [
            ("pat", "publisher", agency),
            ("olivia", "data_officer", agency),
            ("oscar", "data_officer", "DSS"),
        ]:
            add_user(session, name, role, home)
            key, secret = create_key(session, name)
            keys[name] = _client(live_server.url, f"{key.key_id}:{secret}")
    keys["public"] = _client(live_server.url)
    return keys


NEW = {"title": "Restaurant inspections", "description": "Every inspection since 2019."}


def test_a_publishers_new_dataset_is_a_draft_until_the_officer_approves(staff, agency):
    made = staff["pat"].post("/api/v1/datasets", json={**NEW, "agency": agency})
    assert made.status_code == 201, made.text
    dataset_id = made.json()["id"]
    assert made.json()["publication_state"] == "draft"
    assert staff["public"].get(f"/api/v1/datasets/{dataset_id}").status_code == 404
    assert staff["oscar"].get(f"/api/v1/datasets/{dataset_id}").status_code == 404
    queue = staff["olivia"].get("/api/v1/drafts").json()
    assert [d["id"] for d in queue["datasets"]] == [dataset_id]
    # A publisher cannot approve their own draft; another agency's officer cannot see it.
    assert staff["pat"].post(f"/api/v1/datasets/{dataset_id}/approve").status_code == 403
    assert staff["oscar"].post(f"/api/v1/datasets/{dataset_id}/approve").status_code == 404
    approved = staff["olivia"].post(f"/api/v1/datasets/{dataset_id}/approve")
    assert approved.json()["publication_state"] == "published"
    assert approved.json()["approved_by"] == "olivia"
    assert staff["public"].get(f"/api/v1/datasets/{dataset_id}").status_code == 200
    again = staff["olivia"].post(f"/api/v1/datasets/{dataset_id}/approve")
    assert again.status_code == 409


def test_a_data_officers_new_dataset_is_published_at_once(staff, agency):
    made = staff["olivia"].post("/api/v1/datasets", json={**NEW, "agency": agency})
    assert made.json()["publication_state"] == "published"


def test_nobody_creates_datasets_for_another_agency(staff):
    refused = staff["oscar"].post("/api/v1/datasets", json={**NEW, "agency": "DPH"})
    assert refused.status_code == 403
    anonymous = staff["public"].post("/api/v1/datasets", json={**NEW, "agency": "DPH"})
    assert anonymous.status_code == 401


def test_a_publishers_change_waits_and_the_public_sees_the_old_metadata(staff, agency):
    dataset_id = (
        staff["olivia"].post("/api/v1/datasets", json={**NEW, "agency": agency}).json()["id"]
    )
    change = {"title": "Food inspections", "data_steward": "Environmental Health Section"}
    pending = staff["pat"].patch(f"/api/v1/datasets/{dataset_id}", json=change)
    assert pending.status_code == 202
    draft_id = pending.json()["draft"]["id"]
    assert staff["public"].get(f"/api/v1/datasets/{dataset_id}").json()["title"] == NEW["title"]
    assert staff["pat"].post(f"/api/v1/drafts/{draft_id}/approve", json={}).status_code == 403
    assert staff["oscar"].post(f"/api/v1/drafts/{draft_id}/approve", json={}).status_code == 404
    done = staff["olivia"].post(f"/api/v1/drafts/{draft_id}/approve", json={"note": "ok"})
    assert done.json()["decision"] == "approved"
    shown = staff["public"].get(f"/api/v1/datasets/{dataset_id}").json()
    assert shown["title"] == "Food inspections"
    assert shown["data_steward"] == "Environmental Health Section"
    twice = staff["olivia"].post(f"/api/v1/drafts/{draft_id}/reject", json={"note": "no"})
    assert twice.status_code == 409


def test_a_rejected_change_changes_nothing(staff, agency):
    dataset_id = (
        staff["olivia"].post("/api/v1/datasets", json={**NEW, "agency": agency}).json()["id"]
    )
    draft = staff["pat"].patch(f"/api/v1/datasets/{dataset_id}", json={"title": "Wrong"}).json()
    rejected = staff["olivia"].post(
        f"/api/v1/drafts/{draft['draft']['id']}/reject", json={"note": "Keep the old title."}
    )
    assert rejected.json()["decision"] == "rejected"
    assert rejected.json()["note"] == "Keep the old title."
    assert staff["public"].get(f"/api/v1/datasets/{dataset_id}").json()["title"] == NEW["title"]


def test_bad_metadata_is_refused_before_it_becomes_a_draft(staff, agency):
    dataset_id = (
        staff["olivia"].post("/api/v1/datasets", json={**NEW, "agency": agency}).json()["id"]
    )
    for bad in ({"category": "Not A Category"}, {"contact_email": "nope"}, {"colour": "red"}):
        answer = staff["pat"].patch(f"/api/v1/datasets/{dataset_id}", json=bad)
        assert answer.status_code == 400, (bad, answer.text)
    assert staff["olivia"].get("/api/v1/drafts").json()["metadata_changes"] == []


def test_the_officers_own_change_applies_at_once(staff, agency):
    dataset_id = (
        staff["olivia"].post("/api/v1/datasets", json={**NEW, "agency": agency}).json()["id"]
    )
    answer = staff["olivia"].patch(f"/api/v1/datasets/{dataset_id}", json={"data_owner": "DPH"})
    assert answer.status_code == 200 and answer.json()["data_owner"] == "DPH"
