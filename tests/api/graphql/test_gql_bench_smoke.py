"""bench/graphql.py runs: its scenarios on tiny sizes, on each database, so the script cannot rot.

The numbers are checked for sanity (positive, for every way), never for speed: timing is the bench's
business, and a test that asserted it would fail on a busy machine.  What is checked for real is
that the hand-written query answers exactly what the endpoint answers (else its ratio means nothing).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy.engine import Engine

BENCH_FILE = Path(__file__).resolve().parents[3] / "bench" / "graphql.py"


def _load_bench() -> ModuleType:
    """The script as a module of its own name (``graphql`` is the library it would hide)."""
    spec = importlib.util.spec_from_file_location("stagecraft_bench_graphql", BENCH_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def test_the_document_asks_for_ten_scalars_and_both_references() -> None:
    assert len(bench.SCALARS) == 10
    assert "contact { name } company { name }" in bench.LIST_QUERY


def test_the_raw_query_answers_exactly_what_the_endpoint_answers(engine: Engine) -> None:
    seeded = bench.seed(engine, 7)
    app = bench.InProcess(seeded)
    try:
        endpoint = json.loads(bench.endpoint_list(seeded, app)())
    finally:
        app.close()
    raw = json.loads(bench.raw_list(seeded)())
    assert raw == endpoint
    node = raw["data"]["deals"]["edges"][0]["node"]
    assert len(raw["data"]["deals"]["edges"]) == 7
    assert node["contact"] == {"name": "Contact 0"} and node["company"] == {"name": "Company 0"}


def test_unequal_answers_are_refused_before_any_timing() -> None:
    with pytest.raises(AssertionError, match="answers differently"):
        bench.same_answers({"raw": lambda: b'{"data": 1}', "endpoint": lambda: b'{"data": 2}'})


def test_the_list_scenario_times_all_three_ways(engine: Engine) -> None:
    seconds = bench.bench_list(bench.seed(engine, 5), repeat=2)
    assert set(seconds) == {"raw", "endpoint", "strawberry"}
    assert all(value > 0 for value in seconds.values())


def test_the_http_scenario_serves_both_queries_over_a_live_server(engine: Engine) -> None:
    seeded = bench.seed(engine, 5)
    url = engine.url.render_as_string(hide_password=False)
    rates = bench.bench_http(seeded, url, requests=4, clients=2)
    assert set(rates) == {"deals(first: 5)", "deal(id)"}
    assert all(rate > 0 for rate in rates.values())


def test_main_prints_every_figure_and_why_postgresql_was_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    tiny = ["--rows", "3", "--repeat", "1", "--requests", "2", "--clients", "2", "--databases", "sqlite"]
    assert bench.main(tiny) in (0, 1)  # 1 only says the ratio missed its target: timing is not checked here
    out = capsys.readouterr().out
    for expected in ("deals(first: 3) as JSON", "strawberry execute_sync", "HTTP deals(first: 3)",
                     "HTTP deal(id)", "requests/s", "postgresql skipped"):
        assert expected in out
