"""Projected pages: a keyset page of only the columns a reader asked for, as plain rows.

Why beside ``query.list_records``: a compiled GraphQL query (``api.graphql.compiled``) knows at plan
time which fields it shows, so it reads those columns and the sort keys — not every column of the
entity, not the ``many`` lists — and turns rows into JSON without building a record dict per row.
Everything else is ``list_records``' own machinery, reused rather than copied: the same cached
entity and sort plans (so hidden fields, pending formulas, rollups and formulas are selected the
same way), the same filter compiler and statement cache keyed by the filter's shape, the same
``first`` check, ordering, tiebreaker and cursors.  A page of a compiled query and of the
resolvers is therefore the same rows in the same order with the same cursors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from metamodel.records.filters import Binds, Hidden
from metamodel.records.query import (
    OrderBy,
    SortPlan,
    _after,
    _base_condition,
    _check_first,
    _cursor_of,
    _load_many,
    _order_clauses,
    cached_statement,
    entity_plan,
    sort_plan,
)
from metamodel.storage.catalog import WorkspaceMeta

__all__ = ["ProjectedPage", "list_projected", "many_lists", "projectable"]


@dataclass(frozen=True, slots=True)
class ProjectedPage:
    """Rows holding the columns in ``index`` (name → position); names the plan lacks are absent.

    A name is absent when the reader may not see it (hidden from the role) or it cannot be computed
    yet (a pending formula): the reader shows null, as a record dict without the key would.
    """

    rows: Sequence[Row[Any]]
    index: Mapping[str, int]
    has_next_page: bool
    sort: SortPlan

    def cursor_at(self, position: int) -> str:
        """The cursor of ``rows[position]``, exactly as ``Page.cursor_at`` computes it."""
        return _cursor_of(self.sort, self.rows[position])

    @property
    def end_cursor(self) -> str | None:
        return self.cursor_at(len(self.rows) - 1) if self.rows else None


def projectable(meta: WorkspaceMeta, entity: str, hidden: Hidden = frozenset()) -> frozenset[str]:
    """The column names a projection of ``entity`` can select for a role with ``hidden`` fields."""
    return frozenset(entity_plan(meta, entity, hidden).names)


def list_projected(conn: Connection, meta: WorkspaceMeta, entity: str, names: Sequence[str], *,
                   where: Mapping[str, Any] | None = None, order_by: OrderBy = (), first: int = 50,
                   after: str | None = None, hidden: Hidden = frozenset()) -> ProjectedPage:
    """One page as ``list_records`` reads it, selecting only ``names`` (and ``id`` and sort keys).

    Raises what ``list_records`` raises for the same arguments (``InvalidQuery`` for a bad filter,
    sort, cursor or ``first``), since it runs the same checks in the same order.
    """
    limit = _check_first(first)
    plan = entity_plan(meta, entity, hidden)
    sort = sort_plan(meta, entity, order_by, hidden)
    wanted = _wanted(plan.names, names, sort)
    stmt, params = _statement(meta, entity, wanted, sort, where, hidden, limit)
    if after:
        stmt = stmt.where(_after(sort, plan, after, where))
    rows = conn.execute(stmt, params).all()
    index = {name: position for position, name in enumerate(wanted)}
    return ProjectedPage(rows[:limit], index, len(rows) > limit, sort)


def many_lists(conn: Connection, meta: WorkspaceMeta, entity: str, name: str,
               ids: Sequence[int]) -> dict[int, list[int]]:
    """The live members of ``many`` field ``name`` of each record in ``ids``, sorted — the lists
    ``list_records`` puts in its records, read by the same statement for one field."""
    plan = entity_plan(meta, entity)
    target = dict(plan.many).get(name)
    records: list[dict[str, Any]] = [{"id": i, name: []} for i in ids]
    if records and target is not None:  # no target: a field not readable yet, shown empty as lists do
        _load_many(conn, meta, entity, replace(plan, many=((name, target),)), records)
    return {r["id"]: r[name] for r in records}


def _wanted(available: Sequence[str], names: Sequence[str], sort: SortPlan) -> tuple[str, ...]:
    """``id``, the asked names the plan has, and the sort keys' columns, each once, in plan order."""
    asked = {"id", *names, *(k.row_key for k in sort.keys)}
    return tuple(n for n in available if n in asked)


def _statement(meta: WorkspaceMeta, entity: str, wanted: tuple[str, ...], sort: SortPlan,
               where: Mapping[str, Any] | None, hidden: Hidden,
               limit: int) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The projected SELECT and its parameters, cached per filter shape as ``_page_statement`` does."""
    def build(binds: Binds) -> sa.Select[Any]:
        plan = entity_plan(meta, entity, hidden)
        columns = dict(zip(plan.names, plan.columns, strict=True))
        condition = _base_condition(meta, entity, plan.table, where, False, hidden, binds)
        return (sa.select(*(columns[n] for n in wanted), *sort.extra).where(condition)
                .order_by(*_order_clauses(sort, where, plan)).limit(limit + 1))

    return cached_statement(meta, ("projected", entity, hidden, sort.sort_id, limit, wanted), where, build)
