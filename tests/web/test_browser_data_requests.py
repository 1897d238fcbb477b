"""Interagency data requests in a real browser (Debian's Chromium driven by Playwright) on the
demo portal: an analyst makes a request, is told what to fix, sends it and finds it in their
list; the agency's data officer moves it on. Each page type is audited with axe-core at
desktop and phone width, with screenshots under test-artifacts/web/."""

from __future__ import annotations

from browsing import DESKTOP, PHONE, audit, shoot  # type: ignore[import-not-found]

from statedata.demo.governance import DEMO_PASSWORD

TITLE = "Asthma visits and air quality by town"


def check(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """No serious or critical axe-core violation at desktop or phone width, and no sideways
    scrolling on a phone; screenshots of both."""
    assert audit(page) == []
    shoot(page, name)
    page.set_viewport_size(PHONE)
    assert audit(page) == []
    page.set_viewport_size(DESKTOP)


def sign_in(page, demo, name: str, going: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{demo['url']}/signin?next={going}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{going}")


def test_make_a_request_send_it_and_an_officer_moves_it_on(page, demo):  # type: ignore[no-untyped-def]
    sign_in(page, demo, "uconn.analyst", "/")
    page.get_by_role("link", name="Data requests").click()
    page.wait_for_url("**/data-requests")
    check(page, "data-requests")
    page.get_by_role("link", name="Request data").click()
    page.wait_for_url("**/data-requests/new")
    check(page, "data-request-form")

    # Sent half done: the form comes back with what to fix, by each field.
    page.get_by_label("A short title for the request").fill(TITLE)
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_selector("#problems")
    assert "Error:" in page.title()
    assert page.get_by_label("A short title for the request").input_value() == TITLE
    problems = page.locator("#problems").inner_text()
    assert "Say what the request is for." in problems
    assert "Choose at least one agency that holds the data." in problems
    check(page, "data-request-form-errors")

    page.get_by_label("Your agency or organisation").fill("University of Connecticut")
    page.get_by_label("What is the request for?").fill(
        "Learn whether poor air days bring more children to the emergency room."
    )
    page.get_by_label("How will the data be used?").fill(
        "Matched with air readings by town and published as counts only."
    )
    page.get_by_label("Who will have access to the data?").fill("Two named analysts.")
    page.get_by_label("Which fields or columns?").fill("visit date\ntown\nage group")
    page.get_by_label("Aggregate numbers").check()
    page.get_by_label("How long will you keep the data?").fill("Two years")
    page.get_by_label("How will the data be destroyed?").fill("Secure deletion, certified")
    page.get_by_label("Department of Public Health (DPH)").check()
    page.get_by_label("Which law allows the data to be shared?").fill("C.G.S. § 4-67p")
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_url("**/data-requests/*?saved=submitted")
    assert page.get_by_role("heading", level=1).inner_text() == TITLE
    assert page.get_by_text("Your request was sent to DPH").is_visible()
    check(page, "data-request")

    page.get_by_role("link", name="Data requests", exact=True).first.click()
    page.wait_for_url("**/data-requests")
    mine = page.locator("section", has=page.get_by_role("heading", name="Your requests"))
    assert TITLE in mine.inner_text()
    address = page.get_by_role("link", name=TITLE).get_attribute("href")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin?signed_out=1")

    # The data officer of DPH finds it among the requests for the agency's data.
    sign_in(page, demo, "dph.officer", "/data-requests")
    held = page.locator("section", has=page.get_by_role("heading", name="Requests for your agency"))
    held.get_by_role("link", name=TITLE).click()
    page.wait_for_url(f"**{address}")
    check(page, "data-request-officer")
    page.get_by_label("Note for the requester (optional)").fill("Our counsel reads it this week.")
    page.get_by_role("button", name="Move it on to “Legal review”").click()
    page.wait_for_url("**?moved=legal_review")
    assert page.get_by_text("The request is now at “Legal review”").is_visible()
    timeline = page.locator("ol.history").inner_text()
    assert "Legal review" in timeline and "by dph.officer" in timeline
    assert "Our counsel reads it this week." in timeline
    check(page, "data-request-moved")


def test_a_request_of_another_agency_is_not_found(page, demo):  # type: ignore[no-untyped-def]
    # The demo's requests all go to agencies other than DOT's; its publisher sees none.
    sign_in(page, demo, "dot.publisher", "/data-requests")
    assert page.locator("ul.status-list").count() == 0
    response = page.goto(f"{demo['url']}/data-requests/1")
    assert response.status == 404
    check(page, "data-request-not-found")


def test_enter_in_a_field_saves_as_a_draft_not_another_block(page, demo):  # type: ignore[no-untyped-def]
    # Enter presses the form's first submit button; that must be "Save as a draft" (which
    # checks the form and sends nothing), not "Add another set of data" further down.
    sign_in(page, demo, "uconn.analyst", "/data-requests/new")
    title = page.get_by_label("A short title for the request")
    title.fill("Lead tests by town")
    title.press("Enter")
    page.wait_for_selector("#problems")
    assert "Your request was not saved" in page.locator("#problems").inner_text()
    assert page.locator("fieldset.data-group").count() == 1
    assert page.get_by_label("A short title for the request").input_value() == "Lead tests by town"
