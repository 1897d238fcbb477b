"""The chart builder's "Where?" question in a real browser (Debian's Chromium via Playwright,
against the demo portal on loopback): a town-level dataset draws a choropleth of the demo's
generated town boundaries, with its key and table of areas, passes axe-core, and fits a phone.
"""

from __future__ import annotations

import re

from browsing import PHONE, audit, shoot  # type: ignore[import-not-found]

from statedata.demo.build import dataset_ids

DRAWN = ".chart-canvas[data-drawn='yes'] svg"
EV_TITLE = "Electric Vehicle Registrations by Town"


def _dataset(title: str) -> str:
    return dataset_ids()[title]  # the demo's ids come from its titles


def test_a_map_of_towns_by_keyboard(page, demo):  # type: ignore[no-untyped-def]
    dataset_id = _dataset(EV_TITLE)
    page.goto(f"{demo['url']}/d/{dataset_id}")
    page.wait_for_selector(DRAWN)
    # Asked with the keyboard: the native selects and the button.
    page.focus("#chart-question")
    page.select_option("#chart-question", "places")
    page.select_option("#chart-x", "town")
    page.select_option("#chart-measure", "sum")
    page.select_option("#chart-y", "total_electric")
    page.focus("button:has-text('Draw the chart')")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#chart-takeaway')?.textContent.includes('has the most')"
    )
    page.wait_for_selector(DRAWN + " .mark-shape path")
    # One shape a town, drawn as SVG paths with a real outline (not the whole globe filled).
    assert page.locator("#chart-result svg .mark-shape path").count() == 169
    box = page.locator("#chart-result svg .mark-shape path").first.bounding_box()
    canvas = page.locator("#chart-result .chart-canvas").bounding_box()
    assert 0 < box["width"] < canvas["width"] / 3
    title = page.locator("#chart-takeaway").inner_text()
    assert re.search(r"^.+ has the most total electric: [\d,]+; .+ has the fewest: [\d,]+$", title)
    # The key is a table with a row a shade and one for no data; the table lists every town.
    assert page.locator(".chart-key tbody tr").count() == 6
    assert page.locator(".chart-table tbody tr").count() == 169
    assert page.get_by_role("img", name=re.compile(r"^Map: ")).count() == 1
    assert "Town Boundaries" in page.locator("figure.chart figcaption").inner_text()
    assert "chart=places" in page.url
    assert audit(page) == []


def test_the_map_page_passes_axe_and_fits_a_phone(page, demo):  # type: ignore[no-untyped-def]
    dataset_id = _dataset(EV_TITLE)
    response = page.goto(f"{demo['url']}/d/{dataset_id}/chart?chart=places&x=county&measure=count")
    assert response.status == 200
    page.wait_for_selector(DRAWN + " .mark-shape path")
    # Counties drawn with the towns' shapes: every town shaded by its county's count.
    assert page.locator(".chart-table tbody tr").count() == 8
    assert page.locator("#chart-result svg .mark-shape path").count() == 169
    violations = audit(page)
    shoot(page, "chart-places")
    assert violations == []
    page.set_viewport_size(PHONE)
    assert audit(page) == []
