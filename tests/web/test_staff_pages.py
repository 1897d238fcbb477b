"""The pages for people to act: sign-in and sign-out, suggesting a dataset and voting, and the
staff pages (queue, editing metadata and the data dictionary, publishing a file), with
FastAPI's TestClient over the small catalog of conftest.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from statedata.access import accounts, passwords
from statedata.access.accounts import add_user
from statedata.api.app import create_app
from statedata.catalog import audit, notices, service
from statedata.catalog.dictionary import describe_columns
from statedata.catalog.models import AuditEvent, Column, MetadataDraft, WebSession
from statedata.catalog.sharing import Suggestion
from statedata.errors import InvalidInput

PASSWORD = "a long enough password 42"
GOOD = {
    "title": "Restaurant inspection results",
    "description": "Every restaurant inspection by town, with the score and violations.",
    "reason": "Diners want to compare kitchens across the state.",
    "contact_email": "reader@example.org",
    "agency": "",
}


@pytest.fixture
def people(portal):  # type: ignore[no-untyped-def]
    """Passwords for the DPH publisher, a DPH data officer, an analyst and another agency's
    publisher."""
    with portal.installation.catalog.session() as session:
        service.add_agency(session, "DOT", "Department of Transportation")
        add_user(session, "dph.officer", "data_officer", "DPH")
        add_user(session, "some.analyst", "analyst")
        add_user(session, "dot.publisher", "publisher", "DOT")
        for name in ("dph.publisher", "dph.officer", "some.analyst", "dot.publisher"):
            passwords.set_password(session, accounts.get_user(session, name), PASSWORD)
    return portal


def sign_in(client: TestClient, name: str) -> str:
    """Sign in through the page; returns the session's CSRF token."""
    response = client.post("/signin", data={"name": name, "password": PASSWORD, "next": "/"})
    assert response.status_code == 303, response.text
    return client.get("/api/v1/session").json()["csrf_token"]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


# Sign-in and sign-out -----------------------------------------------------------------------


def test_sign_in_page_signs_in_and_goes_where_the_user_was_going(client, people):
    page = client.get("/signin?next=/staff")
    assert page.status_code == 200
    assert 'name="next" value="/staff"' in page.text
    response = client.post(
        "/signin", data={"name": "dph.publisher", "password": PASSWORD, "next": "/staff"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"
    cookie = response.headers["set-cookie"]
    assert "statedata_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = client.get("/")
    assert "Signed in as <strong>dph.publisher</strong>" in home.text
    # The header's sign-out form carries the session's own CSRF token.
    assert csrf_of(home.text) == client.get("/api/v1/session").json()["csrf_token"]


def test_a_wrong_password_keeps_the_name_and_says_so_plainly(client, people):
    response = client.post("/signin", data={"name": "dph.publisher", "password": "wrong"})
    assert response.status_code == 401
    assert "do not match an account" in response.text
    assert 'value="dph.publisher"' in response.text
    assert "statedata_session" not in response.headers.get("set-cookie", "")


def test_sign_in_never_sends_the_user_to_another_site(client, people):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/signin", data={"name": "dph.publisher", "password": PASSWORD, "next": target}
        )
        assert response.headers["location"] == "/"


def test_a_sign_in_posted_from_another_site_is_refused(client, people):
    response = client.post(
        "/signin",
        data={"name": "dph.publisher", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "statedata_session" not in response.headers.get("set-cookie", "")


def test_failed_sign_ins_are_limited_as_the_api_limits_them(people):
    people.installation.settings.sign_in_attempts = 2
    with TestClient(create_app(people.installation), follow_redirects=False) as client:
        for _ in range(2):
            assert (
                client.post("/signin", data={"name": "dph.officer", "password": "x"}).status_code
                == 401
            )
        response = client.post("/signin", data={"name": "dph.officer", "password": PASSWORD})
        assert response.status_code == 429
        assert "Retry-After" in response.headers
        # The API's sign-in shares the limiter.
        assert (
            client.post(
                "/api/v1/session", json={"name": "dph.officer", "password": PASSWORD}
            ).status_code
            == 429
        )


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client, people):
    token = sign_in(client, "dph.publisher")
    refused = client.post("/signout")
    assert refused.status_code == 403
    assert client.get("/api/v1/session").status_code == 200  # still signed in
    response = client.post("/signout", data={"csrf_token": token})
    assert response.status_code == 303
    with people.installation.catalog.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(WebSession).where(WebSession.ended_at.is_(None))
            )
            == 0
        )
    assert "Sign in" in client.get("/").text


