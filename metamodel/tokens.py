"""API tokens: create, list, revoke, and resolve a bearer token to the principal it speaks for.

A token reads ``sc_<token_id>_<secret>``.  ``token_id`` (16 hex digits) is public: it names the
token in lists and in ``revoke``, and finds its row through a unique index.  ``secret`` is 43 random
letters and digits (256 bits, from ``secrets``; no ``-`` or ``_``, so a double click selects the whole
token) and is never stored: the table keeps its SHA-256 only.

Why a plain SHA-256 and not a slow password hash (scrypt, PBKDF2, bcrypt): slow hashes exist to make
guessing *low-entropy* secrets expensive.  256 random bits cannot be guessed however fast the hash
is, so a stolen table still opens nothing, while every request verifies in microseconds.  That is the
standard choice for machine-generated API tokens (GitHub, Stripe).  The comparison is constant-time
(``hmac.compare_digest``), so response times leak nothing about the stored hash.

Revocation takes effect at once: nothing is cached, and every resolve reads the row (one indexed
query).  A token also stops opening anything when its user is deactivated or its role leaves the
blueprint.  This module knows nothing of HTTP; ``api.auth`` turns ``None`` into a 401.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from metamodel.blueprint.build_access import ADMIN_ROLE
from metamodel.clock import SYSTEM_CLOCK, Clock
from metamodel.db import write_transaction
from metamodel.definitions import Blueprint
from metamodel.errors import MetamodelError, NotFound, Place, WorkspaceNotFound
from metamodel.storage.catalog import find_workspace_meta, load_workspace_meta
from metamodel.storage.system_tables import api_tokens, users, workspaces

TOKEN_PREFIX = "sc_"
#: ``last_used_at`` is written at most this often per token: a busy client must not turn every read
#: into a write (and, on SQLite, into a wait for the one writer lock).
LAST_USED_EVERY = timedelta(minutes=1)
_SECRET_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 43  # 62**43 > 2**256
_TOKEN_RE = re.compile(r"sc_([0-9a-f]{16})_([A-Za-z0-9]{43})")
#: What ``revoke`` accepts: the id, or text starting like a token (the whole token pasted, say).
_ID_RE = re.compile(r"(?:sc_)?([0-9a-f]{16})(?:_[A-Za-z0-9]*)?", re.IGNORECASE)
_CREATE_ATTEMPTS = 3
#: Hashed when no row matches, so an unknown token costs the same work as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()


class TokenError(MetamodelError):
    """A token could not be created or changed as asked."""

    code = "MM.E400"


class UnknownRole(TokenError):
    """The role is neither ``admin`` nor a role of the workspace's blueprint."""

    code = "MM.E401"


class UnknownUser(TokenError):
    """``--user`` names no active user of the workspace."""

    code = "MM.E402"


class NotATokenId(TokenError):
    """The text given to revoke is neither a token id nor a token (it is never echoed: it may be a secret)."""

    code = "MM.E403"


class TokenNotFound(NotFound):
    """No token of this workspace has that id (another workspace's token is not found either)."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as lists show it: everything but the secret, which is never kept."""

    token_id: str
    workspace: str
    role: str
    user_email: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request speaks for: a role in one workspace, and the user when the token has one."""

    workspace: str
    role: str
    user_id: int | None
    email: str | None
    token_id: str


def workspace_roles(blueprint: Blueprint) -> tuple[str, ...]:
    """The roles a token can have: the built-in ``admin`` and the blueprint's own."""
    return (ADMIN_ROLE, *(role.name for role in blueprint.roles))


def hash_secret(secret: str) -> str:
    """The stored form of a secret: SHA-256, hex (see the module docstring for why no slow hash)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """256 random bits as letters and digits."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LENGTH))


def parse_token(text: str) -> tuple[str, str] | None:
    """``(token_id, secret)`` of a well-formed token text, else None."""
    match = _TOKEN_RE.fullmatch(text.strip())
    return (match.group(1), match.group(2)) if match else None


def token_id_of(text: str) -> str:
    """The token id in ``text``: an id as ``token list`` shows it, or a whole ``sc_<id>_<secret>`` token.

    Why accept the whole token: an admin revoking a leaked token often has only the token at hand.
    Raises :class:`NotATokenId` otherwise, without repeating ``text`` — it may hold a secret that
    must not land in a terminal log.
    """
    match = _ID_RE.fullmatch(text.strip())
    if match is None:
        raise NotATokenId("this is not a token id", place=Place(path="token_id"),
                          hint="pass the 16-hex-digit id shown by stagecraft token list, or the whole token")
    return match.group(1).lower()


# --- create, list, revoke ----------------------------------------------------------------------


def create_token(engine: Engine, workspace: str, role: str, user_email: str | None = None, *,
                 clock: Clock = SYSTEM_CLOCK) -> tuple[str, TokenInfo]:
    """A new token for ``role`` (and ``user_email``) in ``workspace``: its text, shown once, and info.

    Raises ``WorkspaceNotFound``, ``UnknownRole`` (listing the valid roles) or ``UnknownUser``.
    """
    meta = load_workspace_meta(engine, workspace)
    roles = workspace_roles(meta.blueprint)
    if role not in roles:
        raise UnknownRole(f'workspace "{workspace}" has no role "{role}"; its roles are: {", ".join(roles)}',
                          place=Place(path="role"),
                          hint="roles are declared in the blueprint's roles: section; admin is built in")
    for attempt in range(_CREATE_ATTEMPTS):
        token_id, secret = secrets.token_hex(8), new_secret()
        try:
            with write_transaction(engine) as conn:
                user_id, email = _user_of(conn, workspace, user_email)
                now = clock.now()
                conn.execute(sa.insert(api_tokens).values(
                    workspace=workspace, token_id=token_id, secret_hash=hash_secret(secret), role=role,
                    user_id=user_id, created_at=now))
        except sa.exc.IntegrityError:  # the one-in-2**64 clash of token ids: draw again
            if attempt == _CREATE_ATTEMPTS - 1:
                raise
            continue
        info = TokenInfo(token_id, workspace, role, email, now, None, None)
        return f"{TOKEN_PREFIX}{token_id}_{secret}", info
    raise AssertionError("unreachable")  # pragma: no cover


