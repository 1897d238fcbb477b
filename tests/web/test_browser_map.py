"""The dataset page's map in a real browser (Debian's Chromium via Playwright, the demo portal
on loopback): the points are drawn from the SODA API with no base map, the map takes the
keyboard, and the page with its map passes axe-core at desktop and phone width."""

from __future__ import annotations

import datetime as dt

from browsing import PHONE, audit, shoot  # type: ignore[import-not-found]

from statedata.demo.build import plan_entries

AIR = "Air Quality Index Daily Readings by Monitor"  # 14 monitors, by latitude and longitude


def _air_quality() -> str:
    return next(e.id for e in plan_entries(dt.date.today()) if e.plan.title == AIR)


def test_see_the_points_on_the_map(page, demo):  # type: ignore[no-untyped-def]
    page.goto(f"{demo['url']}/d/{_air_quality()}")
    section = page.locator("#map")
    assert "14 places are on the map" in section.locator("#map-summary").inner_text()
    assert section.locator("tbody tr").count() == 14
    page.wait_for_selector("#map-canvas[data-drawn='yes']")
    assert page.locator("#map-canvas").get_attribute("data-features") == "14"
    drawn = page.evaluate(
        "new Set(window.statedataMap.queryRenderedFeatures({layers: ['points']})"
        ".map(f => f.properties.name)).size"
    )
    assert drawn == 14
    assert page.locator(".maplibregl-ctrl-scale").inner_text().strip()

    # The keyboard moves the map: focus it, press an arrow, and the centre changes.
    before = page.evaluate("window.statedataMap.getCenter().toArray()")
    page.locator("#map-canvas canvas").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"window.statedataMap.getCenter().toArray()[0] !== {before[0]}", timeout=5_000
    )
    page.get_by_role("button", name="Zoom in").click()

    violations = audit(page)
    shoot(page, "dataset-with-map")
    assert violations == []
    page.set_viewport_size(PHONE)
    assert audit(page) == []


def test_a_dataset_without_places_has_no_map(page, demo):  # type: ignore[no-untyped-def]
    payroll = next(
        e.id
        for e in plan_entries(dt.date.today())
        if e.plan.title.startswith("State Employee Payroll")
    )
    page.goto(f"{demo['url']}/d/{payroll}")
    assert page.locator("#chart").count() == 1
    assert page.locator("#map").count() == 0
