"""``RecordStore``: the one repository every upper layer uses to read and write records.

The facade owns transactions and nothing else: each write runs in its own
``write_transaction`` (``BEGIN IMMEDIATE`` on SQLite) unless the caller passes
``conn``, in which case it runs inside a SAVEPOINT of the caller's transaction
— so the workflow engine can compose several writes, and a refused write
(unique violation, version conflict) leaves the caller's transaction usable and
nothing of its own behind.  The work itself lives in ``write`` (create, update,
delete, restore) and in the read modules (list, count, aggregate, group-by).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from metamodel.clock import SYSTEM_CLOCK, Clock
from metamodel.db import write_transaction
from metamodel.errors import NotFound, UnknownStage, ValidationFailed
from metamodel.records import aggregates as aggregates_module
from metamodel.records import query, write
from metamodel.records.actor import SYSTEM_ACTOR, Actor
from metamodel.records.aggregates import Aggregates, Groups
from metamodel.records.filters import Hidden
from metamodel.records.formulas import clock_for_formulas
from metamodel.records.plan import get_record
from metamodel.records.query import DEFAULT_PAGE, OrderBy, Page, computed_values
from metamodel.records.versions import check_metadata, moved_metadata_reported
from metamodel.storage.catalog import WorkspaceMeta

Record = dict[str, Any]


class RecordStore:
    """Records of one workspace at one metadata version.

    A record is a plain dict: the built-in columns (``id``, ``created_at``,
    ``updated_at``, ``created_by``, ``owner``, ``version``, ``deleted_at`` and,
    with pipelines, ``pipeline``, ``stage``, ``stage_entered_at``), every stored
    field, and each ``many`` field as a sorted list of ids.  Datetimes are aware
    (UTC), numbers of money/decimal fields are ``Decimal``.
    """

    def __init__(self, engine: Engine, meta: WorkspaceMeta, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.meta = meta
        self.clock = clock

    # ---- transactions -----------------------------------------------------------------------

    @contextmanager
    def reading(self, conn: Connection | None = None) -> Iterator[Connection]:
        """``conn`` itself, or a fresh connection for one read (shared by the read half).

        Formulas using ``now``/``today`` read the store's clock while the read runs.
        """
        with clock_for_formulas(self.clock), moved_metadata_reported(self.engine, self.meta):
            if conn is not None:
                yield conn
                return
            with self.engine.connect() as own:
                yield own

    def _write(self, conn: Connection | None, actor: Actor | None, entity: str,
               work: Callable[[Connection, write.Scope], Record], *, checks_itself: bool = False) -> Record:
        """Run ``work`` in its transaction; the record it returns gets its formula values.

        Stale metadata (an apply since this store was built) raises ``MetadataChanged``
        and nothing is written: checked first, or — when the work ``checks_itself``
        (a create reads the version in its INSERT) — by the work, and again when
        the work refuses the input, since stale rules may be what refused it.
        """
        scope = write.Scope(self.meta, self.clock, actor or SYSTEM_ACTOR)
        with clock_for_formulas(self.clock), moved_metadata_reported(self.engine, self.meta):
            if conn is None:
                with write_transaction(self.engine) as own:
                    return self._checked(own, entity, scope, work, checks_itself)
            with conn.begin_nested():
                return self._checked(conn, entity, scope, work, checks_itself)

    def _checked(self, conn: Connection, entity: str, scope: write.Scope,
                 work: Callable[[Connection, write.Scope], Record], checks_itself: bool) -> Record:
        if not checks_itself:
            check_metadata(conn, self.meta)
            return computed_values(conn, self.meta, entity, work(conn, scope))
        try:
            record = work(conn, scope)
        except (ValidationFailed, UnknownStage, NotFound) as exc:
            if not isinstance(exc.__context__, DBAPIError):  # else PostgreSQL aborted the transaction
                check_metadata(conn, self.meta)
            raise
        return computed_values(conn, self.meta, entity, record)

    # ---- write half (metamodel/records/write.py) --------------------------------------------

    def create(self, entity: str, values: Mapping[str, Any], *, actor: Actor | None = None,
               conn: Connection | None = None) -> Record:
        """Create a record; raises ValidationFailed (every field at once), UnknownStage or MetadataChanged."""
        return self._write(conn, actor, entity, lambda c, s: write.create_record(c, s, entity, values),
                           checks_itself=True)

    def update(self, entity: str, record_id: int, values: Mapping[str, Any], *,
               expected_version: int | None = None, actor: Actor | None = None,
               conn: Connection | None = None) -> Record:
        """Change some fields (and/or move stage); a stale ``expected_version`` raises VersionConflict."""
        return self._write(conn, actor, entity, lambda c, s: write.update_record(
            c, s, entity, record_id, values, expected_version))

    def delete(self, entity: str, record_id: int, *, expected_version: int | None = None,
               actor: Actor | None = None, conn: Connection | None = None) -> Record:
        """Soft delete: stamps ``deleted_at``; the record stays restorable."""
        return self._write(conn, actor, entity, lambda c, s: write.set_deleted(
            c, s, entity, record_id, deleted=True, expected_version=expected_version))

    def restore(self, entity: str, record_id: int, *, expected_version: int | None = None,
                actor: Actor | None = None, conn: Connection | None = None) -> Record:
        """Undo a soft delete (a live record is returned unchanged)."""
        return self._write(conn, actor, entity, lambda c, s: write.set_deleted(
            c, s, entity, record_id, deleted=False, expected_version=expected_version))

    def get(self, entity: str, record_id: int, *, include_deleted: bool = False,
            conn: Connection | None = None) -> Record:
        """One record by id; NotFound when missing or soft-deleted (unless ``include_deleted``)."""
        with self.reading(conn) as c:
            record = get_record(c, self.meta, entity, record_id, include_deleted=include_deleted)
            return computed_values(c, self.meta, entity, record)

    # ---- read half (metamodel/records/query.py, filters.py, cursor.py, aggregates.py) -------
    # Owned by the read-half engineer: add list / count / aggregate / group_by methods below
    # by a targeted edit, as thin delegations to those modules (use ``self.reading(conn)``).

    def list(self, entity: str, *, where: Mapping[str, Any] | None = None, order_by: OrderBy = (),
             first: int = DEFAULT_PAGE, after: str | None = None, include_deleted: bool = False,
             hidden: Hidden = frozenset(), with_total: bool = False,
             conn: Connection | None = None) -> Page:
        """One keyset page; see ``query.list_records``."""
        with self.reading(conn) as c:
            return query.list_records(c, self.meta, entity, where=where, order_by=order_by, first=first,
                                      after=after, include_deleted=include_deleted, hidden=hidden,
                                      with_total=with_total)

    def count(self, entity: str, where: Mapping[str, Any] | None = None, *,
              include_deleted: bool = False, hidden: Hidden = frozenset(),
              conn: Connection | None = None) -> int:
        """How many records match ``where`` (the GraphQL ``totalCount``); see ``query.count_records``."""
        with self.reading(conn) as c:
            return query.count_records(c, self.meta, entity, where, include_deleted, hidden)

    def aggregate(self, entity: str, where: Mapping[str, Any] | None = None,
                  aggregates: Aggregates | None = None, *, include_deleted: bool = False,
                  hidden: Hidden = frozenset(), conn: Connection | None = None) -> dict[str, Any]:
        """``{"count": n, "sum": {...}, ...}``; see ``aggregates.aggregate``."""
        with self.reading(conn) as c:
            return aggregates_module.aggregate(c, self.meta, entity, where, aggregates,
                                               include_deleted=include_deleted, hidden=hidden)

    def group_by(self, entity: str, by: Sequence[str], where: Mapping[str, Any] | None = None,
                 aggregates: Aggregates | None = None, *, include_deleted: bool = False,
                 hidden: Hidden = frozenset(), conn: Connection | None = None) -> Groups:
        """One entry per distinct key; see ``aggregates.group_by``."""
        with self.reading(conn) as c:
            return aggregates_module.group_by(c, self.meta, entity, by, where, aggregates,
                                              include_deleted=include_deleted, hidden=hidden)
