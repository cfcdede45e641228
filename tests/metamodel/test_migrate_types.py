"""Type and constraint changes: converted when every value converts, refused with examples otherwise."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.blueprint import parse_blueprint
from metamodel.db import create_engine_for
from metamodel.definitions import Blueprint
from metamodel.errors import MigrationRefused
from metamodel.migrate import apply_blueprint, plan_blueprint
from metamodel.storage.catalog import load_workspace_meta

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

BASE = """
entities:
  Company:
    fields:
      name: {type: string}
  Deal:
    fields:
      title: {type: string}
      score: {type: FIELD}
      company: {type: reference, to: Company}
"""


def blueprint(score: str, extra: str = "") -> Blueprint:
    text = textwrap.dedent(BASE).replace("{type: FIELD}", "{" + score + "}")
    return parse_blueprint(text + extra)


def insert(engine: Engine, workspace: str, entity: str, *values: dict[str, Any]) -> None:
    table = load_workspace_meta(engine, workspace).tables.entity(entity)
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [{"created_at": NOW, "updated_at": NOW, **v} for v in values])


def column(engine: Engine, workspace: str, entity: str, name: str) -> list[Any]:
    table = load_workspace_meta(engine, workspace).tables.entity(entity)
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table.c[name]).order_by(table.c.id)).scalars())


def refusal(engine: Engine, workspace: str, bp: Blueprint) -> MigrationRefused:
    with pytest.raises(MigrationRefused) as caught:
        apply_blueprint(engine, bp, workspace)
    return caught.value


def test_string_to_integer_converts_every_value(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "12"}, {"score": " 7 "}, {"score": None})
    assert "~ Deal.score: change type string → integer (2 values convert)" in plan_blueprint(
        engine, blueprint("type: integer"), workspace).lines
    apply_blueprint(engine, blueprint("type: integer"), workspace)
    assert column(engine, workspace, "Deal", "score") == [12, 7, None]


def test_type_change_with_values_that_do_not_convert_is_refused_with_count_and_examples(
        engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "abc"}, {"score": "1.5"}, {"score": "3"})
    refused = refusal(engine, workspace, blueprint("type: integer"))
    assert refused.code == "MM.E301"
    assert refused.problems[0].message == 'Deal.score: 2 values do not convert to integer: "abc", "1.5"'
    assert column(engine, workspace, "Deal", "score") == ["abc", "1.5", "3"]
    assert load_workspace_meta(engine, workspace).version == 1


def test_integer_to_decimal_keeps_values(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: integer"), workspace)
    insert(engine, workspace, "Deal", {"score": 12}, {"score": -3})
    apply_blueprint(engine, blueprint("type: decimal"), workspace)
    assert column(engine, workspace, "Deal", "score") == [Decimal(12), Decimal(-3)]


def test_decimal_to_integer_is_refused_for_fractions(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: decimal"), workspace)
    insert(engine, workspace, "Deal", {"score": Decimal("2.5")}, {"score": Decimal("4")})
    assert refusal(engine, workspace, blueprint("type: integer")).code == "MM.E301"


def test_string_to_date_and_enum_to_string_convert(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "2026-03-01"})
    apply_blueprint(engine, blueprint("type: date"), workspace)
    assert column(engine, workspace, "Deal", "score") == [date(2026, 3, 1)]
    apply_blueprint(engine, blueprint("type: string"), workspace)
    assert column(engine, workspace, "Deal", "score") == ["2026-03-01"]


def test_string_to_enum_requires_every_value_to_be_an_option(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "hot"}, {"score": "lukewarm"})
    refused = refusal(engine, workspace, blueprint("type: enum, options: [hot, cold]"))
    assert refused.problems[0].message.endswith('1 values do not convert to enum: "lukewarm"')
    apply_blueprint(engine, blueprint("type: enum, options: [hot, cold, lukewarm]"), workspace)
    assert column(engine, workspace, "Deal", "score") == ["hot", "lukewarm"]


def test_rebuild_for_a_type_change_keeps_child_rows_that_reference_the_table(
        engine: Engine, workspace: str) -> None:
    """On SQLite a retype rebuilds the table; with foreign keys on, that would delete child rows."""
    child = "\n  Memo:\n    fields:\n      deal: {type: reference, to: Deal}\n"
    apply_blueprint(engine, blueprint("type: string", child), workspace)
    insert(engine, workspace, "Deal", {"score": "5"})
    insert(engine, workspace, "Memo", {"deal": 1})
    apply_blueprint(engine, blueprint("type: integer", child), workspace)
    assert column(engine, workspace, "Memo", "deal") == [1]
    assert column(engine, workspace, "Deal", "score") == [5]


def test_unique_added_over_duplicates_is_refused(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "a"}, {"score": "a"}, {"score": "b"})
    refused = refusal(engine, workspace, blueprint("type: string, unique: true"))
    assert (refused.code, refused.problems[0].message) == (
        "MM.E304", 'Deal.score: 1 values appear more than once: "a"')


def test_unique_added_over_distinct_values_is_enforced(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "a"})
    apply_blueprint(engine, blueprint("type: string, unique: true"), workspace)
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, workspace, "Deal", {"score": "a"})
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "a"})


def test_required_added_over_missing_values_is_refused_with_the_count(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": None}, {"score": None}, {"score": "x"})
    refused = refusal(engine, workspace, blueprint("type: string, required: true"))
    assert (refused.code, refused.problems[0].message) == ("MM.E305", "Deal.score: 2 records have no value")


def test_lower_max_length_is_refused_while_longer_values_exist(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "abcdef"}, {"score": "ab"})
    refused = refusal(engine, workspace, blueprint("type: string, max_length: 3"))
    assert refused.code == "MM.E306"
    apply_blueprint(engine, blueprint("type: string, max_length: 6"), workspace)


def test_removing_an_enum_option_in_use_is_refused(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: enum, options: [hot, cold]"), workspace)
    insert(engine, workspace, "Deal", {"score": "cold"})
    refused = refusal(engine, workspace, blueprint("type: enum, options: [hot]"))
    assert (refused.code, refused.problems[0].message) == (
        "MM.E307", 'Deal.score: 1 records use removed options: "cold"')


def test_every_refusal_of_one_apply_is_reported_together(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "x", "title": "t"}, {"score": "x", "title": None})
    text = textwrap.dedent(BASE).replace("{type: FIELD}", "{type: integer}")
    text = text.replace("title: {type: string}", "title: {type: string, required: true}")
    refused = refusal(engine, workspace, parse_blueprint(text))
    assert {p.code for p in refused.problems} == {"MM.E301", "MM.E305"}


def test_unique_declared_from_the_start_can_be_dropped(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string, unique: true"), workspace)
    insert(engine, workspace, "Deal", {"score": "a"})
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "a"})
    assert column(engine, workspace, "Deal", "score") == ["a", "a"]


def test_a_unique_field_can_change_type(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string, unique: true"), workspace)
    insert(engine, workspace, "Deal", {"score": "1"}, {"score": "2"})
    apply_blueprint(engine, blueprint("type: integer, unique: true"), workspace)
    assert column(engine, workspace, "Deal", "score") == [1, 2]
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, workspace, "Deal", {"score": 1})


def test_a_retype_that_would_make_unique_values_collide_is_refused(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string, unique: true"), workspace)
    insert(engine, workspace, "Deal", {"score": "01"}, {"score": "1"})
    refused = refusal(engine, workspace, blueprint("type: integer, unique: true"))
    assert refused.code == "MM.E304"


def test_a_restored_field_may_come_back_with_another_type(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "42"})
    without = textwrap.dedent(BASE).replace("      score: {type: FIELD}\n", "")
    apply_blueprint(engine, parse_blueprint(without), workspace)
    lines = plan_blueprint(engine, blueprint("type: integer"), workspace).lines
    assert lines[:2] == ["+ Deal.score: restore archived field (data kept)",
                         "~ Deal.score: change type string → integer (1 values convert)"]
    apply_blueprint(engine, blueprint("type: integer"), workspace)
    assert column(engine, workspace, "Deal", "score") == [42]


def test_a_change_without_table_work_still_makes_a_new_version(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: enum, options: [hot]"), workspace)
    assert plan_blueprint(engine, blueprint("type: enum, options: [hot, cold]"), workspace).lines == [
        "~ Deal.score: add options cold"]
    assert apply_blueprint(engine, blueprint("type: enum, options: [hot, cold]"), workspace).version == 2
    assert apply_blueprint(engine, blueprint("type: enum, options: [hot, cold], label: Score"),
                           workspace).version == 3


def test_a_field_can_be_renamed_and_retyped_in_one_apply(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "3"})
    renamed = "points: {type: integer, renamed_from: score}"
    text = textwrap.dedent(BASE).replace("score: {type: FIELD}", renamed)
    apply_blueprint(engine, parse_blueprint(text), workspace)
    assert column(engine, workspace, "Deal", "points") == [3]


def test_a_reference_cannot_change_type(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    text = textwrap.dedent(BASE).replace("{type: FIELD}", "{type: string}")
    text = text.replace("company: {type: reference, to: Company}", "company: {type: integer}")
    assert refusal(engine, workspace, parse_blueprint(text)).code == "MM.E312"


def test_a_rebuild_that_leaves_a_dangling_link_fails_the_apply(engine: Engine, workspace: str) -> None:
    """SQLite only: after a rebuild, PRAGMA foreign_key_check must find no row pointing at nothing."""
    if engine.dialect.name != "sqlite":
        pytest.skip("only SQLite rebuilds tables")
    child = "\n  Memo:\n    fields:\n      deal: {type: reference, to: Deal}\n"
    apply_blueprint(engine, blueprint("type: string", child), workspace)
    memo = load_workspace_meta(engine, workspace).tables.entity("Memo")
    with engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        with conn.begin():
            conn.execute(sa.insert(memo).values(created_at=NOW, updated_at=NOW, deal=999))
        conn.connection.driver_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]
    refused = refusal(engine, workspace, blueprint("type: integer", child))
    assert refused.code == "MM.E310"
    assert load_workspace_meta(engine, workspace).version == 1


def test_pooled_connections_do_not_reuse_plans_prepared_before_a_type_change(engine: Engine,
                                                                             workspace: str) -> None:
    """PostgreSQL refuses a prepared plan whose result type changed; no process may hold one.

    ``other`` stands for another API or worker process: its pool is out of the
    apply's reach, so the engines must never prepare server-side plans.
    """
    other = create_engine_for(engine.url.render_as_string(hide_password=False))
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": "5"})
    deal = load_workspace_meta(engine, workspace).tables.entity("Deal")
    query = sa.select(deal.c.score)

    def read_on_two_connections() -> list[Any]:  # committed: psycopg keeps its prepared statements
        with engine.begin() as first, other.begin() as second:
            return [c.execute(query).scalar_one() for c in (first, second) for _ in range(6)]

    read_on_two_connections()  # psycopg prepares a statement server-side after five runs
    apply_blueprint(engine, blueprint("type: integer"), workspace)
    assert {str(v) for v in read_on_two_connections()} == {"5"}
    other.dispose()


@pytest.mark.parametrize(("target", "bad"), [
    ("type: decimal", "100000000000000000000"),     # 21 digits: beyond the column's 20
    ("type: decimal", "0.123456789012345"),         # more than 10 places: would be rounded
    ("type: money, currency: EUR", "1e30"),
    ("type: integer", str(2**63)),                  # beyond 64 bits
])
def test_a_type_change_never_rounds_or_overflows_a_value(engine: Engine, workspace: str, target: str,
                                                         bad: str) -> None:
    apply_blueprint(engine, blueprint("type: string"), workspace)
    insert(engine, workspace, "Deal", {"score": bad}, {"score": "12"})
    refused = refusal(engine, workspace, blueprint(target))
    assert refused.code == "MM.E301"
    assert column(engine, workspace, "Deal", "score") == [bad, "12"]
