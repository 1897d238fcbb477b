"""The browse page: results of the catalog search with facets and counts, sorting and
paging, at Socrata's address, showing only what the viewer may see."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

SECRET_TITLE = "Qwerty Protected Caseload"


def titles(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        html.unescape(t) for t in re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', response.text)
    ]


def test_search_finds_datasets_and_links_their_pages(client: TestClient, portal):
    response = client.get("/browse", params={"q": "cases town"})
    assert response.status_code == 200
    assert titles(response)[0] == "Cases by town"
    assert f'href="/Health-and-Human-Services/Cases-by-town/{portal.towns}"' in response.text
    assert 'value="cases town"' in response.text  # the box keeps what was typed


def test_misspellings_and_plurals_still_find(client: TestClient, portal):
    assert "Clinic inspections" in titles(client.get("/browse", params={"q": "clinic inspecton"}))
    assert "Cases by town" in titles(client.get("/browse", params={"q": "towns"}))


def test_facets_show_counts_and_filter(client: TestClient, portal):
    everything = client.get("/browse")
    assert "3 datasets" in everything.text
    assert re.search(
        r"Health and Human Services</a>\s*<span class=\"count\">3</span>", everything.text
    )
    one_tag = client.get("/browse", params={"tags": "cases"})  # Socrata's name for it
    assert titles(one_tag) == ["Cases by town"]
    assert 'aria-current="true"' in one_tag.text
    # The chosen value links to the same search without it.
    assert re.search(r'<a href="/browse" aria-current="true" class="selected">', one_tag.text)


def test_hidden_datasets_stay_out_of_results_and_counts(client: TestClient, portal, staff):
    anonymous = client.get("/browse", params={"q": "Qwerty caseload"})
    assert SECRET_TITLE not in anonymous.text
    assert SECRET_TITLE in titles(client.get("/browse", params={"q": "Qwerty"}, headers=staff))
    assert "4 datasets" in client.get("/browse", headers=staff).text


def test_sorting_and_paging(client: TestClient, portal, monkeypatch):
    monkeypatch.setattr("statedata.web.browse.PAGE_SIZE", 2)
    first = client.get("/browse", params={"sort": "title"})
    assert titles(first) == ["Cases by town", "Cases by town (old)"]
    assert "Page 1 of 2" in first.text
    assert 'href="/browse?sort=title&amp;page=2"' in first.text
    second = client.get("/browse", params={"sort": "title", "page": "2"})
    assert titles(second) == ["Clinic inspections"]
    assert 'href="/browse?sort=title"' in second.text  # back to page 1


def test_a_search_that_cannot_run_says_why(client: TestClient, portal):
    response = client.get("/browse", params={"q": "x" * 600})
    assert response.status_code == 400
    assert "at most 500 characters" in response.text
    nothing = client.get("/browse", params={"q": "zebra giraffe"})
    assert nothing.status_code == 200 and "No datasets match" in nothing.text
