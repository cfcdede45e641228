"""Exporting a filtered, sorted list of records to CSV or XLSX — in a shape the importer reads back.

The filter is the GraphQL ``where`` (field names in snake_case or camelCase,
operators as GraphQL spells them), run in the database page by page with the
keyset cursor, so an export of 100,000 records holds one page in memory.  The
header is the field names; references are ids, tags and lists are joined with
", ", JSON is JSON text, times are UTC.  A CSV starts with a byte-order mark
so that Excel reads its accents right; the importer skips it.  Text that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``…) is written
``'=…`` in a CSV and as a text cell in XLSX; the importer reads it back as it was.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from metamodel.definitions import EntityDef, FieldType
from metamodel.imports.convert import cell_text, cell_value, guard_formula
from metamodel.imports.errors import BAD_EXPORT, ImportRefused
from metamodel.imports.readers import FORMATS
from metamodel.records import MAX_PAGE, RecordStore
from metamodel.storage.catalog import WorkspaceMeta

Hidden = frozenset[tuple[str, str]]
ExportColumn = tuple[str, FieldType | None]
_OPERATORS = frozenset({"startsWith", "isNull", "hasAny", "hasAll"})
_BUILTINS = ("id", "created_at", "updated_at", "created_by", "owner", "version", "pipeline", "stage",
             "stage_entered_at")


def export_columns(entity: EntityDef, hidden: Hidden = frozenset()) -> list[ExportColumn]:
    """The columns of an export: id, every visible field, the stage, the owner and the two stamps."""
    columns: list[ExportColumn] = [("id", None)]
    columns += [(f.name, f.value_type) for f in entity.fields if (entity.name, f.name) not in hidden]
    if entity.pipelines:
        columns += [("pipeline", None), ("stage", None)]
    stamps: list[ExportColumn] = [("created_at", FieldType.DATETIME), ("updated_at", FieldType.DATETIME)]
    return [*columns, ("owner", None), *stamps]


def export_records(store: RecordStore, entity: str, out: IO[bytes], fmt: str, *,
                   where: Mapping[str, Any] | None = None, order_by: Sequence[tuple[str, str]] = (),
                   hidden: Hidden = frozenset()) -> int:
    """Write the records of ``entity`` matching ``where`` to ``out`` as ``fmt`` (csv or xlsx); how many."""
    if fmt not in FORMATS:
        raise ImportRefused(BAD_EXPORT, f'cannot export as "{fmt}"', hint="choose csv or xlsx")
    columns = export_columns(store.meta.blueprint.get_entity(entity), hidden)
    records = _records(store, entity, where, order_by, hidden)
    if fmt == "csv":
        return _write_csv(out, columns, records)
    return _write_xlsx(out, columns, records)


def _records(store: RecordStore, entity: str, where: Mapping[str, Any] | None,
             order_by: Sequence[tuple[str, str]], hidden: Hidden) -> Iterator[dict[str, Any]]:
    """Every matching record, one keyset page at a time on one connection.

    The first page is read before the caller writes a byte, so a bad filter
    is refused before an empty file is made.
    """
    with store.engine.connect() as conn:
        after: str | None = None
        while True:
            page = store.list(entity, where=where, order_by=order_by, first=MAX_PAGE, after=after,
                              hidden=hidden, conn=conn)
            yield from page.records
            if not page.has_next_page or page.end_cursor is None:
                return
            after = page.end_cursor


def _write_csv(out: IO[bytes], columns: list[ExportColumn], records: Iterator[dict[str, Any]]) -> int:
    first = next(records, None)
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow([name for name, _ in columns])
    count = 0
    for record in _chain(first, records):
        writer.writerow([_csv_cell(kind, record.get(name)) for name, kind in columns])
        count += 1
    text.flush()
    text.detach()
    return count


def _csv_cell(kind: FieldType | None, value: Any) -> str:
    """A value as CSV text; text a spreadsheet would run as a formula gets a ``'`` in front (OWASP).

    Only text: a negative number stays a number.  The importer drops the quote again.
    """
    text = cell_text(kind, value)
    return guard_formula(text) if isinstance(value, str | list | tuple) else text


def _write_xlsx(out: IO[bytes], columns: list[ExportColumn], records: Iterator[dict[str, Any]]) -> int:
    """A write-only workbook (rows streamed to a temporary file by openpyxl, not held as cells)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    first = next(records, None)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("records")
    sheet.append([name for name, _ in columns])
    count = 0
    for record in _chain(first, records):
        row = []
        for name, kind in columns:
            cell = WriteOnlyCell(sheet, value=cell_value(kind, record.get(name)))
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, never a formula Excel would run
            row.append(cell)
        sheet.append(row)
        count += 1
    book.save(out)
    return count


def _chain(first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    if first is not None:
        yield first
        yield from rest


# --- the filter and sort of an export, from their text form -----------------------------------------

def parse_where(meta: WorkspaceMeta, text: str | None) -> dict[str, Any] | None:
    """A ``where`` given as JSON text: an object, with camelCase field names turned into snake_case."""
    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRefused(BAD_EXPORT, f"the filter is not JSON: {exc.msg} at character {exc.pos}",
                            hint='write it like {"amount": {"gte": 1000}}') from None
    if not isinstance(data, dict):
        raise ImportRefused(BAD_EXPORT, "the filter must be a JSON object",
                            hint='write it like {"amount": {"gte": 1000}}')
    snake = _snake_names(meta)
    result: dict[str, Any] = _renamed(data, snake)
    return result


def parse_order_by(meta: WorkspaceMeta, items: Sequence[str]) -> list[tuple[str, str]]:
    """``["amount:desc", "title"]`` (or ``-amount``) → ``[("amount", "desc"), ("title", "asc")]``."""
    snake = _snake_names(meta)
    order: list[tuple[str, str]] = []
    for item in (part.strip() for text in items for part in text.split(",")):
        if not item:
            continue
        name, _, direction = item.partition(":")
        if name.startswith("-"):
            name, direction = name[1:], direction or "desc"
        direction = (direction or "asc").strip().lower()
        if direction not in ("asc", "desc"):
            raise ImportRefused(BAD_EXPORT, f'sort "{item}": the direction must be asc or desc',
                                hint="write field, field:asc or field:desc")
        order.append((snake.get(name.strip(), name.strip()), direction))
    return order


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _snake_names(meta: WorkspaceMeta) -> dict[str, str]:
    names = {n for e in meta.blueprint.entities for n in (f.name for f in e.fields)} | set(_BUILTINS)
    return {_camel(n): n for n in names if _camel(n) != n}


def _renamed(node: Any, snake: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_renamed(item, snake) for item in node]
    if not isinstance(node, dict):
        return node
    return {(k if k in _OPERATORS else snake.get(k, k)): _renamed(v, snake) for k, v in node.items()}
