"""Which column of an import file fills which field: the header, matched or mapped explicitly.

A header cell names a field by its name or its label, in any letter case
(``Due on``, ``due_on`` and ``DUE ON`` all name ``due_on``); ``customer.email``
names the reference ``customer`` found by the ``email`` of the target.  An
explicit mapping (``--map "E-mail=email"``) wins, and ``col=`` ignores a column.

Every problem with the columns is found before the first row is written: an
unknown column is refused with a suggestion (unless unknown columns are
ignored on purpose), and so are two columns for one field and a key that is
not a unique field.  Columns of computed fields and of values the platform
sets (``created_at``, ``version``…) are skipped, so an export imports again.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from metamodel.definitions import COMPUTED, EntityDef, FieldDef, FieldType
from metamodel.imports.errors import BAD_KEY, BAD_MAPPING, DUPLICATE_COLUMNS, UNKNOWN_COLUMNS, ImportRefused
from metamodel.storage.catalog import WorkspaceMeta

ID = "id"
#: Columns an export writes that the platform sets itself: skipped on import.
PLATFORM_SET = frozenset({"created_at", "updated_at", "created_by", "version", "deleted_at",
                          "stage_entered_at"})
LOOKUP_TYPES = (FieldType.REFERENCE, FieldType.MANY)


@dataclass(frozen=True, slots=True)
class Column:
    """One imported column: where it is, its header, the field it fills, how references are found."""

    index: int
    header: str
    field: str
    type: FieldType
    lookup: str | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """The columns to import, the key column (upsert), and the headers skipped with the reason."""

    columns: tuple[Column, ...]
    key: Column | None
    skipped: tuple[tuple[str, str], ...]

    def header_of(self, field_name: str) -> str:
        """The header a field's problems are reported under (the field's name when no column fills it)."""
        found = next((c for c in self.columns if c.field == field_name), None)
        if found is None and self.key is not None and self.key.field == field_name:
            found = self.key
        return found.header if found else field_name


def _norm(text: str) -> str:
    """``E-Mail``, ``e mail`` and ``eMail`` all read ``email``: case and separators do not count."""
    return re.sub(r"[\W_]+", "", text).casefold()


def _names(entity: EntityDef) -> dict[str, str]:
    """Normalised name or label → field name, for every name a header may use."""
    names: dict[str, str] = {}
    for fld in entity.fields:
        for alias in (fld.label, fld.name):
            if alias:
                names[_norm(alias)] = fld.name
    builtins = [ID, "owner", *PLATFORM_SET, *(("pipeline", "stage") if entity.pipelines else ())]
    names.update((_norm(b), b) for b in builtins)
    return names


def _type_of(entity: EntityDef, name: str) -> FieldType | None:
    fld = entity.find_field(name)
    if fld is not None:
        return fld.type
    return FieldType.USER if name == "owner" else FieldType.STRING if name in ("pipeline", "stage") else None


def _resolve(meta: WorkspaceMeta, entity: EntityDef, target_text: str, names: Mapping[str, str],
             where: str) -> tuple[str, str | None, str | None] | None:
    """(field, lookup field, target entity) a mapping target or header names; None when unknown."""
    head, _, lookup = target_text.partition(".")
    name = names.get(_norm(head))
    if name is None:
        return None
    if not lookup:
        return name, None, None
    fld = entity.find_field(name)
    if fld is None or fld.type not in LOOKUP_TYPES or fld.to is None:
        raise ImportRefused(BAD_MAPPING, f'{where}: "{target_text}" looks a record up by a field, but '
                            f"{entity.name}.{name} is not a reference", hint=f"name the column {name}")
    target = meta.blueprint.get_entity(fld.to)
    found = _names(target).get(_norm(lookup))
    target_field = target.find_field(found) if found else None
    if found != ID and (target_field is None or not target_field.stored):
        raise ImportRefused(BAD_MAPPING, f'{where}: {fld.to} has no field "{lookup}" to find records by',
                            hint=_suggest(lookup, [f.name for f in target.stored_fields]))
    return name, None if found == ID else found, fld.to


def _suggest(text: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(_norm(text), list(candidates), n=1)
    return f'did you mean "{close[0]}"?' if close else ""


def _explicit(header: Sequence[str], mapping: Mapping[str, str]) -> dict[int, str]:
    """Column index → mapping target, for each ``column=field`` (columns matched exactly, then by case)."""
    chosen: dict[int, str] = {}
    for column, target in mapping.items():
        index = next((i for i, h in enumerate(header) if h == column.strip()), None)
        if index is None:
            index = next((i for i, h in enumerate(header) if h.casefold() == column.strip().casefold()), None)
        if index is None:
            raise ImportRefused(BAD_MAPPING, f'--map "{column}={target}": the file has no column "{column}"',
                                hint=f"its columns are: {', '.join(h for h in header if h)}")
        chosen[index] = target.strip()
    return chosen


def map_columns(meta: WorkspaceMeta, entity_name: str, header: Sequence[str], *,
                mapping: Mapping[str, str] | None = None, key: str | None = None,
                ignore_unknown: bool = False) -> ColumnMap:
    """The column map of ``header`` for ``entity_name``; raises ``ImportRefused`` for any column problem."""
    entity = meta.blueprint.get_entity(entity_name)
    names = _names(entity)
    explicit = _explicit(header, mapping or {})
    columns: list[Column] = []
    skipped: list[tuple[str, str]] = []
    unknown: list[str] = []
    for index, text in enumerate(header):
        target = explicit.get(index, text)
        if not target:
            skipped.append((text, "ignored by the mapping") if text else
                           (f"(column {index + 1})", "no header"))
            continue
        resolved = _resolve(meta, entity, target, names, f'column "{text}"')
        if resolved is None:
            if index in explicit:
                raise ImportRefused(BAD_MAPPING, f'--map "{text}={target}": {entity.name} has no field '
                                    f'"{target}"', hint=_suggest(target, sorted(set(names.values()))))
            unknown.append(text)
            continue
        name, lookup, to = resolved
        reason = _skip_reason(entity.find_field(name), name, key)
        if reason:
            skipped.append((text, reason))
            continue
        columns.append(Column(index, text, name, _type_of(entity, name) or FieldType.STRING, lookup, to))
    _refuse_unknown(entity, unknown, names, ignore_unknown, skipped)
    _refuse_duplicates(columns)
    found_key = _key_column(entity, columns, key)
    return ColumnMap(tuple(c for c in columns if c is not found_key or c.field != ID), found_key,
                     tuple(skipped))


def _skip_reason(fld: FieldDef | None, name: str, key: str | None) -> str:
    if fld is not None and fld.type in COMPUTED:
        return f"{fld.type.value} fields are computed, not imported"
    if name in PLATFORM_SET or (name == ID and key != ID):
        return "set by the platform" if name != ID else "ids are set by the platform (use --key id to update)"
    return ""


def _refuse_unknown(entity: EntityDef, unknown: list[str], names: Mapping[str, str], ignore: bool,
                    skipped: list[tuple[str, str]]) -> None:
    if ignore:
        skipped.extend((text or "(no header)", f"not a field of {entity.name}") for text in unknown)
        return
    if unknown:
        shown = ", ".join(f'"{u}"' if u else "(a column without a header)" for u in unknown)
        hints = [f'"{u}": {s}' for u in unknown if (s := _suggest(u, sorted(set(names.values()))))]
        raise ImportRefused(UNKNOWN_COLUMNS, f"{entity.name} has no field for column(s) {shown}",
                            hint="; ".join(hints) or "map them with --map COLUMN=field, or skip them with "
                            "--ignore-unknown")


def _refuse_duplicates(columns: Sequence[Column]) -> None:
    seen: dict[str, str] = {}
    for column in columns:
        if column.field in seen:
            raise ImportRefused(DUPLICATE_COLUMNS, f'columns "{seen[column.field]}" and "{column.header}" '
                                f"both fill {column.field}",
                                hint="map one of them to another field, or skip it with --map COLUMN=")
        seen[column.field] = column.header


def _key_column(entity: EntityDef, columns: Sequence[Column], key: str | None) -> Column | None:
    """The column the upsert key is read from: ``id`` or a unique field, which the file must have."""
    if key is None:
        return None
    fld = entity.find_field(key)
    if key != ID and (fld is None or not fld.unique or fld.type in COMPUTED):
        raise ImportRefused(BAD_KEY, f'--key {key}: the key must be id or a unique field of {entity.name}',
                            hint="unique fields: " + (", ".join(f.name for f in entity.fields if f.unique)
                                                      or "none (declare one with unique: true)"))
    found = next((c for c in columns if c.field == key and c.lookup is None), None)
    if found is None:
        raise ImportRefused(BAD_KEY, f"--key {key}: the file has no {key} column",
                            hint=f"add the column, or map one to it with --map COLUMN={key}")
    return found
