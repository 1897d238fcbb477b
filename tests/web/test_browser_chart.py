"""The chart builder in a real browser (Debian's Chromium via Playwright, against the demo
portal on loopback): the dataset page draws a first chart by itself, the reader asks another
question with the keyboard and sees a line drawn, with its takeaway title, summary and table;
the chart's own page passes axe-core at desktop and phone width."""

from __future__ import annotations

import re

from browsing import PHONE, audit, shoot  # type: ignore[import-not-found]

DRAWN = ".chart-canvas[data-drawn='yes'] svg"


def marks(opened, kind: str) -> int:  # type: ignore[no-untyped-def]
    return opened.locator(f"#chart-result svg .mark-{kind} path").count()


def test_build_a_chart_and_see_it_drawn(page, demo):  # type: ignore[no-untyped-def]
    dataset_id, _ = demo["towns"]
    page.goto(f"{demo['url']}/d/{dataset_id}")
    # The first chart comes by itself: a bar for each of the most common values of a column.
    page.wait_for_selector(DRAWN)
    assert marks(page, "rect") > 0
    title = page.locator("#chart-takeaway").inner_text()
    assert re.search(r"(the most rows|the same number of rows): [\d,]+", title), title
    assert page.locator("#chart-summary").inner_text().strip()
    rows = page.locator(".chart-table tbody tr").count()
    assert rows == marks(page, "rect")

    # Everything by keyboard: the native selects and the button.
    page.focus("#chart-question")
    page.select_option("#chart-question", "time")
    dates = page.locator("#chart-x option", has_text="(date)")
    page.select_option("#chart-x", dates.first.get_attribute("value"))
    page.focus("#chart-measure")
    page.select_option("#chart-measure", "count")
    page.focus("button:has-text('Draw the chart')")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#chart-takeaway')?.textContent.match(/ (rose|fell|was) /)"
    )
    page.wait_for_selector(DRAWN + " .mark-line path")
    assert marks(page, "line") == 1
    assert page.locator(".chart-table tbody tr").count() > 1
    assert "chart=time" in page.url  # a reload or a shared link shows the same chart
    status = page.locator("#chart-status").inner_text()
    assert status == page.locator("#chart-takeaway").inner_text()
    assert audit(page) == []


def test_a_wrong_choice_gets_a_plain_message(page, demo):  # type: ignore[no-untyped-def]
    dataset_id, _ = demo["towns"]
    page.goto(f"{demo['url']}/d/{dataset_id}")
    page.wait_for_selector(DRAWN)
    page.select_option("#chart-question", "spread")
    texts = page.locator("#chart-x option", has_text="(text)")
    page.select_option("#chart-x", texts.first.get_attribute("value"))
    page.get_by_role("button", name="Draw the chart").click()
    alert = page.locator("#chart-result .error")
    alert.wait_for()
    assert "not a number" in alert.inner_text()


def test_every_kind_of_chart_page_passes_axe_and_fits_a_phone(page, demo):  # type: ignore[no-untyped-def]
    dataset_id, _ = demo["towns"]
    page.goto(f"{demo['url']}/d/{dataset_id}/chart")
    columns = page.eval_on_selector_all(
        "#chart-x option", "options => options.map(o => [o.value, o.textContent])"
    )
    numbers = [v for v, text in columns if text.endswith("(number)")]
    texts = [v for v, text in columns if text.endswith("(text)")]
    assert numbers and texts
    asked = {
        "parts": f"chart=parts&x={texts[0]}&measure=count",
        "spread": f"chart=spread&x={numbers[0]}&measure=count",
        "relation": f"chart=relation&x={numbers[0]}&y={numbers[-1]}&measure=count",
    }
    kinds = {"parts": "rect", "spread": "rect", "relation": "symbol"}
    for name, query in asked.items():
        response = page.goto(f"{demo['url']}/d/{dataset_id}/chart?{query}")
        assert response.status == 200
        page.wait_for_selector(DRAWN)
        assert marks(page, kinds[name]) > 0, name
        assert page.locator(".chart-table tbody tr").count() > 0
        violations = audit(page)
        shoot(page, f"chart-{name}")
        assert violations == [], name
        page.set_viewport_size(PHONE)
        assert audit(page) == [], name
    page.goto(f"{demo['url']}/d/{dataset_id}")
    page.wait_for_selector(DRAWN)
    shoot(page, "dataset-with-chart")
