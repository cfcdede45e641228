"""Malformed snippets and the error each must produce: one table drives friendly messages and their tests.

Why a table: lark reports "unexpected token X, expected one of 40 terminals", which an admin cannot
use.  The parser parses every ``E_SYNTAX`` snippet below once, remembers what the parser would have
accepted at its error, and gives ``message`` to any later error that expects exactly the same things
(lark's ``match_examples`` idea, keyed on the accepted tokens so it is context-exact).  Entries with
other codes are produced by other means (lexer, string decoding, limits) and are listed here so the
same table tests them.  ``line``/``col`` are where the error must be reported.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SyntaxExample:
    snippet: str
    message: str
    line: int
    col: int
    code: str = "E_SYNTAX"


_A = 'automation "a" when Deal created do\n'

SYNTAX_EXAMPLES: tuple[SyntaxExample, ...] = (
    SyntaxExample('automation "a" when Deal created\n  stop\nend',
                  'expected "do" (or "where" and a condition) after the trigger', 2, 3),
    SyntaxExample('automation "a" when Deal updated where amount > 5\n  stop\nend',
                  'expected "do" after the condition', 2, 3),
    SyntaxExample('automation "a" do\n  stop\nend',
                  'expected "when" and a trigger after the automation name', 1, 16),
    SyntaxExample("automation when Deal created do stop end",
                  'expected the automation\'s name in quotes: automation "Name"', 1, 12),
    SyntaxExample('automation "a" when "Deal" created do stop end',
                  'expected a trigger after "when", such as "Deal created" or "every monday at 09:00 for '
                  'Deal"',
                  1, 21),
    SyntaxExample('automation "a" when Deal changes do stop end',
                  'expected what happens to the record: created, updated, deleted, entered stage, '
                  'left stage, stays in stage, or "Deal.field changed"', 1, 26),
    SyntaxExample('automation "a" when every month at 09:00 for Deal do stop end',
                  'expected day, weekday or a day of the week (monday … sunday) after "every"', 1, 27),
    SyntaxExample('automation "a" when every monday at 9 for Deal do stop end',
                  'expected a time of day such as 09:00 after "at"', 1, 37),
    SyntaxExample('automation "a" when every monday at 09:00 do stop end',
                  'expected "for" and the entity after the time (every … at HH:MM for Entity)', 1, 43),
    SyntaxExample(_A + "  amount = 5\nend",
                  'expected a step (set, move, create, notify, wait, if, …) or "end"', 2, 3),
    SyntaxExample(_A + "  if amount > 5\n    stop\n  end\nend",
                  'expected "then" after the condition', 3, 5),
    SyntaxExample(_A + "  if amount > 5 then\n    stop\n  else if amount < 3\n    stop\n  end\nend",
                  'expected "then" after the condition', 5, 5),
    SyntaxExample(_A + "  if amount > 5 then\n    amount = 1\n  end\nend",
                  'expected a step, "else", "else if" or "end" inside "if"', 3, 5),
    SyntaxExample(_A + "  set amount 5\nend", 'expected "=" after the field name', 2, 14),
    SyntaxExample(_A + "  set amount = )\nend",
                  "expected a value: a number, a string, a field, a function call …",
                  2, 16),
    SyntaxExample(_A + "  move to won\nend", 'expected "stage" before the stage name', 2, 11),
    SyntaxExample(_A + '  move to stage "won"\nend', "expected a name here, written without quotes", 2, 17),
    SyntaxExample(_A + "  if amount = 1 then stop end\nend", 'use "==" to compare ("=" only assigns)', 2, 13),
    SyntaxExample('automation "a" when Deal updated where amount = 1 do stop end',
                  'use "==" to compare ("=" only assigns)', 1, 47),
    SyntaxExample(_A + '  create task "Call" for owner in 1 hour\nend',
                  'expected "due in" and a duration after the assignee', 2, 32),
    SyntaxExample(_A + "  wait 3\nend",
                  "a duration needs a unit: seconds, minutes, hours, days or weeks", 3, 1),
    SyntaxExample(_A + "  notify owner\n  stop\nend",
                  "expected the message text in quotes after the recipient", 3, 3),
    SyntaxExample(_A + '  send email to contact.email body "b"\nend',
                  'expected "subject" after the address (send email to … subject "…" body "…")', 2, 31),
    SyntaxExample(_A + '  assign owner to group "sales"\nend',
                  'expected "round robin" or "least busy" after the field to assign', 2, 16),
    SyntaxExample(_A + '  call webhook "https://x" with {a 1}\nend', 'expected ":" after the key', 2, 36),
    SyntaxExample('process "p" for Deal\n  approval "ok" by owner options yes, no\nend',
                  'an approval needs "as NAME" to keep the chosen option', 3, 1),
    SyntaxExample('process "p" Deal\nend', 'expected "for" and the entity after the process name', 1, 13),
    SyntaxExample('automation "a" when Deal updated where 1 < amount < 3 do stop end',
                  'comparisons cannot be chained; join them with "and"', 1, 51),
    SyntaxExample(_A + "  if 1 < amount < 3 then stop end\nend",
                  'comparisons cannot be chained; join them with "and"', 2, 17),
    # produced by the lexer, the string decoder and the limits, not by matching
    SyntaxExample(_A + '  notify owner "Hello\nend', "this string is not closed on its line", 2, 16,
                  "E_UNTERMINATED_STRING"),
    SyntaxExample(_A + "  stop;\nend", "unexpected character ';'", 2, 7, "E_UNEXPECTED_CHARACTER"),
    SyntaxExample(_A + '  notify owner "{\'\'.__class__}"\nend', "only a field path may stand inside braces",
                  2, 17, "E_BAD_INTERPOLATION"),
    SyntaxExample(_A + '  notify owner "{title"\nend',
                  'a "{" without a matching "}"', 2, 17, "E_BAD_INTERPOLATION"),
    SyntaxExample(_A + '  notify owner "a } b"\nend',
                  'a "}" without a matching "{"', 2, 19, "E_BAD_INTERPOLATION"),
    SyntaxExample(_A + '  notify owner "a \\q b"\nend', 'unknown escape "\\q"', 2, 19, "E_BAD_ESCAPE"),
    SyntaxExample(_A + "  stop\n", 'an "end" is missing', 2, 7, "E_UNEXPECTED_END"),
    SyntaxExample('automation "a" when Deal', "the text ends too early", 1, 25, "E_UNEXPECTED_END"),
    SyntaxExample('automation "a" when every day at 25:00 for Deal do stop end', "25:00 is not a time of day",
                  1, 34, "E_BAD_TIME"),
    SyntaxExample(_A + "  set amount = 1234567890123456789012\nend", "is too long", 2, 16, "E_BAD_NUMBER"),
    SyntaxExample(_A + "  wait until done for 3 days\nend",
                  "unexpected number 3", 2, 23, "E_UNEXPECTED_TOKEN"),
)
