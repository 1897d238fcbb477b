"""The rules of feeds that need no database: cron schedules in a time zone, the back-off
between retries, the short transform syntax, masking credentials, and the validation of a
feed's definition with messages that name the field."""

from __future__ import annotations

import datetime as dt

import pytest
from croniter import croniter
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from statedata.errors import InvalidInput, from_validation
from statedata.ingest.feeds import NewFeed
from statedata.ingest.feeds.schedule import check_cron, next_run, retry_delay
from statedata.ingest.feeds.sources import MASK, SqlSource, load, mask_url
from statedata.ingest.feeds.transforms import TRANSFORMS, parse_short

moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(dt.UTC)
)
crons = st.sampled_from(
    ["0 6 * * *", "*/15 * * * *", "30 2 * * 1-5", "0 0 1 * *", "5 4 * * sun", "0 */6 * * *"]
)


def test_six_in_the_morning_follows_new_york_summer_and_winter():
    winter = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.UTC)
    assert next_run("0 6 * * *", winter, "America/New_York") == dt.datetime(
        2026, 1, 16, 11, 0, tzinfo=dt.UTC
    )
    assert next_run("0 6 * * *", summer, "America/New_York") == dt.datetime(
        2026, 7, 16, 10, 0, tzinfo=dt.UTC
    )


@given(crons, moments)
def test_next_run_is_the_first_matching_minute_after(expression, after):
    following = next_run(expression, after)
    assert following > after
    assert following.tzinfo is not None
    assert croniter.match(expression, following.replace(tzinfo=None))
    # Nothing between: the minute before it does not match, or is not after `after`.
    before = following - dt.timedelta(minutes=1)
    assert before <= after or not croniter.match(expression, before.replace(tzinfo=None))


@pytest.mark.parametrize("bad", ["", "every day", "0 6 * *", "61 * * * *", "0 6 * * * *"])
def test_a_bad_schedule_is_refused_naming_the_field(bad):
    with pytest.raises(InvalidInput, match="schedule: .* is not a cron schedule") as raised:
        check_cron(bad)
    assert raised.value.data["field"] == "schedule"


@given(st.integers(min_value=1, max_value=12), st.floats(min_value=0.5, max_value=60))
def test_each_retry_waits_twice_as_long(failures, first):
    assert retry_delay(1, first) == dt.timedelta(minutes=first)
    doubled = retry_delay(failures + 1, first) - 2 * retry_delay(failures, first)
    assert abs(doubled) <= dt.timedelta(microseconds=1)  # timedelta keeps whole microseconds


names = (
    st.text(
        alphabet=st.characters(categories=["L", "N"], include_characters=" _"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@given(st.dictionaries(names, names, min_size=1, max_size=4))
def test_short_rename_reads_back_every_pair(pairs):
    text = "rename:" + ",".join(f"{k}={v}" for k, v in pairs.items())
    assert parse_short(text) == {"rename": pairs}
    TRANSFORMS.validate_python([parse_short(text)])


def test_short_transforms():
    assert parse_short("cast:cases=integer,rate=number") == {
        "cast": {"cases": "integer", "rate": "number"}
    }
    assert parse_short("drop:a, b") == {"drop": ["a", "b"]}
    with pytest.raises(InvalidInput, match="transform: 'split:a' is not a transform"):
        parse_short("split:a")
    with pytest.raises(ValidationError, match="cannot cast 'cases' to 'money'"):
        TRANSFORMS.validate_python([parse_short("cast:cases=money")])


secrets = st.text(alphabet="abcdefghijkXYZ0123456789!$*", min_size=6, max_size=20)


@given(secrets)
def test_a_password_in_a_url_never_shows(password):
    url = f"https://reader:{password}@data.example.gov/export.csv?token={password}&x=1"
    shown = mask_url(url)
    assert password not in shown
    assert shown == f"https://reader:{MASK}@data.example.gov/export.csv?token={MASK}&x=1"


@given(secrets)
def test_a_database_password_never_shows(password):
    source = SqlSource(database_url=f"postgresql://reader:{password}@db/agency", query="SELECT 1")
    assert password not in str(source.public()) and password not in source.describe()
    assert source.secrets() == [password]


def problem(**fields: object) -> str:
    values = {"kind": "http", "source": {"url": "https://x.example/a.csv"}, "schedule": "0 6 * * *"}
    values.update(fields)
    with pytest.raises(ValidationError) as raised:
        NewFeed.model_validate(values)
    return from_validation(raised.value).message


def test_a_feed_definition_names_the_bad_field():
    assert "schedule: " in problem(schedule="daily")
    assert "mode: " in problem(mode="merge")
    assert "kind: " in problem(kind="ftp")
    assert "transforms.0" in problem(transforms=[{"explode": ["a"]}])


@pytest.mark.parametrize(
    ("kind", "source", "field"),
    [
        ("http", {"url": "ftp://x.example/a.csv"}, "url"),
        ("http", {"url": "https://x.example/a.csv", "format": "pdf"}, "format"),
        ("sql", {"database_url": "not a url", "query": "SELECT 1"}, "database_url"),
        ("sql", {"database_url": "sqlite://", "query": "DELETE FROM cases"}, "query"),
        ("sql", {"query": "SELECT 1"}, "database"),
        ("sql", {"database": "ware house", "query": "SELECT 1"}, "database"),
        ("soda", {"portal": "https://data.ct.gov", "dataset": "not an id"}, "dataset"),
        ("ckan", {"portal": "https://ckan.example"}, "resource"),
        ("folder", {"path": "relative/folder"}, "path"),
        ("http", {"url": "https://x.example/a.csv", "colour": "red"}, "colour"),
    ],
)
def test_each_kind_of_source_names_its_bad_field(kind, source, field):
    with pytest.raises(ValidationError) as raised:
        load(kind, source)
    assert field in from_validation(raised.value).message