# Suggestions --------------------------------------------------------------------------------


def count_suggestions(portal) -> int:  # type: ignore[no-untyped-def]
    with portal.installation.catalog.session() as session:
        return session.scalar(select(func.count()).select_from(Suggestion)) or 0


def test_suggest_a_dataset_and_follow_it(client, portal):
    form = client.get("/suggestions/new")
    assert form.status_code == 200
    # The honeypot is hidden from people and from screen readers.
    assert re.search(r'<div class="trap" aria-hidden="true">', form.text)
    assert 'name="website" type="text" tabindex="-1"' in form.text
    response = client.post("/suggestions/new", data=GOOD)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert GOOD["title"] in page.text and "your suggestion was received" in page.text
    assert "Received" in page.text and "Suggestion received." in page.text
    # The contact email is the agency's staff's to see, not the public's.
    assert GOOD["contact_email"] not in page.text
    listed = client.get("/suggestions?status=received&sort=votes")
    assert GOOD["title"] in listed.text
    assert GOOD["title"] not in client.get("/suggestions?status=declined").text


def test_every_field_error_is_shown_beside_its_field_and_nothing_is_lost(client, portal):
    sent = {**GOOD, "title": "ab", "description": "too short", "contact_email": "not-an-email"}
    response = client.post("/suggestions/new", data=sent)
    assert response.status_code == 400
    for name in ("title", "description", "contact_email"):
        assert f'id="{name}-error"' in response.text
        assert re.search(rf'id="field-{name}"[^>]*aria-invalid="true"', response.text)
    assert 'id="reason-error"' not in response.text
    assert 'value="not-an-email"' in response.text and ">too short</textarea>" in response.text
    assert GOOD["reason"] in response.text
    assert count_suggestions(portal) == 0


def test_the_honeypot_and_duplicates_are_refused(client, portal):
    trapped = client.post("/suggestions/new", data={**GOOD, "website": "http://spam.example"})
    assert trapped.status_code == 400 and "looks automated" in trapped.text
    assert count_suggestions(portal) == 0
    assert client.post("/suggestions/new", data=GOOD).status_code == 303
    again = client.post("/suggestions/new", data={**GOOD, "title": GOOD["title"].upper()})
    assert again.status_code == 409
    assert "vote for it" in again.text and 'href="/suggestions/' in again.text
    assert count_suggestions(portal) == 1


def test_suggestions_are_rate_limited_per_sender(portal):
    portal.installation.settings.suggestions_per_hour = 1
    with TestClient(create_app(portal.installation), follow_redirects=False) as client:
        assert client.post("/suggestions/new", data=GOOD).status_code == 303
        response = client.post("/suggestions/new", data={**GOOD, "title": "Another dataset"})
        assert response.status_code == 429 and "Retry-After" in response.headers
        assert 'value="Another dataset"' in response.text


def test_a_vote_counts_once(client, portal):
    location = client.post("/suggestions/new", data=GOOD).headers["location"]
    number = int(re.search(r"/suggestions/(\d+)", location).group(1))  # type: ignore[union-attr]
    assert "vote for it" in client.get(f"/suggestions/{number}").text
    assert client.post(f"/suggestions/{number}/vote").status_code == 303
    page = client.get(f"/suggestions/{number}?voted=1")
    assert "You have voted" in page.text and "vote for it</button>" not in page.text
    second = client.post(f"/suggestions/{number}/vote")
    assert second.status_code == 409 and "already voted" in second.text
    with portal.installation.catalog.session() as session:
        assert session.get(Suggestion, number).vote_count == 1
    assert client.get("/suggestions/999999").status_code == 404


def test_a_signed_in_post_without_the_csrf_token_changes_nothing(client, people):
    sign_in(client, "dph.publisher")
    response = client.post("/suggestions/new", data=GOOD)
    assert response.status_code == 403 and "CSRF" in response.text
    assert count_suggestions(people) == 0


def test_a_forged_cookie_is_refused_for_changes_and_ignored_for_reading(client, people):
    client.cookies.set("statedata_session", "forged-token-value")
    refused = client.post("/suggestions/new", data={**GOOD, "csrf_token": "anything"})
    assert refused.status_code == 401
    assert count_suggestions(people) == 0
    refused_edit = client.post(
        f"/staff/datasets/{people.towns}/edit", data={"title": "Forged", "csrf_token": "x"}
    )
    assert refused_edit.status_code == 401
    # Reading with it is reading as anyone.
    page = client.get("/suggestions")
    assert page.status_code == 200 and "Signed in as" not in page.text
    assert client.get("/staff").headers["location"].startswith("/signin")


