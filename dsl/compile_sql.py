"""Expressions compiled to SQLAlchemy, so formula fields and rollup conditions run inside queries.

Why SQL as well as Python: a formula must be filterable, sortable and groupable like a column, which
only the database can do over many rows.  Both compilations follow the one semantics table of the
language (README): null propagates through arithmetic, comparisons and logic never yield NULL where
Python yields false, division by zero is null.  ``dsl`` knows nothing of tables, so paths are asked of
a :class:`SqlResolver` that the metamodel implements (columns, references, the workspace clock).

Values are compiled together with their family (number, string, date…), because the SQL for ``+`` or
``<`` depends on it; :mod:`dsl._sql_ops` holds the per-dialect representations.  Constructs that have
no SQL form (``old.x``, ``form.x``, ``changed(x)``, a list literal outside ``in``/``contains``) raise
:class:`SqlUnsupported`.  Supported dialects: ``sqlite`` and ``postgresql``.

Known differences from the Python evaluator (tests/dsl/test_sql_python_agree.py stays inside them):

- SQLite stores decimal and money as REAL, so arithmetic there is binary floating point; values read
  back are rounded by the column type (money to 2 places, decimal to 10).  Division is rounded to 10
  places half away from zero on both databases where Python uses ROUND_HALF_EVEN (differs only on an
  exact tie in the 11th place).  ``%`` on SQLite takes a quotient within 1e-9 of a whole number as
  that number.
- SQLite computes datetimes as epoch seconds in REAL: about a microsecond of precision.
- ``date + duration`` is a date only when the duration is a literal whole number of days (SQL needs
  one type per expression; Python decides by the value); otherwise a datetime.  Likewise
  ``coalesce``/``min``/``max`` over a date and a datetime give a datetime.
- ``lower``/``upper`` on SQLite change ASCII letters only (SQLite has no Unicode case tables).
- Templates render numbers like ``dsl.values.render_number`` (SQLite may print an exponent beyond
  15 digits); datetimes, booleans and lists render as the database prints them.
- Formulas returning integer are rounded half away from zero.
- Not in SQL: ``old.``/``form.``/``payload.`` paths, ``changed()``, ``date()`` of a non-literal,
  comparing lists, list literals outside ``in``/``contains``.
"""

from __future__ import annotations

from dsl import _sql_ops as ops
from dsl import ast as a
from dsl._sql_arith import Sql, SqlUnsupported
from dsl._sql_core import SqlResolver
from dsl._sql_funcs import Compiler
from dsl._sql_ops import Col

__all__ = ["Sql", "SqlResolver", "SqlUnsupported", "compile_sql", "compile_value"]
_DIALECTS = ("sqlite", "postgresql")


def compile_sql(expr: a.Expr, resolver: SqlResolver, dialect: str) -> Col:
    """``expr`` as one SQL expression, typed so that rows read back Python values of its family."""
    value = compile_value(expr, resolver, dialect)
    return ops.output(value.sql, value.type, dialect)


def compile_value(expr: a.Expr, resolver: SqlResolver, dialect: str) -> Sql:
    """``expr`` with its family, in the internal representation (see :mod:`dsl._sql_ops`)."""
    if dialect not in _DIALECTS:
        raise ValueError(f"no SQL compilation for dialect {dialect!r}")
    return Compiler(resolver, dialect).value(expr)
