"""Benchmarks of the generated GraphQL API (issue 5), on SQLite and on PostgreSQL.

1. ``list``: ``deals(first: 1000)`` with 10 scalar fields, ``contact { name }`` and ``company { name }``,
   answered as JSON through the endpoint in-process (the ASGI app: token, limits, the endpoint's
   executor and the JSON response, so a faster executor wired into the endpoint is what is timed),
   vs a hand-written SQLAlchemy Core query with the same joins turned into the same JSON.  Target
   ≤ 2.0x.  Strawberry's plain ``execute_sync`` of the same document is printed for reference.  The
   answers of all three are compared first: the bench times equal work or refuses to run.
2. ``http``: requests per second over real HTTP (uvicorn on loopback, a subprocess) for the list and
   for a single record, from a few concurrent clients with a fixed number of requests.  Report only.

Run ``.venv/bin/python -P bench/graphql.py [--rows N] [--repeat N] [--requests N] [--clients N]``.
PostgreSQL comes from ``STAGECRAFT_BENCH_POSTGRES_URL`` (default: the test server) and is skipped,
with the reason printed, when unreachable (``--databases sqlite`` skips it on purpose).  Timing is
never asserted; exit 1 when the list's ratio misses its target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and bench/dsl.py would hide the dsl package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth import Principal  # noqa: E402
from api.graphql import GraphQLContext, build_schema  # noqa: E402
from api.settings import Settings  # noqa: E402
from metamodel import apply_blueprint, load_workspace_meta  # noqa: E402
from metamodel.blueprint import parse_blueprint  # noqa: E402
from metamodel.db import create_engine_for, database_unreachable, throwaway_database  # noqa: E402
from metamodel.records import RecordStore  # noqa: E402
from metamodel.storage.catalog import WorkspaceMeta  # noqa: E402
from metamodel.tokens import create_token  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIST_TARGET = 2.0
POSTGRES_URL = os.environ.get(
    "STAGECRAFT_BENCH_POSTGRES_URL",
    os.environ.get("STAGECRAFT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))

BLUEPRINT = """
entities:
  Company:
    plural: companies
    fields: {name: {type: string, required: true, max_length: 200}, city: {type: string}}
  Contact:
    fields:
      name: {type: string, required: true, max_length: 200}
      email: {type: email}
      company: {type: reference, to: Company, inverse: contacts}
  Deal:
    fields:
      title: {type: string, required: true, max_length: 200}
      amount: {type: money, currency: EUR}
      quantity: {type: integer}
      discount: {type: decimal}
      paid: {type: boolean, default: false}
      due_on: {type: date}
      channel: {type: enum, options: [web, phone, shop]}
      notes: {type: text}
      contact: {type: reference, to: Contact, inverse: deals}
      company: {type: reference, to: Company, inverse: deals}
