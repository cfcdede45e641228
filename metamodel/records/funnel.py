"""The sales funnel of one pipeline: how many records reached each stage, conversions, time in stage.

Why a reader of its own: the funnel is the report managers read most, and it must cost the same two
statements for ten deals or a million (DESIGN.md decision 6), so it is computed in SQL from the
records and their stage history (``sc_stage_history``, written with every move by ``events.py``).

Semantics (spec/graphql.md, "Funnel semantics"):

* Counted: live records of the pipeline created in ``[start, end]`` (whole UTC days, both included)
  that match ``where``.  A record moved to another pipeline counts in the funnel of the one it is in.
* The funnel is the pipeline's stages that are not ``lost``, in pipeline order; ``lost`` stages are
  reported beside it.  A record *reached* stage S when the furthest funnel stage it ever entered
  (its stage history and its current stage) is S or after S: a record created directly into a
  later stage has passed the earlier ones, a lost record counts up to the last open stage it
  entered, and a record that entered no funnel stage at all (created directly as lost) counts for
  none of them.  A lost stage's ``reached`` is the number of records that ever entered it.
* ``conversion_from_previous`` = reached(S) / reached(previous); ``conversion_from_start`` =
  reached(S) / reached(first); fractions in 0..1, None when the divisor is 0 (and for the first
  stage's ``conversion_from_previous``).  The bottleneck is the stage with the lowest
  ``conversion_from_previous`` (the earliest on a tie; None when no stage has one).
* ``avg_time_in_stage_seconds``: over the counted records that stayed in S at least once, the
  average of each record's total time in S (all its stays added up).  A stay still open counts up
  to ``now`` (the caller's clock), so a stage where deals are stuck shows it before they leave.
  None when no counted record stayed in S.

Cost (measured on a loaded machine; 2.25 stays per deal): 2,000 deals 50-80 ms, 20,000 deals
about 0.5 s, 100,000 deals about 2 s, on SQLite and on PostgreSQL alike — also right after a bulk
load, before PostgreSQL has analysed the tables (see ``_counted``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from metamodel.definitions import EntityDef, PipelineDef, StageDef, StageKind
from metamodel.errors import ValidationFailed
from metamodel.records.filters import Hidden, compile_where
from metamodel.storage.catalog import WorkspaceMeta
from metamodel.storage.system_tables import Stamp, stage_history

_h = stage_history.c


@dataclass(frozen=True, slots=True)
class FunnelStage:
    """One stage of the funnel, in pipeline order."""

    code: str
    name: str
    kind: str
    reached: int
    conversion_from_previous: float | None
    conversion_from_start: float | None
    avg_time_in_stage_seconds: float | None


@dataclass(frozen=True, slots=True)
class LostStage:
    """A ``lost`` stage, reported beside the funnel: how many counted records entered it."""

    code: str
    name: str
    reached: int
    avg_time_in_stage_seconds: float | None


@dataclass(frozen=True, slots=True)
class Funnel:
    """The funnel of one pipeline over one period; ``total`` is the number of records counted."""

    entity: str
    pipeline: str
    total: int
    stages: tuple[FunnelStage, ...]
    lost: tuple[LostStage, ...]

    @property
    def bottleneck(self) -> FunnelStage | None:
        """The stage with the lowest conversion from the previous one (the earliest on a tie)."""
        rated = [s for s in self.stages if s.conversion_from_previous is not None]
        return min(rated, key=lambda s: s.conversion_from_previous or 0.0) if rated else None


@dataclass(frozen=True, slots=True)
class FunnelQuery:
    """What to count: the pipeline, the period of creation and the filter (already role-scoped)."""

    entity: EntityDef
    pipeline: PipelineDef
    since: dt.datetime | None
    until: dt.datetime | None  # exclusive: the midnight after the last day
    where: Mapping[str, Any] | None
    hidden: Hidden

    @property
    def open_stages(self) -> tuple[StageDef, ...]:
        return tuple(s for s in self.pipeline.stages if s.kind is not StageKind.LOST)

    @property
    def lost_stages(self) -> tuple[StageDef, ...]:
        return tuple(s for s in self.pipeline.stages if s.kind is StageKind.LOST)


def funnel_query(meta: WorkspaceMeta, entity: str, pipeline: str | None, start: str | dt.date | None,
                 end: str | dt.date | None, where: Mapping[str, Any] | None = None,
                 hidden: Hidden = frozenset()) -> FunnelQuery:
    """The checked query; ValidationFailed names each bad argument (entity, pipeline, from, to)."""
    found = meta.blueprint.find_entity(entity)
    if found is None:
        names = ", ".join(e.name for e in meta.blueprint.entities if e.pipelines)
        raise ValidationFailed({"entity": f'there is no entity "{entity}" (with pipelines: {names})'})
    if not found.pipelines:
        raise ValidationFailed({"entity": f"{entity} has no pipeline, so it has no funnel"})
    chosen = found.default_pipeline if pipeline is None else found.find_pipeline(pipeline)
    if chosen is None:
        valid = ", ".join(p.code for p in found.pipelines)
        raise ValidationFailed({"pipeline": f'{entity} has no pipeline "{pipeline}"; pipelines: {valid}'})
    since, last = _day(start, "from"), _day(end, "to")
    if since is not None and last is not None and since > last:
        raise ValidationFailed({"to": f"the period ends ({last}) before it starts ({since})"})
    return FunnelQuery(found, chosen, _midnight(since), _midnight(last, 1), where, hidden)


def _day(value: str | dt.date | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed({name: f'"{value}" is not a date (YYYY-MM-DD)'}) from None


def _midnight(day: dt.date | None, plus_days: int = 0) -> dt.datetime | None:
    """The start of ``day`` (plus some days) in UTC; None — no bound — past the last date there is.

    ``to: "9999-12-31"`` ends after the calendar does: it means "until the end of time".
    """
    if day is None:
        return None
    try:
        return dt.datetime.combine(day + dt.timedelta(days=plus_days), dt.time(), tzinfo=dt.UTC)
    except OverflowError:
        return None


def read_funnel(conn: Connection, meta: WorkspaceMeta, query: FunnelQuery, now: dt.datetime) -> Funnel:
    """The funnel of ``query`` in two statements (counts, then times), whatever the record count."""
    counts = conn.execute(_count_statement(meta, query)).mappings().one()
    times = {row.stage: _seconds(row.avg) for row in conn.execute(_time_statement(meta, query, now))}
    reached = [int(counts[f"s{i}"] or 0) for i in range(len(query.open_stages))]
    stages = []
    for index, stage in enumerate(query.open_stages):
        previous = reached[index - 1] if index else 0
        stages.append(FunnelStage(
            stage.code, stage.name, stage.kind.value, reached[index],
            _ratio(reached[index], previous) if index else None,
            _ratio(reached[index], reached[0]), times.get(stage.code)))
    lost = tuple(LostStage(s.code, s.name, int(counts[f"l{i}"] or 0), times.get(s.code))
                 for i, s in enumerate(query.lost_stages))
    return Funnel(query.entity.name, query.pipeline.code, int(counts["total"]), tuple(stages), lost)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _seconds(value: Any) -> float | None:
    """Seconds rounded to the millisecond: SQLite's julianday arithmetic carries float noise."""
    return None if value is None else round(float(value), 3)


