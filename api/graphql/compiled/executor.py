"""Running an ``OperationPlan``: arguments as strawberry reads them, loading, and rows to JSON.

Why this is exact rather than similar: arguments go through graphql-core's own coercion and
strawberry's own conversion to the generated input classes, then the resolvers' ``to_dict`` and
``to_order``; permissions are the resolvers' ``Access``; values go through ``_typed`` and the
scalar's serialiser (``values``).  Whatever the reference would answer with an error — a role that
may not read the entity, a bad filter, sort, cursor or page size, a record that does not exist — is
not imitated: it raises ``NotCompilable`` (or the metamodel's error) and the whole request is
answered by strawberry, so errors are always the reference's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLError, GraphQLField
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.types.arguments import convert_arguments

from api.graphql.compiled.codegen import (
    Call,
    Code,
    Const,
    Follow,
    Gather,
    Read,
    Shape,
    compile_edges,
    compile_shaper,
)
from api.graphql.compiled.loader import Grouped, Level, Loader, Row, edge_nodes, need_of
from api.graphql.compiled.plan import FieldPlan, Kind, NodePlan, NotCompilable, OperationPlan, Part, RootPlan
from api.graphql.compiled.values import FAST
from api.graphql.inputs import to_dict, to_order
from api.graphql.resolvers import GraphQLContext
from metamodel.migrate.users import find_users
from metamodel.records import ProjectedPage

Getter = Callable[[Row], Any]
EdgeMaker = Callable[[Sequence[Row], Callable[[int], str]], list[dict[str, Any]]]


def _none(_row: Row) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Listed:
    """A list root once loaded: its rows (with their references), its page and its ``totalCount``."""

    level: Level
    page: ProjectedPage
    count: int | None


class Execution:
    """One run of a plan for one request's context and variables."""

    def __init__(self, schema: Any, ctx: GraphQLContext, variables: Mapping[str, Any] | None) -> None:
        self.schema, self.ctx = schema, ctx
        self.access = ctx.access
        self.variables = dict(variables or {})
        self.users: dict[int, tuple[str, str]] = {}
        self.stages: dict[tuple[str, Any, Any], tuple[Any, Any]] = {}

    def run(self, plan: OperationPlan) -> dict[str, Any]:
        coerced = get_variable_values(self.schema._schema, list(plan.variable_definitions), self.variables)
        if isinstance(coerced, list):
            raise NotCompilable("variables")
        loaded: list[tuple[RootPlan, Any]] = []
        with self.ctx.store.reading() as conn:
            loader = Loader(conn, self.ctx.meta, self.access, lambda f, a: self._arguments(f, a, coerced))
            for root in plan.roots:
                loaded.append((root, self._load(conn, loader, root, coerced)))
        if loader.user_ids:
            self.users = find_users(self.ctx.engine, self.ctx.meta.workspace, loader.user_ids)
        return {root.key: self._shape_root(root, state) for root, state in loaded}

    # ---- arguments and loading -----------------------------------------------------------------

    def _arguments(self, field: GraphQLField, ast: FieldNode, variables: VariableValues) -> dict[str, Any]:
        """A field's arguments as strawberry hands them to its resolver (input classes, defaults)."""
        try:
            raw = get_argument_values(field, ast, variables)
        except GraphQLError as err:
            raise NotCompilable("arguments") from err
        definition = field.extensions["strawberry-definition"]
        converter = self.schema.schema_converter
        return convert_arguments(raw, definition.arguments, scalar_registry=converter.scalar_registry,
                                 config=self.schema.config)

    def _load(self, conn: Any, loader: Loader, root: RootPlan, variables: VariableValues) -> Any:
        if not root.entity:
            return None
        assert root.field is not None and root.ast is not None
        args = self._arguments(root.field, root.ast, variables)
        if not self.access.can(root.entity, "read"):
            raise NotCompilable("FORBIDDEN")
        if root.node is not None:
            node = self.ctx.get(root.entity, args["id"])  # NOT_FOUND raises: the reference answers
            index = {name: i for i, name in enumerate(node.record)}
            level = Level(root.entity, index, [tuple(node.record.values())])
            loader.load(level, need_of(root.entity, [root.node]))
            return level
        where = self.access.scoped(to_dict(args["where"]) if args.get("where") else None)
        level, page = loader.page(need_of(root.entity, edge_nodes(root.parts)), where=where,
                                  order_by=to_order(args.get("order_by")), first=args["first"],
                                  after=args.get("after"))
        count = None
        if any(what == "totalCount" for _, what, _ in root.parts):
            count = self.ctx.store.count(root.entity, where, hidden=self.access.hidden, conn=conn)
        return Listed(level, page, count)

    # ---- shaping -------------------------------------------------------------------------------

    def _shape_root(self, root: RootPlan, state: Any) -> Any:
        if not root.entity:
            return root.typename
        if root.node is not None:
            level: Level = state
            return self.shaper(root.node, level)(level.rows[0])
        listed: Listed = state
        out: dict[str, Any] = {}
        for key, what, payload in root.parts:
            if what == "totalCount":
                out[key] = listed.count
            elif what == "__typename":
                out[key] = payload
            elif what == "pageInfo":
                values = {"hasNextPage": listed.page.has_next_page, "endCursor": listed.page.end_cursor}
                out[key] = {k: p if w == "__typename" else values[w] for k, w, p in payload}
            else:
                out[key] = self._edges(payload, listed.level, listed.page)
        return out

    def _edges(self, parts: tuple[Part, ...], level: Level, page: ProjectedPage) -> list[dict[str, Any]]:
        return self._edge_maker(parts, level)(level.rows, page.cursor_at)

    def _edge_maker(self, parts: tuple[Part, ...], level: Level) -> EdgeMaker:
        """``(rows, cursor_at) → edges`` of an ``edges`` selection over rows of ``level``."""
        return compile_edges([(key, what, self.shaper(payload, level) if what == "node" else payload)
                              for key, what, payload in parts])

    def shaper(self, plan: NodePlan, level: Level) -> Shape:
        """``row → {key: value}`` of ``plan`` over rows of ``level`` (generated once, run per row)."""
        return compile_shaper([(fp.key, self._code(plan.entity, fp, level)) for fp in plan.fields])

    def _code(self, entity: str, fp: FieldPlan, level: Level) -> Code:
        """How the value of ``fp`` is made from a row of ``level`` (for the role of this request)."""
        if fp.kind is Kind.TYPENAME:
            return Const(fp.constant)
        if fp.kind is Kind.STAGE:
            return Call(self._stage(entity, fp, level))
        if fp.kind is Kind.PIPELINE:
            return Call(self._pipeline(fp, level))
        if fp.kind is Kind.MANY:
            return self._many(entity, fp, level)
        if fp.kind is Kind.INVERSE:
            grouped = level.inverse.get(id(fp))
            if grouped is None or grouped.page is None or "id" not in level.index:
                return Const(None)  # no page: the level has no rows, so no value is ever made
            return Call(self._inverse(fp, grouped, level.index["id"]))
        position = level.index.get(fp.column)
        if position is None or (fp.kind is not Kind.BUILTIN and self.access.is_hidden(entity, fp.column)):
            return Const(None)
        if fp.kind is Kind.USER:
            return Call(self._user(fp, position))
        if fp.kind is Kind.REFERENCE:
            assert fp.node is not None
            found, child = level.refs[fp.column]
            return Follow(position, found, self.shaper(fp.node, child))
        assert fp.convert is not None
        return Read(position, fp.convert, fp.fast)

    def _many(self, entity: str, fp: FieldPlan, level: Level) -> Code:
        """A ``many`` list: empty when hidden, else the members the role may read, in list order."""
        if self.access.is_hidden(entity, fp.column) or "id" not in level.index:
            return Call(lambda _row: [])
        assert fp.node is not None
        found, child = level.refs[fp.column]
        return Gather(level.index["id"], level.lists.get(fp.column, {}), found, self.shaper(fp.node, child))

    def _inverse(self, fp: FieldPlan, grouped: Grouped, at: int) -> Getter:
        """A row's inverse connection, cut from the level's children as the resolvers' batch cuts it."""
        assert grouped.page is not None
        rows, cursor, first = grouped.level.rows, grouped.page.cursor_at, grouped.first
        edges = {key: self._edge_maker(parts, grouped.level)
                 for key, what, parts in fp.parts if what == "edges"}

        def connection(row: Row) -> dict[str, Any]:
            children = grouped.groups.get(row[at], [])
            shown = children[:first]
            out: dict[str, Any] = {}
            for key, what, payload in fp.parts:
                if what == "totalCount":
                    out[key] = len(children)
                elif what == "__typename":
                    out[key] = payload
                elif what == "pageInfo":
                    end = cursor(shown[-1]) if shown else None
                    values = {"hasNextPage": len(children) > first, "endCursor": end}
                    out[key] = {k: p if w == "__typename" else values[w] for k, w, p in payload}
                else:
                    out[key] = edges[key]([rows[i] for i in shown], lambda j: cursor(shown[j]))
            return out

        return connection

    def _user(self, fp: FieldPlan, position: int) -> Getter:
        users = self.users

        def user(row: Row) -> Any:
            uid = row[position]
            found = users.get(uid) if uid is not None else None
            if found is None:
                return None
            values = {"id": str(uid), "name": found[0], "email": found[1]}
            return {k: p if w == "__typename" else _text(values[w]) for k, w, p in fp.parts}

        return user

    def _pipeline(self, fp: FieldPlan, level: Level) -> Getter:
        position = level.index.get("pipeline")
        if position is None:
            return _none
        return lambda row: ({k: p if w == "__typename" else _text(row[position]) for k, w, p in fp.parts}
                            if row[position] else None)

    def _stage(self, entity_name: str, fp: FieldPlan, level: Level) -> Getter:
        at = [level.index.get(n) for n in ("stage", "pipeline", "stage_entered_at")]
        if None in at:
            return _none
        code_at, pipeline_at, entered_at = (int(i) for i in at if i is not None)
        entity = self.ctx.meta.blueprint.get_entity(entity_name)
        datetime_cls, isoformat = FAST["DateTime"].cls, FAST["DateTime"].make or str

        def stage(row: Row) -> Any:
            code = row[code_at]
            if code is None:
                return None
            key = (entity_name, row[pipeline_at], code)
            if key not in self.stages:
                pipeline = entity.find_pipeline(row[pipeline_at] or "") or entity.default_pipeline
                found = pipeline.find_stage(code) if pipeline else None
                self.stages[key] = (found.name if found else None, found.kind.value if found else None)
            name, kind = self.stages[key]
            entered = row[entered_at]
            if entered is not None and entered.__class__ is not datetime_cls:
                raise NotCompilable("stage_entered_at")
            values = {"code": _text(code), "name": _text(name), "kind": _text(kind),
                      "enteredAt": None if entered is None else isoformat(entered)}
            return {k: p if w == "__typename" else values[w] for k, w, p in fp.parts}

        return stage


def _text(value: Any) -> Any:
    """A String (or ID held as text) as graphql-core serialises it; anything unusual → reference."""
    if value is None or value.__class__ is str:
        return value
    raise NotCompilable(f"not text: {value!r}")
