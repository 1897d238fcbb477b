"""render_json picks a converter a column; it must give what row_object gives value by value."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import given
from hypothesis import strategies as st

from statedata.api.soda_render import render_json, row_object

FIELDS = ["n", "t", "d", "ts", "fx", "ok", "g"]
TYPES = ["number", "text", "floating_timestamp", "floating_timestamp", "fixed_timestamp",
         "checkbox", "point"]  # fmt: skip

values = st.tuples(
    st.one_of(st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
              st.decimals(allow_nan=False, allow_infinity=False, places=2)),
    st.one_of(st.none(), st.text(max_size=5), st.integers()),
    st.one_of(st.none(), st.dates()),
    st.one_of(st.none(), st.datetimes(), st.dates()),
    st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC))),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.just('{"type": "Point", "coordinates": [1, 2]}')),
)  # fmt: skip


@given(st.lists(values, max_size=5))
def test_render_json_equals_row_objects(rows):
    expected = orjson.dumps([row_object(FIELDS, TYPES, row) for row in rows])
    assert render_json(FIELDS, TYPES, rows) == expected


def test_dates_render_as_floating_timestamps():
    rows = [
        (1, "a", dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 5, 6, 7, 890000), None, True, None)
    ]
    got = orjson.loads(render_json(FIELDS, TYPES, rows))
    assert got == [{"n": "1", "t": "a", "d": "2024-03-01T00:00:00.000",
                    "ts": "2024-03-01T05:06:07.890", "ok": True}]  # fmt: skip
