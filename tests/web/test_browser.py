"""The portal in a real browser: Debian's Chromium driven by Playwright against the demo portal
served on loopback. Search and open a dataset, sort, filter and page its preview without a
page reload, download a file, and an axe-core audit of every page type (no serious or
critical violation). Screenshots of each page type, at desktop and phone width, are saved
under test-artifacts/web/ to be looked at."""

from __future__ import annotations

import pytest
from browsing import PHONE, audit, shoot  # type: ignore[import-not-found]


def test_search_and_open_a_dataset(page, demo):  # type: ignore[no-untyped-def]
    dataset_id, title = demo["towns"]
    page.goto(demo["url"] + "/")
    page.get_by_label("Search the data").fill(title)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/browse?q=*")
    page.get_by_role("link", name=title, exact=True).first.click()
    page.wait_for_url(f"**/{dataset_id}")
    assert page.get_by_role("heading", level=1).inner_text() == title
    assert page.get_by_role("heading", name="Look at the data").is_visible()


def test_preview_sorts_filters_and_pages_without_reloading(page, demo):  # type: ignore[no-untyped-def]
    dataset_id, _ = demo["towns"]
    page.goto(f"{demo['url']}/d/{dataset_id}")
    page.evaluate("window.stillHere = 'yes'")  # gone if the page reloads
    table = page.locator("table.preview")
    caption = page.locator("#preview-caption")

    page.locator("th a.sort", has_text="Town").first.click()
    page.wait_for_selector('th[aria-sort="ascending"]')
    towns = table.locator("tbody tr td:nth-child(1)").all_inner_texts()
    page.locator("th a.sort", has_text="Town").first.click()
    page.wait_for_selector('th[aria-sort="descending"]')
    # Focus comes back to the sort link once the new rows have settled, a moment after.
    page.wait_for_function(
        "(document.activeElement?.dataset.focus || '').startsWith('sort-')", timeout=10_000
    )
    first_descending = table.locator("tbody tr td").first.inner_text()
    assert first_descending >= towns[0]

    page.get_by_label("Search all text").fill("Hartford")
    page.get_by_role("button", name="Show rows").click()
    page.wait_for_function(
        "document.querySelector('#preview-caption')?.textContent.includes('that match')"
    )
    assert "that match" in caption.inner_text()
    assert "Hartford" in table.inner_text()
    assert "q=Hartford" in page.url  # the address follows, for reload and sharing

    page.get_by_role("link", name="Clear").click()
    page.wait_for_function(
        "!document.querySelector('#preview-caption').textContent.includes('that match')"
    )
    before = caption.inner_text()
    page.get_by_role("link", name="Next page").click()
    page.wait_for_function(f"document.querySelector('#preview-caption').textContent !== {before!r}")
    assert caption.inner_text().startswith("Rows 21 to")
    assert page.evaluate("window.stillHere") == "yes"


def test_download_a_file(page, demo):  # type: ignore[no-untyped-def]
    dataset_id, _ = demo["towns"]
    page.goto(f"{demo['url']}/d/{dataset_id}")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"-{dataset_id}.csv")
    with open(download.path(), encoding="utf-8") as file:
        header = file.readline()
    assert "town" in header


def test_keyboard_reaches_the_skip_link_first(page, demo):  # type: ignore[no-untyped-def]
    page.goto(demo["url"] + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to the main content"
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement?.id === 'main'", timeout=10_000)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("home", "/"),
        ("browse", "/browse?q=school"),
        ("dataset", "/d/{towns}"),
        ("dataset-deprecated", "/d/{deprecated}"),
        ("agency", "/agencies/{agency}"),
        ("agencies", "/agencies"),
        ("glossary", "/glossary"),
        ("not-found", "/d/zzzz-2222"),
    ],
)
def test_every_page_type_passes_axe_and_fits_a_phone(page, demo, name, path):  # type: ignore[no-untyped-def]
    address = path.format(
        towns=demo["towns"][0], deprecated=demo["deprecated"], agency=demo["agency"]
    )
    response = page.goto(demo["url"] + address)
    assert response.status == (404 if name == "not-found" else 200)
    violations = audit(page)
    shoot(page, name)
    assert violations == []
    page.set_viewport_size(PHONE)
    assert audit(page) == []
