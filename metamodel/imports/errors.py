"""Errors of imports and exports: a file refused as a whole, and one row refused on its own.

A refused file (``ImportRefused``) stops before any row is written: its columns
do not fit the entity, it is not CSV or XLSX, it cannot be decoded.  A refused
row (``RowError``) is not an exception at all: it is reported with its place in
the file while the other rows go on, because an import of 10,000 rows must not
fail for one bad e-mail address.
"""

from __future__ import annotations

from dataclasses import dataclass

from metamodel.errors import MetamodelError, Place

UNREADABLE = "MM.E601"
UNSUPPORTED_FORMAT = "MM.E602"
NO_HEADER = "MM.E603"
UNKNOWN_COLUMNS = "MM.E604"
BAD_MAPPING = "MM.E605"
BAD_KEY = "MM.E606"
DUPLICATE_COLUMNS = "MM.E607"
BAD_EXPORT = "MM.E608"
FORBIDDEN_COLUMNS = "MM.E609"

#: Every code of a refused import or export, with what it means (the README's table).
CODES: dict[str, str] = {
    UNREADABLE: "the file cannot be read: not UTF-8, a broken CSV quote, or not an .xlsx workbook",
    UNSUPPORTED_FORMAT: "the file is neither .csv nor .xlsx",
    NO_HEADER: "the file or sheet is empty: its first row must name the columns",
    UNKNOWN_COLUMNS: "a column names no field (map it with --map, or --ignore-unknown)",
    BAD_MAPPING: "a --map names a column the file lacks or a field the entity lacks, or a lookup that "
                 "is not a reference",
    BAD_KEY: "the --key is not id or a unique field, or the file has no column for it",
    DUPLICATE_COLUMNS: "two columns fill the same field",
    BAD_EXPORT: "an export's filter is not a JSON object, its sort direction is not asc/desc, or its "
                "format is not csv/xlsx",
    FORBIDDEN_COLUMNS: "the role may not set a column's field, or look records up in its target",
}


class ImportRefused(MetamodelError):
    """The file as a whole cannot be imported (or exported); nothing was written."""

    code = UNREADABLE

    def __init__(self, code: str, message: str, *, file: str = "", line: int = 0, hint: str = "") -> None:
        super().__init__(message, code=code, place=Place(file=file, line=line), hint=hint)


@dataclass(frozen=True, slots=True)
class RowError:
    """One reason a row was not imported: its row number as the file shows it, the column, why.

    ``row`` is the CSV line (a quoted value spanning lines: the line it starts
    on) or the Excel row; ``column`` is the header text ("" when the reason is
    about the whole row).
    """

    row: int
    column: str
    reason: str

    def line(self, file: str) -> str:
        """``FILE:ROW: column: reason`` — the CLI's one line per problem."""
        where = f"{self.column}: " if self.column else ""
        return f"{file}:{self.row}: {where}{self.reason}"
