"""The pages for interagency data requests (web/data_requests.py): the list, the request form
and one request with its timeline and actions, each role seeing what it should and no more,
with FastAPI's TestClient over the small catalog of conftest.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from statedata.access import accounts, passwords
from statedata.access.accounts import add_user
from statedata.api.app import create_app
from statedata.catalog import service
from statedata.catalog.models import AuditEvent
from statedata.catalog.sharing import DataRequest, DataRequestEvent

PASSWORD = "a long enough password 42"
PEOPLE = [
    ("dph.officer", "data_officer", "DPH"),
    ("dot.officer", "data_officer", "DOT"),
    ("some.analyst", "analyst", None),
    ("other.analyst", "analyst", None),
    ("chief", "cdo", None),
]


def request_form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    """A whole, valid request as the form sends it, with `changes`."""
    form: dict[str, str | list[str]] = {
        "groups": "1",
        "organisation": "University of Connecticut",
        "title": "Clinic visits and school attendance",
        "purpose": "Learn whether clinic visits keep children in school.",
        "planned_use": "A matched analysis published only as tables of counts.",
        "who_has_access": "Two named analysts on an encrypted server.",
        "dataset_id-0": "",
        "elements-0": "visit date\ntown\n",
        "level-0": "individual",
        "period_start-0": "2022-01-01",
        "period_end-0": "2023-12-31",
        "parameters-0": "Children aged 5 to 12",
        "recurring": "one_time",
        "recurrence": "",
        "retention_period": "Three years from receipt",
        "destruction_method": "Secure deletion, certified in writing",
        "destruction_date": "2029-06-30",
        "agencies": ["DPH"],
        "legal_basis": "C.G.S. § 4-67p",
        "action": "submit",
    }
    form.update(changes)
    return form


@pytest.fixture
def people(portal):  # type: ignore[no-untyped-def]
    """A DPH and a DOT data officer, two analysts and the CDO, each with a password (the DPH
    publisher of conftest.py too)."""
    with portal.installation.catalog.session() as session:
        service.add_agency(session, "DOT", "Department of Transportation")
        for name, role, agency in PEOPLE:
            add_user(session, name, role, agency)
        for name in [p[0] for p in PEOPLE] + ["dph.publisher"]:
            passwords.set_password(session, accounts.get_user(session, name), PASSWORD)
    return portal


Browser = Callable[[str], tuple[TestClient, str]]


@pytest.fixture
def signed_in(people) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    """Sign a fresh client in as a user (each their own cookies); gives it and its CSRF
    token."""
    opened: list[TestClient] = []

    def open_as(name: str) -> tuple[TestClient, str]:
        client = TestClient(create_app(people.installation), follow_redirects=False)
        client.__enter__()
        opened.append(client)
        response = client.post("/signin", data={"name": name, "password": PASSWORD, "next": "/"})
        assert response.status_code == 303, response.text
        return client, client.get("/api/v1/session").json()["csrf_token"]

    yield open_as
    for client in opened:
        client.__exit__(None, None, None)


def make(client: TestClient, token: str, **changes: str | list[str]) -> int:
    """Send the form; the new request's id."""
    response = client.post(
        "/data-requests/new", data={**request_form(**changes), "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/data-requests/(\d+)\?saved=\w+", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def stage_of(portal, request_id: int) -> str:  # type: ignore[no-untyped-def]
    with portal.installation.catalog.session() as session:
        return session.get(DataRequest, request_id).stage


def count_requests(portal) -> int:  # type: ignore[no-untyped-def]
    with portal.installation.catalog.session() as session:
        return session.scalar(select(func.count()).select_from(DataRequest)) or 0


# Making a request ---------------------------------------------------------------------------


def test_the_form_explains_each_part_in_plain_language(signed_in):
    analyst, _ = signed_in("some.analyst")
    page = analyst.get("/data-requests/new")
    assert page.status_code == 200
    html = page.text
    for legend in (
        "You and your request",
        "Why you need the data",
        "The data you ask for",
        "Keeping and destroying the data",
        "Who holds the data, and the law",
    ):
        assert f"<legend><h2>{legend}</h2></legend>" in html
    assert "Aggregate numbers are counts, totals or averages for groups" in html
    assert "safest when it is kept no longer than needed" in html
    assert 'name="csrf_token"' in html
    # Every agency is offered, by name, for the agencies holding the data.
    assert "Department of Transportation (DOT)" in html and "Department of Public Health" in html


def test_a_request_is_sent_and_the_requester_follows_it(people, signed_in):
    analyst, token = signed_in("some.analyst")
    response = analyst.post("/data-requests/new", data={**request_form(), "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"].endswith("?saved=submitted")
    page = analyst.get(response.headers["location"])
    assert page.status_code == 200
    assert "Your request was sent to DPH" in page.text
    assert '<span class="status-word">Submitted</span>' in page.text
    assert "Children aged 5 to 12" in page.text and "1 January 2022" in page.text
    assert "visit date" in page.text and "records about individuals" in page.text
    # The timeline: started as a draft, then sent, each by the analyst.
    timeline = page.text.split("<h2>Timeline</h2>")[1].split("</ol>")[0]
    assert timeline.count("by some.analyst") == 2
    assert "Submitted" in timeline and "Draft" in timeline
    # The requester may withdraw it; moving it on is for the agency.
    assert "Withdraw the request" in page.text
    assert "Move it on" not in page.text and "Decline the request" not in page.text
    listing = analyst.get("/data-requests")
    mine = listing.text.split('id="mine-heading"')[1]
    assert "Clinic visits and school attendance" in mine
    assert "Requests for your agency" not in listing.text  # an analyst holds no agency's data


def test_a_draft_is_the_requesters_own_until_it_is_sent(people, signed_in):
    analyst, token = signed_in("some.analyst")
    officer, _ = signed_in("dph.officer")
    request_id = make(analyst, token, action="draft")
    assert stage_of(people, request_id) == "draft"
    page = analyst.get(f"/data-requests/{request_id}?saved=draft")
    assert "saved as a draft" in page.text and "Send the request" in page.text
    assert officer.get(f"/data-requests/{request_id}").status_code == 404
    assert "Clinic visits" not in officer.get("/data-requests").text

    sent = analyst.post(
        f"/data-requests/{request_id}/stage", data={"to": "submitted", "csrf_token": token}
    )
    assert sent.status_code == 303
    assert stage_of(people, request_id) == "submitted"
    assert officer.get(f"/data-requests/{request_id}").status_code == 200
    held = officer.get("/data-requests").text.split('id="held-heading"')[1]
    assert "Clinic visits and school attendance" in held and "asked by" in held


def test_more_groups_of_data_are_added_without_saving(people, signed_in):
    analyst, token = signed_in("some.analyst")
    response = analyst.post(
        "/data-requests/new",
        data={**request_form(title="Kept title"), "action": "add_group", "csrf_token": token},
    )
    assert response.status_code == 200
    assert 'id="field-elements-1"' in response.text and 'value="Kept title"' in response.text
    assert 'name="groups" value="2"' in response.text
    assert count_requests(people) == 0
    # A second group filled in is a second data element; an empty one is left out.
    request_id = make(
        analyst,
        token,
        groups="3",
        **{"elements-1": "bus route", "level-1": "aggregate", "dataset_id-1": ""},
    )
    with people.installation.catalog.session() as session:
        elements = session.get(DataRequest, request_id).data_elements
    assert [e["elements"] for e in elements] == [["visit date", "town"], ["bus route"]]
    assert elements[1]["level"] == "aggregate"


# Bad input ----------------------------------------------------------------------------------


def test_an_empty_form_names_every_missing_field_and_saves_nothing(people, signed_in):
    analyst, token = signed_in("some.analyst")
    empty = {name: "" for name in request_form() if name not in ("agencies", "action")}
    response = analyst.post(
        "/data-requests/new", data={**empty, "groups": "1", "action": "submit", "csrf_token": token}
    )
    assert response.status_code == 400
    html = response.text
    assert "<title>Error: " in html and 'id="problems"' in html
    for field, message in [
        ("title", "Give the request a short title."),
        ("purpose", "Say what the request is for."),
        ("elements-0", "Name at least one data element"),
        ("level-0", "Choose whether you ask for records about individuals"),
        ("retention_period", "Say how long the data will be kept."),
        ("agencies", "Choose at least one agency that holds the data."),
        ("legal_basis", "Say which law allows the data to be shared."),
    ]:
        assert f'<a href="#field-{field}">{message}' in html, field
        assert f'id="{field}-error">Error: {message}' in html, field
    assert 'aria-invalid="true"' in html
    assert count_requests(people) == 0


def test_bad_values_are_explained_by_their_fields_and_the_rest_is_kept(people, signed_in):
    analyst, token = signed_in("some.analyst")
    cases = [
        ({"period_start-0": "2024-01-01", "period_end-0": "2023-01-01"}, "period_end-0",
         "Period_start is after period_end."),
        ({"recurring": "recurring", "recurrence": ""}, "recurrence",
         "A recurring request needs its recurrence"),
        ({"dataset_id-0": "not-an-id"}, "dataset_id-0", "is not a dataset id like abcd-2345"),
        ({"destruction_date": "30/06/2029"}, "destruction_date", "Give the date like 2027-06-30."),
        ({"title": "x" * 301}, "title", "Keep this to 300 characters or fewer."),
        ({"agencies": ["NOPE"]}, "agencies", "There is no agency with code NOPE"),
    ]  # fmt: skip
    for changes, field, message in cases:
        response = analyst.post(
            "/data-requests/new", data={**request_form(**changes), "csrf_token": token}
        )
        assert response.status_code == 400, (field, response.text[:200])
        assert f'id="{field}-error">Error: ' in response.text, field
        assert message in response.text, field
        # What was typed elsewhere is shown again.
        assert "Two named analysts on an encrypted server." in response.text
    assert count_requests(people) == 0


def test_a_form_sent_without_the_csrf_token_is_refused(people, signed_in):
    analyst, token = signed_in("some.analyst")
    refused = analyst.post("/data-requests/new", data=request_form())
    assert refused.status_code == 403
    assert count_requests(people) == 0
    request_id = make(analyst, token, action="draft")
    moved = analyst.post(f"/data-requests/{request_id}/stage", data={"to": "submitted"})
    assert moved.status_code == 403
    assert stage_of(people, request_id) == "draft"


# Who sees what ------------------------------------------------------------------------------


def test_each_role_sees_what_it_should_and_no_more(people, signed_in, client):
    analyst, token = signed_in("some.analyst")
    request_id = make(analyst, token)
    address = f"/data-requests/{request_id}"

    officer, _ = signed_in("dph.officer")
    page = officer.get(address)
    assert page.status_code == 200
    assert "Move it on to “Legal review”" in page.text and "Decline the request" in page.text
    assert "Withdraw the request" not in page.text

    chief, _ = signed_in("chief")
    assert "Move it on to “Legal review”" in chief.get(address).text

    # A publisher of the agency sees it, but moving it is the data officer's.
    publisher, _ = signed_in("dph.publisher")
    seen = publisher.get(address)
    assert seen.status_code == 200 and "Move it on" not in seen.text

    # Another agency's officer, another analyst and a visitor: as if it did not exist.
    for name in ("dot.officer", "other.analyst"):
        other, _ = signed_in(name)
        missing = other.get(address)
        assert missing.status_code == 404, name
        assert "Clinic visits" not in missing.text
        assert "Clinic visits" not in other.get("/data-requests").text
    anonymous = client.get(address)
    assert anonymous.status_code == 404 and "Clinic visits" not in anonymous.text
    assert client.get(f"/data-requests/{request_id + 1000}").status_code == 404
    # The list and the form are for people signed in.
    for path in ("/data-requests", "/data-requests/new"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/signin?next={path}"


def test_someone_who_may_not_see_a_request_cannot_move_it(people, signed_in, client):
    analyst, token = signed_in("some.analyst")
    request_id = make(analyst, token)
    other, other_token = signed_in("dot.officer")
    for to in ("legal_review", "declined"):
        response = other.post(
            f"/data-requests/{request_id}/stage",
            data={"to": to, "reason": "Not ours", "csrf_token": other_token},
        )
        assert response.status_code == 404
    assert (
        client.post(f"/data-requests/{request_id}/stage", data={"to": "withdrawn"}).status_code
        == 404
    )
    assert stage_of(people, request_id) == "submitted"


def test_signed_in_users_get_the_link_and_the_staff_queue_links_each_request(
    people, signed_in, client
):
    assert 'href="/data-requests"' not in client.get("/").text
    analyst, token = signed_in("some.analyst")
    assert 'href="/data-requests"' in analyst.get("/").text
    request_id = make(analyst, token)
    officer, _ = signed_in("dph.officer")
    assert f'href="/data-requests/{request_id}"' in officer.get("/staff").text


# Moving through the stages ------------------------------------------------------------------


def test_an_officer_moves_the_request_and_the_move_is_recorded_with_who_and_when(people, signed_in):
    analyst, token = signed_in("some.analyst")
    request_id = make(analyst, token)
    officer, officer_token = signed_in("dph.officer")
    response = officer.post(
        f"/data-requests/{request_id}/stage",
        data={
            "to": "legal_review",
            "reason": "Our counsel reads it this week.",
            "csrf_token": officer_token,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/data-requests/{request_id}?moved=legal_review"
    with people.installation.catalog.session() as session:
        last = session.scalars(
            select(DataRequestEvent)
            .where(DataRequestEvent.request_id == request_id)
            .order_by(DataRequestEvent.id.desc())
        ).first()
        assert (last.from_stage, last.to_stage, last.actor) == (
            "submitted",
            "legal_review",
            "dph.officer",
        )
        assert last.reason == "Our counsel reads it this week." and last.occurred_at is not None
        audited = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "data_request.stage")
        ).all()
        assert [e.actor for e in audited] == ["some.analyst", "dph.officer"]
    # The requester sees where it stands and why.
    page = analyst.get(f"/data-requests/{request_id}")
    assert '<span class="status-word">Legal review</span>' in page.text
    assert "Our counsel reads it this week." in page.text
    timeline = page.text.split("<h2>Timeline</h2>")[1].split("</ol>")[0]
    assert "by dph.officer" in timeline and "Legal review" in timeline


def test_a_refused_move_says_why_and_changes_nothing(people, signed_in):
    analyst, token = signed_in("some.analyst")
    request_id = make(analyst, token)
    officer, officer_token = signed_in("dph.officer")
    skipped = officer.post(
        f"/data-requests/{request_id}/stage", data={"to": "analysis", "csrf_token": officer_token}
    )
    assert skipped.status_code == 409
    assert "it can move on only to &#39;legal review&#39;" in skipped.text
    assert "Nothing was changed." in skipped.text
    # A decline needs its reason, shown by the reason field.
    declined = officer.post(
        f"/data-requests/{request_id}/stage",
        data={"to": "declined", "reason": "  ", "csrf_token": officer_token},
    )
    assert declined.status_code == 400
    assert 'id="reason-declined-error">Error: Say why the request is declined' in declined.text
    # Only the requester withdraws.
    withdrawn = officer.post(
        f"/data-requests/{request_id}/stage",
        data={"to": "withdrawn", "reason": "No", "csrf_token": officer_token},
    )
    assert withdrawn.status_code == 403
    assert "Only the requester may withdraw a request." in withdrawn.text
    # Agreement executed needs a signed agreement.
    officer.post(
        f"/data-requests/{request_id}/stage",
        data={"to": "legal_review", "csrf_token": officer_token},
    )
    no_agreement = officer.post(
        f"/data-requests/{request_id}/stage",
        data={"to": "agreement_executed", "agreement_id": "", "csrf_token": officer_token},
    )
    assert no_agreement.status_code == 409
    assert "names no sharing agreement" in no_agreement.text
    assert stage_of(people, request_id) == "legal_review"


def test_a_declined_request_shows_the_requester_why(people, signed_in):
    analyst, token = signed_in("some.analyst")
    request_id = make(analyst, token)
    officer, officer_token = signed_in("dph.officer")
    response = officer.post(
        f"/data-requests/{request_id}/stage",
        data={
            "to": "declined",
            "reason": "C.G.S. § 19a-25 forbids it.",
            "csrf_token": officer_token,
        },
    )
    assert response.status_code == 303
    page = analyst.get(f"/data-requests/{request_id}")
    assert "Why it was declined" in page.text and "C.G.S. § 19a-25 forbids it." in page.text
    # Closed: nobody has anything left to do with it.
    assert "What you can do" not in page.text
    assert "What you can do" not in officer.get(f"/data-requests/{request_id}").text


def test_the_requester_withdraws_with_a_reason(people, signed_in):
    analyst, token = signed_in("some.analyst")
    request_id = make(analyst, token)
    response = analyst.post(
        f"/data-requests/{request_id}/stage",
        data={"to": "withdrawn", "reason": "We found the numbers published.", "csrf_token": token},
    )
    assert response.status_code == 303
    assert stage_of(people, request_id) == "withdrawn"
    assert "Why it was withdrawn" in analyst.get(f"/data-requests/{request_id}").text


def test_the_requester_answers_the_survey_once_the_request_is_completed(people, signed_in):
    analyst, token = signed_in("some.analyst")
    request_id = make(analyst, token)
    assert "How did it go?" not in analyst.get(f"/data-requests/{request_id}").text
    with people.installation.catalog.session() as session:
        # The path to completion (with a signed agreement) is the API's tests' business.
        session.execute(
            update(DataRequest).where(DataRequest.id == request_id).values(stage="completed")
        )
    page = analyst.get(f"/data-requests/{request_id}")
    assert "How did it go?" in page.text
    no_score = analyst.post(
        f"/data-requests/{request_id}/satisfaction", data={"score": "", "csrf_token": token}
    )
    assert no_score.status_code == 400 and "Choose how satisfied you are" in no_score.text
    answered = analyst.post(
        f"/data-requests/{request_id}/satisfaction",
        data={"score": "4", "comment": "Clear and quick", "csrf_token": token},
    )
    assert answered.status_code == 303
    with people.installation.catalog.session() as session:
        assert session.get(DataRequest, request_id).satisfaction == 4
    assert "How did it go?" not in analyst.get(f"/data-requests/{request_id}?rated=1").text


def test_the_requester_changes_a_draft_then_sends_it(people, signed_in):
    analyst, token = signed_in("some.analyst")
    request_id = make(analyst, token, action="draft")
    edit = f"/data-requests/{request_id}/edit"
    assert f'href="{edit}"' in analyst.get(f"/data-requests/{request_id}").text
    form = analyst.get(edit)
    assert form.status_code == 200
    assert 'value="Clinic visits and school attendance"' in form.text
    assert ">visit date\ntown</textarea>" in form.text
    assert 'value="DPH" checked' in form.text and f'action="{edit}"' in form.text

    changed = analyst.post(
        edit,
        data={**request_form(title="Clinic visits, by town", action="draft"), "csrf_token": token},
    )
    assert changed.status_code == 303
    refused = analyst.post(edit, data={**request_form(purpose=""), "csrf_token": token})
    assert refused.status_code == 400
    assert 'id="purpose-error">Error: Say what the request is for.' in refused.text
    with people.installation.catalog.session() as session:
        saved = session.get(DataRequest, request_id)
        assert (saved.title, saved.stage) == ("Clinic visits, by town", "draft")
        assert saved.purpose == request_form()["purpose"]

    sent = analyst.post(edit, data={**request_form(), "csrf_token": token})
    assert sent.headers["location"] == f"/data-requests/{request_id}?saved=submitted"
    assert stage_of(people, request_id) == "submitted"
    # Once sent it is no longer changed, by anyone.
    assert analyst.get(edit).headers["location"] == f"/data-requests/{request_id}"
    late = analyst.post(edit, data={**request_form(title="Too late"), "csrf_token": token})
    assert late.status_code == 409 and "can no longer be edited" in late.text
    officer, officer_token = signed_in("dph.officer")
    assert officer.get(edit).status_code == 303
    theirs = officer.post(
        edit, data={**request_form(title="Mine now"), "csrf_token": officer_token}
    )
    assert theirs.status_code == 403 and "Only the requester may edit" in theirs.text
    other, other_token = signed_in("other.analyst")
    assert other.get(edit).status_code == 404
    assert other.post(edit, data={**request_form(), "csrf_token": other_token}).status_code == 404
    with people.installation.catalog.session() as session:
        # Sent with the form's title; the refused changes left it so.
        assert session.get(DataRequest, request_id).title == request_form()["title"]
