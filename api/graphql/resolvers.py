"""The request side of the generated schema: context, permissions and batched loading.

Why batches: a page of 500 deals showing ``contact { company { name } }`` must
cost the same few statements as a page of 5 (DESIGN.md decision 6).  Every
record a resolver hands out is a ``Node`` that knows its ``Batch`` — the other
records fetched by the same statement — so the first ``contact`` asked for
loads the contacts of the whole batch with one ``list(where id in …)``, and
the contacts loaded form the next batch for ``company``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import strawberry
from sqlalchemy.engine import Engine

from api.auth import Principal
from api.graphql.errors import forbidden, not_found, translated
from api.graphql.inputs import EntityInputs, Lazy, input_name, optional, to_values
from api.graphql.naming import camel
from metamodel.clock import SYSTEM_CLOCK
from metamodel.definitions import EntityDef, RoleDef
from metamodel.migrate.users import find_users
from metamodel.records import MAX_PAGE, Actor, Page, RecordStore
from metamodel.records.coerce import coerce_id
from metamodel.records.filters import UNREADABLE
from metamodel.records.query import _check_first
from metamodel.storage.catalog import WorkspaceMeta
from workflow import Runtime

ADMIN = "admin"
Where = Mapping[str, Any]
Hidden = frozenset[tuple[str, str]]


def both(*filters: Where | None) -> dict[str, Any] | None:
    """The conjunction of the filters that are set (None when none is)."""
    present = [dict(f) for f in filters if f]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"and": present}


@dataclass(frozen=True)
class Access:
    """What the principal's role allows: actions per entity, hidden fields, own records only.

    ``hidden`` also holds (entity, ``"*"``) for every entity the role may not read: the
    filters refuse to step into those (a ``"*"`` pair hides no column).

    The built-in role ``admin`` may do everything; a role the blueprint does not
    (or no longer) declare may do nothing.
    """

    role: RoleDef | None
    admin: bool
    user_id: int | None
    hidden: Hidden

    @classmethod
    def of(cls, meta: WorkspaceMeta, principal: Principal) -> Access:
        if principal.role == ADMIN:
            return cls(None, True, principal.user_id, frozenset())
        role = meta.blueprint.find_role(principal.role)
        fields = {(e.name, f) for e in meta.blueprint.entities
                  for f in (role.hidden_fields(e.name) if role else ())}
        # (entity, "*"): not readable at all, so no filter or broadcast may reach into it either
        unreadable = {(e.name, UNREADABLE) for e in meta.blueprint.entities
                      if role is None or "read" not in role.actions_for(e.name)}
        return cls(role, False, principal.user_id, frozenset(fields | unreadable))

    def can(self, entity: str, action: str) -> bool:
        return self.admin or (self.role is not None and action in self.role.actions_for(entity))

    def require(self, entity: str, action: str) -> None:
        if not self.can(entity, action):
            raise forbidden(f"your role may not {action} {entity} records")

    @property
    def own_only(self) -> bool:
        return not self.admin and self.role is not None and self.role.own_records_only

    def scoped(self, where: Where | None) -> dict[str, Any] | None:
        """``where`` narrowed to the principal's own records when the role says ``records: own``."""
        if not self.own_only:
            return both(where)
        mine: Where = {"owner": {"id": {"eq": self.user_id}}} if self.user_id else {"id": {"in": []}}
        return both(where, mine)

    def owns(self, record: Mapping[str, Any]) -> bool:
        return not self.own_only or (self.user_id is not None and record.get("owner") == self.user_id)

    def is_hidden(self, entity: str, name: str) -> bool:
        return (entity, name) in self.hidden


@dataclass(eq=False)
class Batch:
    """Records fetched together; what their references load, loaded once for all of them."""

    entity: str
    records: list[dict[str, Any]]
    loaded: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class Node:
    """One record as a GraphQL object sees it."""

    entity: str
    record: dict[str, Any]
    batch: Batch


