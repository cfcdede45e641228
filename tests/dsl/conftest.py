"""A small fake workspace schema that the spec's examples check against."""

from __future__ import annotations

import pytest

from dsl.schema import FieldInfo, FormInfo, StaticSchema


def _fields(pipelined: bool, **declared: FieldInfo) -> dict[str, FieldInfo]:
    system = {
        "id": FieldInfo("id", "id"), "created_at": FieldInfo("created_at", "datetime"),
        "updated_at": FieldInfo("updated_at", "datetime"), "version": FieldInfo("version", "integer"),
        "created_by": FieldInfo("created_by", "user", target="User"),
        "owner": FieldInfo("owner", "user", target="User"),
    }
    if pipelined:
        system |= {"pipeline": FieldInfo("pipeline", "pipeline"), "stage": FieldInfo("stage", "stage"),
                   "stage_entered_at": FieldInfo("stage_entered_at", "datetime")}
    return system | {name: info for name, info in declared.items()}


def _f(name: str, kind: str, target: str | None = None) -> FieldInfo:
    return FieldInfo(name, kind, target=target)


@pytest.fixture
def schema() -> StaticSchema:
    return make_schema()


def make_schema() -> StaticSchema:
    """The fake workspace: the entities, pipelines, groups and form the spec's examples use."""
    return StaticSchema(
        entity_fields={
            "Order": _fields(True, title=_f("title", "string"), amount=_f("amount", "money"),
                             contact=_f("contact", "reference", "Contact")),
            "Deal": _fields(True, title=_f("title", "string"), amount=_f("amount", "money"),
                            paid=_f("paid", "boolean"), contact=_f("contact", "reference", "Contact"),
                            tags=_f("tags", "tags"), closes_on=_f("closes_on", "date")),
            "Lead": _fields(True, name=_f("name", "string"), phone=_f("phone", "phone"),
                            source=_f("source", "string"), score=_f("score", "integer")),
            "Contract": _fields(False, ends_on=_f("ends_on", "date"), title=_f("title", "string"),
                                company=_f("company", "reference", "Company")),
            "Contact": _fields(False, name=_f("name", "string"), email=_f("email", "email"),
                               phone=_f("phone", "phone"), company=_f("company", "reference", "Company")),
            "Company": _fields(False, name=_f("name", "string")),
            "User": _fields(False, name=_f("name", "string"), email=_f("email", "email")),
            "Ticket": _fields(True, subject=_f("subject", "string")),
            "Task": _fields(False, title=_f("title", "string"), status=_f("status", "enum")),
        },
        entity_pipelines={
            "Order": {"orders": ("new", "awaiting_payment", "paid", "shipped")},
            "Deal": {"sales": ("new", "negotiation", "invoice", "won", "lost")},
            "Lead": {"leads": ("new", "contacted", "qualified")},
            "Ticket": {"support": ("open", "closed"), "repairs": ("open", "fixed")},
        },
        group_names=("heads", "sales", "warehouse"),
        form_infos={"website": FormInfo("website", "Contact", ("full_name", "phone", "email"))},
        user_emails=("ann@example.com",),
    )
