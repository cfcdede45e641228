"""The syntax tree of a ``.craft`` program: frozen, slotted dataclasses, one per construct.

Why frozen: a checked program is shared by the compiler, the formatter and the dependency report,
and nobody may change it under the others.  Every node carries a :class:`Span`, but spans are left
out of equality and hashing: two trees are equal when they *mean* the same wherever their text
stood, which is how "the formatter preserves meaning" is tested.  The nodes live in two private
modules to keep each small; this module is the one to import.
"""

from __future__ import annotations

from dsl._ast_expr import (
    NO_SPAN,
    UNIT_SECONDS,
    Binary,
    BinaryOp,
    Bool,
    Call,
    Clock,
    Duration,
    DurationUnit,
    Expr,
    Ident,
    IsEmpty,
    ListLit,
    Null,
    Number,
    Path,
    Scope,
    Span,
    StringLit,
    Template,
    Text,
    Unary,
)
from dsl._ast_program import (
    ApprovalStep,
    Assignment,
    AssignStep,
    Automation,
    Branch,
    ChangedTrigger,
    Comment,
    CreateStep,
    CreateTaskStep,
    DateTrigger,
    Day,
    EmailStep,
    FieldRef,
    FormTrigger,
    GroupRef,
    IfStep,
    ManualTrigger,
    MapEntry,
    MessageStep,
    MoveStep,
    NotifyStep,
    Process,
    Program,
    Recipient,
    RecordTrigger,
    ScheduleTrigger,
    SetStep,
    StageTrigger,
    StartProcessStep,
    StayTrigger,
    Step,
    StopStep,
    TagStep,
    TaskStep,
    Trigger,
    UpdateStep,
    WaitStep,
    WaitUntilStep,
    WebhookStep,
    WebhookTrigger,
)

__all__ = [
    "NO_SPAN", "UNIT_SECONDS", "ApprovalStep", "AssignStep", "Assignment", "Automation", "Binary",
    "BinaryOp", "Bool", "Branch", "Call", "ChangedTrigger", "Clock", "Comment", "CreateStep",
    "CreateTaskStep", "DateTrigger", "Day", "Duration", "DurationUnit", "EmailStep", "Expr", "FieldRef",
    "FormTrigger", "GroupRef", "Ident", "IfStep", "IsEmpty", "ListLit", "ManualTrigger", "MapEntry",
    "MessageStep", "MoveStep", "NotifyStep", "Null", "Number", "Path", "Process", "Program", "Recipient",
    "RecordTrigger", "ScheduleTrigger", "Scope", "SetStep", "Span", "StageTrigger", "StartProcessStep",
    "StayTrigger", "Step", "StopStep", "StringLit", "TagStep", "TaskStep", "Template", "Text", "Trigger",
    "Unary", "UpdateStep", "WaitStep", "WaitUntilStep", "WebhookStep", "WebhookTrigger",
]