def nodes_of(entity: str, records: list[dict[str, Any]]) -> list[Node]:
    batch = Batch(entity, records)
    return [Node(entity, r, batch) for r in records]


@dataclass(frozen=True)
class UserRef:
    id: int
    name: str | None
    email: str | None


@dataclass(eq=False)
class Connection:
    """A Relay connection: a page, its nodes, and ``totalCount`` computed only when asked for."""

    page: Page
    nodes: list[Node]
    count: Callable[[], int]
    cursors: Sequence[str] | None = None

    def cursor(self, index: int) -> str:
        return self.cursors[index] if self.cursors is not None else self.page.cursor_at(index)


@dataclass
class GraphQLContext:
    """What every resolver of one request reads: the database, metadata, principal and loaders.

    K's endpoint builds one per request and passes it as ``context_value``.
    """

    engine: Engine
    meta: WorkspaceMeta
    principal: Principal
    runtime: Runtime | None = None
    users_loaded: dict[int, UserRef] = field(default_factory=dict)

    @cached_property
    def store(self) -> RecordStore:
        clock = self.runtime.clock if self.runtime is not None else SYSTEM_CLOCK
        return RecordStore(self.engine, self.meta, clock)

    @cached_property
    def access(self) -> Access:
        return Access.of(self.meta, self.principal)

    @property
    def actor(self) -> Actor:
        return Actor(self.principal.user_id, self.principal.email)

    # ---- lists and single records --------------------------------------------------------------

    def list(self, entity: str, where: Where | None, order_by: Sequence[tuple[str, str]],
             first: int, after: str | None) -> Connection:
        """One page of ``entity`` as the principal may see it (FORBIDDEN without read)."""
        self.access.require(entity, "read")
        scoped = self.access.scoped(where)
        hidden = self.access.hidden
        with translated():
            page = self.store.list(entity, where=scoped, order_by=order_by, first=first, after=after,
                                   hidden=hidden)

        def count() -> int:
            with translated():
                return self.store.count(entity, scoped, hidden=hidden)

        return Connection(page, nodes_of(entity, page.records), count)

    def get(self, entity: str, record_id: str, *, include_deleted: bool = False) -> Node:
        """One record; NOT_FOUND also for records of others when the role sees only its own."""
        number = record_number(entity, record_id)
        with translated():
            record = self.store.get(entity, number, include_deleted=include_deleted)
        if not self.access.owns(record):
            raise not_found(entity, record_id)
        return nodes_of(entity, [record])[0]

    # ---- batched relation loading ---------------------------------------------------------------

    def targets(self, node: Node, name: str, target: str, many: bool = False) -> dict[int, Node]:
        """The records ``name`` points at, for every record of the node's batch (loaded once)."""
        key = f"ref:{name}"
        if key not in node.batch.loaded:
            ids = _ids(node.batch.records, name, many)
            node.batch.loaded[key] = self._fetch(target, ids)
        found: dict[int, Node] = node.batch.loaded[key]
        return found

    def _fetch(self, entity: str, ids: set[int]) -> dict[int, Node]:
        """Readable records among ``ids`` (none when the role may not read ``entity``)."""
        if not ids or not self.access.can(entity, "read"):
            return {}
        records: list[dict[str, Any]] = []
        ordered = sorted(ids)
        for start in range(0, len(ordered), MAX_PAGE):
            chunk = ordered[start:start + MAX_PAGE]
            with translated():
                page = self.store.list(entity, where=self.access.scoped({"id": {"in": chunk}}),
                                       first=len(chunk), hidden=self.access.hidden)
            records.extend(page.records)
        return {n.record["id"]: n for n in nodes_of(entity, records)}

    def users(self, node: Node, name: str) -> dict[int, UserRef]:
        """The users a user-typed column of the batch names, in one statement for the request."""
        wanted = _ids(node.batch.records, name, False) - set(self.users_loaded)
        if wanted:
            self.users_loaded.update(_load_users(self.engine, self.meta.workspace, wanted))
        return self.users_loaded

    def inverse(self, node: Node, source: str, via: str, where: Where | None,
                order_by: Sequence[tuple[str, str]], first: int, after: str | None) -> Connection:
        """``contact { deals(...) }``: batched over the node's batch unless a cursor or a cut page
        forces one list per parent.  ``first`` is checked first: the batch reads a full page and
        cuts it per parent, so a bad ``first`` would otherwise be silently sliced."""
        with translated():
            _check_first(first)
        parent = node.record["id"]
        if after is not None or len(node.batch.records) == 1:
            return self.list(source, both(where, {via: {"eq": parent}}), order_by, first, after)
        key = f"inv:{source}:{via}:{where!r}:{tuple(order_by)}:{first}"
        if key not in node.batch.loaded:
            node.batch.loaded[key] = self._inverse_batch(node.batch, source, via, where, order_by, first)
        grouped: dict[int, Connection] | None = node.batch.loaded[key]
        if grouped is None:  # more children than one statement returns: one list per parent
            return self.list(source, both(where, {via: {"eq": parent}}), order_by, first, after)
        return grouped.get(parent) or _empty(grouped)

    def _inverse_batch(self, batch: Batch, source: str, via: str, where: Where | None,
                       order_by: Sequence[tuple[str, str]], first: int) -> dict[int, Connection] | None:
        parents = [r["id"] for r in batch.records]
        everything = self.list(source, both(where, {via: {"in": parents}}), order_by, MAX_PAGE, None)
        if everything.page.has_next_page:
            return None
        positions: dict[int, list[int]] = {}
        for index, record in enumerate(everything.page.records):
            positions.setdefault(record[via], []).append(index)
        shown = {parent: indexes[:first] for parent, indexes in positions.items()}
        # One batch for the children of every parent: what they reference, or list in turn, loads once.
        children = nodes_of(source, [everything.page.records[i] for kept in shown.values() for i in kept])
        node_at = dict(zip((i for kept in shown.values() for i in kept), children, strict=True))
        result: dict[int, Connection] = {}
        for parent, indexes in positions.items():
            records = [everything.page.records[i] for i in shown[parent]]
            cursors = [everything.cursor(i) for i in shown[parent]]
            page = Page(records, cursors[-1] if cursors else None, len(indexes) > first, len(indexes))
            result[parent] = Connection(page, [node_at[i] for i in shown[parent]], _constant(len(indexes)),
                                        cursors)
        return result


