"""Writing data stories in the portal (web/story_editor.py), with TestClient over the small
catalog of conftest.py, on SQLite and PostgreSQL: a publisher's draft stays private until the
agency's data officer publishes it, a change to a published story waits beside it, other
agencies and anonymous readers get 404s, CSRF is refused, bad chart blocks are explained by
line, odd addresses are refused, and the file written is the one the public pages read."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from conftest import SECRET_TITLE  # type: ignore[import-not-found]
from statedata.access import accounts, passwords
from statedata.access.accounts import add_user
from statedata.catalog import audit, service
from statedata.catalog.models import AuditEvent
from statedata.web.stories import Story, find_story, format_story, read_story, story_path

PASSWORD = "a long enough password 42"


@pytest.fixture
def people(portal):  # type: ignore[no-untyped-def]
    """Passwords for the DPH publisher, a DPH data officer and another agency's publisher."""
    with portal.installation.catalog.session() as session:
        service.add_agency(session, "DOT", "Department of Transportation")
        add_user(session, "dph.officer", "data_officer", "DPH", display_name="Priya Raman")
        add_user(session, "dot.publisher", "publisher", "DOT")
        for name in ("dph.publisher", "dph.officer", "dot.publisher"):
            passwords.set_password(session, accounts.get_user(session, name), PASSWORD)
    return portal


def sign_in(client, name: str) -> str:  # type: ignore[no-untyped-def]
    """Sign in through the page (replacing whoever was signed in); the session's CSRF token."""
    client.cookies.clear()
    response = client.post("/signin", data={"name": name, "password": PASSWORD, "next": "/"})
    assert response.status_code == 303, response.text
    return client.get("/api/v1/session").json()["csrf_token"]


def chart(dataset: str, column: str = "county", kind: str = "bar") -> str:
    return (
        f"```chart\ndataset: {dataset}\ntype: {kind}\nmeasure: count\n"
        f"query: SELECT {column}, count(*) AS towns GROUP BY {column}\n"
        f"  ORDER BY towns DESC, {column}\nx: County\ny: towns\n```"
    )