"""
#: The 10 scalar fields: GraphQL name -> column; the raw side formats each as the API does.
SCALARS = {"id": "id", "title": "title", "amount": "amount", "quantity": "quantity", "discount": "discount",
           "paid": "paid", "dueOn": "due_on", "channel": "channel", "notes": "notes", "version": "version"}
NODE = " ".join(SCALARS) + " contact { name } company { name }"
LIST_QUERY = "query($first: Int) { deals(first: $first) { edges { node { " + NODE + " } } } }"
ONE_QUERY = "query($id: ID!) { deal(id: $id) { " + NODE + " } }"


@dataclass(frozen=True)
class Bench:
    """One seeded workspace: its metadata and an admin token."""

    engine: Engine
    meta: WorkspaceMeta
    token: str
    rows: int
    first_deal: int

    @property
    def path(self) -> str:
        return f"/w/{self.meta.workspace}/graphql"


def seed(engine: Engine, rows: int) -> Bench:
    """A fresh workspace with ``rows`` deals over 50 contacts and 20 companies, through the store."""
    workspace = f"gqlb{uuid.uuid4().hex[:8]}"
    apply_blueprint(engine, parse_blueprint(BLUEPRINT), workspace)
    meta = load_workspace_meta(engine, workspace)
    store = RecordStore(engine, meta)
    companies = [store.create("Company", {"name": f"Company {i}", "city": "Riga"})["id"] for i in range(20)]
    contacts = [store.create("Contact", {"name": f"Contact {i}", "email": f"c{i}@shop.test",
                                         "company": companies[i % 20]})["id"] for i in range(50)]
    deals = []
    for i in range(rows):
        due = date(2026, 2, 1) + timedelta(days=i % 60)
        deals.append(store.create("Deal", {
            "title": f"Deal {i}", "amount": f"{100 + i % 900}.{i % 100:02d}", "quantity": 1 + i % 7,
            "discount": "0.05", "paid": i % 2 == 0, "due_on": due.isoformat(),
            "channel": ("web", "phone", "shop")[i % 3], "notes": "Deliver to the back entrance.",
            "contact": contacts[i % 50], "company": companies[i % 20]})["id"])
    return Bench(engine, meta, create_token(engine, workspace, "admin")[0], rows, deals[0])


# --- 1. the list, three ways ----------------------------------------------------------------------

def _scalar(value: Any) -> Any:
    """A column value as the API writes it in JSON: ids and decimals as strings, dates in ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def raw_list(bench: Bench) -> Callable[[], bytes]:
    """The hand-written way: one SELECT with both joins, rows shaped into the API's JSON."""
    tables = bench.meta.tables
    deal, contact, company = tables.entity("Deal"), tables.entity("Contact"), tables.entity("Company")
    deal_company = company.alias("deal_company")
    columns = [deal.c[column] for column in SCALARS.values()]
    names_of_references = (contact.c.name.label("contact_name"), deal_company.c.name.label("company_name"))
    stmt = (sa.select(*columns, *names_of_references)
            .select_from(deal.outerjoin(contact, contact.c.id == deal.c.contact)
                         .outerjoin(deal_company, deal_company.c.id == deal.c.company))
            .where(deal.c.deleted_at.is_(None)).order_by(deal.c.id).limit(bench.rows))
    names = list(SCALARS)

    def run() -> bytes:
        with bench.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        edges = []
        for row in rows:
            node = {name: _scalar(value) for name, value in zip(names, row, strict=False)}
            node["id"] = str(node["id"])
            node["contact"] = {"name": row.contact_name} if row.contact_name is not None else None
            node["company"] = {"name": row.company_name} if row.company_name is not None else None
            edges.append({"node": node})
        return json.dumps({"data": {"deals": {"edges": edges}}}).encode()
    return run


class InProcess:
    """The ASGI app called in-process on one event loop of its own (no sockets, no portal thread):
    what is timed is the app's own work, from the request's bytes to the response's."""

    def __init__(self, bench: Bench) -> None:
        url = bench.engine.url.render_as_string(hide_password=False)
        app = create_app(Settings(database_url=url), engine=bench.engine, runner=False)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")

    def post(self, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        request = self.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        return self.loop.run_until_complete(request)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def endpoint_list(bench: Bench, app: InProcess) -> Callable[[], bytes]:
    """The platform's way: a POST to the endpoint, in-process; the answer's JSON bytes."""
    body = {"query": LIST_QUERY, "variables": {"first": bench.rows}}

    def run() -> bytes:
        response = app.post(bench.path, body, bench.token)
        assert response.status_code == 200, response.text
        return response.content
    return run


def strawberry_list(bench: Bench) -> Callable[[], bytes]:
    """For reference: strawberry's own execution of the same document, then ``json.dumps``."""
    schema = build_schema(bench.meta)
    principal = Principal(bench.meta.workspace, "admin", None, None, "bench")

    def run() -> bytes:
        context = GraphQLContext(engine=bench.engine, meta=bench.meta, principal=principal)
        result = schema.execute_sync(LIST_QUERY, variable_values={"first": bench.rows}, context_value=context)
        assert result.errors is None, result.errors
        return json.dumps({"data": result.data}).encode()
    return run


def same_answers(ways: dict[str, Callable[[], bytes]]) -> None:
    """Refuse to time unequal work: every way must give the same JSON value."""
    answers = {name: json.loads(run()) for name, run in ways.items()}
    first_name, first = next(iter(answers.items()))
    for name, answer in answers.items():
        if answer != first:
            raise AssertionError(f"{name} answers differently from {first_name}: "
                                 f"{str(answer)[:300]} != {str(first)[:300]}")


def time_ways(ways: dict[str, Callable[[], bytes]], repeat: int) -> dict[str, float]:
    """The median seconds per way of ``repeat`` runs taken in turn, so drift and a busy machine's
    bursts hit every way alike (the median, not the mean: one stall must not decide the ratio)."""
    for run in ways.values():
        run()  # warm: schema built, statements cached, pages in memory
    spent: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(repeat):
        for name, run in ways.items():
            began = time.perf_counter()
            run()
            spent[name].append(time.perf_counter() - began)
    return {name: statistics.median(times) for name, times in spent.items()}


def bench_list(bench: Bench, repeat: int) -> dict[str, float]:
    """Seconds per answer of ``deals(first: rows)``: raw, endpoint, strawberry."""
    app = InProcess(bench)
    try:
        ways = {"raw": raw_list(bench), "endpoint": endpoint_list(bench, app),
                "strawberry": strawberry_list(bench)}
        same_answers(ways)
        return time_ways(ways, repeat)
    finally:
        app.close()


def list_lines(db: str, rows: int, seconds: dict[str, float]) -> list[str]:
    raw, endpoint, plain = seconds["raw"], seconds["endpoint"], seconds["strawberry"]
    ratio = endpoint / raw
    verdict = "ok" if ratio <= LIST_TARGET else "OVER TARGET"
    name = f"deals(first: {rows}) as JSON"
    return [f"{db:<10} {name:<30} endpoint {endpoint * 1e3:8.2f} ms  raw {raw * 1e3:8.2f} ms  "
            f"ratio {ratio:5.2f}x  (target ≤ {LIST_TARGET:.1f}x) {verdict}",
            f"{db:<10} {'':<30} strawberry execute_sync {plain * 1e3:8.2f} ms  ratio {plain / raw:5.2f}x "
            "(reference)"]


# --- 2. requests per second over HTTP -------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER = ("import sys, uvicorn; from api.app import create_app; from api.settings import Settings; "
          "uvicorn.run(create_app(Settings(database_url=sys.argv[1]), runner=False), host='127.0.0.1', "
          "port=int(sys.argv[2]), log_level='warning', access_log=False)")


