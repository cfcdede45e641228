"""Evaluation budgets: how many steps, how long and how much text one run may spend on expressions.

Why budgets when the language has no loops: expressions come from admins and values from the
outside world (records, webhook payloads), and one run may evaluate many expressions.  A budget
bounds the work of a whole run, so no expression or record value can stall a worker or build a
gigabyte of text.  Charging must be cheap because every compiled node charges one step: it is one
counter increment and one comparison; the clock is only read every :data:`CLOCK_EVERY` steps.
"""

from __future__ import annotations

import time

from dsl.ast import NO_SPAN, Span
from dsl.errors import CraftRuntimeError

#: The clock (``time.monotonic``) is read once per this many steps.
CLOCK_EVERY = 256


class Budget:
    """What one run may still spend.  Share one instance between the evaluations of a run.

    A step is one operator, function or template application; literals and path reads are leaves
    that their parent's step covers.

    ``steps`` counts the steps taken; ``check_at`` is the step count at which :meth:`check` runs
    next (the next clock reading, or the step limit, whichever comes first).
    """

    __slots__ = ("check_at", "deadline", "max_output", "max_seconds", "max_steps", "steps")

    def __init__(self, max_steps: int = 10_000, max_seconds: float = 0.5, max_output: int = 100_000) -> None:
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.max_output = max_output
        self.restart()

    def restart(self) -> None:
        """Start again with nothing spent: what a new run (or a new evaluation of a batch) gets.

        The clock starts at the first reading, :data:`CLOCK_EVERY` steps in: so few steps take
        microseconds, and a short evaluation never pays for reading the clock at all.
        """
        self.steps = 0
        self.deadline = 0.0
        self.check_at = CLOCK_EVERY if self.max_steps > CLOCK_EVERY else self.max_steps

    def charge(self, span: Span = NO_SPAN) -> None:
        """Take one step and check at once (for callers outside the compiled closures)."""
        self.steps += 1
        if self.steps > self.check_at:
            self.check(span)

    def check(self, span: Span) -> None:
        """Raise when the steps or the time are spent; otherwise plan the next check."""
        if self.steps > self.max_steps:
            raise CraftRuntimeError("E_BUDGET_STEPS", f"more than {self.max_steps} evaluation steps", span)
        now = time.monotonic()
        if not self.deadline:
            self.deadline = now + self.max_seconds
        elif now > self.deadline:
            raise CraftRuntimeError("E_BUDGET_TIME", f"evaluation took over {self.max_seconds} s", span)
        self.check_at = min(self.steps + CLOCK_EVERY, self.max_steps)

    def output(self, text: str, span: Span) -> str:
        """Let ``text`` through unless it is longer than a run may produce."""
        if len(text) > self.max_output:
            raise CraftRuntimeError("E_BUDGET_OUTPUT", f"a text of {len(text)} characters is longer than "
                                    f"{self.max_output}", span)
        return text
