"""The generated GraphQL API of a workspace (spec/graphql.md).

Public names: ``build_schema(meta) -> strawberry.Schema`` and ``GraphQLContext``,
the ``context_value`` every execution of that schema needs.
"""

from api.graphql.resolvers import GraphQLContext
from api.graphql.types import build_schema

__all__ = ["GraphQLContext", "build_schema"]
