"""Limits on GraphQL documents: what an abusive query is refused for, before anything runs.

Why these checks need no schema: depth, aliases, field count, size, tokens and page size are
properties of the document alone.  So the endpoint runs them first — before the token lookup, the
metadata version read or any resolver — and an abusive document costs no SQL at all.  Introspection
is a property of the document too (``__schema`` and ``__type`` are reserved names), so switching it
off per workspace is the same kind of check, run once the workspace is known.

Fragment spreads are counted every time they are spread (an alias inside a fragment spread a
thousand times is a thousand aliases), and each fragment is measured once (memoised), so a
"fragment bomb" — F1 spreads F2 twice, F2 spreads F3 twice, … — is measured in linear time even
though it expands exponentially.  A document nested deeper than Python can walk is, by definition,
too complex: the recursion limit is answered like any other limit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, parse
from graphql.language import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    visit,
)

from workflow import WorkflowError

CODE = "QUERY_TOO_COMPLEX"
#: The reserved meta-fields that make a query an introspection query (``__typename`` is not one).
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
#: Arguments that size a page of a connection.
PAGE_ARGUMENTS = frozenset({"first", "last"})


class QueryTooComplex(WorkflowError):
    """A document over one of the limits: refused before it runs, with the limit it broke."""

    code = CODE

    def to_graphql(self) -> GraphQLError:
        extensions: dict[str, Any] = {"code": self.code}
        if self.hint:
            extensions["hint"] = self.hint
        return GraphQLError(self.message, extensions=extensions)


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits of one server; ``from_env`` reads the introspection switches.

    ``max_depth`` is 15 because the standard introspection query (what GraphiQL sends) is 15 fields
    deep; the deepest query of the contract (a list, its edges, a node, two references) is 6.
    """

    max_depth: int = 15
    max_aliases: int = 100
    #: Field selections after expanding fragment spreads: bounds validation and execution work.
    max_fields: int = 2_000
    max_tokens: int = 5_000
    max_bytes: int = 20_000
    max_batch: int = 10
    max_page: int = 1_000
    introspection: bool = True
    #: Workspaces whose introspection is off even when ``introspection`` is on.
    no_introspection: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """``STAGECRAFT_INTROSPECTION=off`` everywhere; ``STAGECRAFT_INTROSPECTION_OFF=ws1,ws2`` for some."""
        env = os.environ if environ is None else environ
        switch = env.get("STAGECRAFT_INTROSPECTION", "on").strip().lower()
        listed = env.get("STAGECRAFT_INTROSPECTION_OFF", "")
        return cls(introspection=switch not in {"off", "false", "0", "no"},
                   no_introspection=frozenset(w.strip() for w in listed.split(",") if w.strip()))

    def introspection_for(self, workspace: str) -> bool:
        return self.introspection and workspace not in self.no_introspection


@dataclass(frozen=True, slots=True)
class Cost:
    """What a selection set asks for once its fragments are expanded."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0


def parse_limited(query: str, limits: Limits) -> DocumentNode:
    """``query`` parsed under the size and token limits; raises ``QueryTooComplex`` or a syntax error.

    The byte size is checked before parsing, so a huge document is never tokenised.
    """
    size = len(query.encode("utf-8"))
    if size > limits.max_bytes:
        raise QueryTooComplex(f"the query is {size} bytes long; at most {limits.max_bytes} are allowed",
                              hint="ask for fewer fields, or split the query")
    try:
        return parse(query, max_tokens=limits.max_tokens)
    except GraphQLSyntaxError as err:
        if "Parsing aborted" in err.message:  # graphql-core's token and nesting guards
            raise QueryTooComplex(f"the query is too large: {err.message.split('.')[0]}",
                                  hint=f"at most {limits.max_tokens} tokens are allowed") from None
        raise
    except RecursionError:
        raise QueryTooComplex("the query is nested too deeply") from None


def check_document(document: DocumentNode, variables: Mapping[str, Any] | None, limits: Limits) -> None:
    """Raise ``QueryTooComplex`` for the first limit ``document`` breaks (every operation counts)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    measure = _Measure(fragments)
    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                _check_cost(measure.selections(definition.selection_set), limits)
    except RecursionError:
        raise QueryTooComplex("the query is nested too deeply",
                              hint=f"at most {limits.max_depth} levels are allowed") from None
    _check_pages(document, variables or {}, limits)


