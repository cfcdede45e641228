"""The plan: what the workflow engine runs, as frozen data that survives JSON and upgrades.

Why a plan and not the AST: the engine stores a plan when a blueprint is applied and keeps it for
every instance started on it (DESIGN.md decision 4), so it must be plain data with a versioned shape
(:mod:`dsl.plan_upgrade`) that depends on no Python object layout.  Hence:

* steps are flattened into ``code``, a list of instructions with explicit jump targets: a durable
  instance's position is one integer ``pc`` that keeps its meaning across a crash; ``pc ==
  len(code)`` means the run is done;
* expressions and templates are :class:`ExprRef` — canonical source text plus its static type — that
  the engine parses and compiles once per text; paths are resolved by the compiler where the engine
  would otherwise guess (the record a step writes, a stage's pipeline, the tags field);
* durations are whole seconds, times ``"HH:MM"``, weekdays ISO numbers (Monday is 1);
* every side-effecting instruction has an ``effect_key`` (``"automation:NAME#pc"``), unique within the
  plan, that the engine joins with an instance id to make idempotency keys;
* :attr:`ProgramPlan.digest` is the sha256 of the canonical JSON, so an instance can be pinned to
  the exact plan it started on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from dsl.plan_upgrade import PLAN_FORMAT, UPGRADERS, Upgraders, decode, digest, encode, plan_error


@dataclass(frozen=True, slots=True, kw_only=True)
class Where:
    """The source place of a step or definition, for error messages and the run timeline."""

    file: str
    line: int
    col: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ExprRef:
    """An expression or template as canonical source text (``dsl.format_expression``) and its type
    family (``boolean``, ``string``, ``number``, ``date``, ``user``, ``record``, ``any``…)."""

    source: str
    type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordRef:
    """A record a step writes: the subject (``binding`` None) or a record bound with ``as``, then the
    reference fields in ``refs`` followed from it (``update contact.company`` -> refs contact, company)."""

    binding: str | None
    refs: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """A user (an expression of type ``user``) or every/one member of a group, never both."""

    user: ExprRef | None
    group: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """``name = value`` of ``create``/``update``, or ``key: value`` of a webhook body, in source order."""

    name: str
    value: ExprRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Assign:
    """One ``set`` assignment: ``field`` of the record ``record`` becomes ``value``."""

    record: RecordRef
    field: str
    value: ExprRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """A name bound with ``as``: a record of ``entity`` (Task for tasks), or a plain value (None:
    webhook replies, approval outcomes).  The evaluator needs these to tell variables from fields."""

    name: str
    entity: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """``every … at HH:MM [in "Zone"]``; ``tz`` None means the workspace's time zone."""

    days: tuple[int, ...]
    time: str
    tz: str | None


