"""The suggestions API over a real server on loopback, on SQLite and PostgreSQL: suggesting,
spam and rate limits, listing, who sees the contact email, votes (also from many addresses at
once), status moves by the right and wrong people, the triage queue and the counts."""

from __future__ import annotations

import datetime as dt
import threading

import httpx
import pytest
from sqlalchemy import func, select

from statedata.access.accounts import add_user, create_key
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.sharing import Suggestion, SuggestionEvent, SuggestionVote
from statedata.config import DEFAULT_CATEGORIES

BASE = "/api/v1/suggestions"
TARGET = (dt.date.today() + dt.timedelta(days=60)).isoformat()


def body(title: str = "Restaurant inspection results", **changes: object) -> dict:
    values: dict[str, object] = {
        "title": title,
        "description": "Every restaurant inspection by town with the score and violations.",
        "reason": "Diners and journalists want to compare kitchens across the state.",
        "contact_email": "resident@example.org",
        "agency": "DPH",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def staff(installation, agency) -> dict[str, dict[str, str]]:
    """Authorization headers for a CDO, DPH staff, DOT staff and an analyst."""
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


def client_from(live_server, address: str) -> httpx.Client:
    """A client whose requests come from another loopback address, i.e. another sender."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=live_server.url, transport=transport, timeout=30)


def count(installation, table) -> int:  # type: ignore[no-untyped-def]
    with installation.catalog.session() as session:
        return session.scalar(select(func.count()).select_from(table))


def suggest(http, **changes: object) -> dict:
    response = http.post(BASE, json=body(**changes))
    assert response.status_code == 201, response.text
    return response.json()


# Suggesting ---------------------------------------------------------------------------------


def test_anyone_may_suggest(http, installation, staff):
    made = suggest(http)
    assert made["status"] == "received" and made["vote_count"] == 0
    assert made["agency"] == {"code": "DPH", "name": "Department of Public Health"}
    assert made["link"].endswith(f"{BASE}/{made['id']}")
    assert [e["status"] for e in made["history"]] == ["received"]
    # The answer goes to an anonymous caller: the email is not echoed to whoever asks.
    assert "contact_email" not in made
    with installation.catalog.session() as session:
        stored = session.get(Suggestion, made["id"])
        assert stored.contact_email == "resident@example.org"
        assert len(stored.submitter_hash) == 64 and "127.0.0.1" not in stored.submitter_hash
    assert (installation.settings.home / "secret.key").exists()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"title": "Cars"}, "title must be 5 to 300"),
        ({"title": None}, "title must be 5 to 300"),
        ({"description": "Short."}, "description must be 20 to 5000"),
        ({"reason": ""}, "reason it is needed"),
        ({"contact_email": "nobody"}, "contact email"),
        ({"agency": "XYZ"}, "no agency with code 'XYZ'"),
        ({"title": ["a", "list"]}, "title"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(http, installation, staff, changes, words):
    response = http.post(BASE, json=body(**changes))
    assert response.status_code == 400
    error = response.json()
    assert error["code"] in ("input.invalid", "request.invalid")
    assert words in error["message"]
    assert count(installation, Suggestion) == 0


def test_a_body_that_is_not_json_is_a_400(http, staff):
    response = http.post(BASE, content=b"title=hello", headers={"content-type": "text/plain"})
    assert response.status_code == 400


def test_honeypot_is_refused_and_nothing_saved(http, installation, staff):
    response = http.post(BASE, json=body(website="https://spam.example"))
    assert response.status_code == 400
    assert response.json()["code"] == "submission.spam"
    assert "website" in response.json()["message"]
    assert count(installation, Suggestion) == 0


def test_too_many_links_is_refused(http, installation, staff):
    links = " ".join(f"http://x{i}.example" for i in range(5))
    response = http.post(BASE, json=body(description=f"See all of these: {links}"))
    assert response.status_code == 400 and response.json()["code"] == "submission.spam"
    assert count(installation, Suggestion) == 0


def test_duplicate_title_says_which_to_vote_for(http, installation, staff):
    first = suggest(http)
    response = http.post(BASE, json=body(title="RESTAURANT inspection results"))
    assert response.status_code == 409
    error = response.json()
    assert error["code"] == "suggestion.duplicate"
    assert error["data"]["suggestion_id"] == first["id"]
    assert f"{BASE}/{first['id']}/votes" in error["message"]
    assert count(installation, Suggestion) == 1


def test_rate_limit_per_address(http, installation, live_server, staff):
    installation.settings.suggestions_per_hour = 2
    suggest(http, title="First dataset idea")
    suggest(http, title="Second dataset idea")
    response = http.post(BASE, json=body(title="Third dataset idea"))
    assert response.status_code == 429
    assert response.json()["code"] == "request.rate-limited"
    assert "try again in" in response.json()["message"]
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert count(installation, Suggestion) == 2
    with client_from(live_server, "127.0.0.2") as other:
        assert other.post(BASE, json=body(title="Third dataset idea")).status_code == 201


# Reading ------------------------------------------------------------------------------------


def test_list_filters_sorts_and_pages(http, live_server, staff):
    bus = suggest(http, title="Bus ridership by route", agency="DOT")
    flu = suggest(http, title="Flu vaccinations by town")
    for n in range(2, 4):
        with client_from(live_server, f"127.0.0.{n}") as voter:
            assert voter.post(f"{BASE}/{bus['id']}/votes").status_code == 201
    listing = http.get(BASE).json()
    assert listing["total"] == 2 and [s["id"] for s in listing["results"]] == [flu["id"], bus["id"]]
    by_votes = http.get(BASE, params={"sort": "votes"}).json()["results"]
    assert [(s["id"], s["vote_count"]) for s in by_votes] == [(bus["id"], 2), (flu["id"], 0)]
    page = http.get(BASE, params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 2 and [s["id"] for s in page["results"]] == [bus["id"]]
    dot = http.get(BASE, params={"agency": "DOT"}).json()["results"]
    assert [s["id"] for s in dot] == [bus["id"]]
    assert http.get(BASE, params={"status": "planned"}).json()["total"] == 0
    for params in ({"status": "maybe"}, {"sort": "oldest"}, {"limit": 500}, {"agency": "NOPE"}):
        response = http.get(BASE, params=params)
        assert response.status_code == 400, params
        assert response.json()["message"]


def test_missing_suggestion_is_404(http, staff):
    response = http.get(f"{BASE}/12345")
    assert response.status_code == 404 and response.json()["code"] == "suggestion.missing"
    for bad in ("99999999999", "abc", "0"):
        assert http.get(f"{BASE}/{bad}").status_code in (400, 404)
        assert http.post(f"{BASE}/{bad}/votes").status_code in (400, 404)


def test_contact_email_only_for_agency_staff_and_cdo(http, staff):
    made = suggest(http)
    url = f"{BASE}/{made['id']}"
    for name in ("chief", "dph.officer", "dph.publisher"):
        shown = http.get(url, headers=staff[name]).json()
        assert shown["contact_email"] == "resident@example.org", name
        assert shown["history"][0]["by"] == "public"
    for headers in ({}, staff["dot.officer"], staff["ana.lyst"]):
        detail = http.get(url, headers=headers)
        listing = http.get(BASE, headers=headers)
        for text in (detail.text, listing.text):
            assert "resident@example.org" not in text and "contact_email" not in text
        assert "by" not in detail.json()["history"][0]


# Votes --------------------------------------------------------------------------------------


def test_vote_once_per_address_and_once_per_user(http, installation, staff):
    made = suggest(http)
    url = f"{BASE}/{made['id']}/votes"
    first = http.post(url)
    assert first.status_code == 201 and first.json() == {
        "suggestion_id": made["id"],
        "vote_count": 1,
    }
    again = http.post(url)
    assert again.status_code == 409 and again.json()["code"] == "state.conflict"
    assert "already voted" in again.json()["message"]
    # A signed-in user is counted by name, not by the address they share.
    assert http.post(url, headers=staff["ana.lyst"]).json()["vote_count"] == 2
    assert http.post(url, headers=staff["ana.lyst"]).status_code == 409
    assert http.get(f"{BASE}/{made['id']}").json()["vote_count"] == 2
    assert count(installation, SuggestionVote) == 2


def test_concurrent_votes_from_many_addresses(installation, live_server, staff):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        made = suggest(http)
    url = f"{BASE}/{made['id']}/votes"
    addresses = [f"127.0.1.{n}" for n in range(1, 11)] * 2  # each address votes twice
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(addresses))

    def cast(address: str) -> None:
        with client_from(live_server, address) as client:
            start.wait()
            status = client.post(url).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=cast, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] * 10 + [409] * 10
    with installation.catalog.session() as session:
        assert session.get(Suggestion, made["id"]).vote_count == 10
    assert count(installation, SuggestionVote) == 10


# Status -------------------------------------------------------------------------------------


def test_staff_move_it_all_the_way_to_published(http, installation, staff):
    with installation.catalog.session() as session:
        dataset_id = service.create_dataset(
            session, DatasetMetadata(title="Restaurant inspections"), "DPH", DEFAULT_CATEGORIES
        ).id
    made = suggest(http)
    url = f"{BASE}/{made['id']}/status"
    moved = http.post(
        url,
        json={"status": "under_review", "note": "We are looking into it."},
        headers=staff["dph.publisher"],
    )
    assert moved.status_code == 200 and moved.json()["status"] == "under_review"
    planned = http.post(
        url, json={"status": "planned", "target_date": TARGET}, headers=staff["dph.officer"]
    )
    assert planned.json()["target_date"] == TARGET
    done = http.post(
        url, json={"status": "published", "dataset_id": dataset_id}, headers=staff["chief"]
    )
    assert done.status_code == 200
    assert done.json()["dataset"]["id"] == dataset_id
    public = http.get(f"{BASE}/{made['id']}").json()
    assert [(e["status"], e["note"]) for e in public["history"]] == [
        ("received", "Suggestion received."),
        ("under_review", "We are looking into it."),
        ("planned", f"Planned for {TARGET}."),
        ("published", f"Published as dataset {dataset_id}."),
    ]
    assert public["dataset"]["link"].endswith(f"/api/v1/datasets/{dataset_id}")
    assert http.get(BASE, params={"status": "published"}).json()["total"] == 1


@pytest.mark.parametrize(
    ("who", "status_code"),
    [(None, 401), ("dot.officer", 403), ("ana.lyst", 403)],
)
def test_wrong_role_cannot_change_status(http, installation, staff, who, status_code):
    made = suggest(http)
    headers = staff[who] if who else {}
    response = http.post(
        f"{BASE}/{made['id']}/status", json={"status": "under_review"}, headers=headers
    )
    assert response.status_code == status_code
    assert response.json()["message"]
    after = http.get(f"{BASE}/{made['id']}").json()
    assert after["status"] == "received" and len(after["history"]) == 1
    assert count(installation, SuggestionEvent) == 1


@pytest.mark.parametrize(
    ("change", "status_code", "words"),
    [
        ({"status": "planned", "target_date": TARGET}, 409, "can move to under_review"),
        ({"status": "published", "dataset_id": "abcd-2345"}, 409, "not to published"),
        ({"status": "declined"}, 400, "reason for declining"),
        ({"status": "declined", "decline_reason": "x" * 6000}, 400, "reason for declining"),
        ({"status": "shelved"}, 400, "not a status"),
        ({"status": "under_review", "colour": "red"}, 400, "colour"),
        ({"status": "under_review", "target_date": "next week"}, 400, "target_date"),
    ],
)
def test_status_rules_over_http(http, installation, staff, change, status_code, words):
    made = suggest(http)
    response = http.post(f"{BASE}/{made['id']}/status", json=change, headers=staff["dph.officer"])
    assert response.status_code == status_code, response.text
    assert words in response.json()["message"]
    assert http.get(f"{BASE}/{made['id']}").json()["status"] == "received"
    assert count(installation, SuggestionEvent) == 1


def test_declined_with_reason_and_citation(http, staff):
    made = suggest(http)
    response = http.post(
        f"{BASE}/{made['id']}/status",
        json={
            "status": "declined",
            "decline_reason": "The reports name private individuals.",
            "legal_citation": "C.G.S. § 1-210(b)(2)",
        },
        headers=staff["dph.officer"],
    )
    assert response.status_code == 200
    public = http.get(f"{BASE}/{made['id']}").json()
    assert public["status"] == "declined" and public["legal_citation"] == "C.G.S. § 1-210(b)(2)"
    assert public["decline_reason"] == "The reports name private individuals."
    assert http.post(f"{BASE}/{made['id']}/votes").status_code == 409


def test_unassigned_suggestion_is_the_cdo_to_hand_on(http, staff):
    made = suggest(http, agency=None)
    url = f"{BASE}/{made['id']}"
    officer = http.post(
        f"{url}/status", json={"status": "under_review"}, headers=staff["dph.officer"]
    )
    assert officer.status_code == 403 and "Chief Data Officer" in officer.json()["message"]
    assert (
        http.post(f"{url}/agency", json={"agency": "DPH"}, headers=staff["dph.officer"]).status_code
        == 403
    )
    assert http.post(f"{url}/agency", json={"agency": "DPH"}).status_code == 401
    handed = http.post(
        f"{url}/agency",
        json={"agency": "DPH", "note": "Public health data."},
        headers=staff["chief"],
    )
    assert handed.status_code == 200 and handed.json()["agency"]["code"] == "DPH"
    assert handed.json()["history"][-1]["note"] == "Public health data."
    moved = http.post(
        f"{url}/status", json={"status": "under_review"}, headers=staff["dph.officer"]
    )
    assert moved.status_code == 200


# Queue and counts ---------------------------------------------------------------------------


def test_triage_queue(http, staff):
    dph = suggest(http)
    dot = suggest(http, title="Bridge inspection ratings", agency="DOT")
    assert http.get(f"{BASE}/queue").status_code == 401
    assert http.get(f"{BASE}/queue", headers=staff["ana.lyst"]).status_code == 403
    mine = http.get(f"{BASE}/queue", headers=staff["dph.publisher"]).json()
    assert [s["id"] for s in mine["results"]] == [dph["id"]]
    assert mine["results"][0]["contact_email"] == "resident@example.org"
    every = http.get(f"{BASE}/queue", headers=staff["chief"]).json()
    assert {s["id"] for s in every["results"]} == {dph["id"], dot["id"]}


def test_metrics_endpoint(http, staff):
    suggest(http)
    suggest(http, title="Bridge inspection ratings", agency="DOT")
    today = dt.date.today()
    month = http.get(f"{BASE}/metrics").json()
    assert month["period"] == "month" and month["total"] == 2
    assert month["periods"][-1]["start"] == today.replace(day=1).isoformat()
    assert month["periods"][-1]["by_status"]["received"] == 2
    week = http.get(f"{BASE}/metrics", params={"period": "week", "agency": "DOT"}).json()
    assert week["total"] == 1 and week["agency"] == "DOT"
    for params in (
        {"period": "year"},
        {"start": "2024-02-01", "end": "2024-01-01"},
        {"start": "not a date"},
    ):
        response = http.get(f"{BASE}/metrics", params=params)
        assert response.status_code == 400 and response.json()["message"]


def test_openapi_describes_the_suggestion_routes(http):
    paths = http.get("/api/openapi.json").json()["paths"]
    for path in (
        BASE,
        f"{BASE}/metrics",
        f"{BASE}/queue",
        f"{BASE}/{{suggestion_id}}",
        f"{BASE}/{{suggestion_id}}/votes",
        f"{BASE}/{{suggestion_id}}/status",
    ):
        assert path in paths
