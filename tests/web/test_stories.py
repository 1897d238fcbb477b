"""Data stories: front matter, Markdown without raw HTML, live charts from saved queries (and
none over data the reader may not see), the list newest first with search, 404s, and each view
counted as a story_view."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from auth_headers import basic_auth  # type: ignore[import-not-found]
from conftest import SECRET_TITLE  # type: ignore[import-not-found]
from statedata.catalog.models import UsageCount
from statedata.web.stories import Story, chart_block, parse_front_matter

CHART = """```chart
dataset: {dataset}
type: bar
measure: count
query: SELECT {column}, count(*) AS towns GROUP BY {column}
  ORDER BY towns DESC, {column}
x: County
y: towns
```"""


def _write(portal, slug: str, text: str) -> None:  # type: ignore[no-untyped-def]
    folder = portal.installation.settings.home / "stories"
    folder.mkdir(exist_ok=True)
    (folder / f"{slug}.md").write_text(text, encoding="utf-8")


def _stories(portal) -> None:  # type: ignore[no-untyped-def]
    _write(
        portal,
        "towns-and-counties",
        "---\ntitle: Towns and counties\nsummary: Which county has most towns.\n"
        "author: Data office\ndate: 2026-03-02\ntags: towns, counties\n---\n\n"
        "Some *words* and <script>alert('x')</script> and <img src=x onerror=alert(1)>.\n\n"
        + CHART.format(dataset=portal.towns, column="county")
        + "\n\nHidden next:\n\n"
        + CHART.format(dataset=portal.secret, column="diagnosis")
        + "\n",
    )
    _write(portal, "older", "---\ntitle: An older story\ndate: 2025-01-01\n---\nText.\n")


def test_front_matter_and_chart_blocks():
    meta, body = parse_front_matter("---\ntitle: A: b\ntags: x, y\n---\n# Hello\n")
    assert meta == {"title": "A: b", "tags": "x, y"}
    assert body == "# Hello"
    assert parse_front_matter("no front matter") == ({}, "no front matter")
    block = chart_block("dataset: abcd-2345\nquery: SELECT a\n  WHERE b > 1\ntype: bar")
    assert block == {"dataset": "abcd-2345", "query": "SELECT a WHERE b > 1", "type": "bar"}


@given(st.text(max_size=200))
def test_front_matter_never_fails_and_keeps_text_without_it(text):
    meta, body = parse_front_matter(text)
    if not meta:
        assert body == text or text.lstrip("\ufeff").startswith("---")


def test_story_keys_fit_the_usage_table():
    assert len(Story("a-very-long-slug-" * 5, "t").key) == 9


def test_list_newest_first_and_search(client, portal):  # type: ignore[no-untyped-def]
    _stories(portal)
    page = client.get("/stories")
    assert page.status_code == 200
    assert page.text.index("Towns and counties") < page.text.index("An older story")
    found = client.get("/stories?q=county")
    assert "Towns and counties" in found.text and "An older story" not in found.text
    assert "No story matches" in client.get("/stories?q=zzzz").text


def test_a_story_with_its_chart_and_no_raw_html(client, portal):  # type: ignore[no-untyped-def]
    _stories(portal)
    page = client.get("/stories/towns-and-counties")
    assert page.status_code == 200
    text = page.text
    assert "<em>words</em>" in text
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text
    assert "Hartford has the most towns: 3" in text
    # The chart over the protected dataset shows nothing at all to an anonymous reader.
    assert text.count('class="chart story-chart"') == 1
    assert SECRET_TITLE not in text and "qq-" not in text
    staff = client.get("/stories/towns-and-counties", headers=basic_auth(portal.staff_key))
    assert staff.text.count('class="chart story-chart"') == 2


def test_missing_stories_and_odd_names_are_404(client, portal):  # type: ignore[no-untyped-def]
    _stories(portal)
    for slug in ("nope", "..%2Fsettings", "Towns-And-Counties"):
        assert client.get(f"/stories/{slug}").status_code == 404


def test_each_view_is_counted(client, portal):  # type: ignore[no-untyped-def]
    _stories(portal)
    for _ in range(2):
        client.get("/stories/older")
    client.app.state.usage.flush()
    key = Story("older", "").key
    with portal.installation.catalog.session() as session:
        counts = session.execute(
            select(UsageCount.kind, UsageCount.count).where(UsageCount.dataset_id == key)
        ).all()
    assert counts == [("story_view", 2)]


def test_a_dataset_page_lists_the_stories_that_use_it(client, portal):  # type: ignore[no-untyped-def]
    _stories(portal)
    towns = client.get(f"/d/{portal.towns}", follow_redirects=True).text
    assert "Stories that use this data" in towns
    assert '<a href="/stories/towns-and-counties">Towns and counties</a>' in towns
    assert "An older story" not in towns
    late = client.get(f"/d/{portal.late}", follow_redirects=True).text
    assert "Stories that use this data" not in late