TriggerKind: TypeAlias = Literal["created", "updated", "deleted", "changed", "entered_stage", "left_stage",
                                 "stays_in_stage", "date", "schedule", "form", "webhook", "manual"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerPlan:
    """When an automation runs; only the operands of its ``kind`` are set, the others are None/empty."""

    kind: TriggerKind
    entity: str | None = None
    fields: tuple[str, ...] = ()
    stage: str | None = None
    pipeline: str | None = None
    duration_seconds: int | None = None
    direction: Literal["before", "after"] | None = None
    date_field: str | None = None
    schedule: Schedule | None = None
    form: str | None = None
    webhook: str | None = None
    where: ExprRef | None = None

    def index_key(self) -> tuple[str, str]:
        """``(entity | "form:NAME" | "webhook:NAME" | "schedule", kind)``: an event looks up only the
        keys it can match.  Created: ``(E, created)``, and ``(E, date)``, ``(E, stays_in_stage)`` to plan
        timers.  Updated: ``(E, updated)``, ``(E, changed)`` (then ``fields`` ∩ changed); if the stage
        changed ``(E, left_stage)``, ``(E, entered_stage)``, ``(E, stays_in_stage)``; if a date changed
        ``(E, date)`` to re-plan.  Deleted: ``(E, deleted)``, and cancel timers.  Forms, webhooks and
        buttons: ``("form:NAME", form)``, ``("webhook:NAME", webhook)``, ``(E, manual)``; every schedule
        is under ``("schedule", schedule)`` for the timer that computes next occurrences."""
        if self.kind == "form":
            return f"form:{self.form}", self.kind
        if self.kind == "webhook":
            return f"webhook:{self.webhook}", self.kind
        if self.kind == "schedule":
            return "schedule", self.kind
        return self.entity or "", self.kind


# ------------------------------------------------------------------------------------ instructions
@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    """One step of ``code``.  ``effect_key`` is set on every op that changes something outside the
    instance (records, tasks, messages, calls, processes) and None on waits and control flow."""

    op: ClassVar[str]
    at: Where
    effect_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetOp(Instruction):
    op: ClassVar[str] = "set"
    assignments: tuple[Assign, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveOp(Instruction):
    """Move the subject to ``stage`` of ``pipeline`` (always resolved by the compiler)."""

    op: ClassVar[str] = "move"
    stage: str
    pipeline: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateOp(Instruction):
    op: ClassVar[str] = "create"
    entity: str
    values: tuple[Entry, ...]
    bind: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateOp(Instruction):
    op: ClassVar[str] = "update"
    record: RecordRef
    values: tuple[Entry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AddTagOp(Instruction):
    """Add the rendered ``tag`` to the subject's tags field ``field``."""

    op: ClassVar[str] = "add_tag"
    field: str
    tag: ExprRef


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveTagOp(Instruction):
    op: ClassVar[str] = "remove_tag"
    field: str
    tag: ExprRef


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTaskOp(Instruction):
    op: ClassVar[str] = "create_task"
    title: ExprRef
    assignee: Recipient
    due_seconds: int
    bind: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyOp(Instruction):
    op: ClassVar[str] = "notify"
    recipient: Recipient
    text: ExprRef


@dataclass(frozen=True, slots=True, kw_only=True)
class SendOp(Instruction):
    """A message; ``subject`` only for email, ``body`` is the sms/whatsapp text."""

    op: ClassVar[str] = "send"
    channel: Literal["email", "sms", "whatsapp"]
    to: ExprRef
    subject: ExprRef | None
    body: ExprRef


@dataclass(frozen=True, slots=True, kw_only=True)
class CallWebhookOp(Instruction):
    """``method`` defaults to POST; ``body`` is None when the source has no ``with {…}``."""

    op: ClassVar[str] = "call_webhook"
    url: ExprRef
    method: str
    body: tuple[Entry, ...] | None
    bind: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitOp(Instruction):
    op: ClassVar[str] = "wait"
    seconds: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitUntilOp(Instruction):
    """Wait until ``condition`` holds, at most ``timeout_seconds`` (None: for ever).  Also what
    ``wait D until C`` compiles to: both mean "at most D, earlier when C holds"."""

    op: ClassVar[str] = "wait_until"
    condition: ExprRef
    timeout_seconds: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JumpOp(Instruction):
    op: ClassVar[str] = "jump"
    target: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JumpIfFalseOp(Instruction):
    """Go to ``target`` unless ``condition`` is true (null counts as false); else to the next pc."""

    op: ClassVar[str] = "jump_if_false"
    condition: ExprRef
    target: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignOp(Instruction):
    """Set the user field ``field`` of ``record`` to a member of ``group`` chosen by ``strategy``."""

    op: ClassVar[str] = "assign"
    record: RecordRef
    field: str
    strategy: Literal["round_robin", "least_busy"]
    group: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartProcessOp(Instruction):
    """Start the process ``process`` on the subject."""

    op: ClassVar[str] = "start_process"
    process: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StopOp(Instruction):
    op: ClassVar[str] = "stop"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskOp(Instruction):
    """Process task: create a Task, wait until it is done, remind every ``remind_seconds`` while overdue."""

    op: ClassVar[str] = "task"
    title: ExprRef
    assignee: Recipient
    due_seconds: int
    remind_seconds: int | None
    bind: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalOp(Instruction):
    """Process approval: wait until ``approver`` picks one of ``options``; the pick is bound to ``bind``."""

    op: ClassVar[str] = "approval"
    title: ExprRef
    approver: Recipient
    options: tuple[str, ...]
    bind: str


OPS: dict[str, type[Instruction]] = {cls.op: cls for cls in (
    SetOp, MoveOp, CreateOp, UpdateOp, AddTagOp, RemoveTagOp, CreateTaskOp, NotifyOp, SendOp, CallWebhookOp,
    WaitOp, WaitUntilOp, JumpOp, JumpIfFalseOp, AssignOp, StartProcessOp, StopOp, TaskOp, ApprovalOp)}
#: Ops after which an instance sleeps (its row gets a ``wake_at`` or waits for a task/approval).
WAITING_OPS = frozenset({"wait", "wait_until", "task", "approval"})


# ----------------------------------------------------------------------------------------- plans
@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationPlan:
    """``subject`` is the entity whose record the steps read (None for webhook automations)."""

    name: str
    at: Where
    trigger: TriggerPlan
    subject: str | None
    bindings: tuple[Binding, ...]
    code: tuple[Instruction, ...]

    @property
    def waits(self) -> bool:
        """False when a run always finishes at once (the engine may skip persisting its position)."""
        return any(i.op in WAITING_OPS for i in self.code)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessPlan:
    name: str
    at: Where
    entity: str
    bindings: tuple[Binding, ...]
    code: tuple[Instruction, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgramPlan:
    """Everything one program (or blueprint) compiles to; build it with :func:`make_plan`."""

    format: int
    automations: tuple[AutomationPlan, ...]
    processes: tuple[ProcessPlan, ...]
    digest: str

    def find_automation(self, name: str) -> AutomationPlan | None:
        return next((x for x in self.automations if x.name == name), None)

    def find_process(self, name: str) -> ProcessPlan | None:
        return next((x for x in self.processes if x.name == name), None)


def trigger_index(plan: ProgramPlan) -> dict[tuple[str, str], tuple[AutomationPlan, ...]]:
    """:meth:`TriggerPlan.index_key` -> the automations under it, in plan order (what the engine keeps
    per workspace plan, so an event costs the automations that can match it, not all of them)."""
    index: dict[tuple[str, str], list[AutomationPlan]] = {}
    for automation in plan.automations:
        index.setdefault(automation.trigger.index_key(), []).append(automation)
    return {key: tuple(found) for key, found in index.items()}


def make_plan(automations: tuple[AutomationPlan, ...], processes: tuple[ProcessPlan, ...]) -> ProgramPlan:
    """A plan of the current format with its digest computed."""
    body = {"format": PLAN_FORMAT, "automations": encode(automations), "processes": encode(processes)}
    return ProgramPlan(format=PLAN_FORMAT, automations=automations, processes=processes, digest=digest(body))


# ------------------------------------------------------------------------------------------- JSON
def plan_to_json(plan: ProgramPlan) -> dict[str, Any]:
    """Plain dicts, lists, strings, ints, bools and None: ``json.dumps`` needs no custom encoder."""
    data: dict[str, Any] = encode(plan)
    return data


def plan_from_json(data: Any, *, upgraders: Upgraders = UPGRADERS) -> ProgramPlan:
    """Read a stored plan, upgrading an older format first.

    Raises ``E_PLAN_FORMAT`` for unknown or newer formats and ``E_PLAN_CORRUPT`` when the data does
    not have the shape of its format or (for a current-format plan) its digest does not match its
    content.  An upgraded plan gets the digest of its upgraded content.
    """
    if not isinstance(data, dict):
        raise plan_error("E_PLAN_CORRUPT", f"a plan is a JSON object, not {type(data).__name__}")
    upgraded = upgraders.upgrade(data)  # the same object when already current
    body = {k: v for k, v in upgraded.items() if k != "digest"}
    if upgraded is data and data.get("digest") != digest(body):
        raise plan_error("E_PLAN_CORRUPT", "the plan's digest does not match its content",
                         "the stored plan was edited or damaged; re-apply the blueprint")
    plan: ProgramPlan = decode(ProgramPlan, {**body, "digest": digest(body)}, "plan", {Instruction: OPS})
    return plan