def _constant(value: int) -> Callable[[], int]:
    return lambda: value


def _empty(_grouped: Mapping[int, Connection]) -> Connection:
    return Connection(Page([], None, False, 0), [], lambda: 0, [])


def record_number(entity: str, record_id: Any) -> int:
    """A GraphQL ID as the integer key of a record; anything else is simply not found.

    Ids are positive 64-bit integers: a longer number reaching the database would
    overflow the driver (an INTERNAL error) instead of finding nothing.
    """
    try:
        return coerce_id(str(record_id), entity)
    except ValueError:  # Invalid, or more digits than int() converts
        raise not_found(entity, record_id) from None


def _ids(records: Iterable[Mapping[str, Any]], name: str, many: bool) -> set[int]:
    if many:
        return {i for r in records for i in (r.get(name) or ())}
    return {r[name] for r in records if r.get(name) is not None}


def _load_users(engine: Engine, workspace: str, ids: set[int]) -> dict[int, UserRef]:
    """``{id: UserRef}`` for ``ids`` of the workspace's users."""
    found = find_users(engine, workspace, ids)
    return {uid: UserRef(uid, name, email) for uid, (name, email) in found.items()}


# --- mutations ----------------------------------------------------------------------------------------

MutationSpec = tuple[Any, Callable[..., Any], list[tuple[str, Any, Any]]]