def _counted(meta: WorkspaceMeta, query: FunnelQuery) -> tuple[sa.Table, list[ColumnElement[bool]]]:
    """The entity table and the conditions of a counted record: live, in the pipeline, created in
    the period, matching ``where``.

    The pipeline is compared through ``coalesce`` on purpose, so that no index serves it: joined
    to its stays, a record is then found by its primary key.  PostgreSQL, not having analysed a
    freshly loaded table, otherwise chose the (pipeline, stage) index and scanned it once per stay:
    3.7 s instead of 80 ms for 2,000 deals.
    """
    table = meta.tables.entity(query.entity.name)
    created = table.c.created_at
    parts: list[ColumnElement[bool]] = [
        table.c.deleted_at.is_(None), sa.func.coalesce(table.c.pipeline, "") == query.pipeline.code,
        compile_where(meta, query.entity.name, table, query.where, query.hidden)]
    if query.since is not None:
        parts.append(created >= sa.literal(query.since, created.type))
    if query.until is not None:
        parts.append(created < sa.literal(query.until, created.type))
    return table, parts


def _current(meta: WorkspaceMeta, query: FunnelQuery) -> sa.Select[Any]:
    """(id, stage) of every counted record: the stage it is in counts as entered."""
    table, parts = _counted(meta, query)
    return sa.select(table.c.id.label("rid"), table.c.stage).where(*parts)


