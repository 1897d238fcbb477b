"""The pages for people to act, in a real browser (Debian's Chromium driven by Playwright)
against a portal served on loopback: suggest a dataset and vote for it, sign in, publish a file
(seeing the upload's progress, then the new version) and edit a dataset, each page type
audited with axe-core at desktop and phone width, with screenshots under test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import DESKTOP, PHONE, audit, shoot  # type: ignore[import-not-found]

from statedata.access import accounts, passwords
from statedata.catalog import DatasetMetadata, service
from statedata.ingest import open_table
from statedata.installation import Installation
from statedata.storage import NewDataset, publish

PASSWORD = "a long enough password 42"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, serve, browser) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """A small portal: one agency, one published dataset, a publisher with a password."""
    folder = tmp_path_factory.mktemp("staff-portal")
    installation = Installation.open(folder / "home")
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
        accounts.add_user(session, "dph.publisher", "publisher", "DPH")
        accounts.add_user(session, "dph.officer", "data_officer", "DPH")
        accounts.add_user(session, "some.analyst", "analyst")
        for name in ("dph.publisher", "dph.officer", "some.analyst"):
            passwords.set_password(session, accounts.get_user(session, name), PASSWORD)
    towns = folder / "towns.csv"
    towns.write_text("town,cases\nAvon,3\nBethel,5\n")
    dataset_id = publish(
        installation,
        open_table(towns),
        new=NewDataset(
            DatasetMetadata(title="Cases by town", category="Health and Human Services"), "DPH"
        ),
    ).dataset_id
    server = serve(installation)
    yield {"url": server.url, "towns": dataset_id, "folder": folder}
    server.stop()
    installation.close()


@pytest.fixture
def page(browser, site):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def check(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """No serious or critical axe-core violation at desktop or phone width; screenshots."""
    violations = audit(page)
    shoot(page, name)
    assert violations == []
    page.set_viewport_size(PHONE)
    assert audit(page) == []
    page.set_viewport_size(DESKTOP)


def sign_in(page, site, name: str = "dph.publisher", going: str = "/staff") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site['url']}/signin?next={going}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{going}")


def test_suggest_a_dataset_and_vote(page, site):  # type: ignore[no-untyped-def]
    page.goto(site["url"] + "/")
    page.get_by_role("link", name="Suggest data").click()
    page.wait_for_url("**/suggestions")
    check(page, "suggestions")
    page.get_by_role("link", name="Suggest a dataset").click()
    page.wait_for_url("**/suggestions/new")
    check(page, "suggestion-form")
    # The honeypot is neither seen nor reachable with the keyboard.
    assert not page.locator("#field-website").is_visible() or page.evaluate(
        "document.getElementById('field-website').getBoundingClientRect().right <= 0"
    )
    page.get_by_label("What data would you like?").fill("Bus stops")
    page.get_by_label("Your email (optional)").fill("not an email")
    page.get_by_role("button", name="Send the suggestion").click()
    page.wait_for_selector(".error-summary")
    assert page.get_by_label("What data would you like?").input_value() == "Bus stops"
    assert "Error:" in page.title()
    check(page, "suggestion-form-errors")

    page.get_by_label("What data would you like?").fill("Bus stops and shelters")
    page.get_by_label("What should it hold?").fill("Every bus stop with its place and shelter.")
    page.get_by_label("Why is it needed?").fill("Riders plan trips with it.")
    page.get_by_label("Your email (optional)").fill("")
    page.get_by_role("button", name="Send the suggestion").click()
    page.wait_for_url("**/suggestions/*?sent=1")
    assert page.get_by_role("heading", level=1).inner_text() == "Bus stops and shelters"
    check(page, "suggestion")
    page.get_by_role("button", name="I need this too: vote for it").click()
    page.wait_for_url("**?voted=1")
    assert page.get_by_text("You have voted for this suggestion").is_visible()
    assert "1" in page.locator(".facts").inner_text()


def test_sign_in_and_out(page, site):  # type: ignore[no-untyped-def]
    page.goto(site["url"] + "/signin")
    check(page, "signin")
    page.get_by_label("User name").fill("dph.publisher")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#signin-error")
    assert page.get_by_label("User name").input_value() == "dph.publisher"
    check(page, "signin-error")
    sign_in(page, site)
    assert "Signed in as dph.publisher" in page.locator("header").inner_text()
    check(page, "staff-queue")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin?signed_out=1")
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_publish_a_file_with_a_progress_bar_then_see_the_new_version(page, site):  # type: ignore[no-untyped-def]
    sign_in(page, site, going="/staff/publish")
    check(page, "publish")
    big = Path(site["folder"]) / "towns-v2.csv"
    big.write_text("town,cases\n" + "".join(f"Town {i},{i % 97}\n" for i in range(200_000)))
    page.get_by_label("Which dataset?").select_option(site["towns"])
    page.get_by_label("File to publish").set_input_files(str(big))
    # A slow line (about 1.5 MB/s up), so the upload reports its progress several times.
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 1_500_000},
    )
    # What the bar and its status line show is kept across the page change that follows.
    page.evaluate(
        """() => {
            const bar = document.getElementById('upload-bar');
            const status = document.getElementById('upload-status');
            const seen = [];
            new MutationObserver(() => {
                seen.push([bar.value, status.textContent]);
                sessionStorage.setItem('seen', JSON.stringify(seen));
            }).observe(document.getElementById('upload-progress'),
                       {attributes: true, childList: true, subtree: true, characterData: true});
        }"""
    )
    page.get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_selector("#upload-progress:not([hidden])")
    page.wait_for_url("**/staff/publish?published=*", timeout=60_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen') || '[]')")
    values = [value for value, _ in seen]
    assert any(0 < value < 100 for value in values), seen[:10]
    assert values == sorted(values)
    assert any("Sent " in text and "% of towns-v2.csv" in text for _, text in seen)
    assert any("Checking and publishing" in text for _, text in seen)
    assert page.get_by_text("Published version 2 of “Cases by town”: 200,000 rows").is_visible()
    check(page, "published")
    page.get_by_role("link", name="See the dataset").click()
    page.wait_for_selector("table.preview")
    assert "Town " in page.locator("table.preview").inner_text()


def test_a_bad_file_is_explained_and_the_old_version_stays(page, site):  # type: ignore[no-untyped-def]
    sign_in(page, site, going="/staff/publish")
    bad = Path(site["folder"]) / "broken.csv"
    bad.write_text("town,cases\nAvon,3\nBethel\n")
    page.get_by_label("Which dataset?").select_option(site["towns"])
    page.get_by_label("File to publish").set_input_files(str(bad))
    page.get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_selector("#problems")
    text = page.locator("#problems").inner_text()
    assert "line 3" in text and "'cases' is missing" in text and "still the one served" in text
    # The message is announced and has the focus.
    page.wait_for_function("document.activeElement?.id === 'problems'", timeout=10_000)
    check(page, "publish-error")


def test_edit_a_dataset_and_its_columns(page, site):  # type: ignore[no-untyped-def]
    sign_in(page, site, going=f"/staff/datasets/{site['towns']}/edit")
    check(page, "edit")
    page.get_by_label("Title", exact=True).fill("Cases reported by town")
    page.locator("#field-column-cases").fill("How many cases the town reported.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**saved=pending")
    assert page.get_by_text("waits for your agency's data officer").is_visible()
    page.goto(f"{site['url']}/staff")
    assert page.get_by_text("Change to").first.is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin?signed_out=1")

    # The data officer sees the change with its buttons, and approves it.
    sign_in(page, site, name="dph.officer")
    check(page, "staff-queue-officer")
    page.get_by_role("button", name="Approve change").first.click()
    page.wait_for_url("**/staff?done=approved")
    assert page.get_by_text("Done: it is approved.").is_visible()
    page.goto(f"{site['url']}/d/{site['towns']}")
    assert page.get_by_role("heading", level=1).inner_text() == "Cases reported by town"


def test_someone_without_an_agency_role_gets_a_plain_refusal(page, site):  # type: ignore[no-untyped-def]
    sign_in(page, site, name="some.analyst", going="/")
    response = page.goto(f"{site['url']}/staff")
    assert response.status == 403
    assert "These pages are for agency staff" in page.locator("main").inner_text()
    check(page, "staff-refused")


def test_staff_move_a_suggestion_on(page, site):  # type: ignore[no-untyped-def]
    page.goto(site["url"] + "/suggestions/new")
    page.get_by_label("What data would you like?").fill("Clinic waiting times")
    page.get_by_label("What should it hold?").fill("Each clinic's median wait, by month.")
    page.get_by_label("Why is it needed?").fill("Patients choose where to go.")
    page.get_by_label("Which agency holds it? (optional)").select_option("DPH")
    page.get_by_role("button", name="Send the suggestion").click()
    page.wait_for_url("**/suggestions/*?sent=1")
    address = page.url.split("?")[0]
    sign_in(page, site, going=address.removeprefix(site["url"]))
    check(page, "suggestion-staff")
    page.get_by_label("Under review").check()
    page.get_by_label("Note (public)").fill("We are finding out what we hold.")
    page.get_by_role("button", name="Move it on").click()
    page.wait_for_url("**?moved=1")
    assert "We are finding out what we hold." in page.locator(".history").inner_text()


def test_publishing_works_without_javascript(browser, site):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, site, name="dph.officer", going="/staff/publish")
        small = Path(site["folder"]) / "clinics.csv"
        small.write_text("clinic,town\nNorth,Avon\nSouth,Bethel\nEast,Canton\n")
        page.get_by_label("Title of the new dataset").fill("Clinics")
        page.get_by_label("File to publish").set_input_files(str(small))
        page.get_by_role("button", name="Publish", exact=True).click()
        page.wait_for_url("**/staff/publish?published=*")
        assert page.get_by_text("Published version 1 of “Clinics”: 3 rows").is_visible()
        assert "It is a draft" not in page.locator("#published").inner_text()
    finally:
        context.close()
