"""Triggers, automations, the process engine, actions and the in-process and Celery runners.

Consumes the metamodel's outbox (DESIGN.md decisions 3 to 5 and 8).  The engine is a set of functions
over database rows — instances, trigger timers, the effects log — that both runners call: the
in-process runner (:class:`InProcessRunner`, inside ``stagecraft serve``) and the Celery runner
(``stagecraft worker``).  It serves no HTTP; it makes outgoing calls (webhooks, SMS gateways, SMTP)
only from steps that ask for them, under idempotency keys.  Other packages import the names below,
and the simulation scenario format from :mod:`workflow.scenario`.
"""

from workflow.broadcasts import (
    BroadcastForbidden,
    BroadcastInvalid,
    BroadcastNotFound,
    BroadcastRow,
    BroadcastSpec,
    RecipientRow,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
    list_recipients,
)
from workflow.broadcasts_run import run_broadcasts
from workflow.drain import drain, tick
from workflow.entry import complete_task, fire_inbound, run_manual, start_process, submit_form
from workflow.errors import DeliveryFailed, UnsafeAddress, WebhookFailed, WorkflowError
from workflow.inprocess import InProcessRunner
from workflow.interpreter import retry
from workflow.readers import (
    TaskRow,
    get_task,
    list_messages,
    list_notifications,
    list_tasks,
    manual_entity,
)
from workflow.runs import (
    STATUSES,
    LogLine,
    RunNotFailed,
    RunNotFound,
    RunRow,
    WorkflowCounts,
    get_run,
    list_runs,
    retry_run,
    run_log,
    workflow_counts,
)
from workflow.runtime import Runtime, WorkflowConfig
from workflow.simulation import Simulation
from workflow.webhooks import hook_secret_for, sign, verify_signature

__all__ = [
    "STATUSES",
    "BroadcastForbidden",
    "BroadcastInvalid",
    "BroadcastNotFound",
    "BroadcastRow",
    "BroadcastSpec",
    "DeliveryFailed",
    "InProcessRunner",
    "LogLine",
    "RecipientRow",
    "RunNotFailed",
    "RunNotFound",
    "RunRow",
    "Runtime",
    "Simulation",
    "TaskRow",
    "UnsafeAddress",
    "WebhookFailed",
    "WorkflowConfig",
    "WorkflowCounts",
    "WorkflowError",
    "complete_task",
    "create_broadcast",
    "drain",
    "fire_inbound",
    "get_broadcast",
    "get_run",
    "get_task",
    "hook_secret_for",
    "list_broadcasts",
    "list_messages",
    "list_notifications",
    "list_recipients",
    "list_runs",
    "list_tasks",
    "manual_entity",
    "retry",
    "retry_run",
    "run_broadcasts",
    "run_log",
    "run_manual",
    "sign",
    "start_process",
    "submit_form",
    "tick",
    "verify_signature",
    "workflow_counts",
]
