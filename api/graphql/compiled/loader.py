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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, GraphQLField
from sqlalchemy.engine import Connection

from api.graphql.compiled.plan import FieldPlan, Kind, NodePlan, NotCompilable, Part
from api.graphql.inputs import to_dict, to_order
from api.graphql.resolvers import Access, both
from metamodel.records import MAX_PAGE, ProjectedPage, list_projected, many_lists
from metamodel.storage.catalog import WorkspaceMeta

Row = Sequence[Any]
#: ``(field, field node) → arguments`` as the resolvers receive them (``Execution.arguments``).
Arguments = Callable[[GraphQLField, FieldNode], dict[str, Any]]

#: The columns a kind of field reads besides its own.
EXTRA_COLUMNS = {Kind.STAGE: ("stage", "pipeline", "stage_entered_at"), Kind.PIPELINE: ("pipeline",)}


@dataclass
class Need:
    """What one position of the response reads of its entity: columns, references and users."""

    entity: str
    columns: set[str] = field(default_factory=lambda: {"id"})
    refs: dict[str, Need] = field(default_factory=dict)
    many: dict[str, Need] = field(default_factory=dict)
    inverse: list[tuple[FieldPlan, Need]] = field(default_factory=list)
    users: set[str] = field(default_factory=set)


def need_of(entity: str, plans: Iterable[NodePlan]) -> Need:
    """The merged need of every selection ``plans`` makes on ``entity`` records at one position."""
    need = Need(entity)
    nested: dict[tuple[Kind, str], list[NodePlan]] = {}
    for plan in plans:
        for fp in plan.fields:
            if fp.kind not in (Kind.TYPENAME, Kind.MANY, Kind.INVERSE):  # lists are no columns
                need.columns.update(EXTRA_COLUMNS.get(fp.kind, (fp.column,)))
            if fp.kind is Kind.INVERSE:
                sources = need_of(fp.target, edge_nodes(fp.parts))
                sources.columns.add(fp.column)
                need.inverse.append((fp, sources))
            elif fp.kind is Kind.USER:
                need.users.add(fp.column)
            elif fp.node is not None:
                nested.setdefault((fp.kind, fp.column), []).append(fp.node)
    for (kind, column), children in nested.items():
        into = need.refs if kind is Kind.REFERENCE else need.many
        into[column] = need_of(children[0].entity, children)
    return need


def edge_nodes(parts: Iterable[Part]) -> list[NodePlan]:
    """The ``node`` selections under every ``edges`` key of a connection's parts."""
    return [node for _, what, edges in parts if what == "edges" for _, part, node in edges if part == "node"]


@dataclass(frozen=True, slots=True)
class Grouped:
    """An inverse list loaded for a whole level: each parent's children as positions in ``level``."""

    groups: Mapping[Any, list[int]]
    level: Level
    page: ProjectedPage | None
    first: int


@dataclass
class Level:
    """The rows read for one position, their column positions, and what their references found."""

    entity: str
    index: Mapping[str, int]
    rows: Sequence[Row]
    refs: dict[str, tuple[dict[Any, Row], Level]] = field(default_factory=dict)
    lists: dict[str, dict[Any, list[Any]]] = field(default_factory=dict)  # many field → id → members
    inverse: dict[int, Grouped] = field(default_factory=dict)  # id(FieldPlan) → its children


class Loader:
    """Reads the references and user ids of loaded levels, as the resolvers' batches would."""

    def __init__(self, conn: Connection, meta: WorkspaceMeta, access: Access, arguments: Arguments) -> None:
        self.conn, self.meta, self.access, self.arguments = conn, meta, access, arguments
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
        for column, child_need in need.many.items():
            level.refs[column] = self._many(level, column, child_need)
        for fp, child_need in need.inverse:
            level.inverse[id(fp)] = self._inverse(level, fp, child_need)

    def _reference(self, level: Level, column: str, need: Need) -> tuple[dict[Any, Row], Level]:
        position = level.index.get(column)
        if position is None or self.access.is_hidden(level.entity, column):
            return {}, Level(need.entity, {}, [])
        return self._targets(need, {r[position] for r in level.rows if r[position] is not None})

    def _many(self, level: Level, column: str, need: Need) -> tuple[dict[Any, Row], Level]:
        """A ``many`` field: its lists for every row of ``level`` (one statement), then the members."""
        position = level.index.get("id")
        if position is None or not level.rows or self.access.is_hidden(level.entity, column):
            return {}, Level(need.entity, {}, [])
        parents = [r[position] for r in level.rows]
        lists: dict[Any, list[Any]] = {}
        for start in range(0, len(parents), MAX_PAGE):
            chunk = parents[start:start + MAX_PAGE]
            lists.update(many_lists(self.conn, self.meta, level.entity, column, chunk))
        level.lists[column] = lists
        return self._targets(need, {i for members in lists.values() for i in members})

    def _inverse(self, level: Level, fp: FieldPlan, need: Need) -> Grouped:
        """``contact { deals(...) }`` for every row of ``level`` in one statement, as the resolvers'
        batch reads it; a cursor, a page size the batch would not check, or more children than one
        statement returns make the resolvers list per parent: the reference answers then."""
        position = level.index.get("id")
        if position is None or not level.rows:
            return Grouped({}, Level(need.entity, {}, []), None, 0)
        assert fp.field is not None and fp.ast is not None
        args = self.arguments(fp.field, fp.ast)
        first = args["first"]
        if (not self.access.can(need.entity, "read") or args.get("after") is not None
                or isinstance(first, bool) or not 0 <= first <= MAX_PAGE):
            raise NotCompilable("an inverse list the reference lists per parent or refuses")
        where = to_dict(args["where"]) if args.get("where") else None
        scoped = self.access.scoped(both(where, {fp.column: {"in": [r[position] for r in level.rows]}}))
        page = list_projected(self.conn, self.meta, need.entity, sorted(need.columns), where=scoped,
                              order_by=to_order(args.get("order_by")), first=MAX_PAGE,
                              hidden=self.access.hidden)
        if page.has_next_page:
            raise NotCompilable("more children than one statement returns")
        child = Level(need.entity, page.index, page.rows)
        self.load(child, need)
        via = page.index[fp.column]
        groups: dict[Any, list[int]] = {}
        for at, row in enumerate(page.rows):
            groups.setdefault(row[via], []).append(at)
        return Grouped(groups, child, page, first)

    def _targets(self, need: Need, wanted: set[Any]) -> tuple[dict[Any, Row], Level]:
        """The readable records among ``wanted`` by id, as a loaded level (a resolver's ``_fetch``)."""
        ids = sorted(wanted)
        if not ids or not self.access.can(need.entity, "read"):
            return {}, Level(need.entity, {}, [])
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
