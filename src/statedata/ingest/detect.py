"""What a file is: its format (from its name, checked against its first bytes), its text
encoding and, for delimited text, its delimiter.

Nothing here reads a whole file except `transcode_to_utf8`, which streams.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from pathlib import Path

from statedata.errors import IngestError

SAMPLE_BYTES = 1 << 20

FORMATS_BY_SUFFIX = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".geojson": "geojson",
    ".parquet": "parquet",
    ".zip": "shapefile-zip",
    ".shp": "shapefile",
    ".gpkg": "geopackage",
}
FORMAT_NAMES = {
    "csv": "CSV",
    "tsv": "TSV",
    "xlsx": "Excel (XLSX)",
    "json": "JSON",
    "ndjson": "NDJSON",
    "geojson": "GeoJSON",
    "parquet": "Parquet",
    "shapefile-zip": "zipped shapefile",
    "shapefile": "shapefile",
    "geopackage": "GeoPackage",
}


def read_head(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def sniff_content(head: bytes) -> str:
    """A coarse guess at what the bytes are: parquet, zip, sqlite, pdf, binary, json or text."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"%PDF"):
        return "pdf"
    if b"\x00" in head[:8192]:
        return "binary"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "json"
    return "text"


def detect_format(path: Path, declared: str | None = None) -> str:
    """The file's format from its name (or `declared`), refusing a file that is something else."""
    if not path.exists():
        raise IngestError(f"There is no file at {path}.", file=str(path))
    if path.is_dir():
        raise IngestError(f"{path} is a folder, not a file.", file=str(path))
    fmt = declared or FORMATS_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS_BY_SUFFIX))
        raise IngestError(
            f"{path.name}: statedata cannot read '{path.suffix or 'no extension'}' files as a "
            f"table. Use one of: {known}; other files can be attached with `statedata files add`.",
            file=path.name,
        )
    head = read_head(path, 64 * 1024)
    if not head.strip():
        raise IngestError(f"{path.name} is empty: there is nothing to publish.", file=path.name)
    content = sniff_content(head)
    expected = {
        "csv": {"text", "json"},
        "tsv": {"text", "json"},
        "xlsx": {"zip"},
        "json": {"json"},
        "ndjson": {"json"},
        "geojson": {"json"},
        "parquet": {"parquet"},
        "shapefile-zip": {"zip"},
        "shapefile": {"binary", "text"},
        "geopackage": {"sqlite"},
    }[fmt]
    if content not in expected:
        what = {
            "parquet": "a Parquet file",
            "zip": "a ZIP archive (an Excel workbook or zipped files)",
            "sqlite": "a SQLite database or GeoPackage",
            "pdf": "a PDF document",
            "binary": "binary data",
            "json": "JSON",
            "text": "plain text",
        }[content]
        raise IngestError(
            f"{path.name} is named as {FORMAT_NAMES[fmt]} but contains {what}. "
            "Check that the right file was chosen, or rename it to match its contents.",
            file=path.name,
        )
    if fmt == "xlsx" and not _zip_has(path, "[Content_Types].xml"):
        raise IngestError(
            f"{path.name} is a ZIP archive but not an Excel workbook.", file=path.name
        )
    return fmt


