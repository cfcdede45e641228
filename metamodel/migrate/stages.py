"""Pipelines and stages on apply: removed stages move their records or the apply is refused.

A stage that still holds records can only go when the blueprint says where its
records go (``{code: x, move_records_to: y}``); each moved record then gets the
same trail a manual move leaves (record history, stage history, one outbox
event), written by the records layer's own event writer so the two never drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.definitions import EntityDef, PipelineDef, StageDef
from metamodel.migrate import codes
from metamodel.migrate.changes import Action, EntityChange, removed_stages
from metamodel.migrate.checks import Findings
from metamodel.migrate.ddl import add_pipeline_columns, probe_table
from metamodel.records.events import StageMove, WriteEvent, record_event
from metamodel.serialize import entity_to_dict
from metamodel.storage.naming import WorkspaceNames


@dataclass(frozen=True, slots=True)
class Move:
    """Records of ``entity`` in ``pipeline``/``stage`` go to ``target``."""

    entity: str
    pipeline: str
    stage: str
    target: str


@dataclass
class StagePlan:
    moves: list[Move] = field(default_factory=list)
    new_pipeline_columns: list[EntityDef] = field(default_factory=list)


def _count(conn: Connection, names: WorkspaceNames, entity: str, pipeline: str,
           stage: str | None = None) -> int:
    table = probe_table(names, entity, [], pipeline=True)
    query = sa.select(sa.func.count()).select_from(table).where(table.c.pipeline == pipeline)
    if stage is not None:
        query = query.where(table.c.stage == stage)
    return int(conn.execute(query).scalar_one())


class StageChecker:
    """Lines, refusals and moves for the pipelines of one kept or renamed entity."""

    def __init__(self, conn: Connection, names: WorkspaceNames, change: EntityChange,
                 found: Findings, plan: StagePlan) -> None:
        self.conn, self.names, self.change, self.found, self.plan = conn, names, change, found, plan
        assert change.old is not None and change.new is not None
        self.old, self.new = change.old, change.new
        self.table_entity = change.old.name

    def run(self) -> None:
        for pipeline in self.old.pipelines:
            target = self.new.find_pipeline(pipeline.code)
            if target is None:
                self._removed_pipeline(pipeline)
            else:
                self._stages(pipeline, target)
        for pipeline in self.new.pipelines:
            if self.old.find_pipeline(pipeline.code) is None:
                self.found.lines.append(f"+ {self.new.name} pipeline {pipeline.code}: add")

    def _removed_pipeline(self, pipeline: PipelineDef) -> None:
        held = _count(self.conn, self.names, self.table_entity, pipeline.code)
        self.found.lines.append(f"- {self.new.name} pipeline {pipeline.code}: remove")
        if held:
            self.found.refuse(codes.PIPELINE_HOLDS_RECORDS,
                              f"{self.new.name} pipeline {pipeline.code}: {held} records would be lost",
                              self.new.place, "move them to another pipeline first")

    def _stages(self, old: PipelineDef, new: PipelineDef) -> None:
        label = f"{self.new.name}.{new.code}"
        for code in removed_stages(old, new):
            self._removed_stage(old, new, code)
        for stage in new.stages:
            before = old.find_stage(stage.code)
            if before is None:
                self.found.lines.append(f"+ {label} stage {stage.code}: add")
            elif _stage_changed(before, stage):
                self.found.lines.append(f"~ {label} stage {stage.code}: change name, kind or probability")
        if [s.code for s in old.stages if new.find_stage(s.code)] != \
                [s.code for s in new.stages if old.find_stage(s.code)]:
            self.found.lines.append(f"~ {label}: reorder stages")

    def _removed_stage(self, old: PipelineDef, new: PipelineDef, code: str) -> None:
        held = _count(self.conn, self.names, self.table_entity, old.code, code)
        marker = next((s for s in new.removed_stages if s.code == code), None)
        label = f"{self.new.name}.stage {code}" if len(self.new.pipelines) == 1 \
            else f"{self.new.name}.{new.code} stage {code}"
        if marker is not None and marker.move_records_to not in new.stage_codes():
            self.found.refuse(codes.BAD_MOVE_TARGET, f"{label}: move_records_to "
                              f"{marker.move_records_to} is not a stage of {new.code}", marker.place)
        elif marker is not None and marker.move_records_to is not None:
            self.found.lines.append(f"- {label}: remove ({held} records move to {marker.move_records_to})")
            if held:
                self.plan.moves.append(Move(self.new.name, new.code, code, marker.move_records_to))
        elif held:
            self.found.refuse(codes.STAGE_HOLDS_RECORDS,
                              f"{label}: {held} records would be lost — add "
                              f"{{code: {code}, move_records_to: <stage>}}", new.place,
                              f"list it under the stages of {new.code} to say where its records go")
        else:
            self.found.lines.append(f"- {label}: remove (no records)")


def _stage_changed(old: StageDef, new: StageDef) -> bool:
    return (old.name, old.kind, old.probability) != (new.name, new.kind, new.probability)


def check_stages(conn: Connection, names: WorkspaceNames, changes: tuple[EntityChange, ...],
                 pipeline_tables: frozenset[str], found: Findings) -> StagePlan:
    """Lines, refusals and record moves of every pipeline change."""
    plan = StagePlan()
    for change in changes:
        if change.action in (Action.KEEP, Action.RENAME):
            StageChecker(conn, names, change, found, plan).run()
            assert change.old is not None and change.new is not None
            if change.action is Action.KEEP and _labels_changed(change.old, change.new):
                found.lines.append(f"~ {change.name}: change label or plural")
        if change.new is not None and change.new.pipelines and change.action is not Action.ADD \
                and (change.table_entity not in pipeline_tables):
            plan.new_pipeline_columns.append(change.new)
            first = change.new.pipelines[0]
            found.lines.append(f"+ {change.name}: add pipeline columns (records enter "
                               f"{first.code}/{first.initial.code})")
    return plan


def _labels_changed(old: EntityDef, new: EntityDef) -> bool:
    a, b = entity_to_dict(old), entity_to_dict(new)
    return (a.get("label"), a.get("plural")) != (b.get("label"), b.get("plural"))


def add_pipelines(conn: Connection, names: WorkspaceNames, entity: EntityDef, at: datetime) -> None:
    """Give an entity's table its pipeline columns; existing records enter the initial stage."""
    add_pipeline_columns(conn, names, entity.name)
    first = entity.pipelines[0]
    table = probe_table(names, entity.name, [], pipeline=True)
    conn.execute(sa.update(table).values(pipeline=first.code, stage=first.initial.code, stage_entered_at=at))


def move_records(conn: Connection, names: WorkspaceNames, workspace: str, move: Move, *,
                 at: datetime, actor: str) -> int:
    """Move every record of a removed stage, leaving the trail of a normal stage move."""
    table = probe_table(names, move.entity, [], pipeline=True)
    where = (table.c.pipeline == move.pipeline, table.c.stage == move.stage)
    rows = conn.execute(sa.select(table.c.id, table.c.version).where(*where).order_by(table.c.id)).all()
    conn.execute(sa.update(table).where(*where).values(
        stage=move.target, stage_entered_at=at, updated_at=at, version=table.c.version + 1))
    for record_id, version in rows:
        record_event(conn, WriteEvent(
            workspace=workspace, entity=move.entity, record_id=record_id, kind="updated",
            version=version + 1, actor=actor, at=at, changes={"stage": (move.stage, move.target)},
            stage=StageMove(pipeline=move.pipeline, stage=move.target, from_stage=move.stage)))
    return len(rows)