def story_form(portal, csrf: str, **changes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    form = {
        "csrf_token": csrf,
        "title": "Where the towns are",
        "address": "",
        "summary": "Which county has the most towns.",
        "tags": "towns, counties",
        "agency": "DPH",
        "body": "Hartford leads, in *quiet* numbers.\n\n" + chart(portal.towns) + "\n",
        "action": "save",
    }
    form.update(changes)
    return form


def story_body(html: str) -> str:
    found = re.search(r'<div class="story-body">(.*?)</div>\s*</article>', html, re.S)
    assert found, "no story body in the page"
    return found.group(1)


def events(portal, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with portal.installation.catalog.session() as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        session.expunge_all()
        return list(found)


def test_a_publishers_draft_is_private_until_the_officer_publishes_it(client, people):
    csrf = sign_in(client, "dph.publisher")
    assert client.get("/staff/stories/new").status_code == 200
    saved = client.post("/staff/stories/new", data=story_form(people, csrf))
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/staff/stories/where-the-towns-are/edit?saved=draft"
    story = find_story(people.installation.settings, "where-the-towns-are")
    assert story is not None
    assert (story.status, story.agency, story.written_by) == ("draft", "DPH", "dph.publisher")
    # Its agency sees the draft; the publisher may not publish it.
    assert "Draft." in client.get("/stories/where-the-towns-are").text
    refused = client.post("/staff/stories/where-the-towns-are/publish", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert "Where the towns are" in client.get("/staff").text  # waiting in the queue

    client.cookies.clear()
    assert client.get("/stories/where-the-towns-are").status_code == 404
    assert "Where the towns are" not in client.get("/stories").text
    assert "Where the towns are" not in client.get("/stories?q=towns").text
    towns_page = client.get(f"/d/{people.towns}", follow_redirects=True).text
    assert "Where the towns are" not in towns_page

    csrf = sign_in(client, "dph.officer")
    desk = client.get("/staff/stories").text
    assert "Publish “Where the towns are”" in desk
    published = client.post("/staff/stories/where-the-towns-are/publish", data={"csrf_token": csrf})
    assert published.status_code == 303

    client.cookies.clear()
    page = client.get("/stories/where-the-towns-are")
    assert page.status_code == 200
    assert "<em>quiet</em>" in page.text and "Hartford has the most towns: 3" in page.text
    assert "Where the towns are" in client.get("/stories?q=hartford quiet").text
    assert "Where the towns are" in client.get(f"/d/{people.towns}", follow_redirects=True).text
    assert [e.detail["story"] for e in events(people, "story.save")] == ["where-the-towns-are"]
    publish_events = events(people, "story.publish")
    assert [(e.actor, e.detail["story"]) for e in publish_events] == [
        ("dph.officer", "where-the-towns-are")
    ]
    with people.installation.catalog.session() as session:
        assert audit.verify(session) == []


def test_a_change_to_a_published_story_waits_beside_it_until_approved(client, people):
    csrf = sign_in(client, "dph.officer")
    client.post("/staff/stories/new", data=story_form(people, csrf, address="towns"))
    client.post("/staff/stories/towns/publish", data={"csrf_token": csrf})

    csrf = sign_in(client, "dph.publisher")
    edit = client.get("/staff/stories/towns/edit")
    assert "Save the change for approval" in edit.text
    changed = story_form(people, csrf, title="Towns, counted again", body="New words only.")
    response = client.post("/staff/stories/towns/edit", data=changed)
    assert response.headers["location"] == "/staff/stories/towns/edit?saved=pending"
    assert story_path(people.installation.settings, "towns", pending=True).is_file()
    # The editor shows the change; readers still get the published text.
    assert "New words only." in client.get("/staff/stories/towns/edit").text
    client.cookies.clear()
    public = client.get("/stories/towns").text
    assert "Where the towns are" in public and "New words only." not in public
    assert "Towns, counted again" not in client.get("/stories").text

    csrf = sign_in(client, "dph.officer")
    assert "Approve the change to “Where the towns are”" in client.get("/staff/stories").text
    client.post("/staff/stories/towns/publish", data={"csrf_token": csrf})
    assert not story_path(people.installation.settings, "towns", pending=True).exists()
    client.cookies.clear()
    assert "New words only." in client.get("/stories/towns").text

    csrf = sign_in(client, "dph.officer")
    unpublished = client.post("/staff/stories/towns/unpublish", data={"csrf_token": csrf})
    assert unpublished.status_code == 303
    client.cookies.clear()
    assert client.get("/stories/towns").status_code == 404
    assert [e.actor for e in events(people, "story.unpublish")] == ["dph.officer"]
    outcomes = [e.detail["outcome"] for e in events(people, "story.save")]
    assert outcomes == ["draft", "pending"]


def test_an_officers_edit_of_a_published_story_shows_at_once(client, people):
    csrf = sign_in(client, "dph.officer")
    client.post("/staff/stories/new", data=story_form(people, csrf, address="towns"))
    client.post("/staff/stories/towns/publish", data={"csrf_token": csrf})
    response = client.post(
        "/staff/stories/towns/edit", data=story_form(people, csrf, body="Rewritten at once.")
    )
    assert response.headers["location"] == "/staff/stories/towns/edit?saved=published"
    client.cookies.clear()
    assert "Rewritten at once." in client.get("/stories/towns").text


def test_other_agencies_and_anonymous_readers_get_404_on_edit_pages(client, people):
    csrf = sign_in(client, "dph.publisher")
    client.post("/staff/stories/new", data=story_form(people, csrf, address="towns"))
    before = story_path(people.installation.settings, "towns").read_text()

    csrf = sign_in(client, "dot.publisher")
    assert client.get("/staff/stories/towns/edit").status_code == 404
    assert client.get("/stories/towns").status_code == 404
    assert "Where the towns are" not in client.get("/staff/stories").text
    for path in ("/staff/stories/towns/edit", "/staff/stories/towns/publish"):
        response = client.post(path, data=story_form(people, csrf, body="Taken over."))
        assert response.status_code == 404, path
        assert "Where the towns are" not in response.text
    client.cookies.clear()
    assert client.get("/staff/stories/towns/edit").status_code == 404
    assert client.get("/staff/stories/nothing-here/edit").status_code == 404
    assert client.get("/staff/stories").status_code == 303  # to the sign-in page
    assert story_path(people.installation.settings, "towns").read_text() == before


def test_a_change_without_the_csrf_token_is_refused(client, people):
    csrf = sign_in(client, "dph.publisher")
    client.post("/staff/stories/new", data=story_form(people, csrf, address="towns"))
    before = story_path(people.installation.settings, "towns").read_text()
    for token in ("", "forged-token"):
        made = client.post("/staff/stories/new", data=story_form(people, token, address="other"))
        assert made.status_code == 403
        edited = client.post("/staff/stories/towns/edit", data=story_form(people, token))
        assert edited.status_code == 403
    csrf = sign_in(client, "dph.officer")
    assert (
        client.post("/staff/stories/towns/publish", data={"csrf_token": "forged"}).status_code
        == 403
    )
    assert not story_path(people.installation.settings, "other").exists()
    assert story_path(people.installation.settings, "towns").read_text() == before


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("type: pie\nquery: SELECT county, count(*) GROUP BY county", "Line 5: “pie” is not"),
        ("type: bar\nquery: SELECT nope, count(*) GROUP BY nope", "Line 6: the query does not"),
        ("type: bar\ncolour: red\nquery: SELECT county", "Line 6: a chart has no “colour”"),
        ("type: bar\njust words here", "Line 6: “just words here” is not"),
        ("type: bar", "Line 3: the chart has no query"),
    ],
)
def test_a_bad_chart_block_is_explained_by_its_line_and_nothing_is_saved(
    client, people, block, message
):
    csrf = sign_in(client, "dph.publisher")
    body = f"First line.\n\n```chart\ndataset: {people.towns}\n" + block + "\n```\n"
    response = client.post("/staff/stories/new", data=story_form(people, csrf, body=body))
    assert response.status_code == 400
    text = response.text.replace("&#34;", '"')
    assert message in text, re.findall(r"Line \d+[^<]*", text)
    assert "Nothing was saved" in text and "First line." in text
    assert not story_path(people.installation.settings, "where-the-towns-are").exists()


def test_a_chart_over_data_the_reader_may_not_see_is_explained(client, people):
    csrf = sign_in(client, "dph.publisher")
    hidden = chart(people.secret, column="diagnosis")
    response = client.post("/staff/stories/new", data=story_form(people, csrf, body=hidden))
    assert response.status_code == 303
    # Another agency's publisher may not chart the protected data at all.
    csrf = sign_in(client, "dot.publisher")
    response = client.post(
        "/staff/stories/new",
        data=story_form(people, csrf, agency="DOT", address="mine", body=hidden),
    )
    assert response.status_code == 400
    assert f"there is no dataset “{people.secret}” you may read" in response.text
    assert SECRET_TITLE not in response.text


def test_odd_addresses_are_refused(client, people):
    csrf = sign_in(client, "dph.publisher")
    for address in ("../settings", "a/b", "..", "Upper-Case", "-dash", "a" * 101):
        response = client.post("/staff/stories/new", data=story_form(people, csrf, address=address))
        assert response.status_code == 400, address
        assert "lower-case letters, digits and single dashes" in response.text
    home = people.installation.settings.home
    assert not (home / "settings.md").exists() and not (home / "stories" / "a").exists()
    for path in ("/staff/stories/..%2Fsettings/edit", "/staff/stories/a.b/edit"):
        assert client.get(path).status_code == 404
        assert client.post(path, data={"csrf_token": csrf}).status_code == 404
    with pytest.raises(ValueError):
        story_path(people.installation.settings, "../settings")
    # An address already taken is refused, and the story there is left alone.
    client.post("/staff/stories/new", data=story_form(people, csrf, address="taken"))
    again = client.post(
        "/staff/stories/new", data=story_form(people, csrf, address="taken", title="Other")
    )
    assert again.status_code == 400 and "already a story at /stories/taken" in again.text
    assert find_story(people.installation.settings, "taken").title == "Where the towns are"


def test_the_file_is_the_one_the_public_pages_read(client, people):
    csrf = sign_in(client, "dph.officer")
    form = story_form(people, csrf, title='"Quoted" towns: a count', address="towns")
    client.post("/staff/stories/new", data=form)
    path = story_path(people.installation.settings, "towns")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: ")
    assert "\nagency: DPH\nstatus: draft\nwritten_by: dph.officer\n---\n\n" in text
    assert "author: Priya Raman" in text
    story = read_story(path)
    assert story.title == '"Quoted" towns: a count'
    assert story.tags == ["towns", "counties"]
    assert story.body.strip() == form["body"].strip()
    # No temporary file is left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == ["towns.md"]
    client.post("/staff/stories/towns/publish", data={"csrf_token": csrf})
    assert "status: published" in path.read_text(encoding="utf-8")


def test_hand_written_stories_stay_published_and_are_the_cdos_to_edit(client, people):
    folder = people.installation.settings.home / "stories"
    folder.mkdir(exist_ok=True)
    (folder / "by-hand.md").write_text("---\ntitle: By hand\n---\nWords.\n", encoding="utf-8")
    assert client.get("/stories/by-hand").status_code == 200
    sign_in(client, "dph.officer")
    assert client.get("/staff/stories/by-hand/edit").status_code == 404
    (folder / "odd.md").write_text("---\ntitle: Odd\nstatus: publishd\n---\nX.\n", "utf-8")
    client.cookies.clear()
    assert client.get("/stories/odd").status_code == 404  # a misspelt status is a draft


def test_the_preview_renders_as_the_public_page_and_says_what_is_left_out(client, people):
    csrf = sign_in(client, "dph.officer")
    body = (
        "Open first.\n\n"
        + chart(people.towns)
        + "\n\nThen protected.\n\n"
        + chart(people.secret, column="diagnosis")
        + "\n"
    )
    form = story_form(people, csrf, body=body, address="towns", action="preview")
    preview = client.post("/staff/stories/preview", data=form, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert preview.text.count('class="chart story-chart"') == 1
    assert "Hartford has the most towns: 3" in preview.text
    assert "qq-private-value" not in preview.text
    assert f"is over “{SECRET_TITLE}”, which is not open data" in preview.text
    assert 'hx-swap-oob="innerHTML:#story-notes"' in preview.text
    # Without htmx the same button shows the editor's page with the preview in it.
    page = client.post("/staff/stories/new", data=form)
    assert page.status_code == 200 and 'class="preview-frame"' in page.text
    assert not story_path(people.installation.settings, "towns").exists()

    client.post("/staff/stories/new", data={**form, "action": "save"})
    client.post("/staff/stories/towns/publish", data={"csrf_token": csrf})
    client.cookies.clear()
    public = client.get("/stories/towns").text
    assert story_body(public) == story_body(preview.text)


def test_add_a_chart_writes_a_block_that_runs(client, people):
    csrf = sign_in(client, "dph.publisher")
    columns = client.get(f"/staff/stories/columns?chart_dataset={people.towns}")
    assert 'value="county"' in columns.text and 'value="cases"' in columns.text
    form = story_form(
        people,
        csrf,
        body="Words.",
        action="add-chart",
        chart_dataset=people.towns,
        chart_type="bar",
        chart_x="county",
        chart_measure="sum",
        chart_number="cases",
        chart_y="cases",
    )
    added = client.post("/staff/stories/new", data=form)
    assert added.status_code == 200, added.text
    body = re.search(r'name="body"[^>]*>(.*?)</textarea>', added.text, re.S).group(1)  # type: ignore[union-attr]
    assert body.startswith("Words.\n\n```chart\n")
    assert f"dataset: {people.towns}\ntype: bar\nmeasure: sum\n" in body
    assert "query: SELECT county, sum(cases) AS value WHERE county IS NOT NULL" in body
    assert "x: County\ny: cases\n```" in body.replace("x: county", "x: County")
    saved = client.post("/staff/stories/new", data={**form, "body": body, "action": "save"})
    assert saved.status_code == 303
    assert "Hartford has the most cases: 21" in client.get("/stories/where-the-towns-are").text
    # A line chart needs a date; the form says so, and nothing is added.
    refused = client.post(
        "/staff/stories/new", data={**form, "chart_type": "line", "chart_x": "county"}
    )
    assert refused.status_code == 400
    assert "A line chart goes over time: choose a date column." in refused.text
    # Another agency's staff are offered no columns of the protected dataset.
    sign_in(client, "dot.publisher")
    hidden = client.get(f"/staff/stories/columns?chart_dataset={people.secret}")
    assert hidden.status_code == 200 and "diagnosis" not in hidden.text
    assert SECRET_TITLE not in client.get("/staff/stories/new").text


ONE_LINE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
BODY = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")) | st.just("\n"))


@given(
    title=ONE_LINE.filter(lambda t: t.split()),
    summary=ONE_LINE,
    tags=st.lists(st.from_regex(r"[a-z0-9][a-z0-9 ]{0,11}", fullmatch=True), max_size=4),
    body=BODY,
)
def test_a_written_story_reads_back_as_written(title, summary, tags, body):
    """What the editor writes, the public pages read back: any title or summary (quotes,
    colons, dashes, line breaks made spaces), tags and Markdown."""
    story = Story(
        "a-story",
        title,
        summary,
        author="Priya Raman",
        date=dt.date(2026, 11, 26),
        tags=tags,
        body=body,
        agency="DPH",
        status="draft",
        written_by="dph.officer",
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a-story.md"
        path.write_text(format_story(story), encoding="utf-8")
        back = read_story(path)
    assert back.title == " ".join(title.split())
    assert back.summary == " ".join(summary.split())
    assert back.tags == [" ".join(t.split()) for t in tags]
    assert back.body.strip("\n") == body.strip("\n")
    assert (back.date, back.agency, back.status, back.written_by, back.author) == (
        story.date,
        "DPH",
        "draft",
        "dph.officer",
        "Priya Raman",
    )


def test_the_preview_loads_a_dataset_once_however_many_charts_use_it(client, people):
    """Guards 0dd74c1: the preview loaded each chart's dataset twice per chart block (36
    catalog queries for three charts); it loads each charted dataset once."""
    from sqlalchemy import event

    csrf = sign_in(client, "dph.officer")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def preview_queries(columns: list[str]) -> int:
        body = "\n\n".join(["Charts."] + [chart(people.towns, column=c) for c in columns]) + "\n"
        form = story_form(people, csrf, body=body, address="towns", action="preview")
        statements.clear()
        preview = client.post("/staff/stories/preview", data=form, headers={"HX-Request": "true"})
        assert preview.status_code == 200
        assert preview.text.count('class="chart story-chart"') == len(columns)
        return len(statements)

    catalog_engine = people.installation.catalog.engine
    event.listen(catalog_engine, "before_cursor_execute", count)
    try:
        preview_queries(["county"])  # the first request's one-off work is not counted
        one = preview_queries(["county"])
        three = preview_queries(["county", "town", "reported"])
    finally:
        event.remove(catalog_engine, "before_cursor_execute", count)
    assert one > 0
    assert three <= one + 1, f"1 chart: {one} catalog queries; 3 charts: {three}"
