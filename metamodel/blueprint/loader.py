"""Loading a blueprint: a directory (blueprint.yaml plus .craft files) or one YAML file.

Loading always runs the whole check pass: a ``Blueprint`` object exists only
for a blueprint without problems, so no layer above ever sees a half-valid
one.  ``check_blueprint_path`` returns the problems instead of raising, for
``stagecraft check`` and editors.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from metamodel.blueprint import codes
from metamodel.blueprint.build import build_blueprint
from metamodel.blueprint.checks import find_duplicates, run_checks
from metamodel.blueprint.reader import Reader
from metamodel.blueprint.yaml_positions import Located, load_located
from metamodel.craft_schema import craft_problems
from metamodel.definitions import Blueprint
from metamodel.errors import BlueprintInvalid, Place, Problem

BLUEPRINT_FILE = "blueprint.yaml"
CRAFT_SUFFIX = ".craft"


def _analyse(text: str, file: str, base_dir: Path | None, source: str) -> tuple[Blueprint, list[Problem]]:
    """Parse, build and check; the blueprint is only meaningful when the list is empty."""
    doc = load_located(text, file)
    reader = Reader(doc)
    blueprint = build_blueprint(reader, source)
    listed, found = _check_automations(doc, base_dir)
    problems = [*reader.problems, *run_checks(blueprint, reader), *found]
    problems += _check_craft_files(blueprint, listed, base_dir)
    return blueprint, sorted(problems, key=lambda p: (p.place.file, p.place.line, p.place.col))


def _automation_issue(entry: str, base_dir: Path | None) -> str | None:
    """Why an automations entry is unusable, or None."""
    pure = PurePosixPath(entry)
    if pure.suffix != CRAFT_SUFFIX:
        return f'automation "{entry}" must be a {CRAFT_SUFFIX} file'
    if pure.is_absolute() or ".." in pure.parts:
        return f'automation "{entry}" must be a path inside the blueprint directory'
    if base_dir is not None and not (base_dir / pure).is_file():
        return f'automation file "{entry}" does not exist in {base_dir}'
    return None


def _check_automations(doc: Located, base_dir: Path | None) -> tuple[list[tuple[str, Place]], list[Problem]]:
    """Each listed .craft file must exist inside the blueprint directory; returns the usable entries too."""
    items: Any = doc.data.get("automations") if isinstance(doc.data, dict) else None
    if not isinstance(items, list):
        return [], []
    found: list[Problem] = []
    entries: list[tuple[str, Place]] = []
    usable: dict[str, Place] = {}
    for index, entry in enumerate(items):
        place = doc.value_place(("automations", index))
        if not isinstance(entry, str):
            continue
        entries.append((PurePosixPath(entry).as_posix(), place))
        issue = _automation_issue(entry, base_dir)
        if issue:
            found.append(Problem(codes.AUTOMATION_NOT_FOUND, issue, place))
        else:
            usable.setdefault(entries[-1][0], place)
    return list(usable.items()), found + find_duplicates(entries, "automation")


def _check_craft_files(blueprint: Blueprint, entries: list[tuple[str, Place]],
                       base_dir: Path | None) -> list[Problem]:
    """The language's errors in the listed files, checked together against this blueprint.

    Places name each file as the YAML's is named (the directory as given, then the entry), so
    editors and ``stagecraft check`` jump to both kinds of problem alike.
    """
    if base_dir is None:
        return []
    sources: dict[str, str] = {}
    found: list[Problem] = []
    for entry, place in entries:
        path = base_dir / entry
        try:
            sources[str(path)] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            found.append(Problem(codes.AUTOMATION_NOT_FOUND, f"cannot read {path}: {exc}", place))
    return found + craft_problems(blueprint, sources)


def check_blueprint_text(text: str, file: str = BLUEPRINT_FILE, *,
                         base_dir: str | Path | None = None) -> list[Problem]:
    """Every problem of blueprint YAML text (for the API and editors); empty when valid."""
    base = Path(base_dir) if base_dir is not None else None
    return _analyse(text, file, base, str(base or file))[1]


def parse_blueprint(text: str, file: str = BLUEPRINT_FILE, *,
                    base_dir: str | Path | None = None) -> Blueprint:
    """A checked blueprint from YAML text; raises ``BlueprintInvalid`` listing every problem.

    ``file`` names the text in problem places.  Automation files are looked up
    in ``base_dir``; without one only their shape is checked (there is no directory).
    """
    base = Path(base_dir) if base_dir is not None else None
    blueprint, problems = _analyse(text, file, base, str(base or file))
    if problems:
        raise BlueprintInvalid(problems)
    return blueprint


def _locate(path: Path) -> tuple[Path, Path] | Problem:
    """(blueprint.yaml, base directory) for a directory or a single file, else a problem."""
    file = path / BLUEPRINT_FILE if path.is_dir() else path
    if not file.is_file():
        what = f"{path} has no {BLUEPRINT_FILE}" if path.is_dir() else f"{path} does not exist"
        return Problem(codes.FILE_NOT_FOUND, what, Place(str(file)))
    return file, file.parent


def _read(path: str | Path) -> tuple[Blueprint | None, list[Problem]]:
    located = _locate(Path(path))
    if isinstance(located, Problem):
        return None, [located]
    file, base = located
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(codes.FILE_NOT_FOUND, f"cannot read {file}: {exc}", Place(str(file)))]
    return _analyse(text, str(file), base, str(path))


def check_blueprint_path(path: str | Path) -> list[Problem]:
    """Every problem of the blueprint at ``path`` (a directory or a YAML file); empty when valid."""
    return _read(path)[1]


def load_blueprint(path: str | Path) -> Blueprint:
    """The checked blueprint at ``path``; raises ``BlueprintInvalid`` listing every problem."""
    blueprint, problems = _read(path)
    if problems or blueprint is None:
        raise BlueprintInvalid(problems)
    return blueprint
