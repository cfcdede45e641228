"""``/w/{workspace}/graphql``: GraphQL over HTTP, with auth, limits and masked errors.

The order of work is the order of cost, so a bad request is refused as cheaply as possible:

1. the HTTP shape (method, content type, body size, JSON) — 405, 415, 413, 400;
2. the document limits (``api.graphql.limits``) — QUERY_TOO_COMPLEX before any SQL, even before the
   token is looked up, since they need nothing but the document;
3. the token (``api.auth.principal_for``) — a 401 in the GraphQL error shape;
4. introspection switched off for the workspace, the schema of its applied version
   (``api.graphql.registry``), and execution in a worker thread, never on the event loop: first
   the compiled plan of the document (``api.graphql.compiled``: lists and records without
   graphql-core's per-value cost), else — outside its subset, or when the run would end in an
   error — strawberry's own execution, the reference.

Why only ``application/json`` bodies: a browser sends form-encoded and text/plain POSTs across
origins without a CORS preflight, so accepting them would let any website run mutations with a
logged-in user's cookies (CSRF).  For the same reason a GET never runs a mutation (405).

Errors that carry ``extensions.code`` (the resolvers' typed errors) pass through; parse and
validation errors get ``VALIDATION_FAILED``; anything else is a bug, answered as ``internal error``
with ``INTERNAL`` and logged with its traceback — never shown to the caller.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from graphql import GraphQLError, OperationType
from graphql.language import DocumentNode
from graphql.utilities import get_operation_ast
from sqlalchemy.engine import Engine
from strawberry.http.ides import get_graphql_ide_html

from api.auth import Principal, Unauthenticated, principal_for, unauthenticated_response
from api.graphql.compiled import PlanCache, execute_compiled
from api.graphql.limits import Limits, QueryTooComplex, check_document, check_introspection, parse_limited
from api.graphql.registry import SchemaRegistry
from api.rest import RestError, read_limited_body
from workflow import Runtime, WorkflowError

if TYPE_CHECKING:
    from metamodel.storage.catalog import WorkspaceMeta

log = logging.getLogger(__name__)

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
#: A body holds at most a batch of documents and their variables (an import's rows, say).
MAX_BODY_BYTES = 1024 * 1024
ContextFactory = Callable[[Engine, "WorkspaceMeta", Principal, Runtime], Any]


class HttpRefusal(WorkflowError):
    """A request refused for its HTTP shape, answered in the GraphQL error shape with ``status``."""

    code = "BAD_REQUEST"

    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.headers = headers or {}


def default_context(engine: Engine, meta: WorkspaceMeta, principal: Principal, runtime: Runtime) -> Any:
    """The resolvers' ``GraphQLContext`` (``api.graphql``), one per operation (fresh loaders)."""
    from api.graphql import GraphQLContext

    return GraphQLContext(engine=engine, meta=meta, principal=principal, runtime=runtime)


@dataclass(frozen=True, slots=True)
class Params:
    """One GraphQL request: the document text, its variables and the operation to run."""

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request whose document passed the limits (``error`` None), or the error that refused it."""

    params: Params
    document: DocumentNode | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The JSON answer to one request; ``request_error``: nothing ran (no ``data`` entry)."""

    body: dict[str, Any]
    request_error: bool = False
    server_error: bool = False


def graphql_router(runtime: Runtime, *, registry: SchemaRegistry | None = None, limits: Limits | None = None,
                   context: ContextFactory = default_context, compiled: bool | None = None) -> APIRouter:
    """The GraphQL routes; ``registry``, ``limits`` and ``context`` are replaceable for tests.

    ``compiled`` False (or ``STAGECRAFT_GRAPHQL_COMPILED=0``) answers every request with strawberry.
    """
    if compiled is None:
        compiled = os.environ.get("STAGECRAFT_GRAPHQL_COMPILED", "1") != "0"
    endpoint = _Endpoint(runtime, registry or SchemaRegistry(), limits or Limits.from_env(), context,
                         PlanCache() if compiled else None)
    router = APIRouter(tags=["GraphQL"])
    router.add_api_route("/w/{workspace}/graphql", endpoint.post, methods=["POST"],
                         summary="GraphQL (spec/graphql.md): a JSON body {query, variables, operationName}")
    router.add_api_route("/w/{workspace}/graphql", endpoint.get, methods=["GET"],
                         summary="GraphQL queries over GET; GraphiQL for a browser (Accept: text/html)")
    return router


