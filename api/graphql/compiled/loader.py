"""Loading what a plan shows: one projected statement per page and per reference path.

Why per path and not per record: the selections under one position of the response (every
``node`` alias of a list, every alias of a reference) need the same rows, so their columns are
merged into one ``Need`` and the rows of a position are read once — the page with one SELECT, the
records a reference points at with one ``id IN (…)`` SELECT per reference path (per thousand ids),
whatever the number of rows.  The filters are the resolvers': a referenced record is shown only
when the role may read its entity, it is not deleted and — under ``records: own`` — it is the
caller's; a hidden reference or user field loads nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from api.graphql.compiled.plan import Kind, NodePlan
from api.graphql.resolvers import Access
from metamodel.records import MAX_PAGE, ProjectedPage, list_projected
from metamodel.storage.catalog import WorkspaceMeta

Row = Sequence[Any]

#: The columns a kind of field reads besides its own.
EXTRA_COLUMNS = {Kind.STAGE: ("stage", "pipeline", "stage_entered_at"), Kind.PIPELINE: ("pipeline",)}


@dataclass
class Need:
    """What one position of the response reads of its entity: columns, references and users."""

    entity: str
    columns: set[str] = field(default_factory=lambda: {"id"})
    refs: dict[str, Need] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)


def need_of(entity: str, plans: Iterable[NodePlan]) -> Need:
    """The merged need of every selection ``plans`` makes on ``entity`` records at one position."""
    need = Need(entity)
    nested: dict[str, list[NodePlan]] = {}
    targets: dict[str, str] = {}
    for plan in plans:
        for fp in plan.fields:
            if fp.kind is Kind.TYPENAME:
                continue
            need.columns.update(EXTRA_COLUMNS.get(fp.kind, (fp.column,)))
            if fp.kind is Kind.USER:
                need.users.add(fp.column)
            elif fp.kind is Kind.REFERENCE and fp.node is not None:
                nested.setdefault(fp.column, []).append(fp.node)
                targets[fp.column] = fp.node.entity
    need.refs = {column: need_of(targets[column], children) for column, children in nested.items()}
    return need


@dataclass
class Level:
    """The rows read for one position, their column positions, and what their references found."""

    entity: str
    index: Mapping[str, int]
    rows: Sequence[Row]
    refs: dict[str, tuple[dict[Any, Row], Level]] = field(default_factory=dict)


class Loader:
    """Reads the references and user ids of loaded levels, as the resolvers' batches would."""

    def __init__(self, conn: Connection, meta: WorkspaceMeta, access: Access) -> None:
        self.conn, self.meta, self.access = conn, meta, access
        self.user_ids: set[int] = set()

    def page(self, need: Need, *, where: Mapping[str, Any] | None, order_by: Sequence[tuple[str, str]],
             first: int, after: str | None) -> tuple[Level, ProjectedPage]:
        """A list's page as a loaded level (references and users too), and the page itself."""
        page = list_projected(self.conn, self.meta, need.entity, sorted(need.columns), where=where,
                              order_by=order_by, first=first, after=after, hidden=self.access.hidden)
        level = Level(need.entity, page.index, page.rows)
        self.load(level, need)
        return level, page

    def load(self, level: Level, need: Need) -> None:
        """Everything ``need`` references from ``level``'s rows, level after level."""
        for column in need.users:
            position = level.index.get(column)
            if position is not None and not self.access.is_hidden(level.entity, column):
                self.user_ids.update(r[position] for r in level.rows if r[position] is not None)
        for column, child_need in need.refs.items():
            level.refs[column] = self._reference(level, column, child_need)

    def _reference(self, level: Level, column: str, need: Need) -> tuple[dict[Any, Row], Level]:
        position = level.index.get(column)
        empty: tuple[dict[Any, Row], Level] = ({}, Level(need.entity, {}, []))
        if position is None or self.access.is_hidden(level.entity, column):
            return empty
        ids = sorted({r[position] for r in level.rows if r[position] is not None})
        if not ids or not self.access.can(need.entity, "read"):
            return empty
        rows: list[Row] = []
        index: Mapping[str, int] = {}
        for start in range(0, len(ids), MAX_PAGE):
            chunk = ids[start:start + MAX_PAGE]
            page = list_projected(self.conn, self.meta, need.entity, sorted(need.columns),
                                  where=self.access.scoped({"id": {"in": chunk}}), first=len(chunk),
                                  hidden=self.access.hidden)
            rows.extend(page.rows)
            index = page.index
        child = Level(need.entity, index, rows)
        self.load(child, need)
        at = index["id"] if rows else 0
        return {r[at]: r for r in rows}, child
