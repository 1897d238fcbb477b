"""Excel (XLSX): the first sheet read with DuckDB's excel extension, blank header cells named
after their column letter, whole-number columns kept whole, bad cells traced to their cell.

Only the workbook's XML attributes are read here (sheet names, used range); not a general
workbook parser.
"""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from statedata.errors import IngestError, StatedataError
from statedata.ingest.reader import RAW_VIEW, OutColumn, Reader
from statedata.ingest.tableschema import TableSchema
from statedata.ingest.words import TYPE_WORDS
from statedata.storage.duck import ident, lazy_relation
from statedata.storage.source import first_line


@dataclass
class XlsxSource(Reader):
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    cell_range: str | None = None  # the sheet's used range, as the workbook records it
    header: list[str] = field(default_factory=list)  # the header row's cells, as text
    row_word: str = "row"
    row_offset: int = 1  # the header is row 1 of the sheet

    def raw(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        # header=true: DuckDB's own guess treats a header with a blank cell as data.
        # stop_at_empty=false: by default reading stops, silently, at the first empty row.
        # range: by default columns right of the header's last filled cell are dropped, silently.
        options = "stop_at_empty = false"
        params: dict[str, object] = {"path": str(self.path)}
        if self.sheet is not None:
            options += ", sheet = $sheet"
            params["sheet"] = self.sheet
        if self.cell_range is not None:
            options += ", range = $range"
            params["range"] = self.cell_range
        first = lazy_relation(
            con,
            f"SELECT * FROM read_xlsx($path, header = false, all_varchar = true, {options}) "
            "LIMIT 1",
            params,
        ).fetchone()
        self.header = [cell or "" for cell in (first or ())]
        return lazy_relation(
            con, f"SELECT * FROM read_xlsx($path, header = true, {options})", params
        )

    def out_columns(
        self, con: duckdb.DuckDBPyConnection, raw: list[tuple[str, str]]
    ) -> list[OutColumn]:
        columns = []
        for index, (name, type_name) in enumerate(raw):
            out = name
            if index < len(self.header) and not self.header[index].strip():
                # DuckDB names a blank header cell after a cell reference that is not even its
                # own; name it after its column letter instead.
                out = f"column_{_column_letter(index)}"
                self.notes.append(
                    f"column {_column_letter(index)} has no header; it is named '{out}'"
                )
            columns.append(OutColumn(out, ident(name), type_name))
        if self.schema is None:
            columns = self._whole_numbers_as_integers(con, columns)
        return columns

    def _whole_numbers_as_integers(
        self, con: duckdb.DuckDBPyConnection, columns: list[OutColumn]
    ) -> list[OutColumn]:
        # Excel stores every number as a double; a column of whole numbers (counts, ids, years)
        # is published as whole numbers, as it would be from a CSV.
        doubles = [c for c in columns if c.type == "DOUBLE"]
        if not doubles:
            return columns
        checks = ", ".join(
            f"bool_and({c.sql} IS NULL OR ({c.sql} = trunc({c.sql}) AND abs({c.sql}) < 9e15))"
            for c in doubles
        )
        whole = con.execute(f"SELECT {checks} FROM {RAW_VIEW}").fetchone() or ()
        for column, is_whole in zip(doubles, whole, strict=True):
            if is_whole:
                column.sql = f"CAST({column.sql} AS BIGINT)"
                column.type = "BIGINT"
        return columns

    def where(self, columns: list[OutColumn]) -> str:
        # Empty rows in the middle or at the end of a sheet are layout, not records.
        raw_names = [name for name, _ in self._raw_types()]
        return "WHERE " + " OR ".join(f"{ident(n)} IS NOT NULL" for n in raw_names)

    def explain_read(self, error: duckdb.Error) -> StatedataError:
        message = str(error)
        cell = re.search(r"Failed to parse cell '([A-Z]+)(\d+)': (.*)", message)
        if cell:
            letters, row, detail = cell.groups()
            index = _column_index(letters)
            column = self.header[index] if index < len(self.header) else ""
            converted = re.search(r"Could not convert string '(.*?)' to '?(\w+)'?", detail)
            if converted:
                value, type_name = converted.groups()
                expected = TYPE_WORDS.get(type_name, type_name.lower())
                # DuckDB decides a column's type from its first row of data.
                problem = (
                    f"'{value}' is not {expected}, as the column's first row of data is. "
                    "Correct the cell, or make the column's cells all text."
                )
            else:
                value, problem = None, first_line(detail)
            return IngestError(
                f"{self.name}: sheet '{self.sheet}', row {row}, "
                + (f"column '{column}'" if column else f"column {letters} (no header)")
                + f" (cell {letters}{row}): {problem}",
                file=self.name,
                sheet=self.sheet,
                line=int(row),
                column=column or letters,
                value=value,
            )
        return IngestError(
            f"{self.name} could not be read as an Excel workbook: {first_line(message)}",
            file=self.name,
        )


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _workbook_sheets(path: Path) -> tuple[list[str], str | None]:
    """Sheet names in workbook order and the first sheet's used range (like 'A1:F120').

    Read from the workbook's XML with regular expressions: only attributes are needed, and
    no XML parser then expands entities an uploaded file might declare.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
            sheets = re.findall(r"<(?:\w+:)?sheet\b[^>]*>", workbook)
            names = [html.unescape(_attribute(tag, "name") or "") for tag in sheets]
            cell_range = None
            if sheets:
                cell_range = _used_range(archive, _attribute(sheets[0], "r:id"))
    except (KeyError, zipfile.BadZipFile) as error:
        raise IngestError(
            f"{path.name} is not a readable Excel workbook.", file=path.name
        ) from error
    return names, cell_range


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{re.escape(name)}="([^"]*)"', tag)
    return found.group(1) if found else None


def _used_range(archive: zipfile.ZipFile, relation_id: str | None) -> str | None:
    if relation_id is None:
        return None
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return None
    for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
        if _attribute(tag, "Id") == relation_id:
            target = (_attribute(tag, "Target") or "").lstrip("/")
            member = target if target.startswith("xl/") else f"xl/{target}"
            try:
                with archive.open(member) as sheet:
                    head = sheet.read(64 * 1024).decode("utf-8", "replace")
            except KeyError:
                return None
            found = re.search(r'<(?:\w+:)?dimension\s+ref="([A-Z]+\d+:[A-Z]+\d+)"', head)
            return found.group(1) if found else None
    return None


def open_xlsx(path: Path, schema: TableSchema | None) -> XlsxSource:
    sheets, cell_range = _workbook_sheets(path)
    if not sheets:
        raise IngestError(f"{path.name} has no sheets.", file=path.name)
    source = XlsxSource(
        path=path,
        format="xlsx",
        schema=schema,
        extensions=("excel",),
        sheet=sheets[0],
        sheets=sheets,
        cell_range=cell_range,
    )
    if cell_range is not None:
        # Error messages count rows of the sheet; the header is the range's first row.
        source.row_offset = int(re.sub(r"[A-Z]+", "", cell_range.split(":")[0]))
    if len(sheets) > 1:
        source.notes.append(
            f"read the first sheet, '{sheets[0]}'; the other sheets ("
            + ", ".join(f"'{s}'" for s in sheets[1:])
            + ") were not published"
        )
    return source
