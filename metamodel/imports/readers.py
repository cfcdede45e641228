"""Reading an import file as a header and a stream of numbered rows: CSV or XLSX.

Why streaming: an import of 100,000 rows must not hold them all in memory, so
rows are produced one at a time from the open file (``csv.reader`` over a text
wrapper; openpyxl in ``read_only`` mode).  A CSV file is read twice: a first
pass counts its rows (for the progress bar) and finds a bad encoding or a
broken quote *before* anything is written; the second pass imports.

Row numbers are the ones the user sees: the CSV line a row starts on (a quoted
value may span lines), or the Excel row.  Blank rows are skipped.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, Any

from metamodel.imports.errors import NO_HEADER, UNREADABLE, UNSUPPORTED_FORMAT, ImportRefused

FORMATS = ("csv", "xlsx")
DELIMITERS = (",", ";", "\t")
#: Longest CSV cell read (csv's own default, 128 KB, is shorter than a text field may be).
MAX_CELL = 16 * 1024 * 1024
Row = tuple[int, list[Any]]


@dataclass
class Table:
    """The header of an import file, its rows (lazily) and how many there are when known."""

    file: str
    header: list[str]
    rows: Iterator[Row]
    total: int | None
    _close: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for closer in self._close:
            closer()


def file_format(name: str) -> str:
    """``csv`` or ``xlsx`` from the file's extension; anything else is refused up front."""
    suffix = PurePath(name).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ImportRefused(UNSUPPORTED_FORMAT, f'cannot import a ".{suffix}" file' if suffix else
                            "cannot import a file without an extension", file=name,
                            hint="save the sheet as .csv (UTF-8) or .xlsx")
    return suffix


def open_table(source: IO[bytes], name: str) -> Table:
    """The table in ``source`` (a seekable binary file), read by the format ``name`` ends with."""
    kind = file_format(name)
    return _csv_table(source, name) if kind == "csv" else _xlsx_table(source, name)


def _trimmed(header: list[str]) -> list[str]:
    """The header without its empty cells at the end (a sheet often reports more columns than it uses).

    Data under them is then "more cells than the header has columns", never silently dropped.
    """
    while header and not header[-1]:
        header.pop()
    return header


def is_blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


# --- CSV -----------------------------------------------------------------------------------------------

def _text(source: IO[bytes]) -> io.TextIOWrapper:
    """A text view of ``source`` from its start: UTF-8, or UTF-16 when a UTF-16 byte-order mark says so
    (Excel's "Unicode Text"); the byte-order mark is dropped."""
    source.seek(0)
    utf16 = source.read(2) in (b"\xff\xfe", b"\xfe\xff")
    source.seek(0)
    return io.TextIOWrapper(source, encoding="utf-16" if utf16 else "utf-8-sig", newline="")


def sniff_delimiter(first_line: str) -> str:
    """The delimiter of a CSV file: whichever of , ; tab the header line holds most (outside quotes).

    Counting in the header is steadier than ``csv.Sniffer`` on real exports,
    whose data rows hold commas in names and addresses; a tie is a comma.
    """
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in first_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return max(DELIMITERS, key=lambda d: (counts[d], d == ","))


def _records(text: io.TextIOWrapper, name: str, delimiter: str) -> Iterator[Row]:
    """(line the record starts on, cells) of every record; a decoding or quoting fault is refused."""
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except UnicodeDecodeError:
        raise ImportRefused(UNREADABLE, "the file is not UTF-8 text", file=name, line=reader.line_num + 1,
                            hint="save it as CSV UTF-8 (Excel: Save as → CSV UTF-8)") from None
    except csv.Error as exc:
        raise ImportRefused(UNREADABLE, f"the CSV cannot be read: {exc}", file=name,
                            line=reader.line_num) from None


def _csv_table(source: IO[bytes], name: str) -> Table:
    if csv.field_size_limit() < MAX_CELL:
        csv.field_size_limit(MAX_CELL)
    text = _text(source)
    try:
        delimiter = sniff_delimiter(text.readline())
    except UnicodeDecodeError:
        raise ImportRefused(UNREADABLE, "the file is not UTF-8 text", file=name, line=1,
                            hint="save it as CSV UTF-8 (Excel: Save as → CSV UTF-8)") from None
    text.detach()
    counting = _text(source)
    header, total = None, 0
    for _, cells in _records(counting, name, delimiter):
        if header is None:
            header = cells
        elif not is_blank(cells):
            total += 1
    counting.detach()
    if header is None or is_blank(header):
        raise ImportRefused(NO_HEADER, "the file is empty: the first line must name the columns", file=name,
                            line=1)
    reading = _text(source)
    rows = _records(reading, name, delimiter)
    next(rows)  # the header
    body = ((number, cells) for number, cells in rows if not is_blank(cells))
    return Table(name, _trimmed([h.strip() for h in header]), body, total, [reading.detach])


# --- XLSX ----------------------------------------------------------------------------------------------

def _xlsx_table(source: IO[bytes], name: str) -> Table:
    """The first sheet, read-only: cells come as Excel gives them (numbers, dates, text, booleans)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    source.seek(0)
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ImportRefused(UNREADABLE, f"the file is not an Excel workbook (.xlsx): {exc}", file=name,
                            hint="save it from Excel as .xlsx, or as CSV UTF-8") from None
    sheet = book.worksheets[0] if book.worksheets else None
    rows = _sheet_rows(sheet) if sheet is not None else iter(())
    first = next(rows, None)
    if first is None or is_blank(first[1]):
        book.close()
        raise ImportRefused(NO_HEADER, "the sheet is empty: its first row must name the columns", file=name,
                            line=1)
    header = ["" if c is None else str(c).strip() for c in first[1]]
    max_row = sheet.max_row if sheet is not None else None
    total = max_row - first[0] if isinstance(max_row, int) else None
    body = ((number, cells) for number, cells in rows if not is_blank(cells))
    return Table(name, _trimmed(header), body, total, [book.close])


def _sheet_rows(sheet: Any) -> Iterator[Row]:
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield number, list(values)
