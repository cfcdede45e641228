"""Importing a CSV or XLSX file into an entity: create or upsert row by row, keep the good rows.

Each row is written through ``RecordStore`` (the same validation, history,
stage history and outbox events as every API write) inside a SAVEPOINT of
its own, so a refused row leaves nothing behind while the rows around it are
kept.  Rows are committed in batches: one transaction per row would cost a
disk flush per row, and a batch bounds both memory and how long the write lock
is held.  A row's problems are reported with its row number as the file shows
it and the column they are about, every problem of the row at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, NestedTransaction

from metamodel.db import write_transaction
from metamodel.definitions import EntityDef, FieldType
from metamodel.errors import (
    InvalidQuery,
    MetadataChanged,
    NotFound,
    Place,
    UnknownStage,
    ValidationFailed,
    VersionConflict,
)
from metamodel.imports.convert import BLANK, CellInvalid, convert_cell
from metamodel.imports.errors import FORBIDDEN_COLUMNS, ImportRefused, RowError
from metamodel.imports.finding import find_records, folds_case
from metamodel.imports.mapping import ID, Column, ColumnMap, map_columns
from metamodel.imports.readers import Row, Table, open_table
from metamodel.records import Actor, RecordStore

Progress = Callable[[int, int | None], None]
Hidden = frozenset[tuple[str, str]]
_LOOKUP_CACHE_LIMIT = 10_000
_BIGINT = 2**63
OWN_OWNER_REASON = "your role may only own its records"


@dataclass(frozen=True)
class ImportOptions:
    """How to import: the upsert key, explicit column mapping, and what the caller may not touch.

    ``hidden`` holds (entity, field) pairs the caller may not see or set (a role's
    ``hide_fields``), ``unreadable`` the entities a column may not look records up in;
    ``scope`` narrows which records an upsert may find (``records: own``), and
    ``own_only`` says the caller may own only its own records: a row naming another
    owner is refused (a blank owner cell is the caller), so what it creates is its own.
    """

    key: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    ignore_unknown: bool = False
    dry_run: bool = False
    batch_size: int = 200
    max_errors: int = 1000
    hidden: Hidden = frozenset()
    unreadable: frozenset[str] = frozenset()
    scope: Mapping[str, Any] | None = None
    own_only: bool = False


@dataclass
class ImportSummary:
    """What an import did: counts, the row errors (the first ``max_errors``), skipped columns."""

    file: str
    entity: str
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_not_listed: int = 0
    skipped_columns: tuple[tuple[str, str], ...] = ()

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    def as_dict(self) -> dict[str, Any]:
        """The JSON answer of the API (and ``--json`` of the CLI)."""
        return {"file": self.file, "entity": self.entity, "dryRun": self.dry_run, "rows": self.rows,
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "failed": self.failed, "errorsNotListed": self.errors_not_listed,
                "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
                "skippedColumns": [{"column": c, "reason": r} for c, r in self.skipped_columns]}


def import_records(store: RecordStore, entity: str, source: IO[bytes], file_name: str,
                   options: ImportOptions | None = None, *, actor: Actor | None = None,
                   progress: Progress | None = None) -> ImportSummary:
    """Import ``source`` (a seekable binary file named ``file_name``) into ``entity``.

    Raises ``ImportRefused`` (nothing written) when the file or its columns do
    not fit; row problems are in the summary, and the good rows are kept.
    """
    opts = options or ImportOptions()
    table = open_table(source, file_name)
    try:
        try:
            columns = map_columns(store.meta, entity, table.header, mapping=opts.mapping, key=opts.key,
                                  ignore_unknown=opts.ignore_unknown)
            _refuse_hidden(entity, columns, opts)
        except ImportRefused as exc:
            exc.place = Place(file=file_name, line=table.header_line)  # column problems: the header line
            raise
        summary = ImportSummary(file_name, entity, opts.dry_run, skipped_columns=columns.skipped)
        _run(_Rows(store, entity, columns, opts, summary, actor, len(table.header)), table, opts, progress)
        return summary
    finally:
        table.close()


def _refuse_hidden(entity: str, columns: ColumnMap, opts: ImportOptions) -> None:
    """Columns the caller may not use: a hidden field, or a lookup in an entity it may not read."""
    names = sorted(c.header for c in columns.columns if (entity, c.field) in opts.hidden or (
        c.lookup is not None and ((c.target, c.lookup) in opts.hidden or c.target in opts.unreadable)))
    if names:
        raise ImportRefused(FORBIDDEN_COLUMNS, f"your role may not use the column(s) {', '.join(names)} "
                            f"of {entity}", hint="leave those columns out of the file")


def _run(rows: _Rows, table: Table, opts: ImportOptions, progress: Progress | None) -> None:
    """Batches of rows, each committed in a transaction; a dry run is one transaction, rolled back at the end.

    A dry run must see what its earlier rows would have written — a duplicate
    e-mail 300 rows further down, an upsert finding the record a row above
    creates — so it cannot undo batch by batch: it would call clean a file the
    real import partly refuses.  (On SQLite it holds the write lock throughout.)
    """
    if opts.dry_run:
        with write_transaction(rows.store.engine) as conn:
            for batch in _batches(table, opts, progress):
                for number, cells in batch:
                    rows.run(conn, number, cells)
            conn.get_transaction().rollback()  # type: ignore[union-attr]
        return
    for batch in _batches(table, opts, progress):
        with write_transaction(rows.store.engine) as conn:
            for number, cells in batch:
                rows.run(conn, number, cells)


def _batches(table: Table, opts: ImportOptions, progress: Progress | None) -> Iterator[list[Row]]:
    """The rows in batches; each batch is reported done when the caller asks for the next one."""
    done = 0
    while batch := list(islice(table.rows, max(1, opts.batch_size))):
        yield batch
        done += len(batch)
        if progress is not None:
            progress(done, None if table.total is None else max(table.total, done))


class _Rows:
    """Imports one row at a time into an open transaction, counting into the summary."""

    def __init__(self, store: RecordStore, entity: str, columns: ColumnMap, opts: ImportOptions,
                 summary: ImportSummary, actor: Actor | None, width: int) -> None:
        self.store, self.entity, self.columns, self.opts = store, entity, columns, opts
        self.summary, self.actor, self.width = summary, actor, width
        self.found: dict[tuple[str, str, Any], int] = {}
        self.stage_codes = _stage_codes(store.meta.blueprint.get_entity(entity))
        self.reads = columns.key is not None or any(c.lookup is not None for c in columns.columns)
        self.savepoint: NestedTransaction | None = None

    def run(self, conn: Connection, number: int, cells: list[Any]) -> None:
        """One row, all or nothing.

        The store wraps each write in a SAVEPOINT of its own; a row needs one more
        only when it reads before it writes (a key, a lookup) or is written only to
        collect the record layer's reasons too — so a plain create costs one, not two.
        """
        self.savepoint = conn.begin_nested() if self.reads else None
        try:
            outcome, problems = self._row(conn, cells)
        except (sa.exc.IntegrityError, sa.exc.DataError) as exc:  # a value the checks let through: this row
            outcome, problems = "", {"": f"the database refused the row: {_first_line(exc)}"}
        except BaseException:
            self._end(keep=False)
            raise
        self._end(keep=not problems)
        if problems:
            self._failed(number, problems)
            return
        setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)

    def _end(self, *, keep: bool) -> None:
        if self.savepoint is not None and keep:
            self.savepoint.commit()
        elif self.savepoint is not None:
            self.savepoint.rollback()
        self.savepoint = None

    def _failed(self, number: int, problems: Mapping[str, str]) -> None:
        self.summary.failed += 1
        for column, reason in problems.items():
            if len(self.summary.errors) < self.opts.max_errors:
                self.summary.errors.append(RowError(number, column, reason))
            else:
                self.summary.errors_not_listed += 1

    def _row(self, conn: Connection, cells: list[Any]) -> tuple[str, dict[str, str]]:
        """("created" | "updated" | "unchanged", problems by column header)."""
        problems: dict[str, str] = {}
        if any(not _empty(c) for c in cells[self.width:]):
            problems[""] = "has more cells than the header has columns"
        values = self._values(conn, cells, problems)
        self._own_owner(values, problems)
        key_value = self._key_value(cells, values, problems)
        if problems and self.savepoint is None:  # written only to learn its other problems: undone
            self.savepoint = conn.begin_nested()
        try:
            outcome = self._write(conn, values, key_value)
        except ValidationFailed as exc:
            problems.update((self.columns.header_of(f) if f else "", r) for f, r in exc.fields.items())
            return "", problems
        except MetadataChanged:
            raise
        except UnknownStage as exc:
            about = "pipeline" if "has no pipeline" in exc.message else "stage"
            problems[self.columns.header_of(about)] = exc.message
            return "", problems
        except (NotFound, VersionConflict, InvalidQuery) as exc:
            problems[self.columns.key.header if self.columns.key else ""] = exc.message
            return "", problems
        return outcome, problems

    def _values(self, conn: Connection, cells: list[Any], problems: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for column in self.columns.columns:
            raw = cells[column.index] if column.index < len(cells) else None
            try:
                value = convert_cell(column.type, raw)
                if column.field == "stage" and isinstance(value, str):
                    value = self.stage_codes.get(value.casefold(), value)
                if value is not BLANK and column.lookup is not None:
                    value = self._lookup(conn, column, value)
            except CellInvalid as exc:
                problems[column.header] = str(exc)
                continue
            values[column.field] = value
        return values

    def _own_owner(self, values: dict[str, Any], problems: dict[str, str]) -> None:
        """Under ``own_only`` the owner is the caller: a blank cell means the caller, any other is refused.

        Without this a ``records: own`` role could create (or hand over, with a key)
        records it then no longer sees, owned by someone it names.
        """
        if not self.opts.own_only or "owner" not in values:
            return
        me = self.actor or Actor()
        value = values["owner"]
        if value is BLANK:
            values["owner"] = me.user_id
        elif not _is_user(value, me):
            problems[self.columns.header_of("owner")] = OWN_OWNER_REASON

    def _key_value(self, cells: list[Any], values: dict[str, Any], problems: dict[str, str]) -> Any:
        key = self.columns.key
        if key is None:
            return BLANK
        if key.field != ID:
            return values.get(key.field, BLANK)
        raw = cells[key.index] if key.index < len(cells) else None
        try:
            value = convert_cell(FieldType.INTEGER, raw)
        except CellInvalid as exc:  # a formula Excel never computed
            problems[key.header] = str(exc)
            return BLANK
        if value is not BLANK and not (isinstance(value, int) and 0 < value < _BIGINT):
            problems[key.header] = "must be the id of a record"
            return BLANK  # the row is still tried as a create, to report its other problems too
        return value

    def _write(self, conn: Connection, values: dict[str, Any], key_value: Any) -> str:
        """Create, or — when the key finds a live record — update it; nothing at all after a problem.

        An id is the platform's to give: an id that finds no record is refused rather
        than read as "create", which would copy a deleted record under a new id.
        """
        existing = None if key_value is BLANK else self._existing(conn, key_value)
        if existing is None and key_value is not BLANK and self.columns.key is not None \
                and self.columns.key.field == ID:
            raise NotFound(f"no live {self.entity} with id {key_value} (leave the id empty to create one)")
        if existing is None:
            self.store.create(self.entity, {k: v for k, v in values.items() if v is not BLANK},
                              actor=self.actor, conn=conn)
            return "created"
        changes = {k: None if v is BLANK else v for k, v in values.items()}
        if self.columns.key is not None and folds_case(self.columns.key.type, key_value):
            changes[self.columns.key.field] = existing[self.columns.key.field]  # found ignoring case: kept
        record = self.store.update(self.entity, existing["id"], changes, actor=self.actor, conn=conn)
        return "unchanged" if record["version"] == existing["version"] else "updated"

    def _existing(self, conn: Connection, key_value: Any) -> dict[str, Any] | None:
        key = self.columns.key
        assert key is not None
        try:
            found = find_records(self.store, conn, self.entity, key.field, key.type, key_value,
                                 scope=self.opts.scope, hidden=self.opts.hidden)
        except InvalidQuery:  # a key value no record can hold: the create says why it is wrong
            return None
        if len(found) > 1:  # stored before imports matched e-mails ignoring case
            raise InvalidQuery(f'more than one {self.entity} with {key.field} "{key_value}" ignoring case')
        return found[0] if found else None

    def _lookup(self, conn: Connection, column: Column, value: Any) -> Any:
        """The id(s) of the target record(s) whose ``column.lookup`` field holds the cell's value(s)."""
        if isinstance(value, list):
            return [self._find(conn, column, item) for item in value]
        return self._find(conn, column, value)

    def _find(self, conn: Connection, column: Column, raw: Any) -> int:
        assert column.target is not None and column.lookup is not None
        target = self.store.meta.blueprint.get_entity(column.target)
        lookup_type = target.get_field(column.lookup).type
        value = convert_cell(lookup_type, raw)
        folded = value.lower() if folds_case(lookup_type, value) else value
        cache_key = (column.target, column.lookup, repr(folded))
        if cache_key in self.found:
            return self.found[cache_key]
        try:
            records = find_records(self.store, conn, column.target, column.lookup, lookup_type, value,
                                   scope=self.opts.scope, hidden=self.opts.hidden)
        except InvalidQuery:  # a value the field cannot hold: no record has it
            records = []
        if len(records) != 1:
            what = "more than one" if records else "no"
            raise CellInvalid(f'{what} {column.target} with {column.lookup} "{raw}"')
        if len(self.found) >= _LOOKUP_CACHE_LIMIT:
            self.found.clear()
        found: int = records[0]["id"]
        self.found[cache_key] = found
        return found


def _stage_codes(entity: EntityDef) -> dict[str, str]:
    """Stage name or code in any case → code, for names that mean one stage only ("Won" → ``won``).

    Exports write codes; files from other tools often carry the names people see.
    """
    seen: dict[str, set[str]] = {}
    for pipeline in entity.pipelines:
        for stage in pipeline.stages:
            for text in (stage.code, stage.name):
                seen.setdefault(text.casefold(), set()).add(stage.code)
    return {text: next(iter(codes)) for text, codes in seen.items() if len(codes) == 1}


def _is_user(value: Any, actor: Actor) -> bool:
    """Whether an owner cell (an id or an e-mail) names ``actor``."""
    if isinstance(value, str) and "@" in value:
        return actor.email is not None and value.strip().lower() == actor.email.strip().lower()
    return actor.user_id is not None and not isinstance(value, bool) and value == actor.user_id


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _first_line(exc: sa.exc.DBAPIError) -> str:
    """The driver's reason, first line (a lost connection or a lock is not a row's fault: it propagates)."""
    text = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
