"""The README's GraphQL guide runs: every ```graphql example of its "GraphQL API" section, in order.

The guide is one session against ``examples/graphql-guide`` in a fresh database (so ids are the ones
it shows): each example is posted to the endpoint with the guide's admin token (Anna), or as the
comment on its first line says, ``# with a viewer token`` (Vic) or ``# without a token``.  A
```json block right after an example is the answer it shows: every key and list item shown must be
in the real answer (keys left out, such as timestamps, are not compared).  Between examples the
workflow is drained, as the server's in-process runner would do within a moment.

``STAGECRAFT_README_RECORD=1`` prints every real answer instead of failing, to write the guide with.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from metamodel import apply_blueprint_path
from metamodel.db import create_engine_for
from metamodel.tokens import create_token
from workflow import Runtime, drain

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
GUIDE = ROOT / "examples" / "graphql-guide"
RECORD = os.environ.get("STAGECRAFT_README_RECORD") == "1"
AS_VIEWER, WITHOUT_TOKEN = "# with a viewer token", "# without a token"
BLOCK = re.compile(r"```graphql\n(?P<query>.*?)```(?:\s*```json\n(?P<answer>.*?)```)?", re.S)


@dataclass(frozen=True)
class Example:
    """One example of the guide: its document, the answer it shows (if any) and its line."""

    query: str
    answer: Any
    line: int

    @property
    def token(self) -> str:
        first = self.query.lstrip().splitlines()[0].strip()
        return {AS_VIEWER: "viewer", WITHOUT_TOKEN: "none"}.get(first, "admin")


def graphql_section(text: str) -> tuple[str, int]:
    """The README's "## GraphQL API" section and the line it starts on."""
    start = text.index("\n## GraphQL API\n") + 1
    end = text.find("\n## ", start)
    return text[start:end if end >= 0 else len(text)], text.count("\n", 0, start) + 1


def examples(text: str) -> list[Example]:
    section, first_line = graphql_section(text)
    found = []
    for match in BLOCK.finditer(section):
        answer = json.loads(match["answer"]) if match["answer"] else None
        found.append(Example(match["query"], answer, first_line + section.count("\n", 0, match.start())))
    return found


def missing(shown: Any, real: Any, path: str = "") -> str | None:
    """Where the real answer differs from the one shown (dict keys shown must match; lists whole)."""
    if isinstance(shown, dict):
        if not isinstance(real, dict):
            return f"{path or '.'}: {real!r} is not an object"
        for key, value in shown.items():
            if key not in real:
                return f"{path}.{key}: missing"
            if (where := missing(value, real[key], f"{path}.{key}")) is not None:
                return where
        return None
    if isinstance(shown, list):
        if not isinstance(real, list) or len(real) != len(shown):
            return f"{path}: {real!r} is not a list of {len(shown)}"
        for i, (a, b) in enumerate(zip(shown, real, strict=True)):
            if (where := missing(a, b, f"{path}[{i}]")) is not None:
                return where
        return None
    return None if shown == real else f"{path}: shown {shown!r}, real {real!r}"


@pytest.fixture(params=["sqlite", "postgresql"])
def guide_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database, so task, message and user ids are the guide's (they are platform-wide)."""
    if request.param == "sqlite":
        target = tmp_path / "guide.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    make: Callable[[str], str] = request.getfixturevalue("scratch_postgres")
    return make("sc_guide")


@pytest.fixture
def post(guide_url: str) -> Iterator[Callable[[Example], Any]]:
    """Posts an example to the guide workspace as its token says, drains the workflow, returns the body."""
    engine = create_engine_for(guide_url)
    apply_blueprint_path(engine, GUIDE, "guide")
    tokens = {"admin": create_token(engine, "guide", "admin", "anna@acme.test")[0],
              "viewer": create_token(engine, "guide", "viewer", "vic@acme.test")[0]}
    runtime = Runtime(engine, workspace="guide")
    app = create_app(Settings(database_url=guide_url), engine=engine, runner=False)

    def send(example: Example) -> Any:
        headers = {} if example.token == "none" else {"Authorization": f"Bearer {tokens[example.token]}"}
        body = client.post("/w/guide/graphql", json={"query": example.query}, headers=headers).json()
        drain(runtime)
        return body

    try:
        with TestClient(app) as client:
            yield send
    finally:
        engine.dispose()


def test_the_guide_has_an_example_of_every_operation_of_the_spec() -> None:
    section, _line = graphql_section(README.read_text(encoding="utf-8"))
    queries = "\n".join(e.query for e in examples(README.read_text(encoding="utf-8")))
    for operation in ("deals(", "orderBy:", "first:", "after:", "totalCount", "deal(id:", "contact(id:",
                      "dealsAggregate", "dealsGroupBy", "metadata", "history(", "processInstances", "tasks(",
                      "messages(", "users {", "createDeal", "updateDeal", "expectedVersion", "deleteDeal",
                      "restoreDeal", "runAutomation", "completeTask", "decideApproval", "funnel(",
                      "addNote", "notes(", "broadcast(", "broadcasts"):
        assert operation in queries, operation
    for code in ("VALIDATION_FAILED", "NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED", "VERSION_CONFLICT",
                 "UNKNOWN_STAGE", "QUERY_TOO_COMPLEX"):
        assert f'"code": "{code}"' in section, code


def test_a_shown_answer_that_differs_from_the_real_one_is_reported() -> None:
    assert missing({"a": [{"b": 1}]}, {"a": [{"b": 1, "c": 2}], "d": 3}) is None
    assert missing({"a": [{"b": 1}]}, {"a": [{"b": 2}]}) == ".a[0].b: shown 1, real 2"
    assert missing({"a": [1]}, {"a": [1, 2]}) is not None


def test_every_example_of_the_guide_runs_and_answers_as_shown(post: Callable[[Example], Any]) -> None:
    found = examples(README.read_text(encoding="utf-8"))
    assert len(found) >= 20
    for example in found:
        real = post(example)
        if RECORD:
            print(f"\n--- README.md:{example.line}\n{example.query}{json.dumps(real, indent=2)}")
            continue
        if example.answer is None:
            assert "errors" not in real, (example.line, real)
        else:
            assert missing(example.answer, real) is None, (example.line, missing(example.answer, real), real)
