"""Finding the records an import row names, by its key or a lookup column, as people write them.

An e-mail address is one address whatever its letter case: ``ANN@x.test`` in a
sheet is the contact stored as ``ann@x.test``, and an upsert by e-mail that
created a second contact for it would split one person in two.  The record
layer's ``eq`` compares exactly, so for e-mail fields the candidates come from
``icontains`` (which folds case in SQL: ASCII letters on SQLite, every script on
PostgreSQL) and are kept when they are equal ignoring case.  Other fields
compare exactly, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from metamodel.definitions import FieldType
from metamodel.records import RecordStore

Hidden = frozenset[tuple[str, str]]
#: Candidates read per page when an e-mail is matched ignoring case (nearly always one).
_PAGE = 100


def folds_case(field_type: FieldType, value: Any) -> bool:
    """Whether ``value`` of a field of ``field_type`` is matched ignoring letter case."""
    return field_type is FieldType.EMAIL and isinstance(value, str)


def find_records(store: RecordStore, conn: Connection, entity: str, field: str, field_type: FieldType,
                 value: Any, *, scope: Mapping[str, Any] | None = None, hidden: Hidden = frozenset(),
                 limit: int = 2) -> list[dict[str, Any]]:
    """Up to ``limit`` live records of ``entity`` whose ``field`` holds ``value`` (any case for an e-mail).

    ``limit`` 2 is enough to tell "none", "this one" and "more than one" apart.
    Raises ``InvalidQuery`` for a value the field cannot hold, as the filter does.
    """
    folded = folds_case(field_type, value)
    where: dict[str, Any] = {field: {"icontains" if folded else "eq": value}}
    if scope:
        where = {"and": [where, dict(scope)]}
    if not folded:
        return store.list(entity, where=where, first=limit, hidden=hidden, conn=conn).records
    wanted, after = value.strip().lower(), None
    found: list[dict[str, Any]] = []
    while len(found) < limit:
        page = store.list(entity, where=where, first=_PAGE, after=after, hidden=hidden, conn=conn)
        found += [r for r in page.records if isinstance(r.get(field), str) and r[field].lower() == wanted]
        if not page.has_next_page or page.end_cursor is None:
            break
        after = page.end_cursor
    return found[:limit]