def _visits(meta: WorkspaceMeta, query: FunnelQuery) -> sa.Subquery:
    """The stays of the counted records in stages of the pipeline.

    History rows joined to their record by its primary key, with no CTE: a CTE has no index, and
    PostgreSQL, misled by tables it had not analysed yet, probed one for every history row.
    """
    table, parts = _counted(meta, query)
    return (sa.select(_h.record_id.label("rid"), _h.stage, _h.entered_at, _h.left_at)
            .select_from(stage_history.join(table, table.c.id == _h.record_id))
            .where(_h.workspace == meta.workspace, _h.entity == query.entity.name,
                   _h.pipeline == query.pipeline.code, *parts)
            .subquery("visits"))


def _position(stages: Sequence[StageDef], column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The index of ``column``'s stage among ``stages`` (NULL for any other stage)."""
    if not stages:
        return sa.null()
    return sa.case({s.code: i for i, s in enumerate(stages)}, value=column, else_=sa.null())


def _count_statement(meta: WorkspaceMeta, query: FunnelQuery) -> sa.Select[Any]:
    """One row: ``total``, ``s<i>`` (reached funnel stage i) and ``l<i>`` (entered lost stage i)."""
    visits = _visits(meta, query)
    entered = sa.union_all(sa.select(visits.c.rid, visits.c.stage), _current(meta, query)).subquery("entered")
    lost_flags = [sa.func.max(sa.case((entered.c.stage == s.code, 1), else_=0)).label(f"l{i}")
                  for i, s in enumerate(query.lost_stages)]
    per_record = (sa.select(entered.c.rid, sa.func.max(_position(query.open_stages, entered.c.stage))
                            .label("reach"), *lost_flags)
                  .group_by(entered.c.rid).subquery("per_record"))
    reach = per_record.c.reach
    columns: list[Any] = [sa.func.count().label("total")]
    columns += [sa.func.sum(sa.case((reach >= i, 1), else_=0)).label(f"s{i}")
                for i in range(len(query.open_stages))]
    columns += [sa.func.sum(per_record.c[f"l{i}"]).label(f"l{i}") for i in range(len(query.lost_stages))]
    return sa.select(*columns).select_from(per_record)


def _time_statement(meta: WorkspaceMeta, query: FunnelQuery, now: dt.datetime) -> sa.Select[Any]:
    """Per stage: the average over records of each record's total seconds in it (open stays to now)."""
    visits = _visits(meta, query)
    left = sa.func.coalesce(visits.c.left_at, sa.literal(now, Stamp))
    if meta.dialect == "postgresql":
        seconds: ColumnElement[Any] = sa.extract("epoch", left - visits.c.entered_at)
    else:
        seconds = (sa.func.julianday(left) - sa.func.julianday(visits.c.entered_at)) * 86400.0
    per_record = (sa.select(visits.c.stage, sa.func.sum(seconds).label("total"))
                  .group_by(visits.c.rid, visits.c.stage).subquery("per_stay"))
    return (sa.select(per_record.c.stage, sa.func.avg(per_record.c.total).label("avg"))
            .group_by(per_record.c.stage))
