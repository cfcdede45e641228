"""Benchmarks of the records repository (issue 2), on SQLite and on PostgreSQL.

Each scenario compares the platform path with the raw SQLAlchemy Core
statements a hand-written application would run, on the same database in the
same run, and prints both times and their ratio against the target.  Run with
``make bench`` or ``.venv/bin/python bench/records.py``; PostgreSQL is taken
from ``STAGECRAFT_BENCH_POSTGRES_URL`` (default: the test server) and skipped,
with the reason printed, when it cannot be reached.

Scenarios are functions ``(engine) -> Result`` listed in ``SCENARIOS``; ``main``
runs every scenario on every reachable database.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and bench/dsl.py would hide the dsl package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from metamodel.clock import ManualClock  # noqa: E402
from metamodel.db import database_unreachable, throwaway_engine  # noqa: E402
from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType, PipelineDef, StageDef, StageKind  # noqa: E402
from metamodel.records import Actor, RecordStore  # noqa: E402
from metamodel.storage.catalog import WorkspaceMeta  # noqa: E402

CREATE_COUNT = int(os.environ.get("BENCH_CREATE_COUNT", "10000"))
CREATE_TARGET = 2.0
WARMUP = 200
POSTGRES_URL = os.environ.get(
    "STAGECRAFT_BENCH_POSTGRES_URL",
    os.environ.get("STAGECRAFT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

F = FieldType
BENCH_BLUEPRINT = Blueprint(entities=(
    EntityDef("Customer", "Customer", "customers", (
        FieldDef("name", F.STRING, required=True, max_length=200),
        FieldDef("email", F.EMAIL, unique=True),
    )),
    EntityDef("Order", "Order", "orders", (
        FieldDef("title", F.STRING, required=True, max_length=200),
        FieldDef("amount", F.MONEY, currency="EUR"),
        FieldDef("quantity", F.INTEGER, min=Decimal(0)),
        FieldDef("discount", F.DECIMAL),
        FieldDef("paid", F.BOOLEAN, default=False, has_default=True),
        FieldDef("due_on", F.DATE),
        FieldDef("channel", F.ENUM, options=("web", "phone", "shop")),
        FieldDef("tags", F.TAGS),
        FieldDef("contact_email", F.EMAIL),
        FieldDef("customer", F.REFERENCE, to="Customer", inverse="orders"),
        FieldDef("notes", F.TEXT),
    ), (PipelineDef("sales", "Sales", (
        StageDef("new", "New"), StageDef("invoice", "Invoice sent", probability=70),
        StageDef("won", "Paid", StageKind.WON), StageDef("lost", "Lost", StageKind.LOST))),)),
))


@dataclass(frozen=True)
class Result:
    """One scenario on one database: platform and raw seconds, and the ratio's target."""

    name: str
    platform: float
    raw: float
    target: float
    unit: int

    @property
    def ratio(self) -> float:
        return self.platform / self.raw

    def line(self, db: str) -> str:
        verdict = "ok" if self.ratio <= self.target else "OVER TARGET"
        per = 1e6 / self.unit
        return (f"{db:<10} {self.name:<28} platform {self.platform:7.2f} s ({self.platform * per:6.0f} µs/op)"
                f"  raw {self.raw:7.2f} s ({self.raw * per:6.0f} µs/op)"
                f"  ratio {self.ratio:4.2f}x  (target ≤ {self.target:.1f}x) {verdict}")


def workspace_tables(engine: Engine, blueprint: Blueprint, prefix: str) -> WorkspaceMeta:
    """A fresh workspace with the tables of ``blueprint`` (a schema of its own on PostgreSQL)."""
    meta = WorkspaceMeta(f"{prefix}{uuid.uuid4().hex[:8]}", 1, blueprint, engine.dialect.name)
    with engine.begin() as conn:
        if meta.tables.names.schema:
            conn.execute(sa.schema.CreateSchema(meta.tables.names.schema))
        meta.tables.metadata.create_all(conn)
    return meta


def drop_workspace(engine: Engine, meta: WorkspaceMeta) -> None:
    with engine.begin() as conn:
        if meta.tables.names.schema:
            conn.execute(sa.schema.DropSchema(meta.tables.names.schema, cascade=True))
        else:
            meta.tables.metadata.drop_all(conn)


