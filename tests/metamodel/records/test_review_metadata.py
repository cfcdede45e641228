"""A store built before an apply refuses to work with the old metadata: METADATA_CHANGED.

Without the check a stale store wrote text into a column that had become an
integer (SQLite) or failed with a raw database error after a rename.
"""

from __future__ import annotations

import textwrap

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.blueprint import parse_blueprint
from metamodel.clock import ManualClock
from metamodel.errors import MetadataChanged
from metamodel.migrate import apply_blueprint
from metamodel.records import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from tests.metamodel.records.conftest import START

V1 = """
entities:
  P:
    fields:
      title: {type: string, required: true}
      lname: {type: string}
"""
AS_INTEGER = V1.replace("lname: {type: string}", "lname: {type: integer}")
RENAMED = V1.replace("lname: {type: string}", "surname: {type: string, renamed_from: lname}")


def _apply(engine: Engine, workspace: str, text: str) -> RecordStore:
    apply_blueprint(engine, parse_blueprint(textwrap.dedent(text)), workspace)
    return RecordStore(engine, load_workspace_meta(engine, workspace), ManualClock(START))


def _rows(engine: Engine, store: RecordStore) -> int:
    with engine.connect() as conn:
        table = store.meta.tables.entity("P")
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_current_store_writes(engine: Engine, workspace: str) -> None:
    store = _apply(engine, workspace, V1)
    assert store.create("P", {"title": "a", "lname": "Ivanov"})["lname"] == "Ivanov"


def test_stale_store_create_is_refused_after_a_type_change(engine: Engine, workspace: str) -> None:
    stale = _apply(engine, workspace, V1)
    fresh = _apply(engine, workspace, AS_INTEGER)
    with pytest.raises(MetadataChanged) as info:
        stale.create("P", {"title": "a", "lname": "not a number"})
    assert info.value.code == "METADATA_CHANGED"
    assert (info.value.loaded, info.value.current) == (1, 2)
    assert _rows(engine, fresh) == 0


def test_stale_store_update_delete_and_restore_are_refused(engine: Engine, workspace: str) -> None:
    stale = _apply(engine, workspace, V1)
    record = stale.create("P", {"title": "a"})
    _apply(engine, workspace, AS_INTEGER)
    for call in (lambda: stale.update("P", record["id"], {"title": "b"}),
                 lambda: stale.delete("P", record["id"]), lambda: stale.restore("P", record["id"])):
        with pytest.raises(MetadataChanged):
            call()


def test_stale_store_write_in_the_callers_transaction_is_refused(engine: Engine, workspace: str) -> None:
    stale = _apply(engine, workspace, V1)
    _apply(engine, workspace, AS_INTEGER)
    with engine.connect() as conn, conn.begin(), pytest.raises(MetadataChanged):
        stale.create("P", {"title": "a"}, conn=conn)


def test_stale_store_read_of_a_renamed_field_is_metadata_changed(engine: Engine, workspace: str) -> None:
    stale = _apply(engine, workspace, V1)
    record = stale.create("P", {"title": "a", "lname": "Ivanov"})
    fresh = _apply(engine, workspace, RENAMED)
    with pytest.raises(MetadataChanged):
        stale.get("P", record["id"])
    with pytest.raises(MetadataChanged):
        stale.list("P")
    assert fresh.get("P", record["id"])["surname"] == "Ivanov"


def test_read_that_still_works_is_not_refused(engine: Engine, workspace: str) -> None:
    stale = _apply(engine, workspace, V1)
    record = stale.create("P", {"title": "a"})
    _apply(engine, workspace, AS_INTEGER)
    assert stale.get("P", record["id"])["title"] == "a"


def test_stale_rules_refusing_input_report_metadata_changed(engine: Engine, workspace: str) -> None:
    stale = _apply(engine, workspace, V1)
    _apply(engine, workspace, AS_INTEGER)
    with pytest.raises(MetadataChanged):
        stale.create("P", {"title": "a", "lname": 5})
