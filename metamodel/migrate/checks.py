"""Plan lines and data checks of field changes: what would happen, and whether data allows it.

Every check reads the data as it is before the apply (old table and column
names), so a plan shown with ``--plan`` and the plan an apply executes are
computed by the same code.  A refusal names the field, the count of offending
values and up to three examples, so a consultant can find and fix them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.definitions import FieldDef, FieldType
from metamodel.errors import Place, Problem
from metamodel.migrate import codes
from metamodel.migrate.changes import Action, EntityChange, FieldChange, storage_kind
from metamodel.migrate.convert import NotConvertible, converter
from metamodel.migrate.ddl import index_kind, probe_table
from metamodel.serialize import field_to_dict
from metamodel.storage.naming import WorkspaceNames

EXAMPLES = 3
EXAMPLE_CHARS = 40
_PHYSICAL_KEYS = frozenset({"type", "unique", "index", "required", "max_length", "options", "to",
                            "renamed_from"})


@dataclass
class Findings:
    """Plan lines, refusals and the converted values an apply will write."""

    lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    converted: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)

    def refuse(self, code: str, message: str, place: Place, hint: str = "") -> None:
        self.problems.append(Problem(code, message, place, hint))


def shown(value: Any) -> str:
    """A value as a refusal example: strings quoted, the rest as written, cut to ``EXAMPLE_CHARS``.

    A stored value may be megabytes long; a refusal only needs enough of it to find the record.
    """
    text = str(value)
    if len(text) > EXAMPLE_CHARS:
        text = text[:EXAMPLE_CHARS - 1] + "…"
    return f'"{text}"' if isinstance(value, str) else text


def examples(values: Sequence[Any]) -> str:
    return ", ".join(shown(v) for v in values[:EXAMPLES])


def _place(fc: FieldChange) -> Place:
    fld = fc.new or fc.old
    return fld.place if fld is not None else Place()


def _values(conn: Connection, names: WorkspaceNames, entity: str, fld: FieldDef) -> list[tuple[int, Any]]:
    table = probe_table(names, entity, [fld])
    column = table.c[fld.name]
    return [(row[0], row[1]) for row in conn.execute(
        sa.select(table.c.id, column).where(column.is_not(None)).order_by(table.c.id))]


def _count_rows(conn: Connection, names: WorkspaceNames, entity: str) -> int:
    table = probe_table(names, entity, [])
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


class FieldChecker:
    """Checks the field changes of one entity against the data in its current table."""

    def __init__(self, conn: Connection, names: WorkspaceNames, change: EntityChange,
                 found: Findings) -> None:
        self.conn, self.names, self.change, self.found = conn, names, change, found
        self.table_entity = change.table_entity if change.action is not Action.ADD else None

    def run(self) -> None:
        for fc in self.change.fields:
            self._describe(fc)
            if fc.old is not None and fc.new is not None and self.table_entity is not None:
                self._check_kept(fc)

    def _describe(self, fc: FieldChange) -> None:
        label = f"{fc.entity}.{fc.name}"
        lines = self.found.lines
        if fc.action is Action.ADD and self.change.action is not Action.ADD:
            assert fc.new is not None
            lines.append(f"+ {label}: add field ({fc.new.type.value})")
            self._check_added(fc.new)
        elif fc.action is Action.ARCHIVE and fc.old is not None:
            what = "data kept until stagecraft purge" if storage_kind(fc.old) != "none" else "computed"
            lines.append(f"- {label}: archive field ({what})")
        elif fc.action is Action.RESTORE:
            lines.append(f"+ {label}: restore archived field (data kept)")
        elif fc.action is Action.RENAME and fc.old is not None:
            lines.append(f"~ {label}: rename from {fc.old.name} (data kept)")

    def _check_added(self, fld: FieldDef) -> None:
        if not (fld.required and not fld.has_default and fld.stored) or self.table_entity is None:
            return
        rows = _count_rows(self.conn, self.names, self.table_entity)
        if rows:
            self.found.refuse(codes.MISSING_VALUES,
                              f"{self.change.name}.{fld.name}: {rows} records would have no value for a "
                              "required field", fld.place, "give the field a default, or add it unrequired")

    def _check_kept(self, fc: FieldChange) -> None:
        assert fc.old is not None and fc.new is not None and self.table_entity is not None
        if fc.target_changed:
            self._check_target(fc)
        elif storage_kind(fc.new) == "junction" and fc.old.to != fc.new.to:
            self.found.refuse(codes.TARGET_CHANGE, f"{fc.entity}.{fc.name}: a many-to-many field cannot "
                              f"change its target from {fc.old.to} to {fc.new.to}", _place(fc),
                              "add a new field and archive this one")
        elif fc.retyped:
            self._check_retype(fc)
        elif fc.both_columns:
            self._check_same_type(fc)
        if fc.both_columns:
            self._check_constraints(fc)
        self._describe_definition(fc)

    def _check_retype(self, fc: FieldChange) -> None:
        assert fc.old is not None and fc.new is not None and self.table_entity is not None
        label, old_t, new_t = f"{fc.entity}.{fc.name}", fc.old.type.value, fc.new.type.value
        values = _values(self.conn, self.names, self.table_entity, fc.old)
        links = {FieldType.REFERENCE, FieldType.USER} & {fc.old.type, fc.new.type}
        convert = None if links else converter(fc.old.type, fc.new.type)
        if links and not values:
            self.found.refuse(codes.TARGET_CHANGE, f"{label}: a link field cannot change type "
                              f"({old_t} → {new_t})", _place(fc), "add a new field and archive this one")
        good: list[tuple[int, Any]] = []
        bad: list[Any] = []
        for record_id, value in values:
            try:
                if convert is None:
                    raise NotConvertible(value)
                good.append((record_id, convert(value, fc.new)))
            except NotConvertible:
                bad.append(value)
        if fc.new.unique:
            self._check_converted_duplicates(fc, [v for _, v in good])
        if bad:
            self.found.refuse(codes.NOT_CONVERTIBLE,
                              f"{label}: {len(bad)} values do not convert to {new_t}: {examples(bad)}",
                              _place(fc), "fix or clear those values first, or add a new field instead")
        self.found.converted[(fc.entity, fc.name)] = good
        self.found.lines.append(f"~ {label}: change type {old_t} → {new_t} ({len(good)} values convert)")

    def _check_converted_duplicates(self, fc: FieldChange, values: list[Any]) -> None:
        """Distinct values can collide once converted ("01" and "1" both become 1)."""
        seen: set[Any] = set()
        twice: set[Any] = set()
        for value in values:
            if value in seen:
                twice.add(value)
            seen.add(value)
        repeated = sorted(twice, key=str)
        if repeated:
            self.found.refuse(codes.DUPLICATES, f"{fc.entity}.{fc.name}: {len(repeated)} values would appear "
                              f"more than once after conversion: {examples(repeated)}",
                              _place(fc), "make them unique first")

    def _check_target(self, fc: FieldChange) -> None:
        assert fc.old is not None and fc.new is not None and self.table_entity is not None
        used = len(_values(self.conn, self.names, self.table_entity, fc.old))
        self.found.lines.append(f"~ {fc.entity}.{fc.name}: change target {fc.old.to} → {fc.new.to}")
        self.found.refuse(codes.TARGET_CHANGE,
                          f"{fc.entity}.{fc.name}: the reference target cannot change from {fc.old.to} "
                          f"to {fc.new.to} ({used} records link to {fc.old.to})", _place(fc),
                          "add a new reference field and archive this one")

    def _check_same_type(self, fc: FieldChange) -> None:
        assert fc.old is not None and fc.new is not None and self.table_entity is not None
        label = f"{fc.entity}.{fc.name}"
        lowered = fc.new.max_length is not None and (fc.old.max_length is None
                                                     or fc.new.max_length < fc.old.max_length)
        removed = [o for o in fc.old.options if o not in fc.new.options]
        added = [o for o in fc.new.options if o not in fc.old.options]
        if added:
            self.found.lines.append(f"~ {label}: add options {', '.join(added)}")
        if fc.new.max_length != fc.old.max_length and not lowered:
            self.found.lines.append(f"~ {label}: max_length {fc.old.max_length} → {fc.new.max_length}")
        if not lowered and not removed:
            return
        values = [v for _, v in _values(self.conn, self.names, self.table_entity, fc.old)]
        if lowered and fc.new.max_length is not None:
            limit = fc.new.max_length
            long = [v for v in values if isinstance(v, str) and len(v) > limit]
            self.found.lines.append(f"~ {label}: lower max_length to {limit}")
            if long:
                self.found.refuse(codes.TOO_LONG, f"{label}: {len(long)} values are longer than {limit} "
                                  f"characters: {examples(long)}", _place(fc), "shorten them first")
        if removed:
            self._check_options(fc, values, removed)

    def _check_options(self, fc: FieldChange, values: list[Any], removed: list[str]) -> None:
        label = f"{fc.entity}.{fc.name}"
        gone = set(removed)
        using = [v for v in values if (set(v) & gone if isinstance(v, list) else v in gone)]
        self.found.lines.append(f"~ {label}: remove options {', '.join(removed)}")
        if using:
            self.found.refuse(codes.OPTION_IN_USE, f"{label}: {len(using)} records use removed options: "
                              f"{examples(using)}", _place(fc), "change those records first")

    def _check_constraints(self, fc: FieldChange) -> None:
        assert fc.old is not None and fc.new is not None
        label = f"{fc.entity}.{fc.name}"
        before, after = index_kind(fc.old), index_kind(fc.new)
        if before != after:
            words = {"uq": "unique", "ix": "index", None: "no index"}
            self.found.lines.append(f"~ {label}: {words[before]} → {words[after]}")
        if after == "uq" and before != "uq":
            self._check_duplicates(fc)
        if fc.new.required and (not fc.old.required or self._restored_alone(fc)):
            self._check_nulls(fc)
        elif fc.old.required and not fc.new.required:
            self.found.lines.append(f"~ {label}: make optional")

    def _restored_alone(self, fc: FieldChange) -> bool:
        """A field restored on its own may have missed values while archived; one restored with its
        entity has not (no record is written to an archived entity, see ``changes._physical_fields``)."""
        return fc.action is Action.RESTORE and self.change.action is not Action.RESTORE

    def _check_duplicates(self, fc: FieldChange) -> None:
        assert fc.old is not None and self.table_entity is not None
        table = probe_table(self.names, self.table_entity, [fc.old])
        column = table.c[fc.old.name]
        repeated = self.conn.execute(
            sa.select(column).where(column.is_not(None)).group_by(column)
            .having(sa.func.count() > 1).order_by(column)).scalars().all()
        if repeated:
            label = f"{fc.entity}.{fc.name}"
            self.found.refuse(codes.DUPLICATES, f"{label}: {len(repeated)} values appear more than once: "
                              f"{examples(list(repeated))}", _place(fc), "make them unique first")

    def _check_nulls(self, fc: FieldChange) -> None:
        assert fc.old is not None and self.table_entity is not None
        table = probe_table(self.names, self.table_entity, [fc.old])
        missing = self.conn.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c[fc.old.name].is_(None), table.c.deleted_at.is_(None))).scalar_one()
        self.found.lines.append(f"~ {fc.entity}.{fc.name}: make required")
        if missing:
            self.found.refuse(codes.MISSING_VALUES, f"{fc.entity}.{fc.name}: {missing} records have no "
                              "value", _place(fc), "fill them first, or keep the field optional")

    def _describe_definition(self, fc: FieldChange) -> None:
        assert fc.old is not None and fc.new is not None
        if fc.action is Action.RESTORE or fc.old == fc.new:
            return
        before, after = field_to_dict(fc.old), field_to_dict(fc.new)
        changed = [k for k in sorted(set(before) | set(after))
                   if before.get(k) != after.get(k) and k not in _PHYSICAL_KEYS]
        if storage_kind(fc.new) == "none" and before.get("type") == after.get("type"):
            changed += [k for k in ("to",) if before.get(k) != after.get(k)]
        if changed:
            words = ["rollup field" if k == "field" else k for k in changed]
            self.found.lines.append(f"~ {fc.entity}.{fc.name}: change {', '.join(words)}")


def check_fields(conn: Connection, names: WorkspaceNames, changes: Sequence[EntityChange],
                 found: Findings) -> None:
    """Lines and refusals of every field change of every entity."""
    for change in changes:
        if change.action is not Action.ARCHIVE:
            FieldChecker(conn, names, change, found).run()


def is_retype_or_resize(fc: FieldChange) -> bool:
    return fc.retyped or (fc.both_columns and fc.old is not None and fc.new is not None
                          and fc.old.type is fc.new.type is FieldType.STRING
                          and fc.old.max_length != fc.new.max_length)