def order_values(i: int, customers: list[int]) -> dict[str, Any]:
    """The input of the i-th order, as an API caller would send it."""
    return {
        "title": f"Order {i}", "amount": f"{100 + i % 900}.{i % 100:02d}", "quantity": 1 + i % 7,
        "discount": "0.05", "due_on": (date(2026, 2, 1) + timedelta(days=i % 60)).isoformat(),
        "channel": ("web", "phone", "shop")[i % 3], "tags": ["b2b", "priority"] if i % 5 == 0 else ["b2c"],
        "contact_email": f"buyer{i}@shop.test", "customer": customers[i % len(customers)],
        "notes": "Deliver to the back entrance, call one hour before.",
    }


def raw_row(i: int, customers: list[int], now: datetime) -> dict[str, Any]:
    """The same order as the columns a hand-written insert would bind (already typed)."""
    values = order_values(i, customers)
    return {**values, "amount": Decimal(values["amount"]), "discount": Decimal("0.05"),
            "due_on": date.fromisoformat(values["due_on"]), "paid": False, "created_at": now,
            "updated_at": now, "version": 1, "pipeline": "sales", "stage": "new", "stage_entered_at": now}


def _customers(store: RecordStore) -> list[int]:
    return [store.create("Customer", {"name": f"Customer {i}", "email": f"c{i}@shop.test"})["id"]
            for i in range(20)]


def bench_create(engine: Engine) -> Result:
    """Create ``CREATE_COUNT`` orders one by one, each in its own transaction, both ways."""
    clock = ManualClock(START)
    actor = Actor(None, "bench@shop.test")
    raw_meta = workspace_tables(engine, BENCH_BLUEPRINT, "braw")
    store_meta = workspace_tables(engine, BENCH_BLUEPRINT, "bsto")
    try:
        raw_customers = _customers(RecordStore(engine, raw_meta, clock))
        store = RecordStore(engine, store_meta, clock)
        store_customers = _customers(store)
        table = raw_meta.tables.entity("Order")
        insert = table.insert()

        def raw(i: int) -> None:
            with engine.begin() as conn:
                conn.execute(insert, raw_row(i, raw_customers, clock.now()))

        def platform(i: int) -> None:
            store.create("Order", order_values(i, store_customers), actor=actor)

        raw_s, platform_s = _alternate(raw, platform, CREATE_COUNT)
        return Result("create one by one", platform_s, raw_s, CREATE_TARGET, CREATE_COUNT)
    finally:
        drop_workspace(engine, raw_meta)
        drop_workspace(engine, store_meta)


