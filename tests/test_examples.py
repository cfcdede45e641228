"""Every example blueprint under examples/ checks clean, .craft files included, and the README's language
reference shows every error code and only programs that check: the docs never lie."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

import dsl
from metamodel.blueprint import CODES as BLUEPRINT_CODES
from metamodel.blueprint import check_blueprint_path, load_blueprint
from metamodel.craft_schema import schema_for
from metamodel.demo import DemoAlreadyLoaded, DemoError
from metamodel.imports import CODES as IMPORT_CODES
from metamodel.migrate import CODES as MIGRATION_CODES

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"
#: The demo's refusals, read from their error classes (metamodel.demo keeps no table of codes).
DEMO_CODES = (DemoError.code, DemoAlreadyLoaded.code)
#: The spec's examples as the dsl tests keep them (copied verbatim from spec/craft-language.md).
GOLDEN = Path(__file__).parent / "dsl" / "golden"
SPEC_COPIES = [GOLDEN / "spec_automations.craft", GOLDEN / "spec_process.craft"]
BLUEPRINTS = sorted(p.parent for p in EXAMPLES.glob("*/blueprint.yaml"))


def test_examples_directory_holds_the_language_example() -> None:
    assert EXAMPLES / "spec-language" in BLUEPRINTS


@pytest.mark.parametrize("blueprint", BLUEPRINTS, ids=[p.name for p in BLUEPRINTS])
def test_example_blueprint_checks_clean(blueprint: Path) -> None:
    assert [str(p) for p in check_blueprint_path(blueprint)] == []


def test_language_example_holds_every_example_of_the_spec_verbatim() -> None:
    files = "\n".join(f.read_text(encoding="utf-8")
                      for f in sorted((EXAMPLES / "spec-language" / "automations").glob("*.craft")))
    for golden in SPEC_COPIES:
        for example in golden.read_text(encoding="utf-8").strip().split("\n\n"):
            assert example in files


@pytest.mark.parametrize("codes", [dsl.CODES, BLUEPRINT_CODES, MIGRATION_CODES, IMPORT_CODES, DEMO_CODES],
                         ids=["craft", "blueprint", "migration", "import", "demo"])
def test_readme_lists_every_error_code(codes: Collection[str]) -> None:
    readme = README.read_text(encoding="utf-8")
    assert [code for code in codes if f"| `{code}` |" not in readme] == []


def test_readme_craft_examples_check_against_the_language_example() -> None:
    blocks = [part.split("```")[0] for part in README.read_text(encoding="utf-8").split("```craft\n")[1:]]
    schema = schema_for(load_blueprint(EXAMPLES / "spec-language"))
    assert blocks
    assert dsl.check_files({f"README-{n}.craft": b for n, b in enumerate(blocks)}, schema) == []
