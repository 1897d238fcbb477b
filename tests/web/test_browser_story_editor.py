"""Writing a data story in a real browser (Debian's Chromium via Playwright, the demo portal on
loopback): a data officer writes a story, adds a chart by choosing a dataset and its column,
sees the preview draw it, publishes it and reads it at /stories/{slug}; the editor and the
story pass axe-core and fit a phone's width."""

from __future__ import annotations

from browsing import PHONE, audit, shoot  # type: ignore[import-not-found]

from statedata.demo.governance import DEMO_PASSWORD

TITLE = "Overdose deaths by county, written in the portal"
SLUG = "overdose-deaths-by-county-written-in-the-portal"
DESKTOP = {"width": 1280, "height": 900}


def sign_in(page, url: str, name: str, going: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/signin?next={going}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{going}")


def accessible_everywhere(page, name: str) -> None:  # type: ignore[no-untyped-def]
    violations = audit(page)
    shoot(page, name)
    assert violations == []
    page.set_viewport_size(PHONE)
    assert audit(page) == []
    page.set_viewport_size(DESKTOP)


def test_write_a_story_with_a_chart_preview_and_publish_it(page, demo):  # type: ignore[no-untyped-def]
    url = demo["url"]
    sign_in(page, url, "dph.officer", "/staff/stories")
    accessible_everywhere(page, "story-desk")
    page.get_by_role("link", name="Write a story").click()
    page.wait_for_url("**/staff/stories/new")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Summary: one sentence for the list of stories").fill(
        "Which counties count the most accidental drug deaths."
    )
    page.get_by_label("Tags (separated by commas)").fill("health, opioids")
    page.get_by_label("The story, in Markdown").fill(
        "Counties with more people have more deaths.\n\n## By county"
    )
    try:
        # Add a chart: the dataset's columns arrive by htmx once it is chosen.
        deaths = page.locator("#field-chart_dataset option", has_text="Accidental Drug Related")
        page.select_option("#field-chart_dataset", deaths.first.get_attribute("value"))
        page.wait_for_selector("#field-chart_x option[value='injury_county']", state="attached")
        page.select_option("#field-chart_x", "injury_county")
        page.get_by_label("The name of what the chart is about (like County)").fill("County")
        page.get_by_label("What the number counts (like deaths)").fill("deaths")
        page.get_by_role("button", name="Add the chart to the story").click()
        page.wait_for_selector("p.success:has-text('The chart was added')")
        text = page.get_by_label("The story, in Markdown").input_value()
        assert "```chart" in text and "GROUP BY injury_county" in text

        page.get_by_role("button", name="Preview").click()
        page.wait_for_selector("#story-preview .chart-canvas[data-drawn='yes'] svg")
        preview = page.locator("#story-preview")
        assert TITLE in preview.locator("h2").first.inner_text()
        assert "most deaths" in preview.locator(".chart-title").inner_text()
        assert preview.locator(".mark-rect path").count() > 3
        accessible_everywhere(page, "story-editor")

        page.get_by_role("button", name="Save the draft").click()
        page.wait_for_url(f"**/staff/stories/{SLUG}/edit?saved=draft")
        page.get_by_role("button", name=f"Publish “{TITLE}”").click()
        page.wait_for_url("**/staff/stories?done=published*")
        assert "readers see" in page.locator("p.success").inner_text()

        page.goto(f"{url}/stories/{SLUG}")
        page.wait_for_selector(".chart-canvas[data-drawn='yes'] svg")
        assert page.locator("h1").inner_text() == TITLE
        assert page.locator("figure.story-chart tbody tr").count() == 8
        accessible_everywhere(page, "story-written")
    finally:
        # The demo is shared by the whole run: the story goes back to a draft, which no list
        # shows, so the other tests see the demo's own two stories.
        page.goto(f"{url}/staff/stories/{SLUG}/edit")
        unpublish = page.get_by_role("button", name="Unpublish: make it a draft again")
        if unpublish.count():
            unpublish.click()
            page.wait_for_url("**/staff/stories?done=unpublished*")
