"""Benchmark: apply a blueprint of 100 entities x 30 fields to a fresh SQLite database.

Target (issue 2): under 10 s.  Prints the time of the first apply (every table,
index and foreign key created, metadata stored), its ratio to the target, and
the time of a second, no-op apply of the same blueprint.

Run: ``.venv/bin/python bench/apply.py [--entities N] [--fields M]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and bench/dsl.py would hide the dsl package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

from metamodel.blueprint import parse_blueprint  # noqa: E402
from metamodel.db import create_engine_for, init_database  # noqa: E402
from metamodel.migrate import ApplyResult, apply_blueprint  # noqa: E402
from metamodel.storage.catalog import forget_workspace_metas  # noqa: E402

TARGET_SECONDS = 10.0
FIELD_KINDS = (
    "{type: string, max_length: 200}", "{type: text}", "{type: integer, index: true}", "{type: decimal}",
    "{type: money, currency: EUR}", "{type: boolean, default: false}", "{type: date}", "{type: datetime}",
    "{type: enum, options: [a, b, c]}", "{type: email, unique: true}", "{type: phone}", "{type: url}",
    "{type: tags}", "{type: json}",
)


def generate(entities: int, fields: int) -> str:
    """Blueprint text: entity i has ``fields`` fields, two of them references to earlier entities."""
    lines = ["workspace: bench", "entities:"]
    for i in range(entities):
        lines += [f"  Thing{i:03d}:", "    fields:"]
        for j in range(fields):
            if i > 0 and j in (0, 1):
                target = f"Thing{(i - 1 - j) % i:03d}"
                lines.append(f"      ref_{j:02d}: {{type: reference, to: {target}}}")
            else:
                lines.append(f"      f{j:02d}_x: {FIELD_KINDS[(i + j) % len(FIELD_KINDS)]}")
        if i % 10 == 0:
            lines += ["    pipelines:", "      main:", "        stages:",
                      "          - {code: open}", "          - {code: done, kind: won}"]
    return "\n".join(lines) + "\n"


def _timed(apply: Callable[[], ApplyResult]) -> float:
    started = time.perf_counter()
    apply()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100)
    parser.add_argument("--fields", type=int, default=30)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file); "
                                      "a new workspace is used on each run")
    args = parser.parse_args()
    text = generate(args.entities, args.fields)
    started = time.perf_counter()
    blueprint = parse_blueprint(text)
    parsed = time.perf_counter() - started
    workspace = f"bench{int(time.time())}"
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine_for(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_database(engine)
        first = _timed(lambda: apply_blueprint(engine, blueprint, workspace))
        noop = _timed(lambda: apply_blueprint(engine, blueprint, workspace))
        forget_workspace_metas()
        noop_cold = _timed(lambda: apply_blueprint(engine, blueprint, workspace))
        dialect = engine.dialect.name
        engine.dispose()
    print(f"blueprint: {args.entities} entities x {args.fields} fields (parse + check {parsed:.2f} s)")
    print(f"first apply on {dialect}: {first:.2f} s  (target {TARGET_SECONDS:.0f} s, "
          f"ratio {first / TARGET_SECONDS:.3f})")
    print(f"no-op re-apply:        {noop:.2f} s  (metadata cached in this process)")
    print(f"no-op re-apply, cold:  {noop_cold:.2f} s  (metadata read and parsed from the database)")


if __name__ == "__main__":
    main()
