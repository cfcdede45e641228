"""The ``.craft`` language (spec/craft-language.md): grammar, AST, parser, checker and formatter.

Knows nothing of storage: programs are checked against :class:`SchemaProtocol`, which ``metamodel``
implements.  Other packages import only the names below; lark never leaves :mod:`dsl.parser`, and every
bad input ends in :class:`CraftErrors` (coded, placed ``file:line:col``, with a hint).  The compiler to
plans and the expression evaluators are still to come (issue 3).
"""

from dsl.checker import check, check_files, check_program, dependencies
from dsl.errors import CODES, CraftError, CraftErrors
from dsl.format import format_expression, format_program
from dsl.parser import parse, parse_expression, parse_partial
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
    "check_files",
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
