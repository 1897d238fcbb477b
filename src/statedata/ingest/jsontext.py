"""Looking at JSON text without DuckDB: the first value's opening character, and the line
(and column) of a syntax error. Shared by the JSON and GeoJSON readers; not a reader itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from statedata.errors import IngestError

# Python's json module finds the line of a syntax error, but holds the whole file in memory.
JSON_LOCATE_LIMIT = 32 << 20


def locate_json_error(path: Path) -> IngestError | None:
    """The line and column of the first JSON syntax error, for files small enough to parse."""
    if path.stat().st_size > JSON_LOCATE_LIMIT:
        return None
    try:
        with path.open(encoding="utf-8-sig") as handle:
            json.load(handle)
    except json.JSONDecodeError as error:
        return IngestError(
            f"{path.name}: line {error.lineno}, column {error.colno} is not valid JSON "
            f"({error.msg.lower()}).",
            file=path.name,
            line=error.lineno,
        )
    except UnicodeDecodeError:
        return IngestError(f"{path.name} is not UTF-8 text; JSON must be UTF-8.", file=path.name)
    return None


def first_bad_json_line(path: Path) -> int | None:
    """The first non-empty line of newline-delimited JSON that is not a JSON value, streamed."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError:
                return number
    return None


def first_value_start(head: bytes) -> tuple[str, str]:
    """The first character of the file and of its first array element (or '' if none)."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    first = text[:1]
    inner = text[1:].lstrip(" \t\r\n")[:1] if first == "[" else ""
    return first, inner
