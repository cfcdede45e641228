"""Trigger conditions and incidents: one rule for every way a run can start.

A ``where`` that cannot be evaluated (a value out of range, a budget spent) must neither start the
run nor break what triggered it (a record write, a form post, a timer): it is an *incident* in the
run log, naming the automation and its place, and the trigger goes on with the other automations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

import dsl
from workflow.instances import write_log
from workflow.runtime import compiled


def incident(conn: Connection, workspace: str, now: datetime, code: str, message: str,
             **detail: Any) -> None:
    write_log(conn, workspace, None, now, "incident", {"code": code, "message": message, **detail})


def holds(conn: Connection, workspace: str, automation: dsl.AutomationPlan, ctx: dsl.EvalContext,
          record_id: Any = None) -> bool:
    """Whether the automation's ``where`` holds in ``ctx`` (no ``where``: always)."""
    where = automation.trigger.where
    if where is None:
        return True
    try:
        return compiled(where.source)(ctx) is True
    except dsl.CraftRuntimeError as exc:
        at = automation.at
        incident(conn, workspace, ctx.now, exc.code,
                 f'the condition of automation "{automation.name}" ({at.file}:{at.line}) could not be '
                 f"evaluated: {exc.message}", name=automation.name, entity=automation.subject,
                 record_id=record_id)
        return False


def too_deep(conn: Connection, workspace: str, now: datetime, name: str, depth: int, entity: str | None,
             record_id: Any) -> bool:
    """True (with an incident) when a run at ``depth`` would go past the chain limit."""
    from workflow.runtime import MAX_DEPTH

    if depth < MAX_DEPTH:
        return False
    incident(conn, workspace, now, "WF_DEPTH_LIMIT",
             f"{name} was stopped: it was started {depth} times in one chain of automations "
             f"(on {entity} {record_id}); it probably triggers itself", name=name, entity=entity,
             record_id=record_id)
    return True