class _Endpoint:
    def __init__(self, runtime: Runtime, registry: SchemaRegistry, limits: Limits,
                 context: ContextFactory, plans: PlanCache | None = None) -> None:
        self.runtime, self.registry, self.limits, self.context = runtime, registry, limits, context
        self.plans = plans

    async def post(self, workspace: str, request: Request) -> Response:
        try:
            items, batch = await _post_params(request, self.limits)
        except HttpRefusal as refusal:
            return _refusal_response(refusal)
        return await self.serve(request, workspace, items, batch=batch, get=False)

    async def get(self, workspace: str, request: Request) -> Response:
        params = request.query_params
        if "query" not in params and "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(get_graphql_ide_html("graphiql"))
        try:
            item = _params_from(dict(params), variables_as_text=True)
        except HttpRefusal as refusal:
            return _refusal_response(refusal)
        return await self.serve(request, workspace, [item], batch=False, get=True)

    async def serve(self, request: Request, workspace: str, items: list[Params], *, batch: bool,
                    get: bool) -> Response:
        media = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in request.headers.get("accept", "") else JSON
        try:
            prepared = await run_in_threadpool(lambda: [prepare(i, self.limits, get=get) for i in items])
        except HttpRefusal as refusal:
            return _refusal_response(refusal)
        if all(p.error is not None for p in prepared) and not batch:
            return _answer([Outcome({"errors": [prepared[0].error]}, request_error=True)], media, batch)
        try:
            principal = await principal_for(request, workspace)
        except Unauthenticated as exc:
            return await unauthenticated_response(request, exc)
        engine: Engine = request.app.state.engine
        outcomes = await run_in_threadpool(self.execute_all, engine, workspace, principal, prepared)
        return _answer(outcomes, media, batch)

    def execute_all(self, engine: Engine, workspace: str, principal: Principal,
                    prepared: list[Prepared]) -> list[Outcome]:
        """Blocking: the schema lookup (one query, maybe a build) and the operations, in order."""
        try:
            meta, schema = self.registry.schema_for(engine, workspace)
        except Exception:
            log.exception("no GraphQL schema for workspace %s", workspace)
            body = {"errors": [_masked()]}
            return [Outcome(body, server_error=True) for _ in prepared]
        return [self.execute(engine, meta, schema, principal, item) for item in prepared]

    def execute(self, engine: Engine, meta: WorkspaceMeta, schema: Any, principal: Principal,
                item: Prepared) -> Outcome:
        if item.error is not None:
            return Outcome({"errors": [item.error]}, request_error=True)
        assert item.document is not None
        try:
            check_introspection(item.document, meta.workspace, self.limits)
        except QueryTooComplex as refused:
            return Outcome({"errors": [_formatted(refused.to_graphql())]}, request_error=True)
        params = item.params
        try:
            context = self.context(engine, meta, principal, self.runtime)
            if self.plans is not None:
                data = execute_compiled(self.plans, schema, context, item.document, params.query,
                                        params.variables, params.operation_name)
                if data is not None:
                    return Outcome({"data": data})
            result = schema.execute_sync(params.query, variable_values=params.variables,
                                         context_value=context, operation_name=params.operation_name)
        except Exception:
            log.exception("GraphQL execution failed in workspace %s", meta.workspace)
            return Outcome({"errors": [_masked()]}, server_error=True)
        return shaped(result.data, result.errors)


def prepare(params: Params, limits: Limits, *, get: bool) -> Prepared:
    """Parse under the limits and check them; a mutation over GET is an ``HttpRefusal`` (405)."""
    try:
        document = parse_limited(params.query, limits)
        if get:
            _refuse_mutation_over_get(document, params.operation_name)
        check_document(document, params.variables, limits)
    except QueryTooComplex as refused:
        return Prepared(params, error=_formatted(refused.to_graphql()))
    except GraphQLError as err:
        return Prepared(params, error=_coded(_formatted(err), "VALIDATION_FAILED"))
    return Prepared(params, document=document)


