"""GraphQL schemas per (database, workspace, metadata version), swapped the moment a blueprint is applied.

Why the version is read on every request: it is one indexed query (``load_workspace_meta`` reads
``sc_workspaces.metadata_version`` and finds the parsed metadata in its cache), and it is what makes
several server processes converge without talking to each other — each one sees the new version in
the database and builds the new schema itself.  No restart, no message bus.

Why a request that sees a new version waits for its schema instead of answering with the previous
one: the previous schema carries the previous metadata, and a write through it is refused as
``METADATA_CHANGED`` by the record store; a request sent after an apply must see what was applied.
One thread builds each version (the first request that needs it; requests run in the threadpool, so
the event loop is never blocked) while the others needing that version wait for the same build, and
requests already running keep the schema they started with.  No request fails during the swap.

Old versions are dropped (the newest ``keep`` per workspace, ``capacity`` schemas in all, least
recently used first); a request still holding a dropped schema finishes with it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from metamodel import load_workspace_meta
from workflow import WorkflowError

if TYPE_CHECKING:
    from metamodel.storage.catalog import WorkspaceMeta

log = logging.getLogger(__name__)

#: (database URL without password, workspace, metadata version)
Key = tuple[str, str, int]
Build = Callable[["WorkspaceMeta"], Any]
Load = Callable[[Engine, str], "WorkspaceMeta"]


class SchemaUnavailable(WorkflowError):
    """The schema of a workspace's current version could not be built (the cause is logged)."""

    code = "INTERNAL"
    retryable = True


@dataclass(frozen=True, slots=True)
class Built:
    meta: WorkspaceMeta
    schema: Any  # strawberry.Schema; Any so tests may build plain schemas of their own


def default_build(meta: WorkspaceMeta) -> Any:
    """The generated schema (``api.graphql.build_schema``), imported when first needed."""
    from api.graphql import build_schema

    return build_schema(meta)


class SchemaRegistry:
    """``schema_for(engine, workspace)``: the metadata and schema of the workspace's applied version."""

    def __init__(self, build: Build = default_build, *, load: Load = load_workspace_meta,
                 keep: int = 2, capacity: int = 32, wait_seconds: float = 60.0) -> None:
        self._build = build
        self._load = load
        self._keep = keep
        self._capacity = capacity
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._schemas: OrderedDict[Key, Built] = OrderedDict()
        self._pending: dict[Key, Future[Built]] = {}
        self.builds = 0  # how many schemas this registry built (tests read it)

    def schema_for(self, engine: Engine, workspace: str) -> tuple[WorkspaceMeta, Any]:
        """Blocking (a database read, maybe a build): call it from a worker thread."""
        meta = self._load(engine, workspace)
        key: Key = (engine.url.render_as_string(hide_password=True), workspace, meta.version)
        with self._lock:
            built = self._schemas.get(key)
            if built is not None:
                self._schemas.move_to_end(key)
                return built.meta, built.schema
            future = self._pending.get(key)
            owner = future is None
            if future is None:
                future = self._pending[key] = Future()
        if owner:
            self._build_into(key, meta, future)
        try:
            built = future.result(timeout=self._wait)
        except Exception as err:
            raise SchemaUnavailable(f'the GraphQL schema of workspace "{workspace}" could not be built',
                                    hint="the server log has the reason; try again") from err
        return built.meta, built.schema

    def versions(self, workspace: str) -> list[int]:
        """The versions of ``workspace`` held now, oldest first (for tests and diagnostics)."""
        with self._lock:
            return sorted(v for (_, ws, v) in self._schemas if ws == workspace)

    def _build_into(self, key: Key, meta: WorkspaceMeta, future: Future[Built]) -> None:
        try:
            built = Built(meta, self._build(meta))
        except Exception as err:
            log.exception("building the GraphQL schema of %s version %s failed", key[1], key[2])
            with self._lock:
                self._pending.pop(key, None)  # the next request tries again
            future.set_exception(err)
            return
        with self._lock:
            self._schemas[key] = built
            self._pending.pop(key, None)
            self.builds += 1
            self._evict(key)
        future.set_result(built)

    def _evict(self, newest: Key) -> None:
        """Keep the newest ``keep`` versions of ``newest``'s workspace and ``capacity`` in all (lock held)."""
        url, workspace, _ = newest
        same = sorted((k for k in self._schemas if k[0] == url and k[1] == workspace), key=lambda k: k[2])
        for old in same[:-self._keep]:
            del self._schemas[old]
        while len(self._schemas) > self._capacity:
            self._schemas.popitem(last=False)