@contextmanager
def live_server(database_url: str) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of uvicorn serving the app on ``database_url``, in a process of its own
    (so the load loop's threads do not share its interpreter lock)."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, database_url, str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {port}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load(url: str, body: dict[str, Any], token: str, requests: int, clients: int) -> float:
    """Requests per second of ``requests`` POSTs shared by ``clients`` concurrent keep-alive clients."""
    share = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]

    def client_loop(count: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for _ in range(count):
                response = client.post(url, json=body)
                if response.status_code != 200 or b'"errors"' in response.content:
                    raise AssertionError(response.text[:300])

    client_loop(1)  # warm: the server builds the workspace's schema
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, share))
    return requests / (time.perf_counter() - began)


def bench_http(bench: Bench, database_url: str, requests: int, clients: int) -> dict[str, float]:
    """Requests per second for the list and for one record."""
    with live_server(database_url) as base:
        url = base + bench.path
        many = {"query": LIST_QUERY, "variables": {"first": bench.rows}}
        one = {"query": ONE_QUERY, "variables": {"id": str(bench.first_deal)}}
        return {f"deals(first: {bench.rows})": load(url, many, bench.token, requests, clients),
                "deal(id)": load(url, one, bench.token, requests, clients)}


# --- databases and main -----------------------------------------------------------------------------

def run_database(db: str, url: str, options: argparse.Namespace) -> float:
    """Both scenarios on one database; returns the list's ratio."""
    engine = create_engine_for(url)
    try:
        bench = seed(engine, options.rows)
        seconds = bench_list(bench, options.repeat)
        print(*list_lines(db, options.rows, seconds), sep="\n", flush=True)
        for name, rate in bench_http(bench, url, options.requests, options.clients).items():
            print(f"{db:<10} HTTP {name:<25} {options.clients} clients, {options.requests} requests: "
                  f"{rate:8.1f} requests/s", flush=True)
        return seconds["endpoint"] / seconds["raw"]
    finally:
        engine.dispose()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmarks of the GraphQL API (issue 5).")
    parser.add_argument("--rows", type=int, default=1000, help="deals listed (default 1,000)")
    parser.add_argument("--repeat", type=int, default=50, help="timed answers per way (default 50)")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per query (default 200)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"),
                        default=["sqlite", "postgresql"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run on SQLite and PostgreSQL (when reachable); exit 1 when the list's ratio misses its target."""
    options = parse(sys.argv[1:] if argv is None else argv)
    ratios = []
    if "sqlite" in options.databases:
        with throwaway_database() as url:
            ratios.append(run_database("sqlite", url, options))
    if "postgresql" in options.databases:
        reason = database_unreachable(POSTGRES_URL)
        if reason:
            print(f"postgresql skipped: PostgreSQL at {reason}")
        else:
            with throwaway_database(POSTGRES_URL, prefix="sc_gqlbench") as url:
                ratios.append(run_database("postgresql", url, options))
    else:
        print("postgresql skipped: not in --databases")
    return 0 if all(r <= LIST_TARGET for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
