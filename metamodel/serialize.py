"""Definitions back to the blueprint format: what is stored, exported and diffed.

The stored metadata of a workspace is exactly the blueprint a consultant could
have written (``yaml.safe_dump`` of ``blueprint_to_dict`` is a valid
``blueprint.yaml``), so ``stagecraft export`` is this dict and an export
re-applied plans nothing.  Values equal to the format's defaults are left out
and keys come in the order of spec/blueprint.md, so two equal blueprints give
byte-equal output and a diff of two exports shows only real changes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from metamodel.blueprint.names import derive_plural
from metamodel.definitions import (
    Blueprint,
    EntityDef,
    FieldDef,
    FieldType,
    FormDef,
    PipelineDef,
    RoleDef,
    StageDef,
    StageKind,
)


def json_value(value: Any) -> Any:
    """``value`` as plain JSON/YAML data (Decimal → number, dates → ISO text), losslessly."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def _field_values(fld: FieldDef) -> list[tuple[str, Any]]:
    """Every option of a field in the order of spec/blueprint.md, defaults as None/False."""
    return [
        ("required", fld.required), ("unique", fld.unique), ("index", fld.index),
        ("default", json_value(fld.default) if fld.has_default else None),
        ("label", fld.label if fld.label != fld.name else None), ("help", fld.help),
        ("max_length", fld.max_length), ("min", json_value(fld.min)), ("max", json_value(fld.max)),
        ("options", list(fld.options)), ("to", fld.to), ("inverse", fld.inverse), ("currency", fld.currency),
        ("expr", fld.expr), ("returns", fld.returns.value if fld.returns else None), ("of", fld.of),
        ("agg", fld.agg.value if fld.agg else None), ("field", fld.rollup_field), ("where", fld.where),
        ("renamed_from", fld.renamed_from),
    ]


def field_to_dict(fld: FieldDef) -> dict[str, Any]:
    """One field in the written format: ``{type: ..., required: true, ...}``, defaults left out."""
    out: dict[str, Any] = {"type": fld.type.value}
    for key, value in _field_values(fld):
        if (key == "default" and fld.has_default) or not _unset(value):
            out[key] = value
    return out


def _unset(value: Any) -> bool:
    """True for the format's "not given" values.  Not ``value in (None, False, ...)``:
    ``0 == False``, so that test would drop ``min: 0`` and every other zero."""
    return value is None or value is False or (isinstance(value, str | list | tuple) and not value)


def _stage_to_dict(stage: StageDef) -> dict[str, Any]:
    out: dict[str, Any] = {"code": stage.code}
    if stage.move_records_to:
        out["move_records_to"] = stage.move_records_to
        return out
    if stage.name != stage.code:
        out["name"] = stage.name
    if stage.kind is not StageKind.OPEN:
        out["kind"] = stage.kind.value
    if stage.probability is not None:
        out["probability"] = stage.probability
    return out


def _pipeline_to_dict(pipeline: PipelineDef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if pipeline.label != pipeline.code:
        out["label"] = pipeline.label
    stages = [*pipeline.stages, *pipeline.removed_stages]
    out["stages"] = [_stage_to_dict(s) for s in stages]
    return out


def entity_to_dict(entity: EntityDef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if entity.label != entity.name:
        out["label"] = entity.label
    if entity.plural != derive_plural(entity.name):
        out["plural"] = entity.plural
    if entity.renamed_from:
        out["renamed_from"] = entity.renamed_from
    out["fields"] = {f.name: field_to_dict(f) for f in entity.fields}
    if entity.pipelines:
        out["pipelines"] = {p.code: _pipeline_to_dict(p) for p in entity.pipelines}
    return out


def _role_to_dict(role: RoleDef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if role.entities:
        out["entities"] = {name: list(actions) for name, actions in role.entities}
    if role.own_records_only:
        out["records"] = "own"
    if role.hide_fields:
        out["hide_fields"] = {name: list(fields) for name, fields in role.hide_fields}
    return out


def _form_to_dict(form: FormDef) -> dict[str, Any]:
    out: dict[str, Any] = {"creates": form.creates}
    if form.map:
        out["map"] = dict(form.map)
    return out


def blueprint_to_dict(bp: Blueprint) -> dict[str, Any]:
    """The canonical blueprint document of ``bp`` (JSON- and YAML-safe, defaults omitted)."""
    out: dict[str, Any] = {}
    if bp.workspace:
        out["workspace"] = bp.workspace
    out["entities"] = {e.name: entity_to_dict(e) for e in bp.entities}
    if bp.roles:
        out["roles"] = {r.name: _role_to_dict(r) for r in bp.roles}
    if bp.groups:
        out["groups"] = {g.name: {"members": list(g.members)} for g in bp.groups}
    if bp.users:
        out["users"] = [_user_to_dict(u.email, u.name, u.role) for u in bp.users]
    if bp.forms:
        out["forms"] = {f.name: _form_to_dict(f) for f in bp.forms}
    if bp.automations:
        out["automations"] = list(bp.automations)
    return out


def _user_to_dict(email: str, name: str, role: str) -> dict[str, Any]:
    out: dict[str, Any] = {"email": email}
    if name != email:
        out["name"] = name
    out["role"] = role
    return out


def field_from_dict(name: str, data: dict[str, Any]) -> FieldDef:
    """The storage-relevant part of an archived field (its column type and link target).

    Archived definitions are never served, only kept to restore or purge the
    column, so they are rebuilt leniently: a full re-check could fail on a
    reference to an entity that is itself gone.
    """
    return FieldDef(
        name=name, type=FieldType(data["type"]), label=data.get("label", name),
        unique=bool(data.get("unique")), index=bool(data.get("index")),
        max_length=data.get("max_length"), options=tuple(data.get("options", ())), to=data.get("to"),
    )
