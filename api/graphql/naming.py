"""Names of the generated schema: GraphQL names from blueprint names, and Python names behind them.

Why a module of its own: strawberry builds types from Python classes, and three
traps of generating those classes at runtime are all about names —

* resolvers made in a loop must have distinct ``__name__``s or strawberry folds the fields together;
* two runtime classes with the same ``__qualname__`` are silently merged, so every class name
  carries the workspace and metadata version;
* a GraphQL name that is a Python keyword (``from``, ``class``…) cannot be an attribute, so the
  attribute gets a safe spelling and the GraphQL name is set explicitly.
"""

from __future__ import annotations

import keyword
import re

_NOT_IDENT = re.compile(r"[^0-9A-Za-z_]")


def camel(snake: str) -> str:
    """``due_on`` → ``dueOn``; a name without underscores is unchanged (``createdAt`` stays)."""
    head, *rest = snake.split("_")
    if not head:  # a leading underscore is not part of blueprint names; keep the rest readable
        return camel("_".join(rest)) if rest else snake
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def lower_first(name: str) -> str:
    """``Deal`` → ``deal`` (the single-record query of an entity)."""
    return name[:1].lower() + name[1:]


def upper_first(name: str) -> str:
    """``deals`` → ``Deals`` (for mutation and type names built from a GraphQL name)."""
    return name[:1].upper() + name[1:]


def attr_name(graphql_name: str) -> str:
    """A Python attribute for ``graphql_name``: keywords and dunder-like names get a trailing ``_``.

    The GraphQL name is always passed to strawberry explicitly, so the attribute
    spelling never reaches a client.
    """
    safe = _NOT_IDENT.sub("_", graphql_name)
    if keyword.iskeyword(safe) or keyword.issoftkeyword(safe) or safe.startswith("_") or safe[:1].isdigit():
        return f"{safe}_"
    return safe


def class_name(workspace: str, version: int, graphql_name: str) -> str:
    """A Python class name unique per workspace and metadata version (``Deal__acme_v3``)."""
    return f"{graphql_name}__{_NOT_IDENT.sub('_', workspace)}_v{version}"


def resolver_name(workspace: str, version: int, *parts: str) -> str:
    """A distinct ``__name__`` for a generated resolver (``resolve__acme_v3__Deal__contact``)."""
    return "__".join(["resolve", _NOT_IDENT.sub("_", workspace) + f"_v{version}",
                      *(_NOT_IDENT.sub("_", p) for p in parts)])
