"""Frozen metadata: what a blueprint declares, after loading and checking.

Definitions are built once per metadata version and never mutated; every
upper layer reads them.  They carry the place they came from so later passes
(the migration planner, the language checker) can point at the blueprint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from metamodel.errors import NotFound, Place


class FieldType(StrEnum):
    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    REFERENCE = "reference"
    MANY = "many"
    USER = "user"
    TAGS = "tags"
    JSON = "json"
    FORMULA = "formula"
    ROLLUP = "rollup"


TEXTUAL = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE,
                     FieldType.URL, FieldType.ENUM})
NUMERIC = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY})
LISTS = frozenset({FieldType.TAGS, FieldType.MULTI_ENUM})
COMPUTED = frozenset({FieldType.FORMULA, FieldType.ROLLUP})


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class RollupAgg(StrEnum):
    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"


ACTIONS = ("read", "create", "update", "delete")

NO_DEFAULT: Any = None


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One declared field.  ``column`` is its SQL column name (None when not stored)."""

    name: str
    type: FieldType
    label: str = ""
    required: bool = False
    unique: bool = False
    index: bool = False
    default: Any = None
    has_default: bool = False
    help: str = ""
    max_length: int | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    options: tuple[str, ...] = ()
    to: str | None = None
    inverse: str | None = None
    currency: str | None = None
    expr: str | None = None
    returns: FieldType | None = None
    of: str | None = None
    agg: RollupAgg | None = None
    rollup_field: str | None = None
    where: str | None = None
    renamed_from: str | None = None
    place: Place = field(default=Place(), compare=False)

    @property
    def stored(self) -> bool:
        """True when the field is a column of the entity's own table."""
        return self.type not in COMPUTED and self.type is not FieldType.MANY

    @property
    def value_type(self) -> FieldType:
        """The type of the values the field yields (a formula's ``returns``)."""
        if self.type is FieldType.FORMULA and self.returns is not None:
            return self.returns
        return self.type


@dataclass(frozen=True, slots=True)
class StageDef:
    code: str
    name: str
    kind: StageKind = StageKind.OPEN
    probability: int | None = None
    move_records_to: str | None = None
    place: Place = field(default=Place(), compare=False)


@dataclass(frozen=True, slots=True)
class PipelineDef:
    """A funnel.  ``removed_stages`` are entries written as ``{code: x, move_records_to: y}``:
    stage x is being removed and its records move to stage y on apply."""

    code: str
    label: str
    stages: tuple[StageDef, ...]
    removed_stages: tuple[StageDef, ...] = ()
    place: Place = field(default=Place(), compare=False)

    @property
    def initial(self) -> StageDef:
        return self.stages[0]

    def find_stage(self, code: str) -> StageDef | None:
        return next((s for s in self.stages if s.code == code), None)

    def stage_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.stages)


@dataclass(frozen=True, slots=True)
class EntityDef:
    name: str
    label: str
    plural: str
    fields: tuple[FieldDef, ...] = ()
    pipelines: tuple[PipelineDef, ...] = ()
    renamed_from: str | None = None
    place: Place = field(default=Place(), compare=False)

    def find_field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def get_field(self, name: str) -> FieldDef:
        found = self.find_field(name)
        if found is None:
            raise NotFound(f'{self.name} has no field "{name}"', code="NOT_FOUND")
        return found

    def find_pipeline(self, code: str) -> PipelineDef | None:
        return next((p for p in self.pipelines if p.code == code), None)

    @property
    def stored_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.stored)

    @property
    def default_pipeline(self) -> PipelineDef | None:
        return self.pipelines[0] if self.pipelines else None


@dataclass(frozen=True, slots=True)
class RoleDef:
    name: str
    entities: tuple[tuple[str, tuple[str, ...]], ...] = ()
    own_records_only: bool = False
    hide_fields: tuple[tuple[str, tuple[str, ...]], ...] = ()
    place: Place = field(default=Place(), compare=False)

    def actions_for(self, entity: str) -> tuple[str, ...]:
        granted: list[str] = []
        for name, actions in self.entities:
            if name in (entity, "*"):
                granted.extend(a for a in actions if a not in granted)
        return tuple(granted)

    def hidden_fields(self, entity: str) -> frozenset[str]:
        return frozenset(f for name, fields in self.hide_fields if name in (entity, "*") for f in fields)


@dataclass(frozen=True, slots=True)
class GroupDef:
    name: str
    members: tuple[str, ...] = ()
    place: Place = field(default=Place(), compare=False)


@dataclass(frozen=True, slots=True)
class UserDef:
    email: str
    name: str
    role: str
    place: Place = field(default=Place(), compare=False)


@dataclass(frozen=True, slots=True)
class FormDef:
    name: str
    creates: str
    map: tuple[tuple[str, str], ...] = ()
    place: Place = field(default=Place(), compare=False)


@dataclass(frozen=True, slots=True)
class Blueprint:
    """A whole checked blueprint.  ``source`` is the file or directory it came from."""

    workspace: str | None = None
    entities: tuple[EntityDef, ...] = ()
    roles: tuple[RoleDef, ...] = ()
    groups: tuple[GroupDef, ...] = ()
    users: tuple[UserDef, ...] = ()
    forms: tuple[FormDef, ...] = ()
    automations: tuple[str, ...] = ()
    source: str = field(default="", compare=False)

    def find_entity(self, name: str) -> EntityDef | None:
        return next((e for e in self.entities if e.name == name), None)

    def get_entity(self, name: str) -> EntityDef:
        found = self.find_entity(name)
        if found is None:
            raise NotFound(f'there is no entity "{name}"')
        return found

    def find_role(self, name: str) -> RoleDef | None:
        return next((r for r in self.roles if r.name == name), None)

    def inverses_of(self, entity: str) -> Iterator[tuple[EntityDef, FieldDef]]:
        """References from any entity to ``entity`` that declare an inverse list."""
        for ent in self.entities:
            for fld in ent.fields:
                if fld.type is FieldType.REFERENCE and fld.to == entity and fld.inverse:
                    yield ent, fld

    def find_inverse(self, entity: str, name: str) -> tuple[EntityDef, FieldDef] | None:
        return next(((e, f) for e, f in self.inverses_of(entity) if f.inverse == name), None)
