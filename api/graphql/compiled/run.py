"""``execute_compiled``: the ``data`` of a request answered by its plan, or None to fall back.

Why falling back is always safe: the subset is read-only, so a run given up half way (a
permission the reference reports as an error, a bad argument, a value the reference would refuse)
has changed nothing, and strawberry answers the request from the start.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, GraphQLError

from api.graphql.compiled.cache import PlanCache
from api.graphql.compiled.executor import Execution
from api.graphql.compiled.plan import NotCompilable
from api.graphql.resolvers import GraphQLContext
from metamodel.errors import MetamodelError

log = logging.getLogger(__name__)


def execute_compiled(cache: PlanCache, schema: Any, context: Any, document: DocumentNode, text: str,
                     variables: Mapping[str, Any] | None,
                     operation_name: str | None) -> dict[str, Any] | None:
    """The response ``data`` of the request, or None when strawberry must answer it."""
    if not isinstance(context, GraphQLContext) or not hasattr(schema, "schema_converter"):
        return None
    plan = cache.plan_for(schema, context.meta, document, text, operation_name)
    if plan is None:
        return None
    try:
        return Execution(schema, context, variables).run(plan)
    except (NotCompilable, MetamodelError, GraphQLError) as reason:
        log.debug("GraphQL request left to strawberry: %s", reason)
        return None
    except Exception:  # a bug of the compiled path must not cost the caller an answer
        log.exception("compiled GraphQL execution failed; answered by the reference path")
        return None
