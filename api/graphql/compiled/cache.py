"""Plans cached per (workspace, metadata version, schema, document text, operation name).

Why a bounded LRU: clients send the same few documents again and again (an app's screens, a BI
export), so validation and compilation are paid once per document; an endless stream of distinct
documents only recycles the cache.  A document outside the compiled subset is cached too (as
``None``), so deciding to fall back costs one lookup.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, specified_rules
from strawberry.schema.schema import validate_document

from api.graphql.compiled.compiler import compile_operation
from api.graphql.compiled.plan import NotCompilable, OperationPlan
from metamodel.storage.catalog import WorkspaceMeta

Key = tuple[str, int, str, int, str, str | None]


@dataclass(frozen=True, slots=True)
class Entry:
    schema: Any  # held so that the ``id`` in the key cannot be reused while the entry lives
    plan: OperationPlan | None


class PlanCache:
    """``plan_for``: the plan of a document, or None when strawberry must answer it."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.compiled = 0  # how many documents this cache compiled (tests read it)

    def plan_for(self, schema: Any, meta: WorkspaceMeta, document: DocumentNode, text: str,
                 operation_name: str | None) -> OperationPlan | None:
        key: Key = (meta.workspace, meta.version, meta.dialect, id(schema), text, operation_name)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.schema is schema:
                self._entries.move_to_end(key)
                return entry.plan
        plan = build_plan(schema, meta, document, operation_name)
        with self._lock:
            self.compiled += 1
            self._forget_older(meta)
            self._entries[key] = Entry(schema, plan)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return plan

    def _forget_older(self, meta: WorkspaceMeta) -> None:
        """Drop the plans of the workspace's older versions (lock held): they hold old schemas alive,
        and a request still on an old version only compiles its document again."""
        stale = [k for k in self._entries
                 if k[0] == meta.workspace and k[2] == meta.dialect and k[1] < meta.version]
        for key in stale:
            del self._entries[key]


def build_plan(schema: Any, meta: WorkspaceMeta, document: DocumentNode,
               operation_name: str | None) -> OperationPlan | None:
    """The plan of a document strawberry would accept, or None (invalid or outside the subset)."""
    if validate_document(schema._schema, document, tuple(specified_rules)):
        return None
    try:
        return compile_operation(schema, meta, document, operation_name)
    except NotCompilable:
        return None