def check_introspection(document: DocumentNode, workspace: str, limits: Limits) -> None:
    """Raise ``QueryTooComplex`` when ``document`` introspects and the workspace switched that off."""
    if limits.introspection_for(workspace):
        return
    finder = _FieldFinder(INTROSPECTION_FIELDS)
    visit(document, finder)
    if finder.found:
        raise QueryTooComplex(f'introspection is switched off for workspace "{workspace}"',
                              hint="ask the workspace's administrator for the schema (SDL)")


def _check_cost(cost: Cost, limits: Limits) -> None:
    if cost.depth > limits.max_depth:
        raise QueryTooComplex(f"the query is {cost.depth} levels deep; "
                              f"at most {limits.max_depth} are allowed", hint="split it into several queries")
    if cost.aliases > limits.max_aliases:
        raise QueryTooComplex(f"the query uses {cost.aliases} aliases (fragment spreads included); "
                              f"at most {limits.max_aliases} are allowed", hint="send fewer aliased fields")
    if cost.fields > limits.max_fields:
        raise QueryTooComplex(f"the query selects {cost.fields} fields once its fragments are expanded; "
                              f"at most {limits.max_fields} are allowed", hint="select fewer fields")


class _Measure:
    """Depth, aliases and fields of selection sets, each fragment measured once."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, Cost] = {}
        self.visiting: set[str] = set()

    def selections(self, selection_set: SelectionSetNode | None) -> Cost:
        depth = aliases = fields = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                inner = self.selections(selection.selection_set)
                depth = max(depth, inner.depth + 1)
                aliases += inner.aliases + (selection.alias is not None)
                fields += inner.fields + 1
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selections(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
            else:
                continue
            depth, aliases, fields = max(depth, inner.depth), aliases + inner.aliases, fields + inner.fields
        return Cost(depth, aliases, fields)

    def fragment(self, name: str) -> Cost:
        """A cycle or an unknown fragment counts as nothing here: validation refuses both later."""
        cached = self.memo.get(name)
        if cached is not None:
            return cached
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return Cost()
        self.visiting.add(name)
        try:
            cost = self.memo[name] = self.selections(definition.selection_set)
        finally:
            self.visiting.discard(name)
        return cost


def _check_pages(document: DocumentNode, variables: Mapping[str, Any], limits: Limits) -> None:
    """Refuse ``first``/``last`` above ``max_page``, given literally, by a variable or its default."""
    defaults: dict[str, Any] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for var in definition.variable_definitions or ():
                if isinstance(var.default_value, IntValueNode):
                    defaults[var.variable.name.value] = int(var.default_value.value)
    pages = _PageFinder()
    visit(document, pages)
    for argument in pages.arguments:
        value: Any = argument.value
        if isinstance(value, IntValueNode):
            size: Any = int(value.value)
        elif isinstance(value, VariableNode):
            size = variables.get(value.name.value, defaults.get(value.name.value))
        else:
            continue
        if isinstance(size, int) and size > limits.max_page:
            raise QueryTooComplex(f"{argument.name.value}: {size} asks for more than {limits.max_page} "
                                  "records in one page", hint="page with first and after")


class _PageFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.arguments: list[ArgumentNode] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        if node.name.value in PAGE_ARGUMENTS:
            self.arguments.append(node)


class _FieldFinder(Visitor):
    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names
        self.found = False

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        if node.name.value in self.names:
            self.found = True
            return self.BREAK
        return None