def _zip_has(path: Path, member: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return member in archive.namelist()
    except zipfile.BadZipFile:
        return False


def line_and_column_of_offset(
    path: Path, offset: int, delimiter: str
) -> tuple[int, int, str | None]:
    """1-based line number, 1-based field number and header name of the byte at `offset`."""
    line = 1
    line_start = 0
    header: bytes | None = None
    with path.open("rb") as handle:
        position = 0
        for raw in handle:
            if header is None:
                header = raw
            if position + len(raw) > offset:
                line_start = position
                prefix = raw[: offset - line_start]
                field = prefix.count(delimiter.encode()) + 1
                names = header.decode("utf-8", "replace").rstrip("\r\n").split(delimiter)
                name = names[field - 1].strip().strip('"') if field <= len(names) else None
                return line, field, name
            position += len(raw)
            line += 1
    return line, 1, None


def detect_encoding(path: Path, head: bytes, delimiter: str = ",") -> str:
    """'utf-8' or 'cp1252'; refuses text that is neither (naming the line and column)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise IngestError(
            f"{path.name} is encoded as UTF-16. Save it as UTF-8 (or Windows-1252) and publish "
            "it again.",
            file=path.name,
        )
    return encoding_of_whole_file(path, delimiter, quick=head)


def _first_bad_utf8(data: bytes) -> int | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        # A sequence cut off at the end of a sample is not an error.
        if error.reason == "unexpected end of data" and error.start >= len(data) - 4:
            return None
        return error.start
    return None


def encoding_of_whole_file(path: Path, delimiter: str, quick: bytes | None = None) -> str:
    """Decide the encoding from a sample (`quick`) or, on the error path, the whole file.

    Valid UTF-8 throughout is UTF-8. Text that is not, and shows no sign of having been meant
    as UTF-8 (see `_looks_like_utf8`), is Windows-1252 if every byte is defined there.
    Anything else is corrupt UTF-8, refused at its first bad byte.
    """
    data_iter = [quick] if quick is not None else _chunks(path)
    meant_as_utf8 = False
    offset = 0
    for chunk in data_iter:
        bad = _first_bad_utf8(chunk)
        if bad is None:
            # Only a later bad byte makes this question matter; a sample alone never asks it.
            if quick is None:
                meant_as_utf8 = meant_as_utf8 or _looks_like_utf8(chunk)
            offset += len(chunk)
            continue
        if meant_as_utf8 or _looks_like_utf8(chunk[:bad]):
            raise _undecodable(path, offset + bad, delimiter, "UTF-8")
        undefined = _first_undefined_cp1252(path)
        if undefined is not None:
            raise _undecodable(path, undefined, delimiter, "UTF-8 or Windows-1252")
        return "cp1252"
    return "utf-8"


def _chunks(path: Path, size: int = 8 << 20):  # type: ignore[no-untyped-def]
    # Chunks overlap by 3 bytes so a multi-byte character is never split between two.
    with path.open("rb") as handle:
        carry = b""
        while block := handle.read(size):
            data = carry + block
            cut = len(data)
            for back in range(1, min(4, len(data)) + 1):
                if data[-back] & 0xC0 != 0x80:
                    if data[-back] >= 0xC0:
                        cut = len(data) - back
                    break
            yield data[:cut]
            carry = data[cut:]
        if carry:
            yield carry


def _looks_like_utf8(data: bytes) -> bool:
    """Whether `data` holds a multi-byte UTF-8 character of the kind Western text uses.

    Accented letters, typographic punctuation and currency signs (below U+0800, or in
    U+2000-U+206F and U+20A0-U+20CF) are what a UTF-8 file of English or Spanish text holds.
    Windows-1252 text can form valid UTF-8 by accident (c-cedilla and two en dashes are the bytes
    of U+7596), but such
    accidents land elsewhere, in CJK and other scripts.
    """
    return WESTERN_NON_ASCII.search(data.decode("utf-8", errors="replace")) is not None


WESTERN_NON_ASCII = re.compile("[\u0080-\u07ff\u2000-\u206f\u20a0-\u20cf]")


def _first_undefined_cp1252(path: Path) -> int | None:
    undefined = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
    offset = 0
    with path.open("rb") as handle:
        while block := handle.read(8 << 20):
            for index, byte in enumerate(block):
                if byte in undefined:
                    return offset + index
            offset += len(block)
    return None


def _undecodable(path: Path, offset: int, delimiter: str, encoding: str) -> IngestError:
    line, field, name = line_and_column_of_offset(path, offset, delimiter)
    where = f"line {line}, column {field}" + (f" ('{name}')" if name else "")
    return IngestError(
        f"{path.name}: the bytes at {where} are not valid {encoding} text. Save the file as "
        "UTF-8 and publish it again.",
        file=path.name,
        line=line,
        column=name or field,
    )


def transcode_to_utf8(path: Path, target: Path, encoding: str) -> Path:
    """Stream `path` from `encoding` into a UTF-8 copy at `target`."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as out:
        while block := source.read(8 << 20):
            out.write(decoder.decode(block))
        out.write(decoder.decode(b"", final=True))
    return target


def detect_delimiter(sample_text: str, fmt: str) -> str:
    """The delimiter that splits the first lines into the most, most consistent columns."""
    if fmt == "tsv":
        return "\t"
    lines = sample_text.splitlines()[:200]
    if len(lines) > 1 and sample_text and not sample_text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end mid-line
    best, best_score = ",", (-1, -1)
    for delimiter in (",", "\t", ";", "|"):
        widths = [
            len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
        ]
        if not widths:
            continue
        width, agreeing = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (agreeing, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best
