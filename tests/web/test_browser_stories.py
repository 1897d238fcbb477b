"""Data stories in a real browser (Debian's Chromium via Playwright, the demo portal on
loopback): the list, a demo story with its live charts drawn beside their tables, and both
pages passing axe-core at desktop and phone width."""

from __future__ import annotations

from browsing import PHONE, audit, shoot  # type: ignore[import-not-found]

DRAWN = ".chart-canvas[data-drawn='yes'] svg"


def test_open_a_story_and_see_its_chart(page, demo):  # type: ignore[no-untyped-def]
    page.goto(f"{demo['url']}/stories")
    links = page.locator("main .dataset-list a")
    assert links.count() == 2
    violations = audit(page)
    shoot(page, "stories")
    assert violations == []
    page.set_viewport_size(PHONE)
    assert audit(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Who is dying of overdoses, and where").click()
    page.wait_for_url("**/stories/overdose-deaths")
    charts = page.locator("figure.story-chart")
    assert charts.count() == 3
    page.wait_for_function(
        "document.querySelectorAll(\".chart-canvas[data-drawn='yes']\").length === 3"
    )
    assert page.locator(".mark-line path").count() == 1
    assert page.locator(".mark-rect path").count() > 3
    assert "Deaths" in charts.first.locator(".chart-title").inner_text()
    assert charts.nth(1).locator("tbody tr").count() == 8
    violations = audit(page)
    shoot(page, "story")
    assert violations == []
    page.set_viewport_size(PHONE)
    assert audit(page) == []


def test_a_dataset_page_leads_to_its_stories(page, demo):  # type: ignore[no-untyped-def]
    page.goto(f"{demo['url']}/stories/electric-cars")
    page.get_by_role("link", name="full data").click()
    page.wait_for_selector("#stories")
    page.get_by_role("link", name="Electric cars on Connecticut roads").click()
    page.wait_for_url("**/stories/electric-cars")
    page.go_back()
    page.wait_for_selector("#stories")
    assert audit(page) == []
