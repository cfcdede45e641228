"""What the checker needs to know about a workspace, as a protocol that ``metamodel`` implements.

Why a protocol: ``dsl`` is the bottom layer and may not import the metamodel.  The checker asks only
these questions — which entities, fields (with their types and reference targets), pipelines and
stages, groups, forms and users exist — so the metamodel can answer them from a blueprint, and tests
can answer them from a few dictionaries (:class:`StaticSchema`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias

#: Field types of spec/blueprint.md, plus the system fields' own kinds.
FIELD_TYPES = frozenset({
    "string", "text", "integer", "decimal", "money", "boolean", "date", "datetime", "enum", "multi_enum",
    "email", "phone", "url", "reference", "many", "user", "tags", "json", "formula", "rollup",
    "id", "stage", "pipeline",
})


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field as the checker sees it.

    ``target`` is the entity a ``reference``/``many`` field points to (``User`` for ``user`` fields);
    ``returns`` is the value type of a ``formula``/``rollup``; ``options`` are an enum's values.
    """

    name: str
    type: str
    target: str | None = None
    returns: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FormInfo:
    """A form: the entity it creates and the names of the values it posts (``form.x``)."""

    name: str
    creates: str
    fields: tuple[str, ...] = ()


UseKind: TypeAlias = Literal["entity", "field", "stage", "pipeline", "group", "form", "process"]


@dataclass(frozen=True, slots=True)
class Use:
    """One part of the schema a program relies on: ``apply --plan`` refuses changes that break one.

    ``entity`` is the owner of a field, stage or pipeline; None for entities, groups, forms, processes.
    """

    kind: UseKind
    name: str
    entity: str | None = None


class SchemaProtocol(Protocol):
    """The workspace's metadata, read-only; field lists include the system fields (id, owner, stage…)."""

    def entities(self) -> Collection[str]:
        """Names of all entities, built-in ones (User, Task, Message, Note) included."""
        ...

    def fields(self, entity: str) -> Mapping[str, FieldInfo]:
        """The fields of ``entity`` by name (empty for an unknown entity)."""
        ...

    def pipelines(self, entity: str) -> Mapping[str, tuple[str, ...]]:
        """Pipeline code -> its stage codes in order, for ``entity`` (empty when it has none)."""
        ...

    def groups(self) -> Collection[str]:
        """Names of the user groups."""
        ...

    def forms(self) -> Mapping[str, FormInfo]:
        """The inbound forms by name."""
        ...

    def users(self) -> Collection[str]:
        """E-mail addresses of the workspace users."""
        ...


@dataclass(frozen=True)
class StaticSchema:
    """A :class:`SchemaProtocol` built from plain data: for tests, the simulator and small tools."""

    entity_fields: Mapping[str, Mapping[str, FieldInfo]]
    entity_pipelines: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    group_names: Collection[str] = ()
    form_infos: Mapping[str, FormInfo] = field(default_factory=dict)
    user_emails: Collection[str] = ()

    def entities(self) -> Collection[str]:
        return self.entity_fields.keys()

    def fields(self, entity: str) -> Mapping[str, FieldInfo]:
        return self.entity_fields.get(entity, {})

    def pipelines(self, entity: str) -> Mapping[str, tuple[str, ...]]:
        return self.entity_pipelines.get(entity, {})

    def groups(self) -> Collection[str]:
        return self.group_names

    def forms(self) -> Mapping[str, FormInfo]:
        return self.form_infos

    def users(self) -> Collection[str]:
        return self.user_emails
