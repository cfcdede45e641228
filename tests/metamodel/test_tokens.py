"""API tokens (metamodel.tokens): only a hash is kept, revocation is immediate, and a token opens one
workspace as one role (and user) — on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel import apply_blueprint
from metamodel.blueprint import parse_blueprint
from metamodel.clock import ManualClock
from metamodel.errors import WorkspaceNotFound
from metamodel.storage.system_tables import api_tokens
from metamodel.tokens import (
    NotATokenId,
    Principal,
    TokenNotFound,
    UnknownRole,
    UnknownUser,
    create_token,
    list_tokens,
    resolve_token,
    revoke_token,
)

CRM = """
entities:
  Deal:
    fields:
      title: {type: string, required: true}
roles:
  manager: {entities: {Deal: [read, update]}, records: own}
  analyst: {entities: {"*": [read]}}
users:
  - {email: anna@acme.test, name: Anna, role: manager}
  - {email: oleg@acme.test, name: Oleg, role: manager}
"""

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _apply(engine: Engine, workspace: str, text: str = CRM) -> None:
    apply_blueprint(engine, parse_blueprint(text), workspace)


@pytest.fixture
def crm(engine: Engine, workspace: str) -> str:
    _apply(engine, workspace)
    return workspace


def test_a_token_resolves_to_its_workspace_role_and_user(engine: Engine, crm: str) -> None:
    text, info = create_token(engine, crm, "manager", "anna@acme.test")
    principal = resolve_token(engine, text)
    assert principal is not None
    assert (principal.workspace, principal.role, principal.email) == (crm, "manager", "anna@acme.test")
    assert principal.user_id is not None and principal.token_id == info.token_id


def test_a_token_reads_sc_then_its_public_id_then_the_secret(engine: Engine, crm: str) -> None:
    text, info = create_token(engine, crm, "admin")
    prefix, token_id, secret = text.split("_", 2)
    assert (prefix, token_id) == ("sc", info.token_id)
    assert len(secret) == 43 and secret.isalnum()  # 256 random bits as letters and digits


def test_a_token_without_user_speaks_for_the_role_only(engine: Engine, crm: str) -> None:
    text, _ = create_token(engine, crm, "analyst")
    assert resolve_token(engine, text) == Principal(crm, "analyst", None, None, text.split("_")[1])


def test_the_secret_is_not_stored_only_its_sha256(engine: Engine, crm: str) -> None:
    text, info = create_token(engine, crm, "admin")
    secret = text.split("_", 2)[2]
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.token_id == info.token_id)).one()
    assert all(secret not in str(value) for value in row)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_revocation_takes_effect_at_once(engine: Engine, crm: str) -> None:
    text, info = create_token(engine, crm, "admin")
    assert resolve_token(engine, text) is not None
    revoke_token(engine, crm, info.token_id)
    assert resolve_token(engine, text) is None


def test_revoking_twice_keeps_the_first_moment(engine: Engine, crm: str) -> None:
    clock = ManualClock(START)
    _, info = create_token(engine, crm, "admin", clock=clock)
    first = revoke_token(engine, crm, info.token_id, clock=clock).revoked_at
    clock.advance(timedelta(hours=1))
    assert revoke_token(engine, crm, info.token_id, clock=clock).revoked_at == first == START


def test_a_wrong_secret_opens_nothing(engine: Engine, crm: str) -> None:
    text, _ = create_token(engine, crm, "admin")
    last = text[-1]
    assert resolve_token(engine, text[:-1] + ("A" if last != "A" else "B")) is None


@pytest.mark.parametrize("bad", [
    "", "sc_", "garbage", "Bearer sc_0123456789abcdef_" + "a" * 43, "sc_0123456789ABCDEF_" + "a" * 43,
    "sc_0123456789abcdef_" + "a" * 42, "sc_0123456789abcdef_" + "a" * 44, "sc_0123456789abcdef_" + "a!" * 22,
    "sc_0123456789abcdef" + "a" * 44, "xx_0123456789abcdef_" + "a" * 43,
])
def test_malformed_tokens_open_nothing(engine: Engine, bad: str) -> None:
    assert resolve_token(engine, bad) is None


def test_an_unknown_token_opens_nothing(engine: Engine) -> None:
    assert resolve_token(engine, "sc_0123456789abcdef_" + "a" * 43) is None


def test_a_token_names_its_own_workspace_not_another(engine: Engine, crm: str) -> None:
    other = f"t{uuid.uuid4().hex[:12]}"
    _apply(engine, other)
    text, _ = create_token(engine, other, "admin")
    principal = resolve_token(engine, text)
    assert principal is not None and principal.workspace == other != crm


def test_an_unknown_role_is_refused_listing_the_valid_roles(engine: Engine, crm: str) -> None:
    with pytest.raises(UnknownRole) as caught:
        create_token(engine, crm, "boss")
    assert caught.value.code == "MM.E401"
    assert "admin, manager, analyst" in caught.value.message


def test_the_builtin_admin_role_is_always_valid(engine: Engine, workspace: str) -> None:
    _apply(engine, workspace, "entities:\n  Deal:\n    fields:\n      title: {type: string}\n")
    text, _ = create_token(engine, workspace, "admin")
    assert resolve_token(engine, text) is not None


def test_an_unknown_user_is_refused(engine: Engine, crm: str) -> None:
    with pytest.raises(UnknownUser) as caught:
        create_token(engine, crm, "manager", "nobody@acme.test")
    assert caught.value.code == "MM.E402"
    assert list_tokens(engine, crm) == []


def test_a_user_is_found_whatever_the_case_of_the_email(engine: Engine, crm: str) -> None:
    _, info = create_token(engine, crm, "manager", "Anna@ACME.test")
    assert info.user_email == "anna@acme.test"


def test_an_unknown_workspace_is_refused(engine: Engine) -> None:
    with pytest.raises(WorkspaceNotFound):
        create_token(engine, "nosuchworkspace", "admin")
    with pytest.raises(WorkspaceNotFound):
        list_tokens(engine, "nosuchworkspace")


def test_list_shows_every_token_of_the_workspace_oldest_first(engine: Engine, crm: str) -> None:
    clock = ManualClock(START)
    _, first = create_token(engine, crm, "admin", clock=clock)
    clock.advance(timedelta(minutes=5))
    _, second = create_token(engine, crm, "manager", "oleg@acme.test", clock=clock)
    revoke_token(engine, crm, first.token_id, clock=clock)
    listed = list_tokens(engine, crm)
    assert [(t.token_id, t.role, t.user_email) for t in listed] == [
        (first.token_id, "admin", None), (second.token_id, "manager", "oleg@acme.test")]
    assert listed[0].revoked_at == START + timedelta(minutes=5) and listed[1].revoked_at is None


def test_list_and_revoke_see_only_their_own_workspace(engine: Engine, crm: str) -> None:
    other = f"t{uuid.uuid4().hex[:12]}"
    _apply(engine, other)
    text, info = create_token(engine, other, "admin")
    assert list_tokens(engine, crm) == []
    with pytest.raises(TokenNotFound):
        revoke_token(engine, crm, info.token_id)
    assert resolve_token(engine, text) is not None


def test_last_use_is_written_at_most_once_a_minute(engine: Engine, crm: str) -> None:
    clock = ManualClock(START)
    text, _ = create_token(engine, crm, "admin", clock=clock)
    resolve_token(engine, text, clock=clock)
    clock.advance(timedelta(seconds=59))
    resolve_token(engine, text, clock=clock)
    assert list_tokens(engine, crm)[0].last_used_at == START
    clock.advance(timedelta(seconds=1))
    resolve_token(engine, text, clock=clock)
    assert list_tokens(engine, crm)[0].last_used_at == START + timedelta(minutes=1)


def test_a_deactivated_users_token_opens_nothing(engine: Engine, crm: str) -> None:
    text, _ = create_token(engine, crm, "manager", "oleg@acme.test")
    _apply(engine, crm, CRM.replace("  - {email: oleg@acme.test, name: Oleg, role: manager}\n", ""))
    assert resolve_token(engine, text) is None


def test_a_token_whose_role_left_the_blueprint_opens_nothing(engine: Engine, crm: str) -> None:
    text, _ = create_token(engine, crm, "analyst")
    _apply(engine, crm, CRM.replace('  analyst: {entities: {"*": [read]}}\n', ""))
    assert resolve_token(engine, text) is None


def test_revoke_given_the_whole_token_revokes_its_id(engine: Engine, crm: str) -> None:
    text, info = create_token(engine, crm, "admin")

    revoked = revoke_token(engine, crm, f"  {text}\n")

    assert revoked.token_id == info.token_id and revoked.revoked_at is not None
    assert resolve_token(engine, text) is None


def test_revoke_of_text_that_is_no_token_id_never_repeats_it(engine: Engine, crm: str) -> None:
    with pytest.raises(NotATokenId) as raised:
        revoke_token(engine, crm, "hunter2-my-password")

    assert "hunter2" not in str(raised.value)
    assert raised.value.message == "this is not a token id"


def test_revoke_of_an_unknown_whole_token_names_only_its_id(engine: Engine, crm: str) -> None:
    secret = "A" * 43
    with pytest.raises(TokenNotFound) as raised:
        revoke_token(engine, crm, f"sc_0123456789abcdef_{secret}")

    assert '"0123456789abcdef"' in str(raised.value) and secret not in str(raised.value)
