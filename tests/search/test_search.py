"""Catalog search on both databases: relevance, plurals, misspellings, facet counts against
an independent count, filters, sorting, paging and who sees what."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from statedata.access import ANONYMOUS, Action, Actor, can
from statedata.access.policy import Role
from statedata.errors import InvalidInput
from statedata.freshness import evaluate
from statedata.search import search

from .conftest import DRAFT_TITLE, LISTED_TITLE, NOW, PROTECTED_TITLE, RETIRED_TITLE, all_datasets

CDO = Actor(name="cdo", roles=frozenset({Role.CDO}))


def staff(agency: str) -> Actor:
    return Actor(
        name=f"{agency.lower()}.publisher",
        roles=frozenset({Role.PUBLISHER}),
        agencies=frozenset({agency}),
        memberships=frozenset({(agency, Role.PUBLISHER)}),
    )


def titles(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.title for h in result.hits]


def every_hit(installation, actor, **kwargs) -> list:  # type: ignore[no-untyped-def]
    result = search(installation, actor, page_size=100, **kwargs)
    assert result.total == len(result.hits)
    return result.hits


def test_title_matches_rank_first(installation, catalog):
    result = search(installation, ANONYMOUS, q="inspection")
    found = titles(result)
    assert set(found[:2]) == {"Restaurant Inspections", "Bridge Inspection Reports"}
    # Only the description of this one says "inspections": it comes after the titles.
    assert found[2:] == ["Food Service Establishments"]
    assert result.total == 3
    assert result.corrected_query is None


def test_plurals_and_singulars_find_each_other(installation, catalog):
    assert "Restaurant Inspections" in titles(search(installation, ANONYMOUS, q="inspection"))
    assert "Bridge Inspection Reports" in titles(search(installation, ANONYMOUS, q="inspections"))
    assert titles(search(installation, ANONYMOUS, q="crash")) == ["Traffic Crashes"]
    assert "Liquor Permits" in titles(search(installation, ANONYMOUS, q="restaurants"))


def test_every_word_must_match(installation, catalog):
    assert titles(search(installation, ANONYMOUS, q="restaurant inspections")) == [
        "Restaurant Inspections"
    ]
    assert search(installation, ANONYMOUS, q="bridge alcohol").total == 0


def test_words_in_tags_agency_and_category_are_found(installation, catalog):
    assert titles(search(installation, ANONYMOUS, q="alcohol")) == ["Liquor Permits"]
    transport = search(installation, ANONYMOUS, q="transportation")
    assert set(titles(transport)) == {
        "Bridge Inspection Reports",
        "Traffic Crashes",
        "Historic Town Census",
    }
    assert search(installation, ANONYMOUS, q="DCP").total == 3  # two open, one listed


def test_misspellings_are_corrected(installation, catalog):
    result = search(installation, ANONYMOUS, q="restuarant")
    assert "Restaurant Inspections" in titles(result)
    assert result.corrected_query == "restaurant"
    result = search(installation, ANONYMOUS, q="bridge inspectoin")
    assert titles(result) == ["Bridge Inspection Reports"]
    assert result.corrected_query == "bridge inspection"
    result = search(installation, ANONYMOUS, q="trafic")
    assert titles(result) == ["Traffic Crashes"]
    assert result.corrected_query == "traffic"
    # Short words are not stretched to anything within an edit.
    assert search(installation, ANONYMOUS, q="foo").total == 0


def test_snippets_mark_matched_words_and_escape_the_rest(installation, catalog):
    hit = search(installation, ANONYMOUS, q="inspections").hits[0]
    assert "<mark>inspections</mark>" in hit.snippet
    hit = search(installation, ANONYMOUS, q="restuarant").hits[0]
    assert "<mark>restaurants</mark>" in hit.snippet or "<mark>Restaurant</mark>" in hit.snippet


def test_a_description_with_markup_is_escaped(installation, catalog):
    from statedata.catalog import DatasetMetadata, service

    with installation.catalog.session() as session:
        service.create_dataset(
            session,
            DatasetMetadata(
                title="Tricky", description="<script>alert(1)</script> ferries & boats"
            ),
            "DOT",
            installation.settings.categories,
        )
    hit = search(installation, ANONYMOUS, q="ferries").hits[0]
    assert "<script>" not in hit.snippet
    assert "&lt;script&gt;" in hit.snippet and "<mark>ferries</mark> &amp; boats" in hit.snippet


def _expected_facets(datasets, as_of: dt.date) -> dict[str, Counter]:  # type: ignore[no-untyped-def]
    counts: dict[str, Counter] = {
        f: Counter()
        for f in ("agency", "category", "tag", "frequency", "freshness", "classification")
    }
    counts["high_value"] = Counter()
    counts["disaggregated_by"] = Counter()
    for d in datasets:
        counts["agency"][d.agency.code] += 1
        if d.category:
            counts["category"][d.category] += 1
        for tag in d.tag_names:
            counts["tag"][tag] += 1
        counts["frequency"][d.update_frequency or "none"] += 1
        last = d.data_updated_at or d.created_at
        counts["freshness"][evaluate(d.update_frequency, last, as_of).status.value] += 1
        counts["classification"][d.classification] += 1
        counts["high_value"]["yes" if d.high_value_criteria else "no"] += 1
        for dimension in d.demographic_dimensions or []:
            counts["disaggregated_by"][dimension] += 1
    return counts


def _got(result) -> dict[str, Counter]:  # type: ignore[no-untyped-def]
    return {f: Counter({v: n for v, _, n in values}) for f, values in result.facets.items()}


@pytest.mark.parametrize("days_ahead", [0, 5, 40, 400])
@pytest.mark.parametrize("who", ["anonymous", "dph", "cdo"])
def test_facet_counts_match_an_independent_count(installation, catalog, who, days_ahead):
    actor = {"anonymous": ANONYMOUS, "dph": staff("DPH"), "cdo": CDO}[who]
    as_of = NOW.date() + dt.timedelta(days=days_ahead)
    visible = [
        d
        for d in all_datasets(installation)
        if can(actor, Action.READ_METADATA, d) and d.status != "retired"
    ]
    result = search(installation, actor, as_of=as_of, page_size=100)
    assert result.total == len(visible)
    assert _got(result) == _expected_facets(visible, as_of)
    # The same under a query: counted over what the query finds.
    result = search(installation, actor, q="food", as_of=as_of, page_size=100)
    found = {h.id for h in result.hits}
    assert _got(result) == _expected_facets([d for d in visible if d.id in found], as_of)


def test_freshness_of_each_hit_is_the_freshness_rule(installation, catalog):
    datasets = {d.id: d for d in all_datasets(installation)}
    for days_ahead in (0, 3, 20, 35, 100, 800):
        as_of = NOW.date() + dt.timedelta(days=days_ahead)
        for hit in every_hit(installation, CDO, as_of=as_of):
            d = datasets[hit.id]
            expected = evaluate(d.update_frequency, d.data_updated_at or d.created_at, as_of)
            assert hit.freshness == expected.status.value, (hit.title, as_of)


def test_a_facet_is_counted_without_its_own_filter_and_with_the_others(installation, catalog):
    result = search(installation, ANONYMOUS, filters={"agency": ["DPH"]})
    assert set(titles(result)) == {"Restaurant Inspections", "Food Service Establishments"}
    agencies = {v: n for v, _, n in result.facets["agency"]}
    # Choosing DPH still shows how many the other agencies have.
    assert agencies == {"DPH": 2, "DOT": 3, "DCP": 3}
    assert {v: n for v, _, n in result.facets["tag"]} == {"food": 2, "health": 1, "licensing": 1}
    labels = {v: label for v, label, _ in result.facets["agency"]}
    assert labels["DPH"] == "Department of Public Health"


def test_filters_combine(installation, catalog):
    result = search(
        installation,
        ANONYMOUS,
        filters={"agency": ["DPH", "DOT"], "tag": ["safety", "food"], "high_value": ["yes"]},
    )
    assert set(titles(result)) == {"Restaurant Inspections", "Bridge Inspection Reports"}
    result = search(
        installation, ANONYMOUS, q="inspections", filters={"category": ["Transportation"]}
    )
    assert titles(result) == ["Bridge Inspection Reports"]
    assert {v: n for v, _, n in result.facets["category"]} == {
        "Health and Human Services": 2,
        "Transportation": 1,
    }
    result = search(installation, ANONYMOUS, filters={"disaggregated_by": ["race", "sex"]})
    assert set(titles(result)) == {"Traffic Crashes", "Historic Town Census"}
    result = search(installation, ANONYMOUS, filters={"frequency": ["monthly"]})
    assert titles(result) == ["Restaurant Inspections"]
    result = search(installation, ANONYMOUS, filters={"freshness": ["stale", "not updated"]})
    assert set(titles(result)) == {"Bridge Inspection Reports", "Historic Town Census"}


def test_a_selected_value_with_no_results_is_still_listed(installation, catalog):
    result = search(installation, ANONYMOUS, q="crash", filters={"tag": ["alcohol"]})
    assert result.total == 0
    assert ("alcohol", "alcohol", 0) in result.facets["tag"]


def test_sorting(installation, catalog):
    by_title = titles(search(installation, ANONYMOUS, sort="title", page_size=100))
    assert by_title == sorted(by_title, key=str.casefold)
    updated = search(installation, ANONYMOUS, sort="updated", page_size=3)
    # Last data update, or creation for one with no rows yet (the listed one, made now).
    assert titles(updated) == [LISTED_TITLE, "Traffic Crashes", "Food Service Establishments"]
    views = titles(search(installation, ANONYMOUS, sort="views", page_size=3))
    # Page views, downloads and API calls of the last 90 days; older use does not count.
    assert views == ["Traffic Crashes", "Liquor Permits", "Bridge Inspection Reports"]
    hits = search(installation, ANONYMOUS, sort="views").hits
    assert [h.popularity for h in hits[:3]] == [50, 20, 5]


def test_paging(installation, catalog):
    first = search(installation, ANONYMOUS, sort="title", page=1, page_size=3)
    second = search(installation, ANONYMOUS, sort="title", page=2, page_size=3)
    third = search(installation, ANONYMOUS, sort="title", page=3, page_size=3)
    everything = search(installation, ANONYMOUS, sort="title", page_size=100)
    assert titles(first) + titles(second) + titles(third) == titles(everything)
    assert first.total == second.total == third.total == 8
    assert len(titles(third)) == 2
    assert search(installation, ANONYMOUS, page=9, page_size=3).hits == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort": "newest"},
        {"page": 0},
        {"page_size": 0},
        {"page_size": 101},
        {"page": 1000, "page_size": 100},
        {"filters": {"colour": ["red"]}},
        {"filters": {"frequency": ["sometimes"]}},
        {"q": "x" * 501},
    ],
)
def test_bad_input_is_refused_plainly(installation, catalog, kwargs):
    with pytest.raises(InvalidInput):
        search(installation, ANONYMOUS, **kwargs)


HIDDEN = {PROTECTED_TITLE, DRAFT_TITLE}


@pytest.mark.parametrize("who", ["anonymous", "dph", "dcp", "dot", "granted", "cdo"])
def test_hits_are_exactly_what_the_policy_lets_each_actor_see(installation, catalog, who):
    actors = {
        "anonymous": ANONYMOUS,
        "dph": staff("DPH"),
        "dcp": staff("DCP"),
        "dot": staff("DOT"),
        "granted": Actor(
            name="analyst",
            roles=frozenset({Role.ANALYST}),
            granted=frozenset({catalog[PROTECTED_TITLE], catalog[DRAFT_TITLE]}),
        ),
        "cdo": CDO,
    }
    actor = actors[who]
    expected = {
        d.id
        for d in all_datasets(installation)
        if can(actor, Action.READ_METADATA, d) and d.status != "retired"
    }
    assert {h.id for h in every_hit(installation, actor)} == expected
    assert catalog[RETIRED_TITLE] not in expected  # retired: out of search for everyone
    assert catalog[LISTED_TITLE] in expected  # listed: its metadata is for all to see


@pytest.mark.parametrize("who", ["anonymous", "dot", "granted-draft-only"])
def test_hidden_datasets_leave_no_trace(installation, catalog, who):
    actor = {
        "anonymous": ANONYMOUS,
        "dot": staff("DOT"),
        # An agreement cannot open a draft nobody approved.
        "granted-draft-only": Actor(name="a", granted=frozenset({catalog[DRAFT_TITLE]})),
    }[who]
    for q in (
        "zyxwv",
        "zyxwv lead",
        "zyxvw",
        "Zyxwv Lead Poisoning Caseload",
        "wqpzt",
        "wqpzt permit",
        "wqzpt",
        "qrvyx",
        "obsolete road",
    ):
        result = search(installation, actor, q=q, page_size=100)
        text = repr((result.total, result.hits, result.facets, result.corrected_query)).lower()
        assert "zyxwv" not in text and "wqpzt" not in text and "qrvyx" not in text, q
        assert result.corrected_query is None, q
    # "food" is a tag of the protected dataset too: its count leaves it out.
    result = search(installation, actor, q="")
    assert dict((v, n) for v, _, n in result.facets["tag"])["food"] == 2
    classes = {v for v, _, _ in result.facets["classification"]}
    # The listed non-public dataset is the only protected one these actors may see.
    assert classes == {"public", "protected"}
    assert dict((v, n) for v, _, n in result.facets["classification"])["protected"] == 1


def test_staff_see_their_own_protected_and_draft_datasets(installation, catalog):
    assert titles(search(installation, staff("DPH"), q="zyxwv")) == [PROTECTED_TITLE]
    assert titles(search(installation, staff("DCP"), q="wqpzt")) == [DRAFT_TITLE]
    classes = {v: n for v, _, n in search(installation, staff("DPH")).facets["classification"]}
    assert classes == {"public": 7, "protected": 2}  # its own, and the listed one of DCP
    result = search(installation, staff("DPH"), q="zyxvw")
    assert result.corrected_query == "zyxwv"


def test_only_the_top_values_are_listed_but_a_chosen_one_is_counted(installation, catalog):
    from statedata.catalog import DatasetMetadata, service

    with installation.catalog.session() as session:
        for n in range(60):
            tags = [f"common{n % 55}", f"common{(n + 1) % 55}"] + (["lonely"] if n == 7 else [])
            service.create_dataset(
                session,
                DatasetMetadata(title=f"Ferry Schedule {n}", tags=tags),
                "DOT",
                installation.settings.categories,
            )
    result = search(installation, ANONYMOUS, q="ferry")
    tags = {v: n for v, _, n in result.facets["tag"]}
    assert len(tags) == 50 and "lonely" not in tags
    assert tags["common1"] == 4  # datasets 0, 1, 55 and 56
    chosen = search(installation, ANONYMOUS, q="ferry", filters={"tag": ["lonely"]})
    assert chosen.total == 1
    assert ("lonely", "lonely", 1) in chosen.facets["tag"]
