"""Compiled execution of GraphQL list and record queries (issue 5), strawberry as the reference.

graphql-core spends microseconds completing every value, so a page of a thousand records costs
many times its SQL in completion alone.  A query inside the compiled subset (``compiler``: entity
lists and records with their fields, users, stages, references, ``many`` and inverse lists, at any
depth) is instead run as a plan: one projected SELECT per page and per reference or list path, then
generated row-to-JSON code (``codegen``).  Anything outside the subset, and any run that would end
in an error, is answered by strawberry's normal execution, which stays the reference: a property
test runs random queries both ways and requires the same JSON.

Public names: ``PlanCache`` and ``execute_compiled``.
"""

from api.graphql.compiled.cache import PlanCache
from api.graphql.compiled.run import execute_compiled

__all__ = ["PlanCache", "execute_compiled"]
