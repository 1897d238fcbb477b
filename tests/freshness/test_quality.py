"""The metadata quality score: 100 points, each explained, with how to earn it."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from statedata.catalog.models import Agency, Column, Dataset, DatasetTag
from statedata.freshness.quality import reading_grade, score, syllables

TODAY = dt.date(2026, 6, 1)


def complete() -> Dataset:
    return Dataset(
        id="abcd-2345",
        title="Restaurant inspections",
        description=(
            "Every food inspection by local health departments since 2019. Each row is one "
            "visit. It shows the place, the date and the score. We add new visits each week."
        ),
        category="Health and Human Services",
        tags=[DatasetTag(tag=t) for t in ("food", "restaurants", "inspections")],
        agency=Agency(code="DPH", name="Department of Public Health"),
        license="public-domain",
        contact_email="dph.data@ct.gov",
        columns=[Column(field_name="town", description="Town of the place")],
        update_frequency="R/P1W",
        data_updated_at=dt.datetime(2026, 5, 30, tzinfo=dt.UTC),
        created_at=dt.datetime(2019, 1, 1, tzinfo=dt.UTC),
        temporal_coverage_start=dt.date(2019, 1, 1),
        temporal_coverage_end=dt.date(2026, 5, 30),
        spatial_coverage="Connecticut",
        geographic_unit="municipality",
        demographic_dimensions=[],
        related_documents=[{"title": "Methods", "url": "https://portal.ct.gov/methods"}],
    )


def test_complete_metadata_scores_100_with_nothing_to_fix():
    quality = score(complete(), TODAY)
    assert quality.total == 100
    assert quality.required_metadata_complete
    assert all(c.how_to_fix is None for c in quality.criteria)
    assert sum(c.points for c in quality.criteria) == 100


def test_each_missing_piece_costs_its_points_and_says_how_to_fix_it():
    dataset = complete()
    dataset.license = None
    dataset.tags = [DatasetTag(tag="food")]
    dataset.data_updated_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    quality = score(dataset, TODAY)
    missed = {c.key: c for c in quality.criteria if c.earned < c.points}
    assert set(missed) == {"license", "tags", "on_time"}
    assert quality.total == 100 - 10 - 10 - 5
    assert "it has 1" in missed["tags"].how_to_fix
    assert "2026-01-08" in missed["on_time"].how_to_fix
    assert not quality.required_metadata_complete


def test_the_data_dictionary_earns_points_in_proportion():
    dataset = complete()
    dataset.columns = [
        Column(field_name=f"c{i}", description="" if i % 2 else "x") for i in range(4)
    ]
    criterion = next(c for c in score(dataset, TODAY).criteria if c.key == "data_dictionary")
    assert (criterion.earned, criterion.points) == (5, 10)
    assert "2 of 4" in criterion.how_to_fix


def test_data_about_people_should_say_how_it_is_broken_down():
    dataset = complete()
    dataset.title = "Overdose deaths by town"
    criterion = next(c for c in score(dataset, TODAY).criteria if c.key == "disaggregation")
    assert criterion.earned == 0
    dataset.demographic_dimensions = ["race", "sex"]
    criterion = next(c for c in score(dataset, TODAY).criteria if c.key == "disaggregation")
    assert criterion.earned == 5


def test_reading_grade_prefers_plain_words():
    plain = "We count the cars on each road. We do it every day. Then we post the count here."
    dense = (
        "Quantification of vehicular throughput is undertaken continuously utilising "
        "instrumentation infrastructure, subsequently disseminated via institutional channels."
    )
    assert reading_grade(plain) < 6 < 14 < reading_grade(dense)
    assert reading_grade("Too short.") is None


def _syllables_one_word_at_a_time(word: str) -> int:
    import re

    groups = re.findall(r"[aeiouy]+", word.lower())
    count = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(1, count)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzAEIOUY '-.,0123", max_size=200))
def test_syllables_of_a_text_are_the_sum_over_its_words(text):
    import re

    words = re.findall(r"[A-Za-z]+", text)
    assert syllables(text) == sum(_syllables_one_word_at_a_time(w) for w in words)
