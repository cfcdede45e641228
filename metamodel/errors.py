"""Typed errors of the metamodel layer.

Every error carries a stable code, a message a consultant understands, an
optional hint and a place (``file:line:col`` or a field path).  Surfaces (CLI,
HTTP, GraphQL) turn them into user messages; nothing below them formats output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Place:
    """Where a problem is: a file position, or a path inside a document."""

    file: str = ""
    line: int = 0
    col: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.line:
            return f"{self.file or '<input>'}:{self.line}:{self.col}"
        if self.file and self.path:
            return f"{self.file}:{self.path}"
        return self.file or self.path or "<input>"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of a check pass: code, message, place and optional hint."""

    code: str
    message: str
    place: Place = Place()
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.place} {self.code} {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


class MetamodelError(Exception):
    """Root of every error raised by the metamodel layer."""

    code = "MM.E000"

    def __init__(self, message: str, *, code: str | None = None, place: Place | None = None,
                 hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.place = place or Place()
        self.hint = hint

    def __str__(self) -> str:
        return str(Problem(self.code, self.message, self.place, self.hint))


class BlueprintInvalid(MetamodelError):
    """A blueprint failed its checks; ``problems`` lists every finding."""

    code = "MM.E001"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else Problem(self.code, "invalid blueprint")
        super().__init__(f"{len(self.problems)} problem(s) in the blueprint", place=first.place)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class MigrationRefused(MetamodelError):
    """An apply would lose data or break a dependant; nothing was changed."""

    code = "MM.E300"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else Problem(self.code, "migration refused")
        super().__init__(first.message, code=first.code, place=first.place)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class NotFound(MetamodelError):
    """A record, entity, field or workspace does not exist (or is not visible)."""

    code = "NOT_FOUND"


class WorkspaceNotFound(NotFound):
    code = "NOT_FOUND"


class ValidationFailed(MetamodelError):
    """Record input was rejected; ``fields`` maps each field to its reason."""

    code = "VALIDATION_FAILED"

    def __init__(self, fields: Mapping[str, str], message: str = "") -> None:
        self.fields = dict(fields)
        text = message or "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        super().__init__(text or "invalid input")


class VersionConflict(MetamodelError):
    """An update named a version that is no longer current; nothing was written."""

    code = "VERSION_CONFLICT"

    def __init__(self, entity: str, record_id: int, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{entity} {record_id} is at version {actual}, not {expected}: reload it and try again"
        )


class MetadataChanged(MetamodelError):
    """The workspace's blueprint was applied again after the caller loaded its metadata.

    Writing with the old metadata could store text in a column that is now an
    integer, or address a column that was renamed; nothing was written.
    """

    code = "METADATA_CHANGED"

    def __init__(self, workspace: str, loaded: int, current: int) -> None:
        self.loaded = loaded
        self.current = current
        super().__init__(f"the blueprint of workspace {workspace} changed (version {loaded} → {current}) "
                         "while this was open: reload and try again")


class UnknownStage(MetamodelError):
    """A stage code that is not in the record's pipeline."""

    code = "UNKNOWN_STAGE"


class InvalidQuery(MetamodelError):
    """A filter, sort or aggregate names something that does not exist or cannot be used so."""

    code = "VALIDATION_FAILED"