def mutation_fields(meta: WorkspaceMeta, inputs: EntityInputs,
                    object_of: Callable[[str], Lazy]) -> dict[str, MutationSpec]:
    """``createE``/``updateE``/``deleteE``/``restoreE`` of every entity: (type, resolver, arguments)."""
    fields: dict[str, MutationSpec] = {}
    for entity in meta.blueprint.entities:
        fields.update(_mutations_of(entity, inputs.record[entity.name], object_of(entity.name)))
    return fields


def _mutations_of(entity: EntityDef, record_input: type, result: Lazy) -> dict[str, MutationSpec]:
    name, rename = entity.name, _input_names(entity)

    def create(_root: Any, ctx: GraphQLContext, *, input: Any) -> Node:
        ctx.access.require(name, "create")
        values = _writable(ctx, name, to_values(input), rename)
        with translated(rename):
            return _answer(ctx, name, ctx.store.create(name, values, actor=ctx.actor))

    def update(_root: Any, ctx: GraphQLContext, *, id: str, input: Any, expected_version: int | None) -> Node:
        current = _own_record(ctx, name, id, "update")
        values = _writable(ctx, name, to_values(input), rename)
        with translated(rename):
            record = ctx.store.update(name, current.record["id"], values, expected_version=expected_version,
                                      actor=ctx.actor)
        return _answer(ctx, name, record)

    def delete(_root: Any, ctx: GraphQLContext, *, id: str) -> Node:
        current = _own_record(ctx, name, id, "delete")
        with translated():
            return _answer(ctx, name, ctx.store.delete(name, current.record["id"], actor=ctx.actor))

    def restore(_root: Any, ctx: GraphQLContext, *, id: str) -> Node:
        current = _own_record(ctx, name, id, "delete", include_deleted=True)
        with translated():
            return _answer(ctx, name, ctx.store.restore(name, current.record["id"], actor=ctx.actor))

    required = inspect.Parameter.empty
    id_arg, input_arg = ("id", strawberry.ID, required), ("input", record_input, required)
    return {f"create{name}": (result, create, [input_arg]),
            f"update{name}": (result, update, [id_arg, input_arg, ("expected_version", optional(int), None)]),
            f"delete{name}": (result, delete, [id_arg]),
            f"restore{name}": (result, restore, [id_arg])}


#: What a write answers to a role that may write but not read the entity: the record's identity.
IDENTITY = ("id", "version", "created_at", "updated_at")


def _answer(ctx: GraphQLContext, entity: str, record: dict[str, Any]) -> Node:
    """The written record as the mutation's answer; without read, only its identity (every other
    field null), so a write-only role cannot read records by writing nothing to them."""
    if not ctx.access.can(entity, "read"):
        record = {key: record[key] for key in IDENTITY if key in record}
    return nodes_of(entity, [record])[0]


def _input_names(entity: EntityDef) -> Callable[[str], str]:
    """Field name → the input name a client used (``contact`` → ``contactId``), for error fields."""
    names = {f.name: input_name(f) for f in entity.fields}
    return lambda name: names.get(name, camel(name))


def _own_record(ctx: GraphQLContext, entity: str, record_id: str, action: str, *,
                include_deleted: bool = False) -> Node:
    """The record a write addresses, after the role's action and ``records: own`` checks."""
    ctx.access.require(entity, action)
    return ctx.get(entity, record_id, include_deleted=include_deleted)


def _writable(ctx: GraphQLContext, entity: str, values: dict[str, Any],
              rename: Callable[[str], str]) -> dict[str, Any]:
    """``values``, refused with FORBIDDEN when they set a field hidden from the role."""
    hidden = sorted(rename(k) for k in values if ctx.access.is_hidden(entity, k))
    if hidden:
        raise forbidden(f"your role may not set {', '.join(hidden)} of {entity} records")
    return values
