"""The ``.craft`` language (spec/craft-language.md): grammar, AST, parser, checker, formatter, compiler.

Knows nothing of storage: programs are checked against :class:`SchemaProtocol`, which ``metamodel``
implements.  Other packages import only the names below; lark never leaves :mod:`dsl.parser`, and every
bad input ends in :class:`CraftErrors` (coded, placed ``file:line:col``, with a hint).
:func:`compile_program` turns a checked program into a :class:`ProgramPlan` (:mod:`dsl.plan`), the
versioned JSON-serialisable data the workflow engine runs.  :func:`compile_expression` turns an
expression into Python closures evaluated in an :class:`EvalContext` under a :class:`Budget`;
:func:`compile_sql` compiles one into a SQLAlchemy expression with the same semantics (formula
fields and rollup conditions, through a :class:`SqlResolver` the metamodel implements), and
:func:`check_formula` says whether a formula's text parses, checks and has a SQL form.
"""

from dsl._sql_check import check_condition_sql, check_formula
from dsl.ast import Span
from dsl.budget import Budget
from dsl.checker import check, check_files, check_program, dependencies
from dsl.compile_sql import SqlResolver, SqlUnsupported, compile_sql
from dsl.compiler import compile_files, compile_program
from dsl.errors import CODES, CraftError, CraftErrors, CraftRuntimeError
from dsl.evaluate import CompiledExpr, EvalContext, compile_expression, compile_source, compile_template
from dsl.format import format_expression, format_program
from dsl.parser import parse, parse_expression, parse_partial
from dsl.plan import (
    OPS,
    WAITING_OPS,
    AddTagOp,
    ApprovalOp,
    Assign,
    AssignOp,
    AutomationPlan,
    Binding,
    CallWebhookOp,
    CreateOp,
    CreateTaskOp,
    Entry,
    ExprRef,
    Instruction,
    JumpIfFalseOp,
    JumpOp,
    MoveOp,
    NotifyOp,
    ProcessPlan,
    ProgramPlan,
    Recipient,
    RecordRef,
    RemoveTagOp,
    Schedule,
    SendOp,
    SetOp,
    StartProcessOp,
    StopOp,
    TaskOp,
    TriggerPlan,
    UpdateOp,
    WaitOp,
    WaitUntilOp,
    Where,
    plan_from_json,
    plan_to_json,
    trigger_index,
)
from dsl.plan_upgrade import PLAN_FORMAT, UPGRADERS, Upgraders
from dsl.schema import FieldInfo, FormInfo, SchemaProtocol, StaticSchema, Use

__all__ = [
    # errors
    "CODES",
    "CraftError",
    "CraftErrors",
    # schema protocol
    "FieldInfo",
    "FormInfo",
    "SchemaProtocol",
    "StaticSchema",
    "Use",
    # checking
    "check",
    "check_condition_sql",
    "check_files",
    "check_formula",
    "check_program",
    "dependencies",
    # formatting
    "format_expression",
    "format_program",
    # parsing
    "parse",
    "parse_expression",
    "parse_partial",
]

# compiling to plans (dsl.plan: the plan, its parts and instructions) and their JSON
__all__ += [
    "OPS",
    "PLAN_FORMAT",
    "UPGRADERS",
    "WAITING_OPS",
    "AddTagOp",
    "ApprovalOp",
    "Assign",
    "AssignOp",
    "AutomationPlan",
    "Binding",
    "CallWebhookOp",
    "CreateOp",
    "CreateTaskOp",
    "Entry",
    "ExprRef",
    "Instruction",
    "JumpIfFalseOp",
    "JumpOp",
    "MoveOp",
    "NotifyOp",
    "ProcessPlan",
    "ProgramPlan",
    "Recipient",
    "RecordRef",
    "RemoveTagOp",
    "Schedule",
    "SendOp",
    "SetOp",
    "StartProcessOp",
    "StopOp",
    "TaskOp",
    "TriggerPlan",
    "UpdateOp",
    "Upgraders",
    "WaitOp",
    "WaitUntilOp",
    "Where",
    "compile_files",
    "compile_program",
    "plan_from_json",
    "plan_to_json",
    "trigger_index",
]

# evaluating expressions in Python (dsl.evaluate; values shared with SQL in dsl.values)
__all__ += [
    "Budget",
    "CompiledExpr",
    "CraftRuntimeError",
    "EvalContext",
    "compile_expression",
    "compile_source",
    "compile_template",
]

# expressions compiled to SQL (formula fields, rollup conditions)
__all__ += [
    "Span",
    "SqlResolver",
    "SqlUnsupported",
    "compile_sql",
]
