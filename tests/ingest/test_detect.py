"""Encoding and delimiter detection as properties: whatever text a publisher saves, it is read
back as the same text, or refused with a line and column."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from statedata.errors import IngestError
from statedata.ingest.detect import detect_encoding, read_head

CP1252_ONLY = "“”‘’–—€…™éèàçñü"
plain = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _write(tmp_path, data: bytes):
    path = tmp_path / "d.csv"
    path.write_bytes(data)
    return path


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_any_utf8_text_is_utf8(tmp_path_factory, text):
    path = _write(tmp_path_factory.mktemp("u"), ("a,b\n1," + text + "\n").encode())
    assert detect_encoding(path, read_head(path)) == "utf-8"


@settings(max_examples=60, deadline=None)
@given(
    before=plain,
    special=st.text(alphabet=CP1252_ONLY, min_size=1, max_size=10),
    after=plain,
)
def test_windows_1252_text_is_found_and_decodes_back(tmp_path_factory, before, special, after):
    text = "a,b\n1," + before + special + after + "\n"
    data = text.encode("cp1252")
    # Some Windows-1252 byte runs are also valid UTF-8 ("ç––" is E7 96 96, one CJK character);
    # such a file is read as UTF-8, as docs/publishing.md says.
    assume(not _valid_utf8(data))
    path = _write(tmp_path_factory.mktemp("w"), data)
    encoding = detect_encoding(path, read_head(path))
    assert encoding == "cp1252"
    assert path.read_bytes().decode(encoding) == text


@settings(max_examples=40, deadline=None)
@given(good=st.text(alphabet="éü€", min_size=1, max_size=5), line=st.integers(2, 30))
def test_utf8_with_one_bad_byte_is_refused_at_its_line(tmp_path_factory, good, line):
    rows = [f"{i},ok" for i in range(1, 40)]
    rows[0] = "1," + good
    rows[line - 1] = "x,bad"
    data = ("a,b\n" + "\n".join(rows) + "\n").encode().replace(b"x,bad", b"x,b\xffd")
    path = _write(tmp_path_factory.mktemp("c"), data)
    with pytest.raises(IngestError) as caught:
        detect_encoding(path, read_head(path))
    assert f"line {line + 1}, column 2 ('b')" in caught.value.message