def _refuse_mutation_over_get(document: DocumentNode, operation_name: str | None) -> None:
    operation = get_operation_ast(document, operation_name)
    if operation is not None and operation.operation != OperationType.QUERY:
        raise HttpRefusal(405, "METHOD_NOT_ALLOWED",
                          f"a {operation.operation.value} cannot be sent with GET: use POST",
                          headers={"Allow": "POST"})


def shaped(data: Any, errors: list[GraphQLError] | None) -> Outcome:
    """The JSON of an execution result; errors without a path and no data mean nothing ran."""
    if not errors:
        return Outcome({"data": data})
    formatted = [_error_json(e) for e in errors]
    if data is None and all(not e.path for e in errors):
        return Outcome({"errors": formatted}, request_error=True)
    return Outcome({"data": data, "errors": formatted})


def _error_json(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if (error.extensions or {}).get("code"):
        return _formatted(error)
    if original is None or isinstance(original, GraphQLError):
        return _coded(_formatted(error), "VALIDATION_FAILED")
    log.error("unexpected error in a GraphQL resolver at %s", error.path, exc_info=original)
    masked = _masked()
    if error.path:
        masked["path"] = error.path
    return masked


def _masked() -> dict[str, Any]:
    """What the caller sees of an unexpected error (the log has the rest)."""
    return {"message": "internal error", "extensions": {"code": "INTERNAL"}}


def _formatted(error: GraphQLError) -> dict[str, Any]:
    return dict(error.formatted)


def _coded(formatted: dict[str, Any], code: str) -> dict[str, Any]:
    return {**formatted, "extensions": {**(formatted.get("extensions") or {}), "code": code}}


def _answer(outcomes: list[Outcome], media: str, batch: bool) -> Response:
    if batch:
        return JSONResponse([o.body for o in outcomes], media_type=media)
    [outcome] = outcomes
    refused = outcome.request_error and media == GRAPHQL_RESPONSE  # application/json: 200 (legacy)
    status = 500 if outcome.server_error else 400 if refused else 200
    return JSONResponse(outcome.body, status_code=status, media_type=media)


def _refusal_response(refusal: HttpRefusal) -> Response:
    body = {"errors": [{"message": refusal.message, "extensions": {"code": refusal.code}}]}
    return JSONResponse(body, status_code=refusal.status, headers=refusal.headers)


async def _post_params(request: Request, limits: Limits) -> tuple[list[Params], bool]:
    """The requests of a POST body and whether it was a batch (a JSON array)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != JSON:
        raise HttpRefusal(415, "UNSUPPORTED_MEDIA_TYPE",
                          f"send the request as {JSON} (got {media or 'none'})", headers={"Accept": JSON})
    try:
        body = await read_limited_body(request, MAX_BODY_BYTES)
    except RestError as err:
        raise HttpRefusal(err.status, "BODY_TOO_LARGE", err.message) from None
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HttpRefusal(400, "BAD_REQUEST", "the body is not valid JSON") from None
    if isinstance(payload, list):
        if not payload or len(payload) > limits.max_batch:
            raise HttpRefusal(400, QueryTooComplex.code, f"a batch holds 1 to {limits.max_batch} "
                              f"operations; this one has {len(payload)}")
        return [_params_from(p) for p in payload], True
    return [_params_from(payload)], False


def _params_from(raw: Any, *, variables_as_text: bool = False) -> Params:
    if not isinstance(raw, dict):
        raise HttpRefusal(400, "BAD_REQUEST", "a request is a JSON object {query, variables, operationName}")
    query, variables, name = raw.get("query"), raw.get("variables"), raw.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise HttpRefusal(400, "BAD_REQUEST", "the request has no query")
    if variables_as_text and isinstance(variables, str):
        try:
            variables = json.loads(variables) if variables else None
        except ValueError:
            raise HttpRefusal(400, "BAD_REQUEST", "variables is not valid JSON") from None
    if variables is not None and not isinstance(variables, dict):
        raise HttpRefusal(400, "BAD_REQUEST", "variables must be a JSON object")
    if name is not None and not isinstance(name, str):
        raise HttpRefusal(400, "BAD_REQUEST", "operationName must be a string")
    extensions = raw.get("extensions")
    if not variables_as_text and extensions is not None and not isinstance(extensions, dict):
        raise HttpRefusal(400, "BAD_REQUEST", "extensions must be a JSON object")  # GET: JSON text, unused
    return Params(query, variables, name or None)