def _alternate(raw: Callable[[int], None], platform: Callable[[int], None],
               count: int) -> tuple[float, float]:
    """Warm both paths up, then time them in alternating blocks so drift hits both alike."""
    for i in range(WARMUP):
        raw(count + i)
        platform(count + i)
    raw_s = platform_s = 0.0
    block = max(count // 10, 1)
    for start in range(0, count, block):
        stop = min(start + block, count)
        raw_s += _timed(raw, start, stop)
        platform_s += _timed(platform, start, stop)
    return raw_s, platform_s


def _timed(work: Callable[[int], None], start: int, stop: int) -> float:
    began = time.perf_counter()
    for i in range(start, stop):
        work(i)
    return time.perf_counter() - began


# --- page: a filtered, sorted page of 50 out of 100,000 (read half) ------------------------------

PAGE_ROWS = int(os.environ.get("BENCH_PAGE_ROWS", "100000"))
PAGE_REPEAT = int(os.environ.get("BENCH_PAGE_REPEAT", "500"))
PAGE_TARGET = 1.5
PAGE_STAGES = ["new", "invoice"]
PAGE_MIN_AMOUNT = Decimal("500")
_ORDER = BENCH_BLUEPRINT.entities[1]
#: The bench blueprint with ``index: true`` on the sorted field, as a consultant would declare it.
PAGE_BLUEPRINT = Blueprint(entities=(BENCH_BLUEPRINT.entities[0], EntityDef(
    _ORDER.name, _ORDER.label, _ORDER.plural,
    tuple(FieldDef(f.name, f.type, required=f.required, index=True, currency=f.currency)
          if f.name == "amount" else f for f in _ORDER.fields), _ORDER.pipelines)))


def _seed_orders(engine: Engine, meta: WorkspaceMeta, count: int) -> None:
    """``count`` orders by bulk insert (chunks of executemany): varied amounts, stages and times."""
    with engine.begin() as conn:
        customers = [int(conn.execute(meta.tables.entity("Customer").insert().values(
            name=f"Customer {i}", created_at=START, updated_at=START, version=1)
            .returning(meta.tables.entity("Customer").c.id)).scalar_one()) for i in range(20)]
    stages = ("new", "invoice", "won", "lost")
    insert = meta.tables.entity("Order").insert()
    for chunk in range(0, count, 5000):
        rows = []
        for i in range(chunk, min(chunk + 5000, count)):
            row = raw_row(i * 7919 % count, customers, START + timedelta(seconds=i // 3))
            row["stage"] = stages[i * 31 % 4]
            rows.append(row)
        with engine.begin() as conn:
            conn.execute(insert, rows)
    if engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would gather after a load
        name = engine.dialect.identifier_preparer.format_table(meta.tables.entity("Order"))
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE " + name)


def bench_page(engine: Engine) -> Result:
    """A filtered, sorted page of 50 through ``RecordStore.list`` vs the same Core statement."""
    meta = workspace_tables(engine, PAGE_BLUEPRINT, "bpag")
    try:
        _seed_orders(engine, meta, PAGE_ROWS)
        store = RecordStore(engine, meta)
        table = meta.tables.entity("Order")
        # What a developer writes by hand: the filter excludes empty amounts, so a plain DESC
        # (which an ordinary index serves) gives the NULLs-last order; one extra row tells
        # whether a next page exists.
        stmt = (sa.select(table).where(table.c.deleted_at.is_(None), table.c.amount >= PAGE_MIN_AMOUNT,
                                       table.c.stage.in_(PAGE_STAGES))
                .order_by(table.c.amount.desc(), table.c.created_at.asc(), table.c.id.asc()).limit(51))
        where = {"amount": {"gte": PAGE_MIN_AMOUNT}, "stage": {"in": PAGE_STAGES}}
        order_by = [("amount", "desc"), ("created_at", "asc")]

        def raw(_i: int) -> None:
            with engine.connect() as conn:
                rows = conn.execute(stmt).mappings().all()
            assert len(rows) == 51

        def platform(_i: int) -> None:
            page = store.list("Order", where=where, order_by=order_by, first=50)
            assert len(page.records) == 50 and page.has_next_page

        raw_s, platform_s = _alternate(raw, platform, PAGE_REPEAT)
        return Result(f"page of 50 of {PAGE_ROWS:,}", platform_s, raw_s, PAGE_TARGET, PAGE_REPEAT)
    finally:
        drop_workspace(engine, meta)


SCENARIOS: list[Callable[[Engine], Result]] = [bench_create, bench_page]


def sqlite_engine() -> AbstractContextManager[Engine]:
    return throwaway_engine()


@contextmanager
def postgres_engine() -> Iterator[Engine | str]:
    """An engine on a throwaway database, or the reason PostgreSQL cannot be used."""
    reason = database_unreachable(POSTGRES_URL)
    if reason:
        yield f"PostgreSQL at {reason}"
        return
    with throwaway_engine(POSTGRES_URL, prefix="sc_bench") as engine:
        yield engine


def run_all(engine: Engine, db: str, scenarios: list[Callable[[Engine], Result]]) -> list[Result]:
    results = []
    for scenario in scenarios:
        result = scenario(engine)
        print(result.line(db), flush=True)
        results.append(result)
    return results


def main() -> int:
    """Run every scenario on SQLite and PostgreSQL; exit 1 when a ratio misses its target."""
    wanted = [s for s in SCENARIOS if not sys.argv[1:] or s.__name__ in sys.argv[1:]]
    results: list[Result] = []
    with sqlite_engine() as engine:
        results += run_all(engine, "sqlite", wanted)
    with postgres_engine() as pg:
        if isinstance(pg, str):
            print(f"postgresql skipped: {pg}")
        else:
            results += run_all(pg, "postgresql", wanted)
    return 0 if all(r.ratio <= r.target for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
