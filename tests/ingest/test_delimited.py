"""CSV and TSV in: delimiter, quoting, header and encoding found; bad input named by line and
column; nothing published when it fails."""

from __future__ import annotations

import codecs
import csv
import io

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statedata.catalog import DatasetMetadata
from statedata.errors import IngestError
from statedata.ingest import open_table
from statedata.ingest.detect import detect_delimiter
from statedata.storage import NewDataset, publish
from statedata.storage.versions import version_rows_sql


def _publish(installation, path):
    return publish(installation, open_table(path), new=NewDataset(DatasetMetadata(title="T"), None))


def _values(installation, result) -> list[tuple]:
    from statedata.catalog import service

    with installation.catalog.session() as session:
        sql = version_rows_sql(
            installation, service.get_dataset(session, result.dataset_id).current_version
        )
    return (
        duckdb.connect()
        .execute(f'SELECT * EXCLUDE (":id", ":created_at", ":updated_at") FROM ({sql})')
        .fetchall()
    )


def test_types_are_inferred(sqlite_installation, write_file):
    path = write_file(
        "t.csv", "id,name,amount,day,flag\n1,a,1.5,2024-01-31,true\n2,b,2.25,2024-02-29,false\n"
    )
    result = _publish(sqlite_installation, path)
    with sqlite_installation.catalog.session() as session:
        from statedata.catalog import service

        types = [c.storage_type for c in service.get_dataset(session, result.dataset_id).columns]
    assert types == ["BIGINT", "VARCHAR", "DOUBLE", "DATE", "BOOLEAN"]


@pytest.mark.parametrize(
    ("name", "delimiter"), [("s.csv", ";"), ("p.csv", "|"), ("t.tsv", "\t"), ("t.csv", "\t")]
)
def test_delimiters_are_detected(sqlite_installation, write_file, name, delimiter):
    text = delimiter.join(["town", "note"]) + "\n" + delimiter.join(["Avon", '"a, b"']) + "\n"
    result = _publish(sqlite_installation, write_file(name, text))
    assert _values(sqlite_installation, result) == [("Avon", "a, b")]


def test_quoted_fields_with_newlines_and_quotes(sqlite_installation, write_file):
    text = 'town,note\nAvon,"line one\nline two"\nBethel,"she said ""hi"""\n'
    result = _publish(sqlite_installation, write_file("q.csv", text))
    assert _values(sqlite_installation, result) == [
        ("Avon", "line one\nline two"),
        ("Bethel", 'she said "hi"'),
    ]


def test_utf8_with_bom(sqlite_installation, write_file):
    result = _publish(
        sqlite_installation, write_file("b.csv", codecs.BOM_UTF8 + "town,name\n1,Café\n".encode())
    )
    assert _values(sqlite_installation, result) == [(1, "Café")]


def test_windows_1252_is_converted(sqlite_installation, write_file):
    text = "town,note\nAvon,“quoted” café – €5\n"
    result = _publish(sqlite_installation, write_file("w.csv", text, encoding="cp1252"))
    assert _values(sqlite_installation, result) == [("Avon", "“quoted” café – €5")]
    assert any("cp1252" in note for note in result.notes)


def test_windows_1252_far_into_a_file_is_still_found(sqlite_installation, write_file):
    body = "".join(f"T{i},plain\n" for i in range(120_000))
    content = ("town,note\n" + body + "Avon,café\n").encode("cp1252")
    result = _publish(sqlite_installation, write_file("late.csv", content))
    assert _values(sqlite_installation, result)[-1] == ("Avon", "café")


def test_corrupt_utf8_names_line_and_column(sqlite_installation, write_file):
    content = "town,note\nAvon,café\n".encode() + b"Bethel,bad \xff byte\n"
    with pytest.raises(IngestError, match=r"line 3, column 2 \('note'\)"):
        _publish(sqlite_installation, write_file("c.csv", content))


def test_ragged_row_is_named(sqlite_installation, write_file):
    with pytest.raises(IngestError, match="line 3 has 2 values but the header names 3 columns"):
        _publish(sqlite_installation, write_file("r.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n"))


def test_extra_value_is_named(sqlite_installation, write_file):
    with pytest.raises(IngestError, match="line 2 has 4 values.*'oops'"):
        _publish(sqlite_installation, write_file("r.csv", "a,b,c\n1,2,3,oops\n"))


@pytest.mark.parametrize("content", [b"", b"   \n\n"])
def test_empty_file_is_refused(sqlite_installation, write_file, content):
    with pytest.raises(IngestError, match="is empty"):
        _publish(sqlite_installation, write_file("e.csv", content))


def test_header_only_file_is_refused(sqlite_installation, write_file):
    with pytest.raises(IngestError, match="has a header but no rows"):
        _publish(sqlite_installation, write_file("h.csv", "a,b,c\n"))


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"PAR1\x00\x00", "Parquet"),
        (b"PK\x03\x04rest", "ZIP"),
        (b"%PDF-1.7\n", "PDF"),
        (b"\x00\x01\x02", "binary"),
    ],
)
def test_file_that_is_not_what_its_name_says(sqlite_installation, write_file, content, what):
    with pytest.raises(IngestError, match=f"named as CSV but contains.*{what}"):
        _publish(sqlite_installation, write_file("x.csv", content))


def test_unknown_extension_is_refused(sqlite_installation, write_file):
    with pytest.raises(IngestError, match="cannot read '.docx'"):
        _publish(sqlite_installation, write_file("x.docx", "hello"))


def test_late_value_that_breaks_the_sniffed_type_is_read_as_text(sqlite_installation, write_file):
    rows = "".join(f"{i},{i}\n" for i in range(50_000))
    result = _publish(sqlite_installation, write_file("l.csv", "id,code\n" + rows + "50000,A12\n"))
    values = _values(sqlite_installation, result)
    assert values[-1] == (50000, "A12") and values[0] == (0, "0")


def _csv_text(rows: list[list[str]], delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


cell = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    delimiter=st.sampled_from([",", "\t", ";", "|"]),
    width=st.integers(min_value=2, max_value=5),
    data=st.data(),
)
def test_any_well_formed_table_round_trips(sqlite_installation, tmp_path, delimiter, width, data):
    header = [f"col{i}" for i in range(width)]
    body = data.draw(
        st.lists(
            st.lists(cell.map(lambda s: "x" + s.strip()), min_size=width, max_size=width),
            min_size=1,
            max_size=20,
        )
    )
    text = _csv_text([header, *body], delimiter)
    path = tmp_path / f"h{abs(hash(text))}.csv"
    path.write_text(text, encoding="utf-8")
    assert detect_delimiter(text, "csv") == delimiter
    result = _publish(sqlite_installation, path)
    values = [tuple(str(v) for v in row) for row in _values(sqlite_installation, result)]
    assert values == [tuple(row) for row in body]


def test_a_very_long_field_is_read(sqlite_installation, write_file):
    long_text = "x" * 3_000_000
    result = _publish(
        sqlite_installation, write_file("long.csv", f"id,shape\n1,{long_text}\n2,short\n")
    )
    assert [len(v[1]) for v in _values(sqlite_installation, result)] == [3_000_000, 5]
