"""Keyset cursors: where a page ended, as an opaque token, and the SQL to continue from it.

A cursor holds the last row's sort values and its id, plus a fingerprint of
the sort it was made for, all under a checksum and base64.  Continuing is a
lexicographic comparison ("after this row in this order") that honours mixed
directions and the NULLs-last rule, so a page costs the same at row 50 and at
row 50,000 (no OFFSET), and rows inserted meanwhile never shift what follows.

The checksum catches edited or truncated tokens; it is not a secret
signature — a forged cursor can only move the start of a page within what the
filter already allows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from metamodel.errors import InvalidQuery, Place
from metamodel.records.computed import FieldSpec, Kind, VType, coerce_value

_CHECK_BYTES = 8


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ORDER BY term: its SQL expression, direction and the row column holding its value."""

    name: str
    expr: ColumnElement[Any]
    descending: bool
    vtype: VType
    row_key: str

    def clause(self, can_be_null: bool = True) -> Any:
        """ORDER BY term; NULLs sort last in both directions on both databases.

        Where the column cannot hold NULL (or the filter excludes NULLs) the
        term is a plain ASC/DESC: same order, and PostgreSQL can then read it
        from an ordinary index (a DESC NULLS LAST scan cannot use one).
        """
        ordered = self.expr.desc() if self.descending else self.expr.asc()
        return ordered.nulls_last() if can_be_null else ordered


def fingerprint(entity: str, keys: Sequence[tuple[str, bool]]) -> str:
    """Identifies a sort, so a cursor made for another sort is refused rather than misread."""
    text = entity + "|" + ",".join(f"{n}:{'d' if d else 'a'}" for n, d in keys)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def encode_cursor(sort_id: str, values: Sequence[Any], record_id: int) -> str:
    """The opaque token for a row with sort ``values`` and ``record_id``."""
    body = json.dumps([sort_id, [_plain(v) for v in values], record_id], separators=(",", ":"))
    check = hashlib.sha256(body.encode()).digest()[:_CHECK_BYTES]
    return base64.urlsafe_b64encode(check + body.encode()).decode().rstrip("=")


def decode_cursor(token: str, sort_id: str, keys: Sequence[SortKey]) -> tuple[list[Any], int]:
    """The sort values and id stored in ``token``, typed for ``keys``; ``InvalidQuery`` if foreign."""
    bad = InvalidQuery("after: this cursor is not valid (it was changed or truncated)",
                       place=Place(path="after"))
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        check, body = raw[:_CHECK_BYTES], raw[_CHECK_BYTES:]
        if hashlib.sha256(body).digest()[:_CHECK_BYTES] != check:
            raise bad
        made_for, values, record_id = json.loads(body)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if made_for != sort_id:
        raise InvalidQuery("after: this cursor was made for a different sort or entity; "
                           "start again without it", place=Place(path="after"))
    if not isinstance(values, list) or len(values) != len(keys) or not _is_id(record_id):
        raise bad
    typed = [None if v is None else _typed(k, v, bad) for k, v in zip(keys, values, strict=True)]
    return typed, record_id


def _is_id(value: Any) -> bool:
    """A record id as ``encode_cursor`` writes it: a positive 64-bit int (never a bool)."""
    return type(value) is int and 0 < value < 2**63


def _typed(key: SortKey, value: Any, bad: InvalidQuery) -> Any:
    """The sort value typed as the column's; a datetime must carry its offset, as encoded."""
    spec = FieldSpec(key.name, Kind.VALUE, key.vtype)
    if key.vtype is VType.DATETIME and not (isinstance(value, str) and _has_offset(value)):
        raise bad
    return coerce_value(spec, value, "after")


def _has_offset(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def after_condition(keys: Sequence[SortKey], values: Sequence[Any], id_col: ColumnElement[Any],
                    record_id: int, first_never_null: bool = False) -> ColumnElement[bool]:
    """Rows strictly after (values, id) in the order of ``keys`` then id ascending.

    The OR-chain reads: later on key 1, or equal on key 1 and later on key 2,
    … or equal on every key and a larger id.  With NULLs last, every non-NULL
    value is followed by the NULLs, and nothing follows NULL on its own key.
    ``first_never_null`` says the first key cannot be NULL in the result.
    """
    chain: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        if value is not None:
            later = key.expr < value if key.descending else key.expr > value
            chain.append(sa.and_(*equal, sa.or_(later, key.expr.is_(None))))
            equal.append(key.expr == value)
        else:
            equal.append(key.expr.is_(None))
    chain.append(sa.and_(*equal, id_col > record_id))
    condition = sa.or_(*chain)
    if first_never_null and keys and values[0] is not None:
        # Redundant with the chain, but a plain range on the first key lets the database start
        # an index scan at the cursor instead of filtering every earlier row: pages stay cheap
        # however deep they are.
        first = keys[0].expr
        condition = sa.and_(first <= values[0] if keys[0].descending else first >= values[0], condition)
    return condition
