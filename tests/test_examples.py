"""Every example blueprint under examples/ checks clean, .craft files included: the docs never lie."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel.blueprint import check_blueprint_path

EXAMPLES = Path(__file__).parents[1] / "examples"
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