def _user_of(conn: Connection, workspace: str, email: str | None) -> tuple[int | None, str | None]:
    """The id and stored email of the active user ``email`` of ``workspace`` (case-insensitive)."""
    if email is None:
        return None, None
    row = conn.execute(sa.select(users.c.id, users.c.email).where(
        users.c.workspace == workspace, users.c.active.is_(True),
        sa.func.lower(users.c.email) == email.strip().lower())).first()
    if row is None:
        raise UnknownUser(f'workspace "{workspace}" has no active user "{email}"', place=Place(path="user"),
                          hint="users are listed in the blueprint's users: section")
    return int(row.id), str(row.email)


def list_tokens(engine: Engine, workspace: str) -> list[TokenInfo]:
    """Every token of ``workspace``, oldest first, revoked ones included (never a secret)."""
    with engine.connect() as conn:
        _require_workspace(conn, workspace)
        rows = conn.execute(_info_query().where(api_tokens.c.workspace == workspace)
                            .order_by(api_tokens.c.created_at, api_tokens.c.id)).all()
    return [_info(row) for row in rows]


def revoke_token(engine: Engine, workspace: str, token_id: str, *,
                 clock: Clock = SYSTEM_CLOCK) -> TokenInfo:
    """Revoke a token of ``workspace``; the next request with it is refused.

    ``token_id`` may also be the whole token (see :func:`token_id_of`).  Revoking twice keeps the
    first moment.  Raises ``NotATokenId``, or ``TokenNotFound`` (naming only the id) for an id of
    another workspace.
    """
    token_id = token_id_of(token_id)
    with write_transaction(engine) as conn:
        _require_workspace(conn, workspace)
        mine = sa.and_(api_tokens.c.workspace == workspace, api_tokens.c.token_id == token_id)
        conn.execute(sa.update(api_tokens).where(mine, api_tokens.c.revoked_at.is_(None))
                     .values(revoked_at=clock.now()))
        row = conn.execute(_info_query().where(mine)).first()
    if row is None:
        raise TokenNotFound(f'workspace "{workspace}" has no token "{token_id}"',
                            place=Place(path="token_id"),
                            hint=f"stagecraft token list --workspace {workspace} shows its tokens")
    return _info(row)


def _require_workspace(conn: Connection, workspace: str) -> None:
    found = conn.execute(sa.select(workspaces.c.name).where(workspaces.c.name == workspace)).first()
    if found is None:
        raise WorkspaceNotFound(f'there is no workspace "{workspace}"',
                                hint="apply a blueprint to create it: stagecraft apply PATH --workspace NAME")


def _info_query() -> sa.Select[Any]:
    t = api_tokens
    return sa.select(t.c.token_id, t.c.workspace, t.c.role, users.c.email, t.c.created_at,
                     t.c.last_used_at, t.c.revoked_at).select_from(
        t.outerjoin(users, users.c.id == t.c.user_id))


def _info(row: Row[Any]) -> TokenInfo:
    return TokenInfo(row.token_id, row.workspace, row.role, row.email, row.created_at,
                     row.last_used_at, row.revoked_at)


# --- resolve -----------------------------------------------------------------------------------


def resolve_token(engine: Engine, token_text: str, *, clock: Clock = SYSTEM_CLOCK) -> Principal | None:
    """The principal ``token_text`` speaks for, or None when it opens nothing.

    None for a malformed, unknown, revoked or wrong-secret token, for a deactivated user's token and
    for a role no longer in the blueprint — the caller cannot and need not tell these apart.
    """
    parsed = parse_token(token_text)
    if parsed is None:
        return None
    token_id, secret = parsed
    t = api_tokens
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t.c.workspace, t.c.secret_hash, t.c.role, t.c.user_id, t.c.last_used_at,
                      t.c.revoked_at, users.c.email, users.c.active)
            .select_from(t.outerjoin(users, users.c.id == t.c.user_id))
            .where(t.c.token_id == token_id)).first()
        matches = hmac.compare_digest(row.secret_hash if row else _DUMMY_HASH, hash_secret(secret))
        if row is None or not matches or not _still_valid(conn, row):
            return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        _touch(engine, token_id, now)
    return Principal(row.workspace, row.role, row.user_id, row.email, token_id)


def _still_valid(conn: Connection, row: Row[*tuple[Any, ...]]) -> bool:
    """Not revoked, its user (if any) active, its role still one of the workspace's."""
    if row.revoked_at is not None or (row.user_id is not None and not row.active):
        return False
    meta = find_workspace_meta(conn, row.workspace)
    return meta is not None and row.role in workspace_roles(meta.blueprint)


def _touch(engine: Engine, token_id: str, now: datetime) -> None:
    """Record a use, unless another request recorded one less than a minute ago.

    Why best-effort: ``last_used_at`` is a hint for admins cleaning up tokens; a locked database
    must not turn a valid request into a failure.
    """
    t = api_tokens
    due = sa.or_(t.c.last_used_at.is_(None), t.c.last_used_at <= now - LAST_USED_EVERY)
    try:
        with write_transaction(engine) as conn:
            conn.execute(sa.update(t).where(t.c.token_id == token_id, due).values(last_used_at=now))
    except sa.exc.OperationalError:
        return
