"""Authentication of API requests: ``Authorization: Bearer <token>`` → the ``Principal`` it speaks for.

Use ``principal_for`` as a FastAPI dependency (``CurrentPrincipal`` is the annotated form) on every
``/w/{workspace}/…`` route that needs a token:

    @app.post("/w/{workspace}/graphql")
    async def graphql(workspace: str, principal: CurrentPrincipal) -> ...

and register ``unauthenticated_response`` for ``Unauthenticated`` (``AUTH_EXCEPTION_HANDLERS``) so a
refusal is the GraphQL-shaped 401 of spec/graphql.md::

    {"errors": [{"message": "...", "extensions": {"code": "UNAUTHENTICATED"}}]}

Without the handler it is still a 401 with ``WWW-Authenticate`` (FastAPI's ``{"detail": ...}`` body).

Isolation (DESIGN.md: a token of one workspace never sees another's data or metadata): a token of
another workspace gets exactly the answer of an unknown, revoked or mistyped token — the same status,
code and words — so a caller learns neither that the workspace exists nor that the token is valid
somewhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine

from metamodel.tokens import Principal, resolve_token

__all__ = ["AUTH_EXCEPTION_HANDLERS", "CurrentPrincipal", "Principal", "Unauthenticated", "bearer_token",
           "principal_for", "unauthenticated_response"]

CODE = "UNAUTHENTICATED"


class Unauthenticated(HTTPException):
    """A request without a token that opens its workspace: 401, with the challenge RFC 6750 asks for."""

    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
        super().__init__(status_code=401, detail=message, headers={"WWW-Authenticate": challenge})
        self.message = message


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>`` (the scheme in any case); raises ``Unauthenticated``."""
    header = request.headers.get("authorization")
    if header is None or not header.strip():
        raise Unauthenticated("this request carries no API token: send Authorization: Bearer <token> "
                              "(stagecraft token create makes one)")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must read: Bearer <token>", invalid_token=True)
    return token.strip()


async def principal_for(request: Request, workspace: str) -> Principal:
    """The principal of the request's token, which must open ``workspace`` (the path's ``{workspace}``).

    The lookup is a database read (and at most once a minute a write), so it runs off the event loop.
    """
    token = bearer_token(request)
    engine: Engine = request.app.state.engine
    principal = await run_in_threadpool(resolve_token, engine, token)
    if principal is None or principal.workspace != workspace:
        raise Unauthenticated(f'this token does not open workspace "{workspace}"', invalid_token=True)
    return principal


#: ``principal: CurrentPrincipal`` in a route's signature: the request's principal, or a 401.
CurrentPrincipal = Annotated[Principal, Depends(principal_for)]


async def unauthenticated_response(request: Request, exc: Exception) -> JSONResponse:
    """``Unauthenticated`` as the GraphQL-over-HTTP error body with ``extensions.code``."""
    message = exc.message if isinstance(exc, Unauthenticated) else "authentication failed"
    headers = getattr(exc, "headers", None) or {"WWW-Authenticate": "Bearer"}
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": CODE}}]},
                        status_code=401, headers=headers)


ExceptionHandler = Callable[[Request, Any], Coroutine[Any, Any, Response]]

#: For ``FastAPI(exception_handlers=...)`` or ``app.add_exception_handler`` one by one.
AUTH_EXCEPTION_HANDLERS: dict[int | type[Exception], ExceptionHandler] = {
    Unauthenticated: unauthenticated_response}
