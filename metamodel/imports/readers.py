"""Reading an import file as a header and a stream of numbered rows: CSV or XLSX.

Why streaming: an import of 100,000 rows must not hold them all in memory, so
rows are produced one at a time from the open file (``csv.reader`` over a text
wrapper; openpyxl in ``read_only`` mode).  A CSV file is read twice: a first
pass counts its rows (for the progress bar) and finds a bad encoding or a
broken quote *before* anything is written; the second pass imports.

Row numbers are the ones the user sees: the CSV line a row starts on (a quoted
value may span lines), or the Excel row.  Blank rows are skipped, before the
header too.  A CSV text cell that a CSV export guarded against formula injection
(``'=…``) is read back without its quote.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, Any

from metamodel.imports.convert import UncomputedFormula, unguard_formula
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
    header_line: int = 1

    def close(self) -> None:
        for closer in self._close:
            closer()


def file_format(name: str, *, export: bool = False) -> str:
    """``csv`` or ``xlsx`` from the file's extension; anything else is refused up front."""
    suffix = PurePath(name).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        verb = "export to" if export else "import"
        raise ImportRefused(UNSUPPORTED_FORMAT, f'cannot {verb} a ".{suffix}" file' if suffix else
                            f"cannot {verb} a file without an extension", file=name,
                            hint="name the output .csv or .xlsx" if export
                            else "save the sheet as .csv (UTF-8) or .xlsx")
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


def _records(text: io.TextIOWrapper, source: IO[bytes], name: str, delimiter: str) -> Iterator[Row]:
    """(line the record starts on, cells) of every record; a decoding or quoting fault is refused.

    The reader is strict: a quote never closed would otherwise swallow the rest of
    the file into one record, and a file that imports "fine" with rows missing is
    worse than one refused with the line to fix.
    """
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except UnicodeDecodeError:
        raise ImportRefused(UNREADABLE, "the file is not UTF-8 text", file=name, line=reader.line_num + 1,
                            hint="save it as CSV UTF-8 (Excel: Save as → CSV UTF-8)") from None
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            line = _open_quote_line(source, start, delimiter)
            raise ImportRefused(UNREADABLE, f"a quote opened on line {line} is never closed", file=name,
                                line=line, hint=_QUOTE_HINT) from None
        raise ImportRefused(UNREADABLE, f"the CSV cannot be read: {exc}", file=name, line=reader.line_num,
                            hint=_QUOTE_HINT if '"' in str(exc) else "") from None


_QUOTE_HINT = 'end a quoted value with a quote; write a quote inside one as two ("")'


def _open_quote_line(source: IO[bytes], start: int, delimiter: str) -> int:
    """The line of the quote left open at the end of the file, from the record starting on ``start``.

    ``csv`` only says "unexpected end of data" on the last line; the user needs the
    line the stray quote is on.  A quote opens a value only at its start, as for ``csv``.
    """
    text = _text(source)
    opened, quoted = start, False
    try:
        for number, line in enumerate(text, start=1):
            at = 0
            while number >= start and (found := line.find('"', at)) >= 0:
                if quoted and line.startswith('"', found + 1):  # a doubled quote inside a quoted value
                    at = found + 2
                    continue
                if quoted:
                    quoted = False
                elif found == 0 or line[found - 1] == delimiter:
                    quoted, opened = True, number
                at = found + 1
    except UnicodeDecodeError:  # csv read this far without one; nothing more to learn past it
        pass
    finally:
        text.detach()
    return opened


def _first_line(source: IO[bytes], name: str) -> str:
    """The first line with something in it (blank lines may come before the header)."""
    text = _text(source)
    number = 1
    try:
        while line := text.readline():
            if line.strip(_NOTHING):
                return line
            number += 1
        return ""
    except UnicodeDecodeError:
        raise ImportRefused(UNREADABLE, "the file is not UTF-8 text", file=name, line=number,
                            hint="save it as CSV UTF-8 (Excel: Save as → CSV UTF-8)") from None
    finally:
        text.detach()


#: What a line holding no value is made of (an empty row of a sheet saved as CSV is ",,,").
_NOTHING = " \t\r\n\"" + "".join(DELIMITERS)


def _csv_table(source: IO[bytes], name: str) -> Table:
    if csv.field_size_limit() < MAX_CELL:
        csv.field_size_limit(MAX_CELL)
    delimiter = sniff_delimiter(_first_line(source, name))
    counting = _text(source)
    header, header_line, total = None, 0, 0
    try:
        for number, cells in _records(counting, source, name, delimiter):
            if header is not None:
                total += not is_blank(cells)
            elif not is_blank(cells):
                header, header_line = cells, number
    finally:
        counting.detach()
    if header is None:
        raise ImportRefused(NO_HEADER, "the file is empty: its first line must name the columns", file=name,
                            line=1)
    reading = _text(source)
    rows = _records(reading, source, name, delimiter)
    for number, _ in rows:  # blank lines, then the header
        if number == header_line:
            break
    body = ((number, [unguard_formula(c) for c in cells]) for number, cells in rows if not is_blank(cells))
    return Table(name, _trimmed([h.strip() for h in header]), body, total, [reading.detach], header_line)


# --- XLSX ----------------------------------------------------------------------------------------------

def _xlsx_table(source: IO[bytes], name: str) -> Table:
    """The first sheet, read-only: cells come as Excel gives them (numbers, dates, text, booleans).

    The sheet is read twice side by side: the values Excel computed, and the cells as
    written, to tell a formula saved without its value from an empty cell.
    """
    shown, written = _workbook(source, name, values=True), _workbook(source, name, values=False)
    closers = [shown.close, written.close]
    sheet = shown.worksheets[0] if shown.worksheets else None
    rows = _sheet_rows(sheet, written.worksheets[0]) if sheet is not None else iter(())
    first = next((row for row in rows if not is_blank(row[1])), None)
    if first is None:
        for close in closers:
            close()
        raise ImportRefused(NO_HEADER, "the sheet is empty: its first row must name the columns", file=name,
                            line=1)
    header = ["" if c is None else str(c).strip() for c in first[1]]
    max_row = sheet.max_row if sheet is not None else None
    total = max_row - first[0] if isinstance(max_row, int) else None
    body = ((number, cells) for number, cells in rows if not is_blank(cells))
    return Table(name, _trimmed(header), body, total, closers, first[0])


def _workbook(source: IO[bytes], name: str, *, values: bool) -> Any:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    source.seek(0)
    try:
        return load_workbook(source, read_only=True, data_only=values)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ImportRefused(UNREADABLE, f"the file is not an Excel workbook (.xlsx): {exc}", file=name,
                            hint="save it from Excel as .xlsx, or as CSV UTF-8") from None


def _sheet_rows(sheet: Any, formulas: Any) -> Iterator[Row]:
    """Numbered rows of values; a cell without a value whose formula was never computed is marked."""
    written = formulas.iter_rows(values_only=True)
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells, raw = list(values), next(written, ())
        for index, value in enumerate(cells):
            formula = raw[index] if index < len(raw) else None
            if value is None and isinstance(formula, str) and formula.startswith("="):
                cells[index] = UncomputedFormula(formula)
        yield number, cells
