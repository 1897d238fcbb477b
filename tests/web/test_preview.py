"""The preview table's fragment: sorting, searching, filtering and paging through the query
engine, with the reader's words always quoted, and plain messages for what cannot be done."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from statedata.web.preview import Choices, PreviewColumn, read_choices, soql


def first_column(response) -> list[str]:  # type: ignore[no-untyped-def]
    body = response.text[response.text.index("<tbody>") :]
    return [re.sub(r"<[^>]+>", "", row.split("</td>")[0]) for row in body.split("<tr>")[1:]]


def test_preview_sorts_both_ways(client: TestClient, portal):
    up = client.get(f"/d/{portal.towns}/preview", params={"sort": "cases"})
    assert up.status_code == 200
    assert first_column(up)[:2] == ["Bethel", "Andover"]
    assert 'aria-sort="ascending"' in up.text
    down = client.get(f"/d/{portal.towns}/preview", params={"sort": "cases", "desc": "1"})
    assert first_column(down)[:2] == ["Ansonia", "O&#39;Brien Corner"]
    assert 'aria-sort="descending"' in down.text


def test_preview_filters_and_counts_what_matches(client: TestClient, portal):
    response = client.get(
        f"/d/{portal.towns}/preview",
        params={"column": "county", "op": "is", "value": "Hartford"},
    )
    assert first_column(response) == ["Avon", "Canton", "O&#39;Brien Corner"]
    assert "Rows 1 to 3 of 3 that match" in response.text
    above = client.get(
        f"/d/{portal.towns}/preview", params={"column": "cases", "op": "above", "value": "6"}
    )
    assert sorted(first_column(above)) == ["Ansonia", "Avon", "O&#39;Brien Corner"]
    contains = client.get(
        f"/d/{portal.towns}/preview", params={"column": "town", "op": "contains", "value": "an"}
    )
    assert sorted(first_column(contains)) == ["Andover", "Ansonia", "Canton"]
    words = client.get(f"/d/{portal.towns}/preview", params={"q": "Tolland"})
    assert first_column(words) == ["Andover"]


def test_a_quote_in_the_value_is_data_not_soql(client: TestClient, portal):
    response = client.get(
        f"/d/{portal.towns}/preview",
        params={"column": "town", "op": "is", "value": "O'Brien Corner"},
    )
    assert response.status_code == 200
    assert first_column(response) == ["O&#39;Brien Corner"]
    sneaky = client.get(
        f"/d/{portal.towns}/preview",
        params={"column": "town", "op": "is", "value": "x' OR '1'='1"},
    )
    assert sneaky.status_code == 200 and "No rows match" in sneaky.text


def test_preview_pages_through_rows(client: TestClient, portal, monkeypatch):
    monkeypatch.setattr("statedata.web.preview.PAGE_SIZE", 4)
    first = client.get(f"/d/{portal.towns}/preview")
    assert "Page 1 of 2" in first.text and "Next page" in first.text
    assert "Previous page" not in first.text
    second = client.get(f"/d/{portal.towns}/preview", params={"page": "2"})
    assert first_column(second) == ["Canton", "O&#39;Brien Corner"]
    assert "Rows 5 to 6 of 6" in second.text and "Previous page" in second.text
    assert second.headers["HX-Push-Url"].endswith(f"/Cases-by-town/{portal.towns}?page=2")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"column": "cases", "op": "is", "value": "many"}, "is not a number"),
        ({"column": "town", "op": "above", "value": "B"}, "has no order"),
        ({"column": "cases", "op": "contains", "value": "1"}, "Only text can contain words"),
        ({"column": "reported", "op": "is", "value": "last week"}, "year-month-day"),
        ({"column": "nope", "op": "is", "value": "1"}, "There is no column 'nope'"),
        ({"sort": "nope"}, "There is no column 'nope' to sort by"),
    ],
)
def test_what_cannot_be_done_gets_a_plain_400(client: TestClient, portal, params, message):
    response = client.get(f"/d/{portal.towns}/preview", params=params)
    assert response.status_code == 400
    assert message in html.unescape(response.text)
    assert 'role="alert"' in response.text


def test_the_whole_page_takes_the_same_choices_without_javascript(client: TestClient, portal):
    response = client.get(
        f"/d/{portal.towns}", params={"sort": "town", "desc": "1"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert first_column(response)[0] == "O&#39;Brien Corner"


COLUMNS = [
    PreviewColumn("town", "Town", "text"),
    PreviewColumn("cases", "Cases", "number"),
    PreviewColumn("reported", "Reported", "floating_timestamp"),
]


@settings(max_examples=200, deadline=None)
@given(value=st.text(min_size=1, max_size=40).filter(str.strip))
def test_any_text_value_is_one_quoted_literal(value: str):
    choices = read_choices({"column": "town", "op": "is", "value": value})
    where = soql(choices, COLUMNS)["$where"]
    literal = where.removeprefix("`town` = ")
    assert literal.startswith("'") and literal.endswith("'")
    inner = literal[1:-1]
    # Every quote inside is doubled, so the literal cannot end early.
    assert "'" not in inner.replace("''", "")
    assert inner.replace("''", "'") == choices.value


@given(
    page=st.integers(min_value=-5, max_value=10**9).map(str) | st.text(max_size=5),
    op=st.text(max_size=10),
)
def test_read_choices_never_fails(page: str, op: str):
    choices = read_choices({"page": page, "op": op})
    assert 1 <= choices.page <= 100_000
    assert choices.op in ("is", "contains", "above", "below")


def test_choices_round_trip_through_the_address():
    choices = Choices(sort="cases", desc=True, q="avon", column="county", value="Hartford")
    assert read_choices(choices.as_params()) == choices
