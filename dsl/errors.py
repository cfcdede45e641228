"""Errors of the ``.craft`` language: one coded diagnostic type and one exception that carries them all.

Why a list: an admin fixing a file wants every problem of it at once, so the parser and the checker
collect :class:`CraftError` values and raise a single :class:`CraftErrors` at the end.  Codes are stable
(tests and surfaces match on them, never on the prose); :data:`CODES` explains each one and is the
source of the error table in the README.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dsl.ast import Span

#: code -> what it means and what usually fixes it.  The README's error table is generated from this.
CODES: dict[str, str] = {
    # syntax
    "E_SYNTAX": "The text does not follow the grammar; the message says what was expected at that place.",
    "E_UNEXPECTED_TOKEN": "A word or symbol stands where the grammar does not allow it; the hint lists what "
                          "may stand there.",
    "E_UNEXPECTED_END": "The file ends in the middle of an automation or process, usually a missing `end`.",
    "E_UNEXPECTED_CHARACTER": "A character that is not part of the language (for example `@` or `;`).",
    "E_UNTERMINATED_STRING": "A string has no closing `\"` on its line; strings cannot span lines.",
    "E_BAD_ESCAPE": "A backslash in a string is followed by something other than `\\\"`, `\\\\`, `n` or `t`.",
    "E_BAD_INTERPOLATION": "Braces in a string must hold a plain path such as `{contact.name}`; "
                           "write `{{`/`}}` for literal braces.",
    "E_BAD_NUMBER": "A number is too long to be meant (more than 18 digits before or after the point).",
    "E_BAD_TIME": "A time of day must be HH:MM between 00:00 and 23:59.",
    "E_TOO_DEEP": "Brackets or operators nest deeper than the language allows; split the expression up.",
    "E_TOO_LARGE": "The file is larger than a .craft file may be; split it into several files.",
    "E_TOO_MANY_ERRORS": "Reporting stopped after this many errors; fix these and check again.",
    # checks against the schema
    "E_UNKNOWN_ENTITY": "No entity of that name exists in the blueprint.",
    "E_UNKNOWN_FIELD": "The entity (or the record a path reaches) has no field of that name.",
    "E_UNKNOWN_STAGE": "The entity's pipeline has no stage of that name.",
    "E_UNKNOWN_PIPELINE": "The entity has no pipeline of that name.",
    "E_AMBIGUOUS_PIPELINE": "The entity has several pipelines; say which one with `in pipeline P`.",
    "E_UNKNOWN_GROUP": "No user group of that name exists.",
    "E_UNKNOWN_FORM": "No form of that name exists.",
    "E_UNKNOWN_NAME": "A name is neither a field of the subject nor a record bound earlier with `as`.",
    "E_UNKNOWN_FUNCTION": "The function does not exist; see the list of functions in the language reference.",
    "E_UNKNOWN_PROCESS": "`start process` names a process that no file defines.",
    "E_NOT_A_REFERENCE": "A path goes through a field that is not a reference to another record.",
    "E_NOT_A_DATE": "A date trigger needs a date or datetime field.",
    "E_NOT_A_USER": "A task, notification or assignment needs a user field (or `group \"G\"`).",
    "E_TYPE_MISMATCH": "An operator or step gets a value of the wrong type.",
    "E_OLD_OUTSIDE_UPDATE": "`old.x` and `changed(x)` only exist in `updated` and `changed` triggers.",
    "E_NO_FORM_HERE": "`form.x` only exists in `form NAME submitted` automations.",
    "E_NO_PAYLOAD_HERE": "`payload.x` only exists in `webhook NAME received` automations.",
    "E_WAIT_NOT_ALLOWED": "This kind of automation cannot wait (its run must finish at once).",
    "E_PROCESS_STEP_OUTSIDE_PROCESS": "`task` and `approval` steps only exist inside a `process`.",
    "E_DUPLICATE_NAME": "Two automations, two processes or two `as` bindings share a name, or one step sets "
                        "a field twice.",
    "E_MIXED_ENTITIES": "A `changed` trigger lists fields of different entities.",
    "E_COMPUTED_CHANGED": "A `changed` trigger watches a formula or rollup field, whose changes are "
                          "never recorded.",
    "E_BAD_METHOD": "A webhook's method must be GET, POST, PUT, PATCH or DELETE.",
    "E_BAD_TIMEZONE": "The time zone is not an IANA name such as \"Europe/Berlin\".",
    "E_BAD_URL": "A webhook URL names a scheme other than http or https (file:, ftp:, javascript: …).",
    "E_BAD_DURATION": "A wait, due time or trigger offset is longer than a century, or a task reminds "
                      "more often than once a minute.",
    "E_UNKNOWN_OPTION": "A quoted value set on or compared with an enum field is not one of its options.",
    "E_READ_ONLY": "The step writes a field the platform keeps (id, created_at, version, formulas, "
                   "rollups…), the subject's stage (use `move to stage`) or the record of a `deleted` "
                   "automation.",
    # evaluation (raised as CraftRuntimeError while a run evaluates an expression)
    "E_RUNTIME_TYPE": "At run time a value had a type the operator cannot use (usually a webhook payload "
                      "or JSON value); convert it or test it first.",
    "E_RUNTIME_RANGE": "At run time a number or date left the range the language can hold.",
    "E_BUDGET_STEPS": "The evaluation took more steps than a run may; simplify the expressions.",
    "E_BUDGET_TIME": "The evaluation ran longer than a run may; simplify the expressions.",
    "E_BUDGET_OUTPUT": "A text built by the expression is longer than a run may produce.",
    # stored plans (raised while a saved plan is read back)
    "E_PLAN_FORMAT": "A stored plan has a format this version cannot read (missing, newer, or too old to "
                     "upgrade); compile the .craft files again.",
    "E_PLAN_CORRUPT": "A stored plan is not valid plan data or its digest does not match its content; "
                      "compile the .craft files again.",
}


@dataclass(frozen=True, slots=True)
class CraftError:
    """One problem at one place.  ``hint`` is the "did you mean" or the fix, when there is one."""

    code: str
    message: str
    span: Span
    hint: str | None = None

    def __str__(self) -> str:
        place = f"{self.span.file}:{self.span.line}:{self.span.col}"
        text = f"{place} {self.code} {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


class CraftErrors(Exception):
    """All the problems of one parse or check, in source order: the only exception bad input raises."""

    def __init__(self, errors: Iterable[CraftError]) -> None:
        self.errors: list[CraftError] = sorted(errors, key=lambda e: (e.span.file, e.span.line, e.span.col))
        super().__init__("\n".join(str(e) for e in self.errors))

    def __iter__(self) -> Iterator[CraftError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    @property
    def codes(self) -> list[str]:
        """The codes in source order: what tests compare."""
        return [e.code for e in self.errors]


class CraftRuntimeError(Exception):
    """A problem while *evaluating* an expression: a budget ran out or a value had a surprising type.

    Why separate from :class:`CraftErrors`: checking reports every problem of a file at once, while
    an evaluation stops at its first problem, which the workflow engine records against the run.
    """

    def __init__(self, code: str, message: str, span: Span) -> None:
        self.code = code
        self.message = message
        self.span = span
        super().__init__(f"{span.file}:{span.line}:{span.col} {code} {message}")


def codes_table() -> str:
    """The error codes as a Markdown table, for the README's language reference."""
    rows = [f"| `{code}` | {text} |" for code, text in CODES.items()]
    return "\n".join(["| code | meaning |", "| --- | --- |", *rows])