# Staff pages --------------------------------------------------------------------------------


def test_staff_pages_send_strangers_to_sign_in_and_refuse_non_staff(client, people):
    for path in ("/staff", "/staff/publish", f"/staff/datasets/{people.towns}/edit"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/signin?next={path}"
    sign_in(client, "some.analyst")
    assert client.get("/staff").status_code == 403
    assert client.get(f"/staff/datasets/{people.towns}/edit").status_code == 404


def test_another_agency_cannot_see_or_edit_a_dataset(client, people):
    token = sign_in(client, "dot.publisher")
    assert client.get(f"/staff/datasets/{people.secret}/edit").status_code == 404
    response = client.post(
        f"/staff/datasets/{people.secret}/edit", data={"title": "Taken", "csrf_token": token}
    )
    assert response.status_code == 404
    assert "Qwerty" not in response.text
    queue = client.get("/staff")
    assert queue.status_code == 200 and "Qwerty" not in queue.text
    with people.installation.catalog.session() as session:
        assert service.get_dataset(session, people.secret).title.startswith("Qwerty")


def test_a_publishers_edit_of_a_published_dataset_waits_for_the_data_officer(client, people):
    token = sign_in(client, "dph.publisher")
    form = client.get(f"/staff/datasets/{people.towns}/edit")
    assert form.status_code == 200 and 'value="Cases by town"' in form.text
    response = client.post(
        f"/staff/datasets/{people.towns}/edit",
        data={
            "csrf_token": token,
            "title": "Cases reported by town",
            "description": "How many cases each town reported, by day.",
            "category": "Health and Human Services",
            "tags": "cases, towns",
            "update_frequency": "weekly",
            "column-town": "The town, as the census names it.",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("saved=pending")
    with people.installation.catalog.session() as session:
        dataset = service.get_dataset(session, people.towns)
        assert dataset.title == "Cases by town"  # the public still sees it as it was
        draft = session.scalars(select(MetadataDraft)).one()
        assert draft.changes == {
            "title": "Cases reported by town",
            "columns": {"town": "The town, as the census names it."},
        }
        # What a column means is published metadata: it waits in the same draft.
        assert not column_description(session, people.towns, "town")
    assert "waits for your agency's data officer" in client.get(response.headers["location"]).text
    assert "as the census names it" not in public_page(client, people.towns)
    # The publisher sees the change in the queue but may not approve it.
    queue = client.get("/staff")
    assert "Cases reported by town" in queue.text and "Approve change" not in queue.text

    client.cookies.clear()
    officer_token = sign_in(client, "dph.officer")
    queue = client.get("/staff")
    assert f"Approve change {draft.id}" in queue.text
    assert "Cases reported by town" in queue.text and "(now: Cases by town)" in queue.text
    assert "The town, as the census names it." in queue.text and "(now: empty)" in queue.text
    assert client.post(f"/staff/drafts/{draft.id}/approve").status_code == 403  # no token
    done = client.post(f"/staff/drafts/{draft.id}/approve", data={"csrf_token": officer_token})
    assert done.status_code == 303
    with people.installation.catalog.session() as session:
        assert service.get_dataset(session, people.towns).title == "Cases reported by town"
        assert (
            column_description(session, people.towns, "town") == "The town, as the census names it."
        )
    assert "as the census names it" in public_page(client, people.towns)


def form_values(page: str) -> dict[str, str]:
    """What the edit form would send back untouched: its inputs, text areas and choices."""
    found = dict(re.findall(r'<input id="field-[^"]+" name="([^"]+)"[^>]*value="([^"]*)"', page))
    found.update(
        re.findall(r'<textarea id="field-[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S)
    )
    for name, options in re.findall(
        r'<select id="field-[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r"<option selected>([^<]*)</option>", options)
        found[name] = chosen.group(1) if chosen else ""
    return {name: html.unescape(value) for name, value in found.items()}


def public_page(client: TestClient, dataset_id: str) -> str:
    page = client.get(f"/d/{dataset_id}", follow_redirects=True)
    assert page.status_code == 200
    return page.text


def column_description(session, dataset_id: str, field_name: str) -> str | None:  # type: ignore[no-untyped-def]
    return session.scalars(
        select(Column.description).where(
            Column.dataset_id == dataset_id, Column.field_name == field_name
        )
    ).one()


def test_a_publishers_column_description_alone_waits_and_a_rejection_leaves_it(client, people):
    token = sign_in(client, "dph.publisher")
    values = form_values(client.get(f"/staff/datasets/{people.towns}/edit").text)
    assert values["title"] == "Cases by town" and values["update_frequency"] == "weekly"
    response = client.post(
        f"/staff/datasets/{people.towns}/edit",
        data={**values, "csrf_token": token, "column-cases": "Cases reported that week."},
    )
    assert response.headers["location"].endswith("saved=pending")
    with people.installation.catalog.session() as session:
        draft = session.scalars(select(MetadataDraft)).one()
        assert draft.changes == {"columns": {"cases": "Cases reported that week."}}
        assert not column_description(session, people.towns, "cases")
    # The drafts API shows the officer the same change.
    client.cookies.clear()
    officer_token = sign_in(client, "dph.officer")
    waiting = client.get("/api/v1/drafts").json()["metadata_changes"]
    assert [d["changes"] for d in waiting] == [{"columns": {"cases": "Cases reported that week."}}]
    done = client.post(
        f"/staff/drafts/{draft.id}/reject",
        data={"csrf_token": officer_token, "note": "Say which week."},
    )
    assert done.status_code == 303
    with people.installation.catalog.session() as session:
        assert not column_description(session, people.towns, "cases")
        assert session.get(MetadataDraft, draft.id).decision == "rejected"
    assert "Cases reported that week" not in public_page(client, people.towns)


def test_a_publishers_unknown_or_overlong_column_description_is_refused_beside_it(client, people):
    token = sign_in(client, "dph.publisher")
    response = client.post(
        f"/staff/datasets/{people.towns}/edit",
        data={"csrf_token": token, "title": "Cases by town", "column-cases": "x" * 5001},
    )
    assert response.status_code == 400
    assert 'id="column-cases-error"' in response.text and "longer than 5,000" in response.text
    with people.installation.catalog.session() as session:
        assert session.scalar(select(func.count()).select_from(MetadataDraft)) == 0


def test_a_data_officers_edit_applies_at_once_and_bad_values_are_shown(client, people):
    token = sign_in(client, "dph.officer")
    bad = client.post(
        f"/staff/datasets/{people.towns}/edit",
        data={"csrf_token": token, "title": "Cases by town", "contact_email": "nope"},
    )
    assert bad.status_code == 400
    assert 'id="contact_email-error"' in bad.text and 'value="nope"' in bad.text
    response = client.post(
        f"/staff/datasets/{people.towns}/edit",
        data={
            "csrf_token": token,
            "title": "Cases by town, daily",
            "category": "Health and Human Services",
            "tags": "cases, towns",
            "update_frequency": "weekly",
            "description": "How many cases each town reported, by day.",
        },
    )
    assert response.headers["location"].endswith("saved=saved")
    with people.installation.catalog.session() as session:
        assert service.get_dataset(session, people.towns).title == "Cases by town, daily"
        assert session.scalar(select(func.count()).select_from(MetadataDraft)) == 0
    described = client.post(
        f"/staff/datasets/{people.towns}/edit",
        data={
            "csrf_token": token,
            "title": "Cases by town, daily",
            "category": "Health and Human Services",
            "tags": "cases, towns",
            "update_frequency": "weekly",
            "description": "How many cases each town reported, by day.",
            "column-county": "The county the town lies in.",
        },
    )
    assert described.headers["location"].endswith("saved=saved")
    with people.installation.catalog.session() as session:
        assert column_description(session, people.towns, "county") == (
            "The county the town lies in."
        )
        assert session.scalar(select(func.count()).select_from(MetadataDraft)) == 0
    assert "The county the town lies in." in public_page(client, people.towns)


def test_describe_columns_is_audited_and_refuses_unknown_columns(people):
    with people.installation.catalog.session() as session:
        changed = describe_columns(session, people.towns, {"cases": "Cases reported"}, "ana")
        assert changed == ["cases"]
        assert describe_columns(session, people.towns, {"cases": "Cases reported"}, "ana") == []
        with pytest.raises(InvalidInput, match="no column 'nope'"):
            describe_columns(session, people.towns, {"cases": "x", "nope": "y"}, "ana")
    with people.installation.catalog.session() as session:
        column = session.scalars(
            select(Column).where(Column.dataset_id == people.towns, Column.field_name == "cases")
        ).one()
        assert column.description == "Cases reported"
        assert audit.verify(session) == []
        entries = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "columns.describe")
        ).all()
        assert len(entries) == 1 and entries[0].actor == "ana"
        assert entries[0].dataset_id == people.towns and entries[0].detail == {"columns": ["cases"]}


def upload(client: TestClient, token: str, name: str, content: bytes, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/staff/publish",
        data={"csrf_token": token, **fields},
        files={"file": (name, content, "text/csv")},
    )


def rows_of(client: TestClient, dataset_id: str) -> list[dict]:
    return client.get(f"/resource/{dataset_id}.json").json()


def test_a_bad_file_names_the_row_and_column_and_the_old_version_stays(client, people):
    before = rows_of(client, people.towns)
    token = sign_in(client, "dph.publisher")
    ragged = b"town,county,cases\nAvon,Hartford,3\nBethel,Fairfield\n"
    response = upload(client, token, "towns.csv", ragged, dataset=people.towns)
    assert response.status_code in (400, 422)
    assert "Nothing was published" in response.text
    assert "line 3" in response.text and "column &#39;cases&#39; is missing" in response.text
    assert "still the one served" in response.text
    with people.installation.catalog.session() as session:
        assert service.get_dataset(session, people.towns).current_version.number == 1
    assert rows_of(client, people.towns) == before

    good = b"town,county,cases\nAvon,Hartford,3\nBethel,Fairfield,4\n"
    done = upload(client, token, "towns.csv", good, dataset=people.towns)
    assert done.status_code == 303
    assert done.headers["location"] == f"/staff/publish?published={people.towns}&version=2"
    page = client.get(done.headers["location"])
    assert "Published version 2" in page.text and "2 rows" in page.text
    assert [r["town"] for r in rows_of(client, people.towns)] == ["Avon", "Bethel"]


def test_a_publishers_new_dataset_is_a_draft_the_public_cannot_see(client, people):
    token = sign_in(client, "dph.publisher")
    done = upload(client, token, "bridges.csv", b"bridge,rating\nB1,7\nB2,5\n", title="Bridges")
    assert done.status_code == 303
    new_id = re.search(r"published=([\w-]+)", done.headers["location"]).group(1)  # type: ignore[union-attr]
    page = client.get(done.headers["location"])
    assert "It is a draft" in page.text
    with people.installation.catalog.session() as session:
        dataset = service.get_dataset(session, new_id)
        assert dataset.publication_state == "draft" and dataset.agency.code == "DPH"
    client.cookies.clear()
    assert client.get(f"/d/{new_id}").status_code == 404
    assert client.get(f"/resource/{new_id}.json").status_code == 404
    # The data officer sees it in the queue and approves it.
    officer = sign_in(client, "dph.officer")
    assert "Approve and publish “Bridges”" in client.get("/staff").text
    assert (
        client.post(f"/staff/datasets/{new_id}/approve", data={"csrf_token": officer}).status_code
        == 303
    )
    client.cookies.clear()
    assert len(rows_of(client, new_id)) == 2


def test_an_upload_the_portal_cannot_read_is_refused_plainly(client, people):
    token = sign_in(client, "dph.publisher")
    response = upload(client, token, "notes.exe", b"MZ...", dataset=people.towns)
    assert response.status_code == 400 and "is not a file this portal reads" in response.text
    no_file = client.post("/staff/publish", data={"csrf_token": token, "dataset": people.towns})
    assert no_file.status_code == 400 and "Choose a file" in no_file.text
    other = upload(client, token, "x.csv", b"a\n1\n", dataset="zzzz-2222")
    assert other.status_code == 404


def test_a_publish_without_the_csrf_token_is_refused(client, people):
    sign_in(client, "dph.publisher")
    response = client.post(
        "/staff/publish",
        data={"dataset": people.towns},
        files={"file": ("t.csv", b"town\nX\n", "text/csv")},
    )
    assert response.status_code == 403
    with people.installation.catalog.session() as session:
        assert service.get_dataset(session, people.towns).current_version.number == 1


def test_uploads_take_the_larger_cap_of_row_writes(people):
    people.installation.settings.max_request_bytes = 2048
    with TestClient(create_app(people.installation), follow_redirects=False) as client:
        token = sign_in(client, "dph.officer")
        big = b"town,cases\n" + b"".join(f"T{i},{i}\n".encode() for i in range(2000))
        assert len(big) > 2048
        done = upload(client, token, "big.csv", big, dataset=people.towns)
        assert done.status_code == 303
        # A form anywhere else keeps the small cap.
        refused = client.post("/suggestions/new", data={**GOOD, "description": "x" * 4000})
        assert refused.status_code == 413


def test_a_data_officers_new_dataset_is_published_whole_or_not_at_all(client, people):
    token = sign_in(client, "dph.officer")
    with people.installation.catalog.session() as session:
        before = len(service.list_datasets(session))
    failed = upload(client, token, "roads.csv", b"road,km\nA,1\nB\n", title="Roads")
    assert failed.status_code in (400, 422) and "line 3" in failed.text
    with people.installation.catalog.session() as session:
        assert len(service.list_datasets(session)) == before  # no empty dataset left behind
    done = upload(client, token, "roads.csv", b"road,km\nA,1\nB,2\n", title="Roads")
    new_id = re.search(r"published=([\w-]+)", done.headers["location"]).group(1)  # type: ignore[union-attr]
    with people.installation.catalog.session() as session:
        dataset = service.get_dataset(session, new_id)
        assert dataset.publication_state == "published" and dataset.current_version.row_count == 2
    client.cookies.clear()
    assert len(rows_of(client, new_id)) == 2


def test_a_failed_first_file_keeps_the_publishers_draft_for_the_next_try(client, people):
    token = sign_in(client, "dph.publisher")
    failed = upload(client, token, "parks.csv", b"park,acres\nA,1\nB\n", title="Parks")
    assert failed.status_code in (400, 422)
    assert "still the one served" not in failed.text
    with people.installation.catalog.session() as session:
        draft = next(d for d in service.list_datasets(session) if d.title == "Parks")
        assert draft.publication_state == "draft" and draft.current_version is None
    assert f'<option value="{draft.id}" selected>' in failed.text


def test_the_agencys_staff_move_a_suggestion_on_from_its_page(client, people):
    location = client.post("/suggestions/new", data={**GOOD, "agency": "DPH"}).headers["location"]
    number = int(re.search(r"/suggestions/(\d+)", location).group(1))  # type: ignore[union-attr]
    assert "Move this suggestion on" not in client.get(f"/suggestions/{number}").text
    # Another agency's staff neither see the form nor may move it.
    token = sign_in(client, "dot.publisher")
    assert "Move this suggestion on" not in client.get(f"/suggestions/{number}").text
    refused = client.post(
        f"/suggestions/{number}/status", data={"csrf_token": token, "status": "under_review"}
    )
    assert refused.status_code == 403
    client.cookies.clear()

    token = sign_in(client, "dph.publisher")
    page = client.get(f"/suggestions/{number}")
    assert "Move this suggestion on" in page.text and GOOD["contact_email"] in page.text
    skipped = client.post(
        f"/suggestions/{number}/status", data={"csrf_token": token, "status": "planned"}
    )
    assert skipped.status_code == 409 and "can move to under_review or declined" in skipped.text
    moved = client.post(
        f"/suggestions/{number}/status",
        data={"csrf_token": token, "status": "under_review", "note": "We are looking."},
    )
    assert moved.status_code == 303
    page = client.get(moved.headers["location"])
    assert "We are looking." in page.text and "(by dph.publisher)" in page.text
    no_date = client.post(
        f"/suggestions/{number}/status",
        data={"csrf_token": token, "status": "planned", "note": "Soon."},
    )
    assert no_date.status_code == 400 and "needs a target date" in no_date.text
    assert ">Soon.</textarea>" in no_date.text
    with people.installation.catalog.session() as session:
        assert session.get(Suggestion, number).status == "under_review"


def test_unread_notices_show_in_the_queue_until_marked_read(client, people):
    with people.installation.catalog.session() as session:
        dph = service.get_agency(session, "DPH")
        notice, _ = notices.notify_agency(
            session, dph, "agreement.expiring", "Agreement DSA-7 ends in 30 days"
        )
        notice_id = notice.id
    token = sign_in(client, "dot.publisher")
    assert "DSA-7" not in client.get("/staff").text
    assert (
        client.post(f"/staff/notices/{notice_id}/read", data={"csrf_token": token}).status_code
        == 404
    )
    client.cookies.clear()
    token = sign_in(client, "dph.publisher")
    assert "Agreement DSA-7 ends in 30 days" in client.get("/staff").text
    assert client.post(f"/staff/notices/{notice_id}/read").status_code == 403  # no token
    done = client.post(f"/staff/notices/{notice_id}/read", data={"csrf_token": token})
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert "The notice is marked read." in page.text and "DSA-7" not in page.text
